# 二(三)7 联合设立质押融资风险补偿资金池，明确风险分担比例 — the pool on the ledger: contributions, filings, claims,
# provisional compensation and settlement after disposal.
# Parameters (illustrative, yantai-2020): loans filed from 2020-10-19 share a loss city pool 40 : bank 40 :
# insurer 20 (the pool pays the city pool's part); at most ¥1,000,000 a loan for a standard bank; only to its
# balance (以其余额为限: paid to the balance); loans covered ≤ 10 × the balance; claims within 10 working days.
# 中国银行烟台分行 (standard tier, staff zhao) and 烟台农村商业银行 (assessed, staff qian); finance zhou; reviewer li.
Feature: The risk-compensation pool on the ledger (风险补偿资金池, 二(三)7)

  Background:
    Given the banks, the finance officer zhou and the reviewer li
    And the pool holds ¥2,000,000.00 from municipal funds

  Rule: A covered loan's claim is paid the pool's share, at most the per-loan cap of the bank's tier

    Scenario Outline: A standard bank's claim on a loan of <principal> that defaulted unpaid
      Given 中国银行烟台分行 registered loan L-001 of <principal>
      And loan L-001 is filed into the pool on 2021-02-01
      When zhao claims on loan L-001, defaulted 2021-05-17, on 2021-05-20
      And li approves the claim on L-001 and zhou pays it
      Then the pool pays <paid>, bound by <bound>
      And the pool holds <left>
      And ipfund check passes

      Examples:
        | principal     | paid          | bound | left          |
        | ¥2,500,000.00 | ¥1,000,000.00 | share | ¥1,000,000.00 |
        | ¥2,500,000.03 | ¥1,000,000.00 | cap   | ¥1,000,000.00 |
        | ¥1,000,000.00 | ¥400,000.00   | share | ¥1,600,000.00 |

  Rule: Only a loan filed into the pool before it defaulted is covered

    Scenario: A claim for a loan never filed is refused, and nothing is written
      Given 中国银行烟台分行 registered loan L-002 of ¥1,000,000.00
      When zhao claims on loan L-002, defaulted 2021-05-17, on 2021-05-20
      Then the pool refuses: "not covered: a loan is covered only if filed into the pool before it defaulted"
      And nothing was written

    Scenario: A loan filed on the day it defaulted is not covered; one filed the day before is
      Given 中国银行烟台分行 registered loan L-003 of ¥1,000,000.00
      And 中国银行烟台分行 registered loan L-004 of ¥1,000,000.00
      And loan L-003 is filed into the pool on 2021-05-17
      And loan L-004 is filed into the pool on 2021-05-16
      When zhao claims on loan L-003, defaulted 2021-05-17, on 2021-05-20
      Then the pool refuses: "it was filed on 2021-05-17, not before"
      When zhao claims on loan L-004, defaulted 2021-05-17, on 2021-05-20
      Then the claim is recorded with a loss of ¥1,000,000.00

    Scenario: A revoked filing covers nothing
      Given 中国银行烟台分行 registered loan L-005 of ¥1,000,000.00
      And loan L-005 is filed into the pool on 2021-02-01
      And zhao revokes the filing of L-005 on 2021-03-01: "贷款已结清前转出"
      When zhao claims on loan L-005, defaulted 2021-05-17, on 2021-05-20
      Then the pool refuses: "it is not filed into the pool"

  Rule: The bank claims within 10 working days of the default

    Scenario Outline: A default on Monday 2021-05-17 claimed on <claimed>
      Given 中国银行烟台分行 registered loan L-006 of ¥1,000,000.00
      And loan L-006 is filed into the pool on 2021-02-01
      When zhao claims on loan L-006, defaulted 2021-05-17, on <claimed>
      Then the claim is <outcome>

      Examples:
        | claimed    | outcome                                    |
        | 2021-05-31 | recorded with a loss of ¥1,000,000.00      |
        | 2021-06-01 | refused: "the deadline is 10 (risk-compensation.claim_deadline_workdays" |

  Rule: The pool pays only to its balance (以其余额为限), and nothing from an empty pool

    Scenario: Two claims against ¥2,000,000: the second is paid what is left, a third nothing
      Given 中国银行烟台分行 registered loan L-007 of ¥4,000,000.00
      And 烟台农村商业银行 registered loan L-008 of ¥3,750,000.00
      And 中国银行烟台分行 registered loan L-009 of ¥1,000,000.00
      And loans L-007, L-008 and L-009 are filed into the pool on 2021-02-01
      When zhao claims on loan L-007, defaulted 2021-05-17, on 2021-05-20
      And li approves the claim on L-007 and zhou pays it
      Then the pool pays ¥1,000,000.00, bound by cap
      When qian claims on loan L-008, defaulted 2021-05-17, on 2021-05-20
      And li approves the claim on L-008 and zhou pays it
      Then the pool pays ¥1,000,000.00, bound by balance
      And the pool holds ¥0.00
      When zhao claims on loan L-009, defaulted 2021-05-17, on 2021-05-20
      And li approves the claim on L-009 and zhou pays it
      Then the pool refuses: "the pool holds ¥0.00: it pays nothing"
      And ipfund check passes

  Rule: After disposal the recovery is shared in the proportions borne; the pool's part returns to it

    Scenario: ¥300,000 recovered on a ¥1,000,000 loss returns ¥120,000 to the pool
      Given 中国银行烟台分行 registered loan L-010 of ¥1,000,000.00
      And loan L-010 is filed into the pool on 2021-02-01
      When zhao claims on loan L-010, defaulted 2021-05-17, on 2021-05-20
      And li approves the claim on L-010 and zhou pays it
      And zhou settles the claim on L-010 with ¥300,000.00 recovered
      Then the recovery returns ¥120,000.00 to the pool
      And the pool holds ¥1,720,000.00
      And ipfund check passes

    Scenario: More than the loss cannot be recovered, and nothing is written
      Given 中国银行烟台分行 registered loan L-011 of ¥1,000,000.00
      And loan L-011 is filed into the pool on 2021-02-01
      When zhao claims on loan L-011, defaulted 2021-05-17, on 2021-05-20
      And li approves the claim on L-011 and zhou pays it
      And zhou settles the claim on L-011 with ¥1,000,000.01 recovered
      Then the pool refuses: "more than the loss borne"
      And nothing was written

  Rule: Loans covered stay within 10 × the balance (放大倍数)

    Scenario: With ¥2,000,000 in the pool, ¥20,000,000 may be covered and not a fen more
      Given 中国银行烟台分行 registered loan L-012 of ¥19,000,000.00
      And 中国银行烟台分行 registered loan L-013 of ¥1,000,000.00
      And 中国银行烟台分行 registered loan L-014 of ¥0.01
      And loan L-012 is filed into the pool on 2021-02-01
      When zhao files loan L-013 on 2021-02-01
      Then the filing is accepted
      When zhao files loan L-014 on 2021-02-01
      Then the pool refuses: "risk-compensation.leverage"
      And nothing was written

  Rule: Each act is taken only by whom the duties allow (不相容岗位相互分离)

    Scenario: Another bank's staff neither file nor claim a bank's loan; its claimant's organisation never decides it
      Given 中国银行烟台分行 registered loan L-015 of ¥1,000,000.00
      When qian files loan L-015 of 中国银行烟台分行 on 2021-02-01
      Then the pool refuses: "a bank's staff act only for their own bank's loans"
      And nothing was written
      Given loan L-015 is filed into the pool on 2021-02-01
      And zhao claimed on loan L-015, defaulted 2021-05-17, on 2021-05-20
      When zhou decides the claim on L-015
      Then the pool refuses: "may not pool.decide; this needs one of the roles approver, reviewer"
      And nothing was written

  Rule: Bad input is refused naming the field, and nothing is written

    Scenario Outline: A contribution of <amount> from <source>
      When zhou contributes <amount> from <source>
      Then the pool refuses: "<message>"
      And nothing was written

      Examples:
        | amount      | source    | message                           |
        | -5,000.00   | municipal | amount                            |
        | 1e5         | municipal | amount                            |
        | 0           | municipal | amount                            |
        | 5,000.00    | lottery   | source: 'lottery' is not a fund source |

  Rule: A bank whose non-performing covered loans reach 5 % files no more loans into the pool (业务暂停)

    Scenario Outline: A claim on <defaulted> of the bank's ¥19,000,000 + <defaulted> filed
      Given the pool holds a further ¥1,000,000.00 from central funds
      And 中国银行烟台分行 registered loan L-020 of <defaulted>
      And 中国银行烟台分行 registered loan L-021 of ¥19,000,000.00
      And 中国银行烟台分行 registered loan L-022 of ¥100,000.00
      And loan L-020 is filed into the pool on 2021-02-01
      And loan L-021 is filed into the pool on 2021-02-01
      And zhao claimed on loan L-020, defaulted 2021-05-17, on 2021-05-20
      When zhao files loan L-022 on 2021-05-21
      Then the filing is <outcome>

      Examples:
        | defaulted     | outcome                                                 |
        | ¥999,999.99   | accepted                                                |
        | ¥1,000,000.00 | refused: "is suspended from the pool (业务暂停): non-performing ¥1,000,000.00 of ¥20,000,000.00 covered (5.00 %) ≥ 5 %" |
