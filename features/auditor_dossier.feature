Feature: An auditor regenerates and verifies dossiers, and changes nothing
  Auditors (审计) read everything, change nothing, and regenerate the PDF dossier of any case or fund
  year. A dossier is rendered from the database and the audit log only, so the same data gives the same
  bytes: a dossier issued years ago is checked by rendering it again. Issuing records the file's sha256
  in the audit chain; verifying names what differs.

  Background:
    Given a finished 2021 certification-award round with the auditor "sun.audit"

  Scenario: The auditor renders the dossier of a paid case and it verifies
    When "sun.audit" renders the dossier of the first paid case
    Then the dossier names the applicant and the award of ¥50,000.00 in words as 伍万元整
    And "ipfund dossier verify" says the file is identical
    And the database is unchanged

  Scenario: Issuing a dossier records its sha256 in the audit chain
    When "sun.audit" issues the dossier of the first paid case
    Then the audit log ends with a dossier.issue event by "sun.audit" holding the file's sha256
    And "ipfund dossier verify" says the file is identical

  Scenario: The auditor may not adjust a budget line
    When "sun.audit" tries to give back ¥100,000.00 of central funds from the line "patent-navigation"
    Then the change is refused because budget.adjust needs the role approver or admin
    And the database is unchanged

  Scenario: A score changed in the database after issue is named by verify
    Given "sun.audit" has issued the dossier of a case scored below the minimum
    When someone with database access changes that case's first score to 99.0
    Then "ipfund dossier verify" fails naming the field "evaluation.scores[0].score" as 99.0

  Scenario: One byte changed in an issued dossier is detected
    Given "sun.audit" has issued the dossier of a case rejected in review
    When one byte in the middle of the file is changed
    Then "ipfund dossier verify" fails saying the PDF was altered

  Scenario: The fund-year dossier shows the 三(二) fund rules and verifies
    When "sun.audit" renders the dossier of fund year 2021
    Then it shows receipts of ¥110,000,000.00 and the 1:1.2 match planned as passing
    And "ipfund dossier verify" says the file is identical
