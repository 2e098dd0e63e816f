# 二(四)13 信息公示和信用监管 — an agency found to have colluded (恶意串通) or faked evidence (弄虚作假) after its
# vouchers were settled is expelled, its open vouchers are void and the money it was paid is clawed back as a
# receivable on the budget line, never by editing a posting; 三(三) 保障财政资金安全 — the line gets back exactly
# what is recovered, recorded once per bank receipt, by someone other than whoever found the fraud.
# Parameters (illustrative, yantai-2020, 二(二)5): a consulting voucher of ¥5,000.00 pays at most 0.5 × the contract.
Feature: Clawing back custody vouchers after fraud (托管服务券追回, 二(四)13)
  A fraud finding is one act: the agency leaves the registry, the vouchers still open with it are void and their
  commitments released, and each settled voucher the finding names owes its payment back to the line.

  Background:
    Given the agency 烟台正道知识产权代理有限公司 was paid ¥4,000.00 for each of two settled consulting vouchers
    And a third consulting voucher of ¥5,000.00 is under contract with it

  Scenario: A finding of collusion expels the agency, voids its open voucher and claws back the settled ones
    When the reviewer records a finding of collusion naming the first voucher in full and ¥1,500.00 of the second
    Then the agency is expelled
    And the voucher under contract is void and its holder is told
    And the first voucher owes ¥4,000.00 and the second ¥1,500.00, due from 烟台正道知识产权代理有限公司
    And the voucher line shows ¥15,000.00 committed = ¥8,000.00 settled + ¥7,000.00 released + ¥0.00 open
    And the voucher line shows ¥5,500.00 clawed back = ¥0.00 recovered + ¥5,500.00 outstanding
    And the budget status shows ¥5,500.00 receivable and ¥2,500.00 paid on the custody-voucher line
    And ipfund check finds every invariant holding

  Scenario: The money comes back in part, then in full, and returns to the line
    Given the reviewer has recorded a finding of collusion naming the first voucher in full
    When the finance officer records ¥1,000.00 recovered on the first voucher with receipt BOC-2021-R001
    Then the first voucher still owes ¥3,000.00
    And the voucher line shows ¥4,000.00 clawed back = ¥1,000.00 recovered + ¥3,000.00 outstanding
    When the finance officer records ¥3,000.00 recovered on the first voucher with receipt BOC-2021-R002
    Then the first voucher is clawed back in full
    And the voucher line shows ¥4,000.00 clawed back = ¥4,000.00 recovered + ¥0.00 outstanding
    And the voucher line shows ¥15,000.00 committed = ¥8,000.00 settled + ¥7,000.00 released + ¥0.00 open
    And ipfund check finds every invariant holding

  Scenario: A recovery above what is outstanding is refused
    Given the reviewer has recorded a finding of collusion naming the first voucher in full
    And the finance officer has recorded ¥1,000.00 recovered on the first voucher with receipt BOC-2021-R001
    When the finance officer records ¥3,000.01 recovered on the first voucher with receipt BOC-2021-R002
    Then it is refused with "above the ¥3,000.00 still outstanding" and clause 二(四)13
    And nothing is written

  Scenario: A bank receipt is recorded once
    Given the reviewer has recorded a finding of collusion naming the first voucher in full
    And the finance officer has recorded ¥1,000.00 recovered on the first voucher with receipt BOC-2021-R001
    When the finance officer records ¥1,000.00 recovered on the first voucher with receipt BOC-2021-R001
    Then it is told the receipt is already recorded
    And nothing is written
    When the finance officer records ¥2,000.00 recovered on the first voucher with receipt BOC-2021-R001
    Then it is refused as a conflict with "a bank receipt is recorded once"
    And nothing is written

  Scenario: Whoever recorded the finding does not record the recovery
    Given the reviewer qian, who also keeps the accounts, has recorded a finding naming the first voucher in full
    When qian records ¥1,000.00 recovered on the first voucher with receipt BOC-2021-R001
    Then it is refused with "recorded the fraud finding behind" and clause 不相容岗位相互分离
    And nothing is written

  Scenario: A member of the agency cannot record a finding against it
    When a reviewer employed by the agency records a finding of collusion naming the first voucher in full
    Then it is refused with "belongs to agency" and clause 不相容岗位相互分离
    And nothing is written

  Scenario: A voucher not settled is not clawed back
    When the reviewer records a finding of collusion naming the voucher under contract
    Then it is refused with "not settled" and clause 二(四)13
    And nothing is written
