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
