Feature: The accredited service-agency registry (服务机构库)
  Custody services (咨询、培训、信息、申请、维护、运营、保护, 二(二)5) are bought only from accredited service
  agencies. The city admits agencies, monitors them, rewards the best and expels the bad (入驻和迁出的动态
  监测、奖励和退出, 二(四)10), and publishes the list and their credit record (信息公示和信用监管, 二(四)13).
  The thresholds are the policy's illustrative parameters: a warning from 3 complaints in a year, a
  suspension from 2 failed spot checks or 2 grades below 60, expulsion on fraud, a reward of ¥100,000.00.

  Background:
    Given the reviewer "li", the evaluator "eval1", the approver "wang" and the agency user "wu" of 烟台正道知识产权代理有限公司
    And 烟台正道知识产权代理有限公司 has applied with 4 full-time staff, a fixed office and independent liability

  Scenario: An agency meeting every requirement is accredited with its price schedule (二(四)10)
    When the reviewer "li" accredits 烟台正道知识产权代理有限公司 for 咨询 at ¥3,000.00 and 申请 at ¥5,000.00
    Then 烟台正道知识产权代理有限公司 is on the public list for 咨询 at ¥3,000.00
    And 烟台正道知识产权代理有限公司 is told "服务机构 已列入服务机构库 (二(四)10)"

  Scenario: Three full-time staff meet the minimum for accreditation (二(二)5)
    Given 烟台福山华知服务有限公司 has applied with 3 full-time staff, a fixed office and independent liability
    When the reviewer "li" accredits 烟台福山华知服务有限公司 for 咨询 at ¥2,000.00
    Then 烟台福山华知服务有限公司 is accredited

  Scenario: Two full-time staff are one too few: the check and its clause are named, nothing is written (二(二)5)
    Given 烟台福山华知服务有限公司 has applied with 2 full-time staff, a fixed office and independent liability
    When the reviewer "li" accredits 烟台福山华知服务有限公司 for 咨询 at ¥2,000.00
    Then the request is refused with "check minimum_staff (二(二)5) fails: 2 full-time staff; at least 3 are needed" and nothing is written
    And 烟台福山华知服务有限公司 is applied

  Scenario Outline: Complaints in a year earn a warning from the third (二(四)13)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    And <complaints> complaints against 烟台正道知识产权代理有限公司 were received in 2021
    When the yearly monitoring of 2021 runs
    Then 烟台正道知识产权代理有限公司 is <state>

    Examples:
      | complaints | state      |
      | 2          | accredited |
      | 3          | warned     |

  Scenario Outline: Failed spot checks suspend an agency from the second (二(四)10)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    And the evaluator "eval1" found <failed> spot checks of 烟台正道知识产权代理有限公司 failed in 2021
    When the yearly monitoring of 2021 runs
    Then 烟台正道知识产权代理有限公司 is <state>

    Examples:
      | failed | state      |
      | 1      | accredited |
      | 2      | suspended  |

  Scenario Outline: Two grades below 60 suspend an agency; a grade of exactly 60 is not low (二(四)10)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    And the evaluator "eval1" graded services of 烟台正道知识产权代理有限公司 <grades> in 2021
    When the yearly monitoring of 2021 runs
    Then 烟台正道知识产权代理有限公司 is <state>

    Examples:
      | grades        | state      |
      | 60 and 59.9   | accredited |
      | 59.9 and 59.9 | suspended  |

  Scenario: Fraud found in a spot check expels the agency and voids its open vouchers (二(四)10)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    And the evaluator "eval1" found fraud in a spot check of 烟台正道知识产权代理有限公司 in 2021
    When the yearly monitoring of 2021 runs
    Then 烟台正道知识产权代理有限公司 is expelled
    And 烟台正道知识产权代理有限公司 is told its open vouchers are void

  Scenario: A suspended agency leaves the public list the day it is suspended (二(四)13)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    When the reviewer "li" suspends 烟台正道知识产权代理有限公司 because "两次抽查不合格"
    Then the public list of that day has no agency for 咨询
    And 烟台正道知识产权代理有限公司 is told its open vouchers are returned to their holders

  Scenario: An agency's own staff never suspend it (不相容岗位相互分离)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    And the reviewer "zhao" works for 烟台正道知识产权代理有限公司
    When the reviewer "zhao" suspends 烟台正道知识产权代理有限公司 because "投诉"
    Then the request is refused with "zhao belongs to agency" and nothing is written
    And 烟台正道知识产权代理有限公司 is accredited

  Scenario: A service the policy does not list is refused by name and nothing is written (二(二)5)
    When the reviewer "li" accredits 烟台正道知识产权代理有限公司 for 游说 at ¥1,000.00
    Then the request is refused with "service '游说' is not a custody service of the policy" and nothing is written
    And 烟台正道知识产权代理有限公司 is applied

  Scenario: The yearly reward goes to the best agency; equal grades go to the one with fewer complaints (二(四)10)
    Given 烟台正道知识产权代理有限公司 is accredited for 咨询 at ¥3,000.00
    And 烟台福山华知服务有限公司 has applied with 3 full-time staff, a fixed office and independent liability
    And 烟台福山华知服务有限公司 is accredited for 培训 at ¥800.00
    And the evaluator "eval1" graded services of 烟台正道知识产权代理有限公司 90 in 2021
    And the evaluator "eval1" graded services of 烟台福山华知服务有限公司 90 in 2021
    And 1 complaints against 烟台正道知识产权代理有限公司 were received in 2021
    When the approver "wang" decides the 2021 reward in January 2022
    Then 烟台福山华知服务有限公司 is rewarded ¥100,000.00
