Feature: The year dossier lists every case and reconciles every award with the ledger
  An auditor (审计, 二(四)12 资金审计) reads in the fund-year dossier who applied, who was ranked, funded
  and paid, and checks to the fen that the awards reconcile with the fund ledger (三(三) 资金使用管理):
  awarded = paid + withdrawn + released + clawed back + outstanding, per budget line and per fund source,
  with one line for every difference and the audit event that explains it. The figures come from the
  ledger postings, never from counts.

  Background:
    Given a finished 2021 certification-award round where one award was withdrawn after an upheld objection and one transfer failed and was paid on retry

  Scenario: The roster lists every case once with its rank, reason code and amounts from the ledger
    When "sun.audit" renders the dossier of fund year 2021
    Then the roster of the scheme "certification-award" lists each of the round's 12 cases once
    And every case in the roster shows the rank and reason code of its application and the awarded and paid of its postings
    And the case withdrawn after the objection shows ¥50,000.00 awarded, ¥0.00 paid and ¥50,000.00 withdrawn
    And the case whose transfer failed shows ¥50,000.00 awarded, ¥50,000.00 paid and a failed transfer of ¥50,000.00

  Scenario: Awards reconcile to the fen per budget line and per fund source
    When "sun.audit" renders the dossier of fund year 2021
    Then the line "certification-award" reconciles: awarded ¥430,000.00 = paid ¥380,000.00 + withdrawn ¥50,000.00 + released ¥0.00 + clawed back ¥0.00 + outstanding ¥0.00
    And each fund source of the line reconciles to the fen with the ledger's balances, and the sources add up to the line
    And the payment rows agree with the ledger: ¥380,000.00 paid and ¥50,000.00 failed
    And there are 2 differences: the withdrawal explained by the event "case.objection_upheld" and the failed transfer by the event "case.payment_failed"
    And "ipfund dossier verify" says the file is identical
    And the database is unchanged

  Scenario: One fen on the ledger that no posting explains breaks the reconciliation
    Given someone with database access adds ¥0.01 to the committed central funds of the line "certification-award"
    When "sun.audit" renders the dossier of fund year 2021
    Then the line "certification-award" with central funds does not reconcile, by -¥0.01
    And the municipal finance of the line still reconciles
