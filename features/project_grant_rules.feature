# 二(四)12 建立绩效考核体系 … 引入第三方评价; 三(三) 广泛借助第三方评价 … 保障财政资金安全和效益.
# Parameters (yantai-2020): the MoF grade bands 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 < 60; illustrative: the KPI score
# weighs 40 % of the evaluation (项目管理 60 / 项目绩效 40), attainment counts at most 1; tranches 67 % on agreement
# and 33 % banded by the mid-term grade (100 % 优, 50 % 良, 0 % 中 or 差); 90 days to rectify; unrectified,
# 100 % of what was paid is clawed back and the organisation barred for 2 years.
Feature: Project grants follow their evaluated results (二(四)12, 三(三))

  Background:
    Given the policy yantai-2020

  Rule: The grade follows the MoF bands, which leave no gap and no overlap

    Scenario Outline: A score of <score> is <grade>
      When a project scores <score>
      Then its grade is <grade>

      Examples:
        | score | grade |
        | 100   | 优    |
        | 90    | 优    |
        | 89.99 | 良    |
        | 80    | 良    |
        | 79.99 | 中    |
        | 60    | 中    |
        | 59.99 | 差    |
        | 0     | 差    |

    Scenario: Bands with a gap never load
      When a draft policy's bands are 优 from 90, 良 from 80, 中 from 60, 差 from 10
      Then the policy is refused: "the lowest band must start at 0"

    Scenario: Bands that overlap never load
      When a draft policy's bands are 优 from 90, 良 from 90, 中 from 60, 差 from 0
      Then the policy is refused: "bands overlap otherwise"

  Rule: KPI attainment is computed from the actuals by the agreement's formula, exactly

    Scenario Outline: 20 industries navigated from a baseline of 0, actual <actual>
      Given the agreement's KPI "navigated" rises from 0 to 20 industries, weight 100 %
      When the actuals are navigated <actual>
      Then the KPI score is <score>

      Examples:
        | actual | score |
        | 0      | 0     |
        | 15     | 75    |
        | 20     | 100   |
        | 25     | 100   |

    Scenario Outline: A KPI that should fall, and a report that is <delivered>
      Given the agreement's KPI "cycle_days" falls from 120 to 60 days, weight 50 %
      And the agreement's KPI "report" is a report delivered per GB/T 39551-2020, weight 50 %
      When the actuals are cycle_days 90, report <report>
      Then the KPI score is <score>

      Examples:
        | delivered     | report | score |
        | delivered     | 1      | 75    |
        | not delivered | 0      | 25    |

    Scenario: An evaluation weighs the evaluators' rubric 60 and the KPIs 40
      Given the agreement's KPI "navigated" rises from 0 to 20 industries, weight 100 %
      When the actuals are navigated 16 and the evaluators' rubric score is 85
      Then the evaluation score is 83 and the grade is 良
      And the trace names project-grant.kpi_weight and project-grant.grade_bands

    Scenario: Actuals for a KPI the agreement does not have are refused, naming it
      Given the agreement's KPI "navigated" rises from 0 to 20 industries, weight 100 %
      When the actuals are licences 3
      Then it is refused: "actuals: licences is not a KPI of the agreement"

    Scenario: KPI targets without a unit, or weights that do not sum to 100 %, are refused by KPI
      Given the agreement's KPI "navigated" rises from 0 to 20 , weight 60 %
      Then the agreement is refused: "kpi navigated: unit is missing"
      And the agreement is refused: "kpis: weights sum to 60 %, they must sum to exactly 100 %"

  Rule: The grant is paid in tranches; the banded tranche follows the mid-term grade

    Scenario Outline: A ¥1,500,000 project graded <grade> at mid-term
      Given a grant of ¥1,500,000.00
      Then the tranches are advance ¥1,005,000.00 and mid_term ¥495,000.00
      When the mid-term tranche is released for grade <grade>
      Then <released> is released and <cancelled> cancelled, back to the line

      Examples:
        | grade | released    | cancelled   |
        | 优    | ¥495,000.00 | ¥0.00       |
        | 良    | ¥247,500.00 | ¥247,500.00 |
        | 中    | ¥0.00       | ¥495,000.00 |

    Scenario: Tranches always sum to the grant, to the fen
      Given a grant of ¥1,000,000.01
      Then the tranches are advance ¥670,000.01 and mid_term ¥330,000.00

    Scenario: Tranche shares that do not sum to 100 % never load
      When a draft policy's tranches are 67 % and 30 %
      Then the policy is refused: "tranche shares sum to 0.97, they must sum to exactly 1"

  Rule: 差 opens a rectification period; unrectified, the rest is cancelled and what was paid clawed back

    Scenario: A project graded 差 on 2022-03-01 has until 2022-05-30
      When a project is graded 差 on 2022-03-01
      Then it must be rectified by 2022-05-30

    Scenario: Unrectified on 2022-06-01
      Given a grant of ¥1,500,000.00
      When the project is found unrectified on 2022-06-01 with ¥1,005,000.00 released and paid
      Then ¥495,000.00 is cancelled, ¥1,005,000.00 is clawed back, and it is barred until 2024-12-31

    Scenario Outline: A clawback of <amount> against ¥1,005,000 paid, ¥5,000 clawed back before
      When a clawback of <amount> is asked with ¥1,005,000.00 paid and ¥5,000.00 clawed back before
      Then the clawback is <outcome>

      Examples:
        | amount          | outcome  |
        | ¥1,000,000.00   | accepted |
        | ¥1,000,000.01   | refused  |
