# 二(三)7 采用各级政府贴息、服务费补贴等方式，降低融资成本; 二(三)8 白名单. The claim workflow of the interest
# subsidy (贴息) on the engine: an SME that paid interest on a registered IP-pledge loan claims it (先付后贴), the
# intake checks the loan in the registry and computes the subsidy with its trace, a reviewer checks the claim,
# the approver finalizes the round within the budget line, 公示, and finance pays the enterprise.
# Parameters (illustrative, yantai-2020): 20 % of the lower of the December LPR (2021: 3.80 %) and the loan's
# rate; days / 365; at most ¥500,000 per enterprise a year; pro rata (按比例核减) when the line is short.
Feature: Interest-subsidy claims on registered IP-pledge loans (贴息申请, 二(三)7)

  Background:
    Given the banks, the SMEs 烟台海拓机械有限公司, 莱山云帆软件有限公司 and 福山鲁东食品有限公司, and the 2021 budget plan

  Rule: A claim on a registered loan is checked, reviewed, noticed and paid to the enterprise (二(三)7)

    Scenario: Half a year's interest on ¥1,000,000 at 3.65 % is subsidised ¥3,620.00 and paid to the borrower
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥3,620.00 bound by formula
      And its dossier shows the step "one-year LPR of 2021-12" at "3.8 %" with parameter rates.lpr_1y
      When the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends
      And finance pays the subsidies
      Then the claim is paid ¥3,620.00 to 烟台海拓机械有限公司
      And ipfund check passes

    Scenario: Another enterprise cannot claim the borrower's interest
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      When 莱山云帆软件有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      Then the claim is rejected by borrower_is_applicant

    Scenario: A loan-period is claimed once (不重复)
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-16
      And the intake runs
      Then the first claim is in formal_review and the second is rejected by no_prior_award

    Scenario: Next year's claim may not reach back into a period already claimed
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      And 烟台海拓机械有限公司 claims on L-001 for 2021-07-01 to 2021-12-31 on 2022-01-05
      And the intake runs
      Then the claim is rejected by no_overlapping_claim, naming "overlaps PIS-2021-00001 (2021-01-10 – 2021-07-09)"

    Scenario: The bank files the claim for its borrower (代为申报)
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      When 中国银行烟台分行 files on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥3,620.00 bound by formula
      And the claim is 烟台海拓机械有限公司's, submitted by the bank's staff
      And ipfund check passes

    Scenario: Another bank's staff cannot file on the loan
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      When 烟台农村商业银行 files on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      Then the claim is refused naming "own bank" and nothing is written

  Rule: Only normal interest of the loan's own term, on its IP share, is subsidised (先付后贴, 二(三)7)

    Scenario: A claim on the extension period of an extended loan is refused (展期不贴息)
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-002 from 2021-01-10 to 2021-04-10
      And L-002 was extended to 2021-10-10
      And interest of ¥9,000.00 was paid on L-002 for 2021-04-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-002 for 2021-04-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      Then the claim is rejected by interest_subsidy, naming "展期不贴息"

    Scenario: Overdue interest is trimmed from the claim: ¥1,500.00 of normal interest, ¥2,000.00 overdue
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-003 from 2021-01-10 to 2022-01-10
      And interest of ¥1,500.00 was paid on L-003 for 2021-01-10 to 2021-07-10
      And overdue interest of ¥2,000.00 was paid on L-003 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-003 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥1,500.00 bound by interest_paid
      And its dossier shows the step "excluded: receipt R-L-003-2" at "¥2,000.00"

    Scenario: A combined loan with a 60 % IP share is subsidised on its IP part only (组合贷)
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-004 from 2021-01-10 to 2022-01-10 with a 60 % IP share
      And interest of ¥18,000.00 was paid on L-004 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-004 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥2,172.00 bound by formula

  Rule: No enterprise receives more than ¥500,000 a year (不超额, 二(三)7)

    Scenario Outline: A year's interest on <principal> comes to <subsidy>
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 <principal> at 3.65 % as L-005 from 2021-01-01 to 2022-01-01
      And interest of ¥2,500,000.00 was paid on L-005 for 2021-01-01 to 2022-01-01
      When 烟台海拓机械有限公司 claims on L-005 for 2021-01-01 to 2021-12-31 on 2022-01-05
      And the intake runs
      Then the claim is in formal_review with a subsidy of <subsidy> bound by <bound>

      Examples:
        | principal        | subsidy      | bound    |
        | ¥68,493,149.32   | ¥499,999.99  | formula  |
        | ¥70,000,000.00   | ¥500,000.00  | year_cap |

  Rule: Within the budget line, every claim is cut in proportion when the line is short, never over it (二(三)7)

    Scenario Outline: Two claims of ¥3,620.00 on a line holding <line>
      Given the pledge-interest-subsidy line of the 2021 plan holds <line>
      And 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      And 中国银行烟台分行 lent 莱山云帆软件有限公司 ¥1,000,000.00 at 3.65 % as L-006 from 2021-01-10 to 2022-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      And interest of ¥18,000.00 was paid on L-006 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And 莱山云帆软件有限公司 claims on L-006 for 2021-01-10 to 2021-07-09 on 2021-07-15
      And the intake runs
      And the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends
      Then the claims are awarded <first> and <second>, <total> in all

      Examples:
        | line       | first      | second     | total      |
        | ¥7,240.00  | ¥3,620.00  | ¥3,620.00  | ¥7,240.00  |
        | ¥7,239.99  | ¥3,620.00  | ¥3,619.99  | ¥7,239.99  |

  Rule: Bad input is refused naming the field, and nothing is written

    Scenario: A period end that is not a date
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      When 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-13-01 on 2021-07-15
      Then the claim is refused naming "period_to" and nothing is written

    Scenario: A field the claim form does not have
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 at 3.65 % as L-001 from 2021-01-10 to 2022-01-10
      When 烟台海拓机械有限公司 claims on L-001 for 2021-01-10 to 2021-07-09 with the field rate=0.5 on 2021-07-15
      Then the claim is refused naming "rate" and nothing is written
