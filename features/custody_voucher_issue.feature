# 二(二)5 对中小微企业开展知识产权托管服务券 — vouchers are issued in rounds within the budget line, first come
# first served or ranked when the round asks for more than the line holds (a policy choice:
# custody-voucher.issue_order, illustrative), never above the per-enterprise yearly cap.
# Parameters (illustrative, yantai-2020): a consulting voucher's face value ¥5,000.00, training ¥3,000.00,
# application and operation ¥10,000.00; cap ¥20,000.00 per SME and fiscal year; one voucher per SME, service and
# year (custody-voucher.vouchers_per_service_year = 1) unless the policy says otherwise. Ranked: first-time custody SMEs
# (no voucher in an earlier year) first, then SMEs holding no voucher yet this year, then earlier submission.
Feature: Issuing custody vouchers within the budget line (托管服务券, 二(二)5)
  A round issues every eligible voucher the budget line can hold. When the SMEs ask for more, the policy's
  issue order decides who is left out: the later applicant (先到先得) or the lowest-ranked one.

  Scenario Outline: <order> issue on a line of <line>: the line holds both vouchers or one fen less
    Given custody vouchers are issued <order> on a 2021 custody line of <line>
    And 烟台海拓机械有限公司 held a consulting voucher in 2020
    When 烟台海拓机械有限公司 and then 莱山云帆软件有限公司 apply for consulting vouchers of ¥5,000.00 in 2021
    And the approver finalizes the 2021 round
    Then 烟台海拓机械有限公司's voucher is <first> and 莱山云帆软件有限公司's is <second>

    Examples:
      | order  | line       | first            | second           |
      | ranked | ¥10,000.00 | funded           | funded           |
      | ranked | ¥9,999.99  | budget_exhausted | funded           |
      | fcfs   | ¥10,000.00 | funded           | funded           |
      | fcfs   | ¥9,999.99  | funded           | budget_exhausted |

  Scenario: The approver's trial shows each voucher's rank and the reason for it
    Given custody vouchers are issued ranked on a 2021 custody line of ¥9,999.99
    And 烟台海拓机械有限公司 held a consulting voucher in 2020
    When 烟台海拓机械有限公司 and then 莱山云帆软件有限公司 apply for consulting vouchers of ¥5,000.00 in 2021
    Then the approver's trial allocation shows
      | applicant      | rank | outcome          | award     | reason                                                    |
      | 莱山云帆软件有限公司 | 1    | funded           | 5,000.00  | ranked: first-time custody SME; no voucher yet this year  |
      | 烟台海拓机械有限公司 | 2    | budget_exhausted | 0.00      | ranked: held 1 voucher(s) in earlier years                |
    And nothing is written by the trial

  Scenario: Ranked, an SME holding no voucher yet this year goes before one adding a second service
    Given custody vouchers are issued ranked on a 2021 custody line of ¥12,999.99
    And 烟台海拓机械有限公司 holds a consulting voucher of ¥5,000.00 issued in an earlier 2021 round
    When 烟台海拓机械有限公司 applies for a training voucher of ¥3,000.00 and then 莱山云帆软件有限公司 for a consulting voucher of ¥5,000.00
    And the approver finalizes the 2021 round
    Then 烟台海拓机械有限公司's voucher is budget_exhausted and 莱山云帆软件有限公司's is funded

  Scenario: Vouchers up to the ¥20,000.00 yearly cap are issued; one more in the same round is refused
    Given custody vouchers are issued fcfs on a 2021 custody line of ¥50,000.00
    When 烟台海拓机械有限公司 applies for application, operation and consulting vouchers in one round
    And the approver finalizes the 2021 round
    Then its application and operation vouchers are funded for ¥10,000.00 each
    And its consulting voucher is ineligible by applicant_year_cap

  Scenario Outline: One voucher per SME, service and year unless the policy says otherwise (<n> a year)
    Given custody vouchers are issued fcfs on a 2021 custody line of ¥50,000.00
    And the policy allows <n> vouchers per SME, service and year
    When 烟台海拓机械有限公司 applies for <tries> consulting vouchers in one round
    And the approver finalizes the 2021 round
    Then its first <n> consulting vouchers are issued for ¥5,000.00 each and the next is rejected by no_prior_award

    Examples:
      | n | tries |
      | 1 | 2     |
      | 2 | 3     |
