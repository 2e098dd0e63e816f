Feature: The fund rules of 三(二) 加大资金投入
  烟政字〔2020〕47号 三(二): local finance arranges matching funds at 1:1.2 against central funds;
  at least 40 % of central funds support the IP service cluster zone (集聚区); at least 40 % of
  central funds are used in market-oriented ways (市场化方式). A budget plan that breaks any rule is
  refused whole, with every violation, its clause and its shortfall; an adjustment likewise.

  Background:
    Given the finance officer "cai" may load budget plans

  Scenario: A plan whose local funds are exactly 1.2 times the central funds loads
    Given a 2021 plan with central funds of ¥50,000,000.00 and local funds of ¥60,000,000.00
    And ¥20,000,000.00 of central funds on cluster-zone lines and ¥20,000,000.00 on market-oriented lines
    When "cai" loads the plan
    Then the plan is loaded
    And the status shows the match rule passing with ratio 1.2

  Scenario: A plan one fen short of the 1:1.2 match is refused and nothing is written
    Given a 2021 plan with central funds of ¥50,000,000.00 and local funds of ¥59,999,999.99
    And ¥20,000,000.00 of central funds on cluster-zone lines and ¥20,000,000.00 on market-oriented lines
    When "cai" loads the plan
    Then the plan is refused naming "1:1.2 地方配套 local match (三(二))" with a shortfall of ¥0.01
    And nothing is written to the database

  Scenario: A cluster-zone allocation of exactly 40 % of central funds meets the floor
    Given a 2021 plan with central funds of ¥50,000,000.00 and local funds of ¥60,000,000.00
    And ¥20,000,000.00 of central funds on cluster-zone lines and ¥25,000,000.00 on market-oriented lines
    When "cai" loads the plan
    Then the plan is loaded
    And the status shows the cluster_floor rule passing with ratio 0.4

  Scenario: A cluster-zone allocation one fen below 40 % is refused
    Given a 2021 plan with central funds of ¥50,000,000.00 and local funds of ¥60,000,000.00
    And ¥19,999,999.99 of central funds on cluster-zone lines and ¥25,000,000.00 on market-oriented lines
    When "cai" loads the plan
    Then the plan is refused naming "集聚区 cluster-zone floor (三(二))" with a shortfall of ¥0.01
    And nothing is written to the database

  Scenario: A market-oriented allocation one fen below 40 % is refused
    Given a 2021 plan with central funds of ¥50,000,000.00 and local funds of ¥60,000,000.00
    And ¥25,000,000.00 of central funds on cluster-zone lines and ¥19,999,999.99 on market-oriented lines
    When "cai" loads the plan
    Then the plan is refused naming "市场化 market-oriented floor (三(二))" with a shortfall of ¥0.01
    And nothing is written to the database

  Scenario: A plan breaking all three rules lists every violation
    Given a 2021 plan with central funds of ¥50,000,000.00 and local funds of ¥10,000,000.00
    And ¥1,000,000.00 of central funds on cluster-zone lines and ¥1,000,000.00 on market-oriented lines
    When "cai" loads the plan
    Then the plan is refused naming "1:1.2 地方配套 local match (三(二))" with a shortfall of ¥50,000,000.00
    And the refusal also names "集聚区 cluster-zone floor (三(二))" with a shortfall of ¥19,000,000.00
    And the refusal also names "市场化 market-oriented floor (三(二))" with a shortfall of ¥19,000,000.00
    And nothing is written to the database

  Scenario: An adjustment that would take the cluster zone below 40 % is refused
    Given the sample 2021 plan is loaded
    And the approver "wang" may adjust budget lines
    When "wang" moves ¥4,000,000.01 of central funds off the line "cluster-zone-build"
    Then the adjustment is refused naming "集聚区 cluster-zone floor (三(二))" with a shortfall of ¥0.01
    And nothing is written to the database

  Scenario: An adjustment that keeps the cluster zone at exactly 40 % is accepted
    Given the sample 2021 plan is loaded
    And the approver "wang" may adjust budget lines
    When "wang" moves ¥4,000,000.00 of central funds off the line "cluster-zone-build"
    Then the adjustment is recorded as approved by "wang"
    And the status shows the cluster_floor rule passing with ratio 0.4
