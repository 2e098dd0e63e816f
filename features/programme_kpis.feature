# 一(二) 工作目标: the programme's targets, checked by its own KPIs (三(二) 制定专项经费使用分配与绩效考核方案).
Feature: The programme's KPIs against the plan's targets (一(二))

  The plan sets targets for its three years: 支持 240 家以上……通过知识产权管理规范贯标认证, 重点扶持……知识产权服务机构
  50 家以上 (一(二)2, 一(二)4). The national programme Yantai joined sets lower floors for some (贯标 ≥ 200). ipfund
  counts what it records and holds it against both.

  Scenario Outline: certified entities against the city's target and the national floor (一(二)2)
    Given <entities> entities whose certification awards stand in 2021
    When the KPIs are reported at the end of 2023
    Then the 烟台 plan's target of 240 is <city>
    And the national floor of 200 is <national>

    Examples:
      | entities | city    | national |
      | 199      | not met | not met  |
      | 200      | not met | met      |
      | 239      | not met | met      |
      | 240      | met     | met      |

  Scenario: an entity awarded in two years counts once for the programme
    Given an entity whose award stands in 2021 and again in 2022
    And another entity whose award was withdrawn after an objection
    When the KPIs are reported at the end of 2023
    Then the certified entities are 1 in 2021, 1 in 2022 and 1 for the programme

  Scenario: a growth target measured outside ipfund is listed, never met here (一(二)2)
    When the KPIs are reported at the end of 2023
    Then the transfers and licences growth target of 20 % a year is listed as measured outside ipfund

  Scenario Outline: pledge financing from the loan registry against +30 % a year, amount and count (一(二)3)
    Given pledge loans of ¥<amount_2021> in <loans_2021> loans drawn down in 2021
    And pledge loans of ¥<amount_2022> in <loans_2022> loans drawn down in 2022
    When the KPIs are reported at the end of 2022
    Then the pledge financing growth target of 30 % a year is <state>
    And 2022 shows growth of <amount_growth> in amount and <count_growth> in loans

    Examples:
      | amount_2021   | loans_2021 | amount_2022   | loans_2022 | state   | amount_growth | count_growth |
      | 10,000,000.00 | 10         | 13,000,000.00 | 13         | met     | +30.0 %       | +30.0 %      |
      | 10,000,000.00 | 10         | 12,999,999.99 | 13         | not met | +30.0 %       | +30.0 %      |
      | 10,000,000.00 | 10         | 20,000,000.00 | 12         | not met | +100.0 %      | +20.0 %      |
      | 10,000,000.00 | 10         | 9,000,000.00  | 9          | not met | -10.0 %       | -10.0 %      |

  Scenario: growth is compounded over the years (年均增幅): +30 % a year over two years is +69 %
    Given pledge loans of ¥10,000,000.00 in 100 loans drawn down in 2021
    And pledge loans of ¥16,900,000.00 in 169 loans drawn down in 2023
    When the KPIs are reported at the end of 2023
    Then the pledge financing growth target of 30 % a year is met

  Scenario: one year of loans is no growth yet, and first loans count their borrowers (首贷)
    Given pledge loans of ¥10,000,000.00 in 10 loans drawn down in 2021, 4 of them first loans
    When the KPIs are reported at the end of 2021
    Then the pledge financing growth target of 30 % a year is not measurable yet
    And 2021 shows 4 borrowers with a first loan
