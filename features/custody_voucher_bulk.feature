# 二(二)5 对中小微企业开展知识产权托管服务券 — custody vouchers in bulk files, as voucher platforms take them.
# A contract file is the SME's act (its own vouchers; the bureau's platform operator may enter contracts the
# SMEs signed); a redemption manifest is the agency's (its own contracts, the evidence next to the manifest);
# a confirmation file is the SME's. Each line is decided as the single act would decide it, and one bad line
# refuses the whole file: nothing is written.
# Parameters (illustrative, yantai-2020): consulting ¥5,000.00 and application ¥10,000.00 face values; the
# voucher pays at most 0.5 × the contract and at most its face value; agency 烟台正道知识产权代理有限公司's
# scheduled prices ¥8,000.00 (consulting) and ¥20,000.00 (application).
Feature: Custody vouchers in bulk files (托管服务券, 二(二)5)
  SMEs and agencies send their contracts, redemptions and confirmations as files; every line is checked
  against the same rules as one act, each voucher's change is one audit event, and a file with one bad
  line changes nothing.

  Background:
    Given the SME 烟台海拓机械有限公司 holds a consulting voucher and an application voucher issued on 2021-03-10
    And the SME 莱山云帆软件有限公司 holds a consulting voucher issued on 2021-03-10

  Scenario: The SME contracts both its vouchers in one file, at the agency's scheduled prices
    When 烟台海拓机械有限公司 files contracts with 烟台正道知识产权代理有限公司 for ¥8,000.00 and ¥20,000.00
    Then both vouchers are contracted, covering ¥4,000.00 and ¥10,000.00
    And each voucher has one contract event naming the file and its line

  Scenario: One line a fen above the scheduled price refuses the whole file
    When 烟台海拓机械有限公司 files contracts with 烟台正道知识产权代理有限公司 for ¥8,000.00 and ¥20,000.01
    Then the file is refused at line 3 with "above 烟台正道知识产权代理有限公司's scheduled price" and clause 二(二)5
    And nothing is written

  Scenario: An SME's file naming another SME's voucher is refused (contracts are the holder's act)
    When 烟台海拓机械有限公司 files a contract of 莱山云帆软件有限公司's voucher
    Then the file is refused at line 2 with "an applicant acts only for their own organisation"
    And nothing is written

  Scenario: An agency cannot file contracts on the SMEs' behalf
    When 烟台正道知识产权代理有限公司 files the contracts of 烟台海拓机械有限公司's vouchers
    Then it is refused with the role that may contract
    And nothing is written

  Scenario: The agency redeems its contracts with a manifest, and the SME confirms them with a file
    Given 烟台海拓机械有限公司 has contracted both vouchers with 烟台正道知识产权代理有限公司 for ¥8,000.00 and ¥20,000.00
    When 烟台正道知识产权代理有限公司 files a redemption manifest with each voucher's contract, receipt and report
    And 烟台海拓机械有限公司 files the confirmation of both vouchers
    Then both vouchers are payable, for ¥4,000.00 and ¥10,000.00
    And ¥1,000.00 of the consulting voucher's face value is released to the budget line

  Scenario: A manifest with one empty receipt refuses every redemption in it
    Given 烟台海拓机械有限公司 has contracted both vouchers with 烟台正道知识产权代理有限公司 for ¥8,000.00 and ¥20,000.00
    When 烟台正道知识产权代理有限公司 files a redemption manifest whose second receipt is empty
    Then the file is refused at line 3 with "receipt file" and "is empty"
    And nothing is written
