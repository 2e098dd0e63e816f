# 二(四)12 建立绩效考核体系; 三(三) 保障财政资金安全和效益; 不相容岗位相互分离 (the finance bureau's internal-control
# rules, rules/duties.py). Every refusal names the rule and leaves the database exactly as it was (compared
# by content, table by table). The project: a navigation_industry project of the project-navigation call,
# granted ¥500,000.00 (advance ¥335,000.00, mid_term ¥165,000.00), agreed on 2021-06-01, its mid-term report
# due on 2022-06-01. Tranche shares that do not sum to 100 % never load: see project_grant_rules.feature
# ("Tranche shares that do not sum to 100 % never load") — a policy that cannot load never reaches a project.
Feature: Bad input and incompatible duties on a funded project are refused, naming the rule, and nothing is written (二(四)12, 三(三))

  Rule: An agreement carries the type's KPIs, each with a baseline and a unit, weights summing to 100 % (二(四)12)

    Scenario Outline: An agreement whose <what> is refused
      Given a navigation_industry project of ¥500,000.00 out of its public notice
      When the approver signs on 2021-06-01 an agreement whose <what>
      Then it is refused naming "<problem>" and nothing is written

      Examples:
        | what                                        | problem                                                      |
        | KPI patents_navigated has no baseline       | kpi 1 (patents_navigated).baseline: missing                  |
        | KPI patents_navigated has an empty unit     | kpi patents_navigated: unit is missing                       |
        | weights are 50, 30 and 10                   | kpis: weights sum to 90 %, they must sum to exactly 100 %    |
        | KPIs include licences                       | kpi 4 (licences): not a KPI of a navigation_industry project |
        | KPIs leave out smes_served                  | kpi smes_served: the navigation_industry template requires it |

  Rule: A progress report gives actuals of the agreement's KPIs, with evidence of an allowed type, while the project runs (二(四)12)

    Scenario Outline: A mid-term report with <what> is refused
      Given the project agreed on 2021-06-01 with its advance paid
      When the project files its mid_term report on 2022-06-01 with <what>
      Then it is refused naming "<problem>" and nothing is written

      Examples:
        | what                                     | problem                                                  |
        | patents_navigated 2000, licences 3       | actual licences: not a KPI of the agreement              |
        | an empty evidence file progress.pdf      | evidence progress.pdf: the file is empty                 |
        | an evidence file progress.exe            | evidence progress.exe: type 'exe' is not allowed         |

    Scenario: A report after the project completed is refused
      Given the project completed on 2023-06-10
      When the project files its final report on 2023-06-11 with patents_navigated 2000, reports 1, smes_served 40
      Then it is refused naming "the project is closed, no report is filed any more" and nothing is written

    Scenario: A report after the project was left unrectified is refused
      Given the project left unrectified on 2022-08-31
      When the project files its mid_term report on 2022-09-01 with patents_navigated 2000, reports 1, smes_served 40
      Then it is refused naming "the project is closed, no report is filed any more" and nothing is written

  Rule: A tranche is released only when its condition holds, by an approver (二(四)12)

    Scenario: The mid-term tranche of a project still running, not yet evaluated, is refused
      Given the project agreed on 2021-06-01 with its advance paid
      When the approver releases the mid-term tranche on 2022-06-15
      Then it is refused naming "a tranche is released only when its condition holds" and nothing is written

  Rule: A recovery is never above what is owed (三(三))

    Scenario Outline: Recovering <amount> of the ¥335,000.00 clawed back
      Given the project left unrectified on 2022-08-31
      When finance records <amount> recovered with the bank's receipt BR-2022-0001 on 2022-09-10
      Then the recovery is <outcome>

      Examples:
        | amount      | outcome                                                                                  |
        | ¥335,000.01 | refused naming "¥335,000.01 is more than the ¥335,000.00 owed and not yet recovered"     |
        | ¥335,000.00 | accepted                                                                                 |

    Scenario: A second receipt for more than is left is refused
      Given the project left unrectified on 2022-08-31
      When finance records ¥300,000.00 recovered with the bank's receipt BR-2022-0001 on 2022-09-10
      And finance records ¥35,000.01 recovered with the bank's receipt BR-2022-0002 on 2022-09-11
      Then the recovery is refused naming "¥35,000.01 is more than the ¥35,000.00 owed and not yet recovered"

  Rule: 不相容岗位相互分离: nobody judges, pays or reports for a project they have a tie to

    Scenario: An evaluator of the applicant's own organisation is refused
      Given the project agreed on 2021-06-01 with its advance paid
      And the project has filed its mid_term report on 2022-06-01
      When an evaluator of the applicant's own organisation scores the mid_term 90.0 on every criterion on 2022-06-10
      Then it is refused naming "belongs to the applicant of PN-2021-00001" and nothing is written
      And the refusal cites "不相容岗位相互分离"

    Scenario: An evaluator who declared a conflict with the applicant is refused
      Given the project agreed on 2021-06-01 with its advance paid
      And the project has filed its mid_term report on 2022-06-01
      And the evaluator has declared a conflict of interest with the applicant
      When the evaluator scores the mid_term 90.0 on every criterion on 2022-06-10
      Then it is refused naming "declared a conflict of interest with the applicant of PN-2021-00001" and nothing is written
      And the refusal cites "不相容岗位相互分离"

    Scenario: The project's own staff, though an approver, cannot release its tranche
      Given the project agreed on 2021-06-01 with its advance paid
      And the project was evaluated 良 at mid-term on 2022-06-10
      When an approver of the applicant's own organisation releases the mid-term tranche on 2022-06-15
      Then it is refused naming "belongs to the applicant of PN-2021-00001" and nothing is written
      And the refusal cites "不相容岗位相互分离"

    Scenario: An applicant of another organisation cannot report for the project
      Given the project agreed on 2021-06-01 with its advance paid
      When an applicant of another organisation files the mid_term report on 2022-06-01
      Then it is refused naming "PN-2021-00001" and nothing is written
      And the refusal cites "acts only for their own organisation"
