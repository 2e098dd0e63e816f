# 二(二)5 对中小微企业开展知识产权托管服务券 — custody service vouchers, from issue to settlement.
# Parameters (illustrative, yantai-2020): a consulting voucher's face value ¥5,000.00; the voucher pays at
# most 0.5 × the contract amount and at most its face value; use by 6 months and redeem by 9 months after
# issue; the round of 10 March 2021 settles with the agency (通兑).
Feature: Custody service vouchers (托管服务券, 二(二)5)
  An SME of Yantai holds a voucher for one custody service, contracts an accredited agency at no more than
  its scheduled price, and the agency is paid what the voucher covers once the SME confirms the service.

  Background:
    Given the SME 烟台海拓机械有限公司 holds a consulting voucher of ¥5,000.00 issued on 2021-03-10
    And the agency 烟台正道知识产权代理有限公司 is accredited for consulting at ¥8,000.00

  Scenario: The voucher pays half the contract, and the rest of its face value returns to the line
    When the SME contracts the agency for ¥8,000.00
    And the agency redeems the voucher with its contract, payment receipt and custody report
    And the SME confirms the service
    Then the voucher holds ¥4,000.00 and waits for the reviewer's check
    And ¥1,000.00 of its face value is released to the budget line

  Scenario Outline: The voucher never pays more than its face value (二(二)5)
    Given the agency 烟台高新知识产权运营有限公司 is accredited for consulting at ¥20,000.00
    When the SME contracts 烟台高新知识产权运营有限公司 for <contract>
    Then the voucher covers <cover>

    Examples:
      | contract   | cover     |
      | ¥9,999.98  | ¥4,999.99 |
      | ¥10,000.00 | ¥5,000.00 |
      | ¥10,000.02 | ¥5,000.00 |

  Scenario: A redemption on the redeem-by date is accepted
    Given the SME has contracted the agency for ¥8,000.00
    When the agency redeems the voucher on 2021-12-10
    Then the voucher is delivered and waits for the SME's confirmation

  Scenario: A redemption the day after the redeem-by date is refused
    Given the SME has contracted the agency for ¥8,000.00
    When the agency redeems the voucher on 2021-12-11
    Then it is refused with "兑付截止日期已过" and clause 二(二)5
    And nothing is written

  Scenario: An agency suspended mid-round redeems nothing, and the holder is told
    Given the SME has contracted the agency for ¥8,000.00
    When a reviewer suspends the agency for failed spot checks
    Then the voucher is returned to the SME, issued again
    And the SME is told that the agency was suspended
    And the agency's redemption of the voucher is refused

  Scenario: A contract above the agency's scheduled price is refused
    When the SME contracts the agency for ¥8,000.01
    Then it is refused with "above 烟台正道知识产权代理有限公司's scheduled price of 800000 fen" and clause 二(二)5
    And nothing is written

  Scenario: An unused voucher lapses the day after its use-by date and its face value returns to the line
    When the expiry stage runs on 2021-09-10 and on 2021-09-11
    Then the voucher is still issued after the first run and has expired after the second
    And ¥5,000.00 of its face value is released to the budget line

  Scenario: A second consulting voucher for the same SME in the same year is refused at intake
    When the SME applies for another consulting voucher
    Then the application is rejected by the check no_prior_award
