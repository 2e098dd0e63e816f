# 一(二) 工作目标 and 二(一)1: the programme's remaining targets — the projects ipfund records, and the figures
# measured outside it, imported with their source (三(二) 制定专项经费使用分配与绩效考核方案).
Feature: The programme's project KPIs and the KPIs measured outside ipfund (一(二), 二(一)1)

  开展产业专利导航项目 15 项以上、企业专利导航项目 50 项以上 (二(一)1) and 培育产业知识产权运营中心 6 家以上 (一(二)4)
  are projects ipfund funds: they count the agreed project grants (committed or paid) of that project type.
  实现知识产权转让、许可数量年均增幅 20%以上；专利技术合同成交额年均增幅 40%以上；支持 100 家以上中小企业成功转化高校院所
  专利技术 (一(二)2), 推动发行知识产权证券化产品 1 单以上 (一(二)3), 建设产业类专利导航示范项目 5 个以上 (一(二)1) and
  集聚专业知识产权服务机构 30 家以上 (一(二)4) are measured outside ipfund: each year's figure is imported with its
  source, and growth is judged as the pledge financing's is, compounded a year (年均增幅).

  Scenario Outline: industry navigation projects against 15 (二(一)1)
    Given <agreed> agreed project grants of type navigation_industry in 2022
    And 3 agreed project grants of type navigation_enterprise in 2022
    And 2 project grants of type navigation_industry that were not agreed
    When the project KPIs are counted at the end of 2023
    Then the industry navigation projects are <agreed> and the target of 15 is <state>
    And the enterprise navigation projects are 3

    Examples:
      | agreed | state   |
      | 14     | not met |
      | 15     | met     |

  Scenario Outline: enterprise navigation projects against 50 (二(一)1)
    Given <agreed> agreed project grants of type navigation_enterprise in 2021
    When the project KPIs are counted at the end of 2023
    Then the enterprise navigation projects' target of 50 is <state>

    Examples:
      | agreed | state   |
      | 49     | not met |
      | 50     | met     |

  Scenario Outline: operation centres against the city's 6 and the national floor of 3 (一(二)4)
    Given <centres> agreed project grants of type operation_centre in 2022
    When the project KPIs are counted at the end of 2023
    Then the operation centres' 烟台 plan target of 6 is <city>
    And the operation centres' national floor of 3 is <national>

    Examples:
      | centres | city    | national |
      | 2       | not met | not met  |
      | 3       | not met | met      |
      | 5       | not met | met      |
      | 6       | met     | met      |

  Scenario Outline: transfers and licences from imported figures against +20 % a year (一(二)2)
    Given the imported figures of transfers_licences_growth: <figures>
    When the KPIs are judged at the end of 2023
    Then the target of transfers_licences_growth is <state>

    Examples:
      | figures                    | state              |
      | 2021 1000, 2022 1199       | not met            |
      | 2021 1000, 2022 1200       | met                |
      | 2021 1000, 2023 1439       | not met            |
      | 2021 1000, 2023 1440       | met                |
      | 2021 1000                  | not measurable yet |

  Scenario Outline: patent contract value in yuan against +40 % a year (一(二)2)
    Given the imported contract values ¥100,000,000.00 for 2021 and ¥<value_2022> for 2022
    When the KPIs are judged at the end of 2023
    Then the target of patent_contract_value_growth is <state>

    Examples:
      | value_2022     | state   |
      | 139,999,999.99 | not met |
      | 140,000,000.00 | met     |

  Scenario Outline: counts measured outside ipfund against their targets (一(二)1–4)
    Given the imported figures of <kpi>: <figures>
    When the KPIs are judged at the end of 2023
    Then the programme figure of <kpi> is <total> and its target of <target> is <state>

    Examples:
      | kpi                      | figures              | total | target | state   |
      | university_patent_smes   | 2021 40, 2022 59     | 99    | 100    | not met |
      | university_patent_smes   | 2021 40, 2022 60     | 100   | 100    | met     |
      | securitisations          | 2022 0               | 0     | 1      | not met |
      | securitisations          | 2023 1               | 1     | 1      | met     |
      | navigation_demonstration | 2021 2, 2022 2       | 4     | 5      | not met |
      | navigation_demonstration | 2021 2, 2022 3       | 5     | 5      | met     |
      | cluster_zone_agencies    | 2021 31, 2022 29     | 29    | 30     | not met |
      | cluster_zone_agencies    | 2021 12, 2022 30     | 30    | 30     | met     |

  Scenario: a KPI measured outside with no figure imported is not judged
    When the KPIs are judged at the end of 2023
    Then the target of securitisations is not measurable yet

  Scenario: a changed figure supersedes the year's figure, the same file again changes nothing (一(二)2)
    Given the bureau imported transfers and licences of 1000 for 2021 and 1199 for 2022
    When the 2022 figure is corrected to 1200 with its reference
    Then the transfers and licences target of +20 % a year is met
    And the 2022 figure 1199 is kept as superseded, with an audit event naming both figures
    And importing the correction again writes nothing

  Scenario: a contract value with a decimal point is refused by line and field, and nothing is written
    Given the bureau imported transfers and licences of 1000 for 2021 and 1199 for 2022
    When a file with the contract value 140000000.00 on its line 3 is imported
    Then it is refused naming line 3 and the field value: money is whole fen
    And nothing was written
