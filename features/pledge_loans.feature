# 二(三)7 积极促成小微企业知识产权质押"首贷" — the IP-pledge loan registry the interest subsidy and the
# risk-compensation pool read. Banks register their loans and receipt interest and principal; the registry,
# not the bank's word, decides a first loan (首贷). Parameters (yantai-2020): banks accrue interest at
# 年利率 ÷ 360 a day (loan.interest_day_count_basis, 中国人民银行《人民币利率管理规定》).
Feature: The IP-pledge loan registry (知识产权质押融资, 二(三)7)
  A bank's staff register the bank's IP-pledge loans — borrower, principal, rate, dates, the pledged IP and
  its 国家知识产权局 pledge registration — and the interest and principal the borrower pays.

  Background:
    Given the banks 中国银行烟台分行 and 烟台农村商业银行 with one staff member each
    And the SMEs 烟台海拓机械有限公司 and 莱山云帆软件有限公司 are registered applicants

  Scenario: A bank registers a loan; the borrower's first loan from any bank is a first loan (首贷)
    When 中国银行烟台分行 registers loan BOC-001 of ¥1,000,000.00 at 3.65% to 烟台海拓机械有限公司 drawn down on 2021-01-10
    Then loan BOC-001 is registered as a first loan, decided from the registry
    And ipfund check passes

  Scenario: A later loan from another bank is not a first loan, and declaring it one is refused (二(三)7)
    Given 中国银行烟台分行 registered loan BOC-001 to 烟台海拓机械有限公司 drawn down on 2021-01-10
    When 烟台农村商业银行 registers loan RCB-001 of ¥500,000.00 at 4.2% to 烟台海拓机械有限公司 drawn down on 2021-03-01
    Then loan RCB-001 is registered as not a first loan, naming BOC-001
    When 烟台农村商业银行 registers loan RCB-002 to 烟台海拓机械有限公司 drawn down on 2021-04-01 declared a first loan
    Then it is refused naming the earlier loan BOC-001 of 中国银行烟台分行, and nothing was written

  Scenario: Registering the same loan twice is a no-op; other terms under its reference are a conflict
    Given 中国银行烟台分行 registered loan BOC-001 to 烟台海拓机械有限公司 drawn down on 2021-01-10
    When 中国银行烟台分行 registers loan BOC-001 again with the same terms
    Then it answers "already registered" and nothing was written
    When 中国银行烟台分行 registers loan BOC-001 again with a principal of ¥1,200,000.00 and a rate of 3.85%
    Then it is refused as a conflict naming principal and rate, and nothing was written

  Scenario Outline: The pledge is registered on or before the drawdown (质权设立, 二(三)7)
    When 中国银行烟台分行 registers a loan drawn down on 2021-01-10 with the pledge registered on <pledged>
    Then the registration is <result>

    Examples:
      | pledged    | result                                   |
      | 2021-01-09 | accepted                                 |
      | 2021-01-10 | accepted                                 |
      | 2021-01-11 | refused naming pledge_reg_date and 二(三)7 |

  Scenario Outline: Interest receipted is at most what the rate allows for the period
    Given 中国银行烟台分行 registered loan BOC-001 of ¥1,000,000.00 at 3.65% drawn down on 2021-01-10
    When the bank receipts <amount> of normal interest for 2021-01-10 to 2021-02-10
    Then the receipt is <result>

    # ¥1,000,000.00 × 3.65 % × 31 / 360 = ¥3,143.0555…, allowed up to ¥3,143.06
    Examples:
      | amount    | result                   |
      | ¥3,143.06 | accepted                 |
      | ¥3,143.07 | refused naming amount    |

  Scenario: A repayment above the principal outstanding is refused
    Given 中国银行烟台分行 registered loan BOC-001 of ¥1,000,000.00 at 3.65% drawn down on 2021-01-10
    And the bank receipts a repayment of ¥600,000.00 on 2021-06-01
    When the bank receipts a repayment of ¥400,000.01 on 2021-07-01
    Then it is refused naming principal and the ¥400,000.00 outstanding, and nothing was written
    When the bank receipts a repayment of ¥400,000.00 on 2021-07-01
    Then loan BOC-001 has ¥0.00 outstanding

  Scenario: A bank's staff never register or receipt another bank's loan (二(三)7)
    Given 中国银行烟台分行 registered loan BOC-001 to 烟台海拓机械有限公司 drawn down on 2021-01-10
    When the staff of 烟台农村商业银行 register a loan of 中国银行烟台分行
    Then it is refused: a bank's staff act only for their own bank's loans, and nothing was written
    When the staff of 烟台农村商业银行 receipt interest on loan BOC-001 of 中国银行烟台分行
    Then it is refused: a bank's staff act only for their own bank's loans, and nothing was written
