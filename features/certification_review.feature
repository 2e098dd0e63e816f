Feature: Formal review (形式审查) of certification-award applications
  烟政字〔2020〕47号 二(二)4: applications for the certification award pass a formal review before the
  third-party evaluation. Reviewers at the market-supervision and finance bureaus step through their
  queue, the longest-waiting case first, and approve, return for correction or reject each case;
  returning or rejecting needs a reason the applicant is told. A decision takes effect when it is made:
  the case moves on at once. `review next` leases the case it hands out to that reviewer for a while, so
  two reviewers stepping through one queue never get the same case. 不相容岗位相互分离: a reviewer never
  sees nor decides a case of the organisation it belongs to, however the affiliation was typed, nor a
  case the reviewer submitted or imported, and a case moves only along the transitions the policy lists.

  Background:
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the registered applicants
      | name                   | kind       | sme   |
      | 烟台海拓机械有限公司   | enterprise | true  |
      | 烟台万华新材料有限公司 | enterprise | false |
      | 烟台大学               | university | false |

  Scenario: The queue lists the cases in the order they entered formal review
    Given the applications entering formal review
      | applicant              | day        |
      | 烟台万华新材料有限公司 | 2021-03-01 |
      | 烟台大学               | 2021-03-02 |
      | 烟台海拓机械有限公司   | 2021-03-03 |
    When "li.review" opens the review queue
    Then the queue lists
      | applicant              | waiting since |
      | 烟台万华新材料有限公司 | 2021-03-01    |
      | 烟台大学               | 2021-03-02    |
      | 烟台海拓机械有限公司   | 2021-03-03    |

  Scenario: A case resubmitted after a return waits behind the cases that entered before it
    Given the applications entering formal review
      | applicant              | day        |
      | 烟台万华新材料有限公司 | 2021-03-01 |
      | 烟台大学               | 2021-03-02 |
    And the case of 烟台万华新材料有限公司 has been returned, resubmitted and checked again on 2021-03-04
    When "li.review" opens the review queue
    Then the queue lists
      | applicant              | waiting since |
      | 烟台大学               | 2021-03-02    |
      | 烟台万华新材料有限公司 | 2021-03-04    |

  Scenario: The next case shows the applicant, the submitted data, every check and the history
    Given the applications entering formal review
      | applicant              | day        |
      | 烟台万华新材料有限公司 | 2021-03-01 |
      | 烟台大学               | 2021-03-02 |
    When "li.review" asks for the next case
    Then it shows the case of 烟台万华新材料有限公司, an enterprise in district 370602, with its credit code
    And it shows the certificate 165IP2170001R0M issued on 2021-01-15 by 中知(北京)认证有限公司
    And it shows all 7 intake checks passed, each with its rule and clause
    And its history reads case.submit by admin, then case.intake_passed by system

  Scenario: An approved case moves to the third-party evaluation as soon as it is decided
    Given the case of 烟台海拓机械有限公司 waits in formal review
    When "li.review" decides to approve it with the reason "材料齐全，符合申报条件"
    Then the case is in state evaluation (第三方评价) and no longer in the queue of "li.review"
    And its history records the approve decision of "li.review" with the reason "材料齐全，符合申报条件"

  Scenario Outline: Returning or rejecting a case without a reason is refused and nothing is written
    Given the case of 烟台海拓机械有限公司 waits in formal review
    When "li.review" decides to <decision> it without a reason
    Then the decision is refused naming "--<decision> needs --reason TEXT: the applicant is told why"
    And nothing is written to the database

    Examples:
      | decision |
      | return   |
      | reject   |

  Scenario Outline: A returned or rejected case carries the reviewer's reason to the applicant
    Given the case of 烟台海拓机械有限公司 waits in formal review
    And the applicant user "haituo.ip" belongs to 烟台海拓机械有限公司
    When "li.review" decides to <decision> it with the reason "<reason>"
    Then the case is in state <status> (<state name>)
    And "haituo.ip" reads the reason "<reason>" in its case

    Examples:
      | decision | reason                       | status   | state name |
      | return   | 证书复印件不清晰，请补正     | returned | 退回补正   |
      | reject   | 申报主体与认证证书持有人不符 | rejected | 不予受理   |

  Scenario: A reviewer belonging to the applicant does not see its case in the queue
    Given the reviewer "zhou.review" belongs to 烟台海拓机械有限公司
    And the applications entering formal review
      | applicant            | day        |
      | 烟台海拓机械有限公司 | 2021-03-01 |
      | 烟台大学             | 2021-03-02 |
    When "zhou.review" opens the review queue
    Then the queue lists
      | applicant | waiting since |
      | 烟台大学  | 2021-03-02    |

  Scenario Outline: A reviewer belonging to the applicant cannot decide its case, however the affiliation was typed
    Given the reviewer "zhou.review" belongs to 烟台海拓机械有限公司, its credit code typed <typed>
    And the case of 烟台海拓机械有限公司 waits in formal review
    When "zhou.review" decides to approve it with the reason "材料齐全"
    Then the decision is refused as a four-eyes violation naming "zhou.review belongs to the applicant of CA-2021-00001 (烟台海拓机械有限公司), so may not take a review decision"
    And nothing is written to the database

    Examples:
      | typed                        |
      | as registered                |
      | in lower case                |
      | with a trailing space        |
      | with spaces between groups   |

  Scenario: A reviewer who imported the applications cannot decide them
    Given the user "sun.review" is a reviewer who may import applications
    And "sun.review" has imported the application of 烟台海拓机械有限公司 and it waits in formal review
    When "sun.review" decides to approve it with the reason "材料齐全"
    Then the decision is refused as a four-eyes violation naming "sun.review submitted or imported CA-2021-00001, so may not take a review decision"
    And nothing is written to the database

  Scenario: A decided case has moved on, so a second decision is an illegal transition
    Given the case of 烟台海拓机械有限公司 waits in formal review
    And "li.review" has approved it
    When "zhao.review" decides to reject it with the reason "证书已过期"
    Then the decision is refused naming "cannot 'reject' an application that is 'evaluation' (第三方评价); allowed from there: scores_complete, withdraw"
    And nothing is written to the database

  Scenario: Two reviewers stepping through the queue are never handed the same case
    Given the applications entering formal review
      | applicant              | day        |
      | 烟台万华新材料有限公司 | 2021-03-01 |
      | 烟台大学               | 2021-03-02 |
    When "li.review" asks for the next case
    And "zhao.review" asks for the next case
    Then "li.review" was handed the case of 烟台万华新材料有限公司 and "zhao.review" the case of 烟台大学
    And the queue of "li.review" shows the case of 烟台万华新材料有限公司 held by "li.review" and the case of 烟台大学 held by "zhao.review"
    And "li.review" asking again is handed the case of 烟台万华新材料有限公司 again

  Scenario: A case leased to one reviewer cannot be decided by another while the lease lasts
    Given the case of 烟台海拓机械有限公司 waits in formal review
    And "li.review" has asked for the next case
    When "zhao.review" decides to approve it with the reason "材料齐全"
    Then the decision is refused naming "is being reviewed by li.review"
    And nothing is written to the database

  Scenario: When the lease ends another reviewer may take the case
    Given the case of 烟台海拓机械有限公司 waits in formal review
    And "li.review" has asked for the next case
    When 31 minutes pass and "zhao.review" asks for the next case
    Then "zhao.review" now holds the case of 烟台海拓机械有限公司
