Feature: The fund ledger: every movement of money is a balanced posting
  烟政字〔2020〕47号 三(二) says how much each fund source puts into the plan, and 二(二)4 不超额奖励 forbids
  paying more than a budget line holds. The ledger records each movement as a double-entry posting:
  a receipt from a fund source, its allocation to a budget line, a commitment to an award, the payment,
  and the release or reversal that corrects them. A correction is a new posting, never an edit. No budget
  line and no fund source ever holds less than nothing — not through ipfund, and not through the database.

  Background:
    Given the sample 2021 plan is loaded

  Scenario: The sample plan's money shows per fund source and per budget line
    Then central funds show received ¥50,000,000.00, unallocated ¥0.00, allocated ¥50,000,000.00, committed ¥0.00 and paid ¥0.00
    And the line "certification-award" shows central funds allocated ¥1,000,000.00, available ¥1,000,000.00, committed ¥0.00 and paid ¥0.00
    And the line "certification-award" shows municipal funds allocated ¥2,500,000.00, available ¥2,500,000.00, committed ¥0.00 and paid ¥0.00

  Scenario: A receipt of central funds stays unallocated until it is allocated to a budget line
    When a further receipt of ¥2,000,000.00 of central funds arrives
    Then central funds show received ¥52,000,000.00, unallocated ¥2,000,000.00, allocated ¥50,000,000.00, committed ¥0.00 and paid ¥0.00
    When ¥2,000,000.00 of central funds are allocated to the line "certification-award"
    Then central funds show received ¥52,000,000.00, unallocated ¥0.00, allocated ¥52,000,000.00, committed ¥0.00 and paid ¥0.00
    And the line "certification-award" shows central funds allocated ¥3,000,000.00, available ¥3,000,000.00, committed ¥0.00 and paid ¥0.00

  Scenario: An award is committed on a budget line and then paid
    When ¥300,000.00 of central funds on the line "certification-award" are committed
    And ¥300,000.00 of central funds on the line "certification-award" are paid
    Then the line "certification-award" shows central funds allocated ¥1,000,000.00, available ¥700,000.00, committed ¥0.00 and paid ¥300,000.00
    And central funds show received ¥50,000,000.00, unallocated ¥0.00, allocated ¥50,000,000.00, committed ¥0.00 and paid ¥300,000.00

  Scenario: Committing everything a budget line holds leaves it with ¥0.00 available
    When ¥1,000,000.00 of central funds on the line "certification-award" are committed
    Then the line "certification-award" shows central funds allocated ¥1,000,000.00, available ¥0.00, committed ¥1,000,000.00 and paid ¥0.00

  Scenario: Committing one fen more than a budget line holds is refused and nothing is written
    When ¥1,000,000.01 of central funds on the line "certification-award" are committed
    Then the posting is refused as NegativeBalance naming "line:certification-award:central:available would be -¥0.01"
    And nothing is written to the database

  Scenario: Paying more than was committed is refused and nothing is written
    When ¥300,000.00 of central funds on the line "certification-award" are committed
    And ¥300,000.01 of central funds on the line "certification-award" are paid
    Then the posting is refused as NegativeBalance naming "line:certification-award:central:committed would be -¥0.01"
    And nothing is written to the database

  Scenario: Releasing part of a commitment is a new posting that returns the money to available
    When ¥300,000.00 of central funds on the line "certification-award" are committed
    And ¥100,000.00 of central funds on the line "certification-award" are released
    Then the line "certification-award" shows central funds allocated ¥1,000,000.00, available ¥800,000.00, committed ¥200,000.00 and paid ¥0.00
    And the ledger holds 2 new postings and the earlier ones are unchanged

  Scenario: Reversing a payment is a new posting that points at the payment it corrects
    When ¥300,000.00 of central funds on the line "certification-award" are committed
    And ¥300,000.00 of central funds on the line "certification-award" are paid
    And the payment is reversed
    Then the line "certification-award" shows central funds allocated ¥1,000,000.00, available ¥700,000.00, committed ¥300,000.00 and paid ¥0.00
    And the reversal points at the payment, which still stands with its entries

  Scenario: A posting whose entries do not sum to zero is refused and nothing is written
    When a posting moves +¥100.00 into committed but only -¥99.99 out of available on the line "certification-award"
    Then the posting is refused as UnbalancedPosting naming "entries sum to 1 fen, they must sum to 0"
    And nothing is written to the database

  Scenario: Allocating more than a fund source holds unallocated is refused and nothing is written
    When ¥0.01 of central funds are allocated to the line "certification-award"
    Then the posting is refused as NegativeBalance naming "source:central would be -¥0.01"
    And nothing is written to the database

  Scenario: Giving back unspent money returns it from the budget line to its fund source
    When the approver "admin" gives back ¥100,000.00 of central funds from the line "certification-award"
    Then the line "certification-award" shows central funds allocated ¥900,000.00, available ¥900,000.00, committed ¥0.00 and paid ¥0.00
    And central funds show received ¥50,000,000.00, unallocated ¥100,000.00, allocated ¥49,900,000.00, committed ¥0.00 and paid ¥0.00

  Scenario: Giving back one fen more than a budget line holds is refused and nothing is written
    When the approver "admin" gives back ¥1,000,000.01 of central funds from the line "certification-award"
    Then the posting is refused as NegativeBalance naming "line:certification-award:central:available would be -¥0.01"
    And nothing is written to the database

  Scenario: The database refuses a negative budget-line balance written around ipfund
    When someone with database access sets the balance of "line:certification-award:central:available" to -1 fen
    Then the database refuses it as an integrity error naming "account_not_negative"
    And nothing is written to the database

  Scenario Outline: The database refuses to change or delete posted entries and audit events
    When someone with database access runs "<sql>"
    Then the database refuses it naming "<table> is append-only"
    And nothing is written to the database

    Examples:
      | table         | sql                                                            |
      | posting_entry | UPDATE posting_entry SET amount_fen = amount_fen + 1 WHERE id = 1 |
      | posting_entry | DELETE FROM posting_entry WHERE id = 1                         |
      | audit_event   | UPDATE audit_event SET actor = 'mallory' WHERE seq = 1         |
      | audit_event   | DELETE FROM audit_event WHERE seq = 1                          |
