# The web desk (issue 14): staff sign in with a password; a name is locked after repeated failures within a
# window (the deployment's setting — here 3 failures in 15 minutes); every act is the services' act, so a
# request the services refuse, or one without the page's CSRF token, writes nothing (不相容岗位相互分离:
# auditors change nothing).
Feature: Signing in at the desk and acting through it
  The desk is a thin adapter: it signs users in, and every decision is the same service call as the CLI's.

  Background:
    Given cases wait in formal review (形式审查, 二(二)4) and the staff have desk passwords

  Scenario: Two failed sign-ins, then the right password, sign in
    When li.review signs in with a wrong password 2 times
    And li.review signs in with the right password
    Then li.review is signed in

  Scenario: Three failed sign-ins lock the name, even against the right password
    When li.review signs in with a wrong password 3 times
    And li.review signs in with the right password
    Then li.review is refused as locked
    And the sign-in log shows 2 bad passwords, the lock-out and the locked try

  Scenario: The lock ends when the window has passed the failures
    When li.review signs in with a wrong password 3 times
    And 16 minutes pass
    And li.review signs in with the right password
    Then li.review is signed in

  Scenario: A reviewer's decision without the page's CSRF token is refused with nothing written
    Given li.review is signed in at the desk
    When li.review approves the oldest case without the page's token
    Then the desk answers 403 and nothing was written

  Scenario: An auditor's forged decision is refused by the review service with nothing written
    Given sun.audit is signed in at the desk
    When sun.audit approves the oldest case with the page's token
    Then the desk answers 403 and nothing was written

  Scenario: A reviewer's decision with the token goes through the review service
    Given li.review is signed in at the desk
    When li.review approves the oldest case with the page's token
    Then the oldest case moves to evaluation, decided by li.review
