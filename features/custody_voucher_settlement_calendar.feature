# 二(二)5 托管服务券 — settled in periodic batches (定期兑付) on the policy's settlement dates, each round to the payee of
# the settlement mode it recorded when it was opened: 通兑 (企业申领、机构兑付) pays the agency, 通用 (企业申领、企业兑付)
# reimburses the SME, which paid the agency in full.
# Parameters (illustrative, yantai-2020): custody-voucher.settlement_dates 06-30 and 12-20; a consulting voucher of
# ¥5,000.00 pays at most 0.5 × the contract; a 通用 redemption also carries the agency's invoice
# (custody-voucher.evidence_required_reimbursed).
Feature: The settlement calendar and the settlement mode of each round (定期兑付, 二(二)5)
  Finance releases custody-voucher settlements on the settlement dates only, taking the vouchers that became
  payable on or before the latest one reached; each voucher is paid to the payee its round's mode names.

  Background:
    Given round 1 of custody-voucher 2021 is opened in settlement mode agency

  Scenario: A 通兑 round pays the agency and a 通用 round reimburses the SME, on the settlement date
    Given round 1 issues consulting vouchers of ¥5,000.00 on 2021-03-10 to 烟台海拓机械有限公司
    And round 2 of custody-voucher 2021 is opened in settlement mode enterprise
    And round 2 issues consulting vouchers of ¥5,000.00 on 2021-03-12 to 莱山云帆软件有限公司
    And 烟台海拓机械有限公司's voucher is contracted with 烟台正道知识产权代理有限公司 for ¥8,000.00, redeemed and confirmed on 2021-05-10
    And 莱山云帆软件有限公司's voucher is contracted with 福山华知知识产权服务有限公司 for ¥6,000.00, redeemed with the agency's invoice and confirmed on 2021-05-10
    When the finance officer pays the custody-voucher batch on 2021-06-30
    Then the bank file pays ¥4,000.00 to 烟台正道知识产权代理有限公司 at account 6216610000000009
    And the bank file pays ¥3,000.00 to 莱山云帆软件有限公司 at account 6227000000000002
    And the rounds list round 1 settling to agency and round 2 settling to enterprise

  Scenario: A release the day before the settlement date is refused and names the next one
    Given round 1 issues consulting vouchers of ¥5,000.00 on 2021-03-10 to 烟台海拓机械有限公司
    And 烟台海拓机械有限公司's voucher is contracted with 烟台正道知识产权代理有限公司 for ¥8,000.00, redeemed and confirmed on 2021-05-10
    When the finance officer pays the custody-voucher batch on 2021-06-29
    Then it is refused with "the next settlement date is 2021-06-30" and "custody-voucher.settlement_dates, 二(二)5"
    And nothing is written

  Scenario: On the settlement date the voucher is paid once, however often the batch runs
    Given round 1 issues consulting vouchers of ¥5,000.00 on 2021-03-10 to 烟台海拓机械有限公司
    And 烟台海拓机械有限公司's voucher is contracted with 烟台正道知识产权代理有限公司 for ¥8,000.00, redeemed and confirmed on 2021-05-10
    When the finance officer pays the custody-voucher batch on 2021-06-30
    And the finance officer pays the custody-voucher batch on 2021-06-30 again
    Then the bank file pays ¥4,000.00 to 烟台正道知识产权代理有限公司 at account 6216610000000009
    And the second run writes no bank file and pays nothing more

  Scenario: A voucher payable on the settlement date is paid; one payable the day after waits for the next date
    Given round 1 issues consulting vouchers of ¥5,000.00 on 2021-03-10 to 烟台海拓机械有限公司 and 莱山云帆软件有限公司
    And 烟台海拓机械有限公司's voucher is contracted with 烟台正道知识产权代理有限公司 for ¥8,000.00, redeemed and confirmed on 2021-06-30
    And 莱山云帆软件有限公司's voucher is contracted with 烟台正道知识产权代理有限公司 for ¥8,000.00, redeemed and confirmed on 2021-07-01
    When the finance officer pays the custody-voucher batch on 2021-07-01
    Then the bank file pays ¥4,000.00 to 烟台正道知识产权代理有限公司 for 烟台海拓机械有限公司's voucher only
    And 莱山云帆软件有限公司's voucher is held until 2021-12-20
    When the finance officer pays the custody-voucher batch on 2021-12-20
    Then the bank file pays ¥4,000.00 to 烟台正道知识产权代理有限公司 for 莱山云帆软件有限公司's voucher only

  Scenario: A 通用 redemption without the agency's invoice is refused
    Given round 1 issues consulting vouchers of ¥5,000.00 on 2021-03-10 to 烟台海拓机械有限公司
    And round 2 of custody-voucher 2021 is opened in settlement mode enterprise
    And round 2 issues consulting vouchers of ¥5,000.00 on 2021-03-12 to 莱山云帆软件有限公司
    When 莱山云帆软件有限公司's voucher is contracted with 福山华知知识产权服务有限公司 for ¥6,000.00 and redeemed without the agency's invoice
    Then it is refused with "no invoice file" and "custody-voucher.evidence_required_reimbursed, 二(二)5"
    And nothing is written

  Scenario: A round of a scheme that always pays the applicant has no settlement mode
    When an approver opens round 1 of certification-award 2021 in settlement mode agency
    Then it is refused with "declares no payee_mode" and "certification-award"
    And nothing is written

  Scenario: A settlement acknowledgement naming an issued voucher that no batch paid is refused by line
    Given round 1 issues consulting vouchers of ¥5,000.00 on 2021-03-10 to 烟台海拓机械有限公司 and 莱山云帆软件有限公司
    And 烟台海拓机械有限公司's voucher is contracted with 烟台正道知识产权代理有限公司 for ¥8,000.00, redeemed and confirmed on 2021-05-10
    When the finance officer pays the custody-voucher batch on 2021-06-30
    And imports an acknowledgement with a second line for 莱山云帆软件有限公司's voucher
    Then it is refused with "line 3: no payment has idempotency key" and "a custody-voucher case that no batch paid"
    And the refusal cites "二(二)5" and nothing is written
