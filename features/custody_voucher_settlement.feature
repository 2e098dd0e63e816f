# 二(二)5 托管服务券 — settlement through the payment path, in the two modes seen in practice: 通兑 (企业申领、
# 机构兑付: the agency is paid) and 通用 (企业申领、企业兑付: the SME, which paid in full, is reimbursed).
# Parameters (illustrative, yantai-2020): a consulting voucher of ¥5,000.00 pays at most 0.5 × the contract.
Feature: Settling custody vouchers (托管服务券结算, 二(二)5)
  A confirmed voucher that the reviewer has checked and the third-party evaluation has passed (二(二)5
  引入第三方开展托管项目绩效评价) is settled once, for what it covers, to the payee its round's mode names; the
  budget line accounts for every fen it committed.

  Background:
    Given the SME 烟台海拓机械有限公司 holds a consulting voucher of ¥5,000.00 issued on 2021-03-10
    And the agency 烟台正道知识产权代理有限公司 is accredited for consulting at ¥8,000.00

  Scenario: In a 通兑 round the agency is paid what the voucher covers
    Given the SME has contracted the agency for ¥8,000.00
    And the agency has redeemed the voucher and the SME has confirmed it
    And the reviewer has approved the redemption and the evaluators have graded the service 80
    When the finance officer pays the custody-voucher batch and the bank confirms it
    Then 烟台正道知识产权代理有限公司 is paid ¥4,000.00 for the voucher
    And the voucher line shows ¥5,000.00 committed = ¥4,000.00 settled + ¥1,000.00 released + ¥0.00 open

  Scenario: A confirmed voucher is not settled before its evaluation
    Given the SME has contracted the agency for ¥8,000.00
    And the agency has redeemed the voucher and the SME has confirmed it
    When the finance officer pays the custody-voucher batch
    Then no bank file is written

  Scenario: A disputed voucher is not settled
    Given the SME has contracted the agency for ¥8,000.00
    And the agency has redeemed the voucher
    When the SME disputes the service because the custody report was never delivered
    And the finance officer pays the custody-voucher batch
    Then no bank file is written

  Scenario: A bank acknowledgement naming a voucher not in the batch is refused by line
    Given the SME has contracted the agency for ¥8,000.00
    And the agency has redeemed the voucher and the SME has confirmed it
    And the reviewer has approved the redemption and the evaluators have graded the service 80
    When the finance officer pays the custody-voucher batch
    And imports an acknowledgement with a second line for voucher CV-2021-00099
    Then it is refused by line with "line 3: no payment has idempotency key 'CV-2021-00099:settlement:1'"
    And nothing is written
