Feature: Applying for the certification award (贯标认证奖励) and the automatic intake checks
  烟政字〔2020〕47号 二(二)4: enterprises, universities and research institutes certified to the IP
  management standard GB/T 29490 receive a one-off award: ¥50,000.00 for an enterprise and ¥80,000.00
  for a university or institute, never more than ¥80,000.00 to one applicant in a fiscal year and never
  twice for one certificate (不超额奖励, 不重复奖励). The amounts, the cap and the window opening on
  2020-01-01 are illustrative parameters of the policy file. An applicant user applies for its own
  organisation; the automatic checks then run and each result names its rule, its clause and the
  parameter it applied. A reviewer may import many applications from a CSV file: all rows or none,
  every bad row reported with its line number.

  Background:
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the registered applicants
      | name                   | kind       | sme   |
      | 烟台海拓机械有限公司   | enterprise | true  |
      | 烟台万华新材料有限公司 | enterprise | false |
      | 烟台大学               | university | false |
    And the applicant user "haituo.ip" belongs to 烟台海拓机械有限公司

  Scenario: An applicant user applies for its own organisation and every intake check passes
    When "haituo.ip" applies with certificate 165IP2100101R0M issued on 2021-01-15 by 中知(北京)认证有限公司
    And the automatic checks run
    Then the case of 烟台海拓机械有限公司 is in state formal_review (形式审查)
    And the case shows the intake checks
      | check                    | result | clause        | parameter                                                   |
      | applicant_registered     | passed | GB 32100-2015 |                                                             |
      | district_in_jurisdiction | passed | 二(二)4       | jurisdiction.districts                                      |
      | certificate_number       | passed | 二(二)4       | certification-award.certificate_pattern                     |
      | certification_window     | passed | 二(二)4       | certification-award.certification_window_start = 2020-01-01 |
      | no_prior_award           | passed | 二(二)4       |                                                             |
      | applicant_year_cap       | passed | 二(二)4       | certification-award.cap_fen_per_applicant_year = ¥80,000.00 |
      | duplicate_benefit        | passed | 二(二)4 / 二(二)5 | duplicate_benefits.standard-implementation-consulting   |

  Scenario: An applicant user cannot apply for another organisation
    When "haituo.ip" applies for 烟台万华新材料有限公司 with certificate 165IP2100101R0M issued on 2021-01-15
    Then the application is refused naming "haituo.ip may only apply for 烟台海拓机械有限公司"
    And nothing is written to the database

  Scenario: A malformed certificate number fails the certificate_number check
    When "haituo.ip" applies with certificate 165-IP-21-00101 issued on 2021-01-15 by 中知(北京)认证有限公司
    And the automatic checks run
    Then the case of 烟台海拓机械有限公司 is in state rejected (不予受理)
    And its only failed check is certificate_number, saying "certificate '165-IP-21-00101' is missing or not of the form 165IP2100123R0M"

  Scenario Outline: The certification date must fall inside the window that opens on 2020-01-01
    When "haituo.ip" applies with certificate 165IP2100101R0M issued on <date> by 中知(北京)认证有限公司
    And the automatic checks run
    Then its certification_window check <result>, saying "certified on <date>; window 2020-01-01 – 2021-03-01"
    And the case of 烟台海拓机械有限公司 is in state <status> (<state name>)

    Examples:
      | date       | result | status        | state name |
      | 2019-11-20 | fails  | rejected      | 不予受理   |
      | 2019-12-31 | fails  | rejected      | 不予受理   |
      | 2020-01-01 | passes | formal_review | 形式审查   |

  Scenario Outline: A certificate issued more than 24 months before the application is outside the window
    Given it is 2022-06-15
    When "haituo.ip" applies with certificate 165IP2100101R0M issued on <date> by 中知(北京)认证有限公司
    And the automatic checks run
    Then its certification_window check <result>, saying "certified on <date>; window 2020-06-15 – 2022-06-15"

    Examples:
      | date       | result |
      | 2020-06-14 | fails  |
      | 2020-06-15 | passes |
      | 2022-06-15 | passes |
      | 2022-06-16 | fails  |

  Scenario: A certificate already claimed by an earlier application is not rewarded twice (不重复奖励)
    Given 烟台海拓机械有限公司 has applied with certificate 165IP2100101R0M and passed the automatic checks
    When "haituo.ip" applies with certificate 165IP2100101R0M issued on 2021-01-15 by 中知(北京)认证有限公司
    And the automatic checks run
    Then the newer case of 烟台海拓机械有限公司 is in state rejected (不予受理)
    And its only failed check is no_prior_award, saying "certificate already claimed by CA-2021-00001"

  Scenario: A certificate whose earlier application was withdrawn may be claimed again
    Given 烟台海拓机械有限公司 has applied with certificate 165IP2100101R0M and passed the automatic checks
    And "haituo.ip" has withdrawn that application
    When "haituo.ip" applies with certificate 165IP2100101R0M issued on 2021-01-15 by 中知(北京)认证有限公司
    And the automatic checks run
    Then the newer case of 烟台海拓机械有限公司 is in state formal_review (形式审查)

  Scenario: A university already awarded ¥80,000.00 this year fails the per-applicant cap check
    Given 烟台大学 has been awarded ¥80,000.00 in a finalized 2021 round
    And the applicant user "ytu.ip" belongs to 烟台大学
    When "ytu.ip" applies with certificate 175IP2100202R0L issued on 2021-02-01 by 中规(北京)认证有限公司
    And the automatic checks run
    Then the newer case of 烟台大学 is in state rejected (不予受理)
    And its only failed check is applicant_year_cap, saying "already awarded ¥80,000.00 this year; the university award is ¥80,000.00; room under the cap ¥0.00"

  Scenario: An enterprise's second application in one round is awarded only the ¥30,000.00 left under the cap
    Given 烟台海拓机械有限公司 has two applications of 2021, approved and scored 85.0 and 80.0
    When the approver "wang.approve" finalizes the 2021 round
    Then the case of 烟台海拓机械有限公司 scoring 85.00 is funded with ¥50,000.00
    And the case of 烟台海拓机械有限公司 scoring 80.00 is funded with ¥30,000.00
    And the awards to 烟台海拓机械有限公司 in 2021 total ¥80,000.00

  Scenario: An enterprise awarded ¥50,000.00 earlier in the year is awarded ¥30,000.00 in a later round
    Given 烟台海拓机械有限公司 has been awarded ¥50,000.00 in a finalized 2021 round
    And 烟台海拓机械有限公司 has applied again, been approved and scored 80.0
    When the approver "wang.approve" finalizes the 2021 round
    Then the newer case of 烟台海拓机械有限公司 is funded with ¥30,000.00
    And its applicant_year_cap check passed, saying "already awarded ¥50,000.00 this year; the enterprise award is ¥50,000.00; room under the cap ¥30,000.00"
    And the awards to 烟台海拓机械有限公司 in 2021 total ¥80,000.00

  Scenario: A reviewer imports a file of three applications
    Given an application file with the rows
      | applicant              | certificate_no  | certification_date | certification_body     |
      | 烟台海拓机械有限公司   | 165IP2100101R0M | 2021-01-15         | 中知(北京)认证有限公司 |
      | 烟台万华新材料有限公司 | 165IP2100102R0L | 2020-11-30         | 中规(北京)认证有限公司 |
      | 烟台大学               | 175IP2100103R0S | 2021-02-01         | 中知(北京)认证有限公司 |
    When "li.review" imports the application file
    Then the import reports "imported 3 application(s) (CA-2021-00001 … CA-2021-00003)"
    And the cases of 烟台海拓机械有限公司, 烟台万华新材料有限公司 and 烟台大学 are in state submitted (已申报)

  Scenario: A file with bad rows is refused whole, every bad line named, and nothing is written
    Given an application file with the rows
      | applicant              | certificate_no  | certification_date | certification_body     |
      | 烟台海拓机械有限公司   | 165IP2100101R0M | 2021-01-15         | 中知(北京)认证有限公司 |
      | 烟台未登记科技有限公司 | 165IP2100102R0M | 2021-01-15         | 中知(北京)认证有限公司 |
      | 烟台万华新材料有限公司 | 165IP2100103R0M | 2021-13-01         | 中知(北京)认证有限公司 |
      | 烟台大学               | 165IP2100101R0M | 2021-02-01         | 中规(北京)认证有限公司 |
      | 烟台大学               | 175IP2100104R0L | 2021-02-01         |                        |
    When "li.review" imports the application file
    Then the import is refused naming every bad line
      | line | reason                                                      |
      | 3    | is not registered (import it with `ipfund applicant import`) |
      | 4    | certification_date '2021-13-01' is not a date (YYYY-MM-DD)  |
      | 5    | certificate 165IP2100101R0M already on line 2               |
      | 6    | certification_body is empty                                 |
    And line 2 is not reported
    And nothing is written to the database
