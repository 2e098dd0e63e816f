Feature: Ranking and allocation of the certification awards within the budget line (择优、不超额)
  烟政字〔2020〕47号 二(二)4: awards are merit-based (择优奖励) and never over-awarded (不超额奖励). The
  approver's round ranks the scored cases by their final score and funds them in rank order while the
  certification-award budget line can pay the full award (¥50,000.00 an enterprise, ¥80,000.00 a
  university or institute), never more than ¥80,000.00 to one applicant in a year. Each case gets one
  outcome with a reason: funded, below_min_score (under 60 points), budget_exhausted, ineligible
  or rejected_in_review. Equal scores are ordered by the higher 管理体系运行有效性 (system_operation)
  score, then SMEs first. A trial allocation writes nothing; finalizing commits the same allocation.
  不相容岗位相互分离: the approver who finalizes reviewed none of the round's cases and belongs to
  none of its applicants.

  Background:
    Given the registered applicants
      | name                   | kind       | sme   |
      | 烟台海拓机械有限公司   | enterprise | true  |
      | 烟台万华新材料有限公司 | enterprise | false |
      | 烟台鲁东化工有限公司   | enterprise | true  |
      | 烟台瑞康医药有限公司   | enterprise | false |
      | 烟台大学               | university | false |

  Scenario Outline: A case is funded at the minimum score of 60 and not below it
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the scored cases
      | applicant            | score   |
      | 烟台海拓机械有限公司 | <score> |
    When the approver "wang.approve" finalizes the 2021 round
    Then the round report lists
      | applicant            | rank | outcome   | award    | reason   |
      | 烟台海拓机械有限公司 | 1    | <outcome> | <award>  | <reason> |
    And the case of 烟台海拓机械有限公司 is in state <status> (<state name>)

    Examples:
      | score | outcome         | award     | reason                            | status      | state name |
      | 60.0  | funded          | 50,000.00 | rank 1, award ¥50,000.00          | in_notice   | 公示中     |
      | 59.9  | below_min_score | 0.00      | final score 59.90 < minimum 60.00 | not_awarded | 未获奖励   |

  Scenario: A case the line can no longer pay in full is budget_exhausted
    Given a 2021 budget plan whose certification-award line holds ¥100,000.00, and the round is staffed
    And the scored cases
      | applicant              | score |
      | 烟台海拓机械有限公司   | 90.0  |
      | 烟台万华新材料有限公司 | 85.0  |
      | 烟台鲁东化工有限公司   | 80.0  |
    When the approver "wang.approve" finalizes the 2021 round
    Then the round report lists
      | applicant              | rank | outcome          | award     | reason                                              |
      | 烟台海拓机械有限公司   | 1    | funded           | 50,000.00 | rank 1, award ¥50,000.00                            |
      | 烟台万华新材料有限公司 | 2    | funded           | 50,000.00 | rank 2, award ¥50,000.00                            |
      | 烟台鲁东化工有限公司   | 3    | budget_exhausted | 0.00      | award ¥50,000.00 exceeds the ¥0.00 left on the line |

  Scenario: A case that failed an intake check is ineligible, naming the check
    Given the sample 2021 budget plan is loaded and the round is staffed
    And 烟台鲁东化工有限公司 has applied with a certificate issued on 2019-11-20
    And the scored cases
      | applicant            | score |
      | 烟台海拓机械有限公司 | 85.0  |
    When the approver "wang.approve" finalizes the 2021 round
    Then the round report lists
      | applicant            | rank | outcome    | award     | reason                                    |
      | 烟台海拓机械有限公司 | 1    | funded     | 50,000.00 | rank 1, award ¥50,000.00                  |
      | 烟台鲁东化工有限公司 | -    | ineligible | 0.00      | intake check failed: certification_window |

  Scenario: A case rejected in formal review is rejected_in_review
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the case of 烟台瑞康医药有限公司 has been rejected in formal review because "申报主体与认证证书持有人不符"
    And the scored cases
      | applicant            | score |
      | 烟台海拓机械有限公司 | 85.0  |
    When the approver "wang.approve" finalizes the 2021 round
    Then the round report lists
      | applicant            | rank | outcome            | award     | reason                    |
      | 烟台海拓机械有限公司 | 1    | funded             | 50,000.00 | rank 1, award ¥50,000.00  |
      | 烟台瑞康医药有限公司 | -    | rejected_in_review | 0.00      | rejected in formal review |

  Scenario: A trial allocation writes nothing and finalizing commits the same allocation
    Given a 2021 budget plan whose certification-award line holds ¥100,000.00, and the round is staffed
    And the scored cases
      | applicant              | score |
      | 烟台海拓机械有限公司   | 90.0  |
      | 烟台万华新材料有限公司 | 55.0  |
      | 烟台鲁东化工有限公司   | 80.0  |
      | 烟台大学               | 70.0  |
    When "wang.approve" runs a trial allocation of the 2021 round
    Then nothing is written to the database
    When the approver "wang.approve" finalizes the 2021 round
    Then the finalized allocation is the trial's, case by case, with ¥100,000.00 awarded

  Scenario: Of two equal final scores the higher system_operation score ranks first
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the scored cases
      | applicant              | system_operation | ip_output_quality | ip_utilisation | innovation_capacity |
      | 烟台海拓机械有限公司   | 80.0             | 86.0              | 86.0           | 75.0                |
      | 烟台万华新材料有限公司 | 90.0             | 80.0              | 80.0           | 75.0                |
    When "wang.approve" runs a trial allocation of the 2021 round
    Then the trial ranks
      | rank | applicant              | final score |
      | 1    | 烟台万华新材料有限公司 | 82.00       |
      | 2    | 烟台海拓机械有限公司   | 82.00       |
    And a second trial ranks them the same

  Scenario: Of two cases equal on every score the SME ranks first
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the scored cases
      | applicant              | score |
      | 烟台万华新材料有限公司 | 80.0  |
      | 烟台海拓机械有限公司   | 80.0  |
    When "wang.approve" runs a trial allocation of the 2021 round
    Then the trial ranks
      | rank | applicant              | final score |
      | 1    | 烟台海拓机械有限公司   | 80.00       |
      | 2    | 烟台万华新材料有限公司 | 80.00       |

  Scenario: An approver who reviewed a case of the round cannot finalize it
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the user "zhou.both" is a reviewer and an approver
    And the scored cases, approved in formal review by "zhou.both"
      | applicant            | score |
      | 烟台海拓机械有限公司 | 85.0  |
    When "zhou.both" tries to finalize the 2021 round
    Then the finalization is refused as a four-eyes violation naming "zhou.both took a review decision on CA-2021-00001, so may not finalize the round (不相容岗位相互分离)"
    And nothing is written to the database

  Scenario: An approver belonging to an applicant of the round cannot finalize it
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the approver "gao.approve" belongs to 烟台万华新材料有限公司
    And the scored cases
      | applicant              | score |
      | 烟台海拓机械有限公司   | 85.0  |
      | 烟台万华新材料有限公司 | 80.0  |
    When "gao.approve" tries to finalize the 2021 round
    Then the finalization is refused as a four-eyes violation naming "gao.approve belongs to the applicant of CA-2021-00002 (烟台万华新材料有限公司), so may not finalize the round"
    And nothing is written to the database

  Scenario: An approver who only rejected a case in review cannot finalize the round that ranks its competitors
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the user "zhou.both" is a reviewer and an approver
    And the scored cases
      | applicant            | score |
      | 烟台海拓机械有限公司 | 85.0  |
    And the case of 烟台大学 has been rejected in formal review by "zhou.both" because "申报主体不符"
    When "zhou.both" tries to finalize the 2021 round
    Then the finalization is refused as a four-eyes violation naming "zhou.both took a review decision on CA-2021-00002, so may not finalize the round"
    And nothing is written to the database

  Scenario: A second finalization says which round was finalized, by whom and when
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the scored cases
      | applicant            | score |
      | 烟台海拓机械有限公司 | 85.0  |
    And "wang.approve" has finalized the 2021 round
    When "qian.approve" tries to finalize the 2021 round
    Then the finalization is refused naming "round 1 of certification-award 2021 was already finalized by wang.approve at 2021-05-10T01:00"
    And nothing is written to the database

  Scenario: No applicant receives more than the cap and the awards never exceed the line
    Given a 2021 budget plan whose certification-award line holds ¥200,000.00, and the round is staffed
    And the scored cases
      | applicant              | score |
      | 烟台大学               | 92.0  |
      | 烟台大学               | 90.0  |
      | 烟台海拓机械有限公司   | 85.0  |
      | 烟台万华新材料有限公司 | 80.0  |
      | 烟台鲁东化工有限公司   | 75.0  |
    When the approver "wang.approve" finalizes the 2021 round
    Then the round report lists
      | applicant              | rank | outcome          | award     | reason                                                  |
      | 烟台大学               | 1    | funded           | 80,000.00 | rank 1, award ¥80,000.00                                |
      | 烟台大学               | 2    | ineligible       | 0.00      | applicant_year_cap: the applicant's cap of ¥80,000.00 is used |
      | 烟台海拓机械有限公司   | 3    | funded           | 50,000.00 | rank 3, award ¥50,000.00                                |
      | 烟台万华新材料有限公司 | 4    | funded           | 50,000.00 | rank 4, award ¥50,000.00                                |
      | 烟台鲁东化工有限公司   | 5    | budget_exhausted | 0.00      | award ¥50,000.00 exceeds the ¥20,000.00 left on the line |
    And every applicant's awards of 2021 are at most ¥80,000.00
    And the awards total ¥180,000.00, within the line's ¥200,000.00
    And the budget status shows ¥180,000.00 committed and ¥20,000.00 available on the certification-award line
