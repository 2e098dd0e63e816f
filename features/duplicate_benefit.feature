# 从优从高不重复 — the same enterprise is not funded twice for the same support in one fiscal year, across
# schemes; when it qualifies for both, the higher award is kept (Hangzhou High-tech Zone's rule, research/
# schemes.md §1.1). The policy's duplicate_benefits (illustrative): the 贯标认证奖励 (二(二)4, any claim) and a
# custody consulting voucher (二(二)5, service consulting) fund one support, 贯标咨询辅导.
# Parameters (illustrative, yantai-2020): an enterprise's certification award ¥50,000.00; a consulting
# voucher ¥5,000.00, an application voucher ¥10,000.00.
Feature: No duplicate benefit across schemes (从优从高不重复, 二(二)4 / 二(二)5)
  An SME that already holds an award of the same support from another scheme this year is refused when
  that award is at least the new claim, with the rule and the other case named. A higher claim is kept,
  and the SME is paid the difference: what the lower award already holds is deducted.

  Background:
    Given the registered applicants
      | name               | kind       | sme  |
      | 烟台海拓机械有限公司 | enterprise | true |
    And the sample 2021 budget plan is loaded and the round is staffed

  Scenario: A consulting voucher after a ¥50,000.00 贯标 award of the same year is refused, naming the award
    Given 烟台海拓机械有限公司 was awarded ¥50,000.00 for its GB/T 29490 certification in 2021
    When 烟台海拓机械有限公司 applies for a consulting voucher
    Then the voucher application is rejected by duplicate_benefit, citing 从优从高不重复 and 二(二)4 / 二(二)5
    And the refusal names the certification award and "the higher award is kept"

  Scenario: An application voucher is another support, and is issued beside the 贯标 award
    Given 烟台海拓机械有限公司 was awarded ¥50,000.00 for its GB/T 29490 certification in 2021
    When 烟台海拓机械有限公司 applies for an application voucher
    And the approver "wang.approve" finalizes the 2021 custody-voucher round
    Then the voucher is issued for ¥10,000.00

  Scenario: A 贯标 award after a ¥5,000.00 consulting voucher is kept, less the voucher
    Given 烟台海拓机械有限公司 holds a consulting voucher of ¥5,000.00 issued in 2021
    When 烟台海拓机械有限公司 is awarded for its GB/T 29490 certification
    Then the certification award is ¥45,000.00, its reason naming the voucher and 从优从高不重复
    And the voucher is still issued for ¥5,000.00
    And the two awards together are ¥50,000.00 and every invariant of ipfund check holds

  Scenario: Awards of the same support written around the services are flagged by ipfund check
    Given 烟台海拓机械有限公司 holds a consulting voucher of ¥5,000.00 issued in 2021
    And 烟台海拓机械有限公司 is awarded for its GB/T 29490 certification
    When the certification award is raised to ¥50,000.00 in the database, around the services
    Then ipfund check flags "no duplicate benefit (从优从高不重复)" naming both cases
