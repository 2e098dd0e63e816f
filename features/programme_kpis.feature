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

  Scenario: a growth target measured outside ipfund is listed, never met here (一(二)3)
    When the KPIs are reported at the end of 2023
    Then the pledge financing growth target of 30 % a year is listed as measured outside ipfund
