# 二(一)1 支持产业和企业专利导航项目 … 建设产业知识产权运营中心; 二(四)12 建立绩效考核体系 … 引入第三方评价;
# 三(三) 广泛借助第三方评价 … 保障财政资金安全和效益.
# A navigation_industry project of the project-navigation call, granted ¥500,000.00 on the patent-navigation
# line (the 2021 plan gives the line ¥14,000,000.00 in all). Parameters (yantai-2020, illustrative where the
# seed gives no number): tranches 67 % on the agreement (advance ¥335,000.00) and 33 % banded by the mid-term
# grade (mid_term ¥165,000.00: 100 % 优, 50 % 良, 0 % 中 or 差); the MoF bands 优 ≥ 90, 良 ≥ 80, 中 ≥ 60,
# 差 < 60 of a score = 60 % the evaluators' rubric + 40 % the KPI score; reports due 12 and 24 months after the
# agreement; 90 days to rectify; unrectified, 100 % of what was paid is clawed back and the organisation barred
# until the end of the second year after. The KPIs of the agreement: patents_navigated 0 → 2000 (weight 50),
# reports 0 → 1 delivered per GB/T 39551-2020 (30), smes_served 0 → 40 (20).
Feature: A funded project from its agreement to its last tranche, rectification or clawback (二(一)1, 二(四)12, 三(三))

  Rule: The agreement is signed after the public notice, and the advance is paid through the payment path (二(一)1)

    Scenario: Signed during the notice it is refused; once the notice has ended it is agreed
      Given a navigation_industry project of ¥500,000.00 finalized on 2021-05-10, its notice ending on 2021-05-17
      When the approver signs its agreement on 2021-05-16
      Then it is refused naming "an agreement is signed once the public notice has ended" and nothing is written
      When the approver signs its agreement on 2021-05-17
      Then the project is agreed with the tranches advance ¥335,000.00 and mid_term ¥165,000.00
      And its mid_term report is due on 2022-05-17
      And the checker is clean

    Scenario: The advance (67 %) is released on the agreement and paid through pay release, the payment stage and the bank
      Given a navigation_industry project of ¥500,000.00 out of its public notice
      Then the line patent-navigation holds committed ¥500,000.00, paid ¥0.00, receivable ¥0.00, available ¥13,500,000.00
      When the approver signs its agreement on 2021-06-01
      Then the project is agreed with the tranches advance ¥335,000.00 and mid_term ¥165,000.00
      And its mid_term report is due on 2022-06-01
      When finance releases the payments, the payment stage writes the bank file and the bank acknowledges it paid
      Then the bank file paid ¥335,000.00 for the tranche advance
      And the project is mid_term_running (实施中 (待中期评价))
      And the line patent-navigation holds committed ¥165,000.00, paid ¥335,000.00, receivable ¥0.00, available ¥13,500,000.00
      And the checker is clean

  Rule: Progress reports are flagged late after their due date; an extension is asked by the due date and decided by a reviewer (二(四)12)

    Scenario Outline: The mid-term report due on 2022-06-01, filed on <filed>, is <flag>
      Given the project agreed on 2021-06-01 with its advance paid
      When the project files its mid_term report on <filed> with patents_navigated 2000, reports 1, smes_served 40
      Then the report is filed <flag>, due on 2022-06-01, with the sha256 of its evidence
      And the checker is clean

      Examples:
        | filed      | flag    |
        | 2022-06-01 | on time |
        | 2022-06-02 | late    |

    Scenario: An extension asked on the due date and granted by a reviewer moves the due date
      Given the project agreed on 2021-06-01 with its advance paid
      When the project asks on 2022-06-01 to extend its mid_term report to 2022-07-01
      And the reviewer grants the extension
      Then its mid_term report is due on 2022-07-01
      And the applicant is told "报告延期申请 granted"
      When the project files its mid_term report on 2022-07-01 with patents_navigated 2000, reports 1, smes_served 40
      Then the report is filed on time, due on 2022-07-01, with the sha256 of its evidence
      And the checker is clean

    Scenario: An extension refused by the reviewer leaves the due date
      Given the project agreed on 2021-06-01 with its advance paid
      When the project asks on 2022-05-20 to extend its mid_term report to 2022-07-01
      And the reviewer refuses the extension
      Then its mid_term report is due on 2022-06-01

    Scenario: An extension asked the day after the due date is refused
      Given the project agreed on 2021-06-01 with its advance paid
      When the project asks on 2022-06-02 to extend its mid_term report to 2022-07-01
      Then it is refused naming "an extension must be asked before the due date" and nothing is written
      And its mid_term report is due on 2022-06-01

  Rule: The mid-term tranche (¥165,000.00) follows the grade: 优 all of it, 良 half, 中 nothing; the rest goes back to the line (二(四)12)

    Scenario Outline: Actuals <patents> patents, <reports> report, <smes> SMEs and a rubric score of <rubric>: <score>, <grade>
      Given the project agreed on 2021-06-01 with its advance paid
      When the project files its mid_term report on 2022-06-01 with patents_navigated <patents>, reports <reports>, smes_served <smes>
      And the evaluator scores the mid_term <rubric> on every criterion on 2022-06-10
      Then the evaluation's KPI score is <kpi>, its score <score> and its grade <grade>
      And the project is mid_term_evaluated (中期评价完成待核拨)
      When the approver releases the mid-term tranche on 2022-06-15
      Then <released> of the mid_term tranche is released and <cancelled> cancelled, back to the line
      And the line patent-navigation holds committed <released>, paid ¥335,000.00, receivable ¥0.00, available <available>
      When finance releases the payments, the payment stage writes the bank file and the bank acknowledges it paid
      Then the project is final_running (实施中 (待结项验收))
      And the line patent-navigation holds committed ¥0.00, paid <paid>, receivable ¥0.00, available <available>
      And the checker is clean

      Examples:
        | patents | reports | smes | rubric | kpi | score | grade | released    | cancelled   | paid        | available      |
        | 2000    | 1       | 20   | 90.0   | 90  | 90    | 优    | ¥165,000.00 | ¥0.00       | ¥500,000.00 | ¥13,500,000.00 |
        | 2000    | 1       | 20   | 89.9   | 90  | 89.94 | 良    | ¥82,500.00  | ¥82,500.00  | ¥417,500.00 | ¥13,582,500.00 |
        | 2000    | 1       | 0    | 80.0   | 80  | 80    | 良    | ¥82,500.00  | ¥82,500.00  | ¥417,500.00 | ¥13,582,500.00 |
        | 2000    | 1       | 0    | 79.9   | 80  | 79.94 | 中    | ¥0.00       | ¥165,000.00 | ¥335,000.00 | ¥13,665,000.00 |
        | 1200    | 1       | 0    | 60.0   | 60  | 60    | 中    | ¥0.00       | ¥165,000.00 | ¥335,000.00 | ¥13,665,000.00 |

  Rule: 差 opens a rectification period of 90 days (限期整改); unrectified, the rest is cancelled, what was paid clawed back and the organisation barred (三(三))

    Scenario: Graded 差 (59.94) on 2022-06-01, the project has until 2022-08-30 to rectify
      Given the project agreed on 2021-06-01 with its advance paid
      When the project files its mid_term report on 2022-06-01 with patents_navigated 1200, reports 1, smes_served 0
      And the evaluator scores the mid_term 59.9 on every criterion on 2022-06-01
      Then the evaluation's KPI score is 60, its score 59.94 and its grade 差
      And the project is mid_term_rectification (中期限期整改)
      And it must be rectified by 2022-08-30
      And the applicant is told "项目限期整改"
      And the checker is clean

    Scenario: Rectified by a reviewer on the due date, the project is evaluated again
      Given the project graded 差 at mid-term on 2022-06-01
      When the reviewer accepts the rectification on 2022-08-30
      Then the project is mid_term_running (实施中 (待中期评价))
      When the project files its mid_term report on 2022-08-30 with patents_navigated 2000, reports 1, smes_served 40
      And the evaluator scores the mid_term 80.0 on every criterion on 2022-09-05
      Then the evaluation's KPI score is 100, its score 88 and its grade 良
      When the approver releases the mid-term tranche on 2022-09-06
      Then ¥82,500.00 of the mid_term tranche is released and ¥82,500.00 cancelled, back to the line
      And the checker is clean

    Scenario: A rectification accepted the day after its due date is refused
      Given the project graded 差 at mid-term on 2022-06-01
      When the reviewer accepts the rectification on 2022-08-31
      Then it is refused naming "the rectification was due on 2022-08-30" and nothing is written

    Scenario: The rectification stage leaves it on the due date; the day after, the project is closed unrectified
      Given the project graded 差 at mid-term on 2022-06-01
      When the advance run goes on 2022-08-30
      Then the project is mid_term_rectification (中期限期整改)
      When the advance run goes on 2022-08-31
      Then the project is clawback_due (未整改待追回)
      And the mid_term tranche is cancelled, ¥165,000.00 back to the line
      And ¥335,000.00 is clawed back, all that was paid, and the organisation is barred from 2022-09-01 until 2024-12-31
      And the line patent-navigation holds committed ¥0.00, paid ¥0.00, receivable ¥335,000.00, available ¥13,665,000.00
      And the applicant is told "项目未按期整改"
      And the checker is clean

    Scenario Outline: The barred organisation applies to the next call on <day>
      Given the project left unrectified on 2022-08-31
      When the same organisation applies to project-navigation on <day> for a navigation_enterprise project of ¥300,000.00
      Then its application of <year> is <outcome> by the intake check not_barred
      And the checker is clean

      Examples:
        | day        | year | outcome |
        | 2022-09-15 | 2022 | refused |
        | 2024-12-31 | 2024 | refused |
        | 2025-01-01 | 2025 | passed  |

    Scenario: Recovered in part, then in full: clawed back, the receivable back to ¥0.00
      Given the project left unrectified on 2022-08-31
      When finance records ¥100,000.00 recovered with the bank's receipt BR-2022-0001 on 2022-09-10
      Then the project is clawback_due (未整改待追回) with ¥235,000.00 still owed
      And the line patent-navigation holds committed ¥0.00, paid ¥0.00, receivable ¥235,000.00, available ¥13,765,000.00
      When finance records ¥235,000.00 recovered with the bank's receipt BR-2022-0002 on 2022-09-20
      Then the project is clawed_back (已追回)
      And the line patent-navigation holds committed ¥0.00, paid ¥0.00, receivable ¥0.00, available ¥14,000,000.00
      And the checker is clean
