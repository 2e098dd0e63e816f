# 二(二)5 托管服务券 — 引入第三方开展托管项目绩效评价: a reviewer of the finance bureau checks each redemption, a
# third party grades the delivered service on the voucher's own rubric, and the grade decides what the voucher
# settles for; the grades and refusals go into the agency's monitoring record (二(四)10, 二(四)13: 动态监测).
# Parameters (illustrative, yantai-2020): a consulting voucher of ¥5,000.00 pays at most 0.5 × the contract;
# two evaluators per voucher; the pass grade is 60; below it the policy says none (no settlement) or reduced
# (0.5 × the redeemed amount, rounded half up to the fen).
Feature: Checking, evaluating and settling a redeemed custody voucher (托管项目绩效评价, 二(二)5)
  A redeemed voucher is settled only after the reviewer has checked the redemption and the third-party
  evaluation has graded the service; nobody of the SME or the agency reviews, evaluates or resolves it.

  Background:
    Given the SME 烟台海拓机械有限公司 holds a consulting voucher of ¥5,000.00 issued on 2021-03-10
    And the agency 烟台正道知识产权代理有限公司 is accredited for consulting at ¥8,000.00
    And the SME has contracted the agency for ¥8,000.00
    And the agency has redeemed the voucher for ¥4,000.00 on 2021-04-20

  Scenario: The reviewer approves the redemption and two independent evaluators are assigned
    Given the SME has confirmed the service
    When the reviewer approves the redemption
    And the advance flow runs
    Then the voucher waits for the third-party evaluation
    And 2 evaluators are assigned, none of the agency and none of the SME

  Scenario: The reviewer returns the redemption and the agency redeems again before the redeem-by date
    Given the SME has confirmed the service
    When the reviewer returns the redemption because "托管报告缺少第三章"
    Then the voucher is contracted again and its first redemption is marked returned
    And the agency and the SME are told with a reason
    And the agency can redeem the voucher again on 2021-05-10

  Scenario: The reviewer refuses the redemption: no settlement, the voucher is void and the refusal counts
    Given the SME has confirmed the service
    When the reviewer refuses the redemption because "服务成果与合同约定不符"
    Then the voucher ends refused
    And the voucher line shows ¥5,000.00 committed = ¥0.00 settled + ¥5,000.00 released + ¥0.00 open
    And the agency and the SME are told with a reason
    And the agency's 2021 monitoring record counts the grade 0

  Scenario: A reviewer of the agency never checks its redemption
    Given the SME has confirmed the service
    When the reviewer 林 of the agency approves the redemption
    Then it is refused naming "不相容岗位相互分离"
    And nothing is written

  Scenario: The reviewer's decision file: one line per redemption, one event each naming the file and its line
    Given the SME has confirmed the service
    When in a decision file the reviewer approves the redemption
    And the advance flow runs
    Then the voucher waits for the third-party evaluation
    And the voucher's review event names the decision file and line 2

  Scenario: A return in a decision file ends the redemption as the single decision does
    Given the SME has confirmed the service
    When in a decision file the reviewer returns the redemption because "托管报告缺少第三章"
    Then the voucher is contracted again and its first redemption is marked returned
    And the agency and the SME are told with a reason

  Scenario: A return without a reason refuses the whole decision file at its line
    Given the SME has confirmed the service
    When in a decision file the reviewer returns the redemption with no reason
    Then the decision file is refused at line 2 with "needs"
    And nothing is written

  Scenario: A decision file of a reviewer of the agency is refused at the voucher's line
    Given the SME has confirmed the service
    When in a decision file the reviewer 林 of the agency approves the redemption
    Then the decision file is refused at line 2 with "不相容岗位相互分离"
    And nothing is written

  Scenario Outline: The grade decides the settlement (pass grade 60; below it: <mode>)
    Given the policy settles a voucher graded below the pass grade for <mode>
    And the SME has confirmed the service
    When the reviewer approves the redemption and both evaluators score <grade> on every criterion
    Then the voucher is <state>
    And the voucher line shows ¥5,000.00 committed = ¥0.00 settled + <released> released + <open> open
    And the agency's 2021 monitoring record counts the grade <grade>

    Examples:
      | mode    | grade | state       | released  | open      |
      | none    | 60    | evaluated   | ¥1,000.00 | ¥4,000.00 |
      | none    | 59.9  | not_settled | ¥5,000.00 | ¥0.00     |
      | reduced | 60    | evaluated   | ¥1,000.00 | ¥4,000.00 |
      | reduced | 59.9  | evaluated   | ¥3,000.00 | ¥2,000.00 |

  Scenario: A reduced settlement pays the agency the reduced share
    Given the policy settles a voucher graded below the pass grade for reduced
    And the SME has confirmed the service
    When the reviewer approves the redemption and both evaluators score 50 on every criterion
    And the finance officer pays the custody-voucher batch and the bank confirms it
    Then 烟台正道知识产权代理有限公司 is paid ¥2,000.00 for the voucher
    And the voucher line shows ¥5,000.00 committed = ¥2,000.00 settled + ¥3,000.00 released + ¥0.00 open

  Scenario: A dispute dismissed: the service stands and the voucher goes on to the reviewer's check
    Given the SME has disputed the service because "托管报告未交付"
    When the reviewer dismisses the dispute because "托管报告已于4月18日交付，有签收记录"
    Then the voucher holds ¥4,000.00 and waits for the reviewer's check
    And the agency and the SME are told with a reason

  Scenario: A dispute upheld before the redeem-by date: the agency redoes the service and redeems again
    Given the SME has disputed the service because "托管报告未交付"
    When the reviewer upholds the dispute because "服务成果未交付"
    Then the voucher is contracted again and its first redemption is marked upheld
    And the agency and the SME are told with a reason
    And the agency can redeem the voucher again on 2021-05-10

  Scenario: A dispute upheld after the redeem-by date: the voucher is void and its commitment released
    Given the SME has disputed the service because "托管报告未交付"
    When the reviewer upholds the dispute on 2021-12-11 because "服务成果未交付"
    Then the voucher ends voided
    And the voucher line shows ¥5,000.00 committed = ¥0.00 settled + ¥5,000.00 released + ¥0.00 open

  Scenario: A disputed voucher never lapses at its redeem-by date
    Given the SME has disputed the service because "托管报告未交付"
    When the advance flow runs on 2021-12-11, the day after the redeem-by date
    Then the voucher is still disputed
    And the voucher line shows ¥5,000.00 committed = ¥0.00 settled + ¥0.00 released + ¥5,000.00 open

  Scenario: A decision on a voucher that does not await the reviewer's check is refused
    When the reviewer approves the redemption
    Then it is refused naming "delivered"
    And nothing is written

  Scenario: A dispute is resolved only on a disputed voucher
    Given the SME has confirmed the service
    When the reviewer dismisses the dispute because "无异议"
    Then it is refused naming "only a disputed voucher's dispute is resolved"
    And nothing is written

  Scenario: Scores by an evaluator not assigned to the voucher are refused
    Given the SME has confirmed the service
    And the reviewer has approved the redemption and the advance flow has run
    When the evaluator of the agency uploads scores for the voucher
    Then it is refused naming "is not assigned to ea"
    And nothing is written
