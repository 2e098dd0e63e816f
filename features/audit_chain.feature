Feature: The hash-chained audit log
  Auditors (审计) read everything and change nothing; the fund's money, public under 烟政字〔2020〕47号
  三(二), must be traceable. Every change ipfund makes appends one event to an append-only log, and each
  event carries the hash of the one before it, so that changing or removing any entry — even by someone
  who can bypass the database's own guards — is found by `ipfund audit verify`, which names the entry.

  Background:
    Given the finance officer "cai" has loaded the sample 2021 plan

  Scenario: Every change appends an event naming who made it
    Then the audit log holds the events
      | seq | actor | action      | subject   |
      | 1   | admin | init        | ipfund    |
      | 2   | admin | user.add    | user:admin |
      | 3   | admin | user.add    | user:cai  |
      | 4   | cai   | budget.plan | year:2021 |

  Scenario: A refused change appends no event
    When "cai" tries to load the sample 2021 plan a second time
    Then the change is refused
    And the audit log still ends at entry #4

  Scenario: The audit chain verifies after a plan is loaded
    When the auditor runs "ipfund audit verify"
    Then the chain verifies with 4 events

  Scenario: The log of one fund year lists the plan with its receipts
    When the auditor lists the log of subject "year:2021" as JSON
    Then it shows one budget.plan event by "cai" with central receipts of ¥50,000,000.00

  Scenario Outline: Changing one byte of an entry, around every guard of the database, is detected
    Given someone with DBA rights has dropped the append-only trigger of the audit log
    When they change one byte of the <field> of entry #<seq> and commit
    Then "ipfund audit verify" fails naming entry #<seq> as "the row was changed"

    Examples:
      | field   | seq |
      | payload | 4   |
      | actor   | 4   |
      | at      | 4   |
      | payload | 1   |
      | action  | 2   |
      | subject | 3   |

  Scenario: Deleting an entry from the middle of the log is detected as a gap
    Given someone with DBA rights has dropped the append-only trigger of the audit log
    When they delete entry #2 and commit
    Then "ipfund audit verify" fails naming entry #3 as "sequence gap: expected 2, found 3"

  # The chain alone cannot see its newest entries removed, or the log rewritten from some entry on with
  # every later hash recomputed: what is left still verifies. A signed checkpoint (the head of the log —
  # entry number, hash, time — signed with the installation's audit key, which is not in the database,
  # and kept outside it) can, in the way Certificate Transparency's signed tree heads do.

  Scenario: Removing the newest entries is found by a signed checkpoint, though the chain still verifies
    Given the installation signs a checkpoint of the audit log after every change
    And the admin has added the reviewers "li", "zhao" and "qian"
    And someone with DBA rights has dropped the append-only trigger of the audit log
    When they delete the last 3 entries and commit
    Then "ipfund audit verify" fails naming checkpoint #7 as "the audit log was truncated (entries #5–#7 are missing)"
    But checked without its checkpoints the shortened log still verifies

  Scenario: Rewriting the log from the middle, every later hash recomputed, is found by a signed checkpoint
    Given the installation signs a checkpoint of the audit log after every change
    And the admin has added the reviewers "li", "zhao" and "qian"
    And someone with DBA rights has dropped the append-only trigger of the audit log
    When they make "li" an admin in entry #5 and recompute every later hash
    Then "ipfund audit verify" fails naming checkpoint #5 as "the audit log was rewritten at or before entry #5"
    But checked without its checkpoints the rewritten log still verifies

  Scenario: Checkpoints forged without the audit key are found
    Given the installation signs a checkpoint of the audit log after every change
    And the admin has added the reviewers "li", "zhao" and "qian"
    And someone with DBA rights has dropped the append-only trigger of the audit log
    When they make "li" an admin in entry #5 and recompute every later hash
    And they replace the checkpoints with ones signed by a key of their own
    Then "ipfund audit verify" fails naming checkpoint #5 as "not by the trusted audit key"
