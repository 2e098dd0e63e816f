# 二(三)7 采用各级政府贴息、服务费补贴等方式，降低融资成本 … 积极促成小微企业知识产权质押"首贷"; 建立"白名单"制度.
# Parameters (illustrative, yantai-2020): 20 % of the one-year LPR of December of the claim year, or of the
# loan's actual rate if lower (Fujian 2022); 50 % on the part covered by pledge insurance; 30 % for whitelisted
# borrowers; days / 365; at most ¥500,000 per enterprise a year, ¥1,000,000 in all, 2 years per loan; a
# first loan earns the enterprise 1 % (at most ¥30,000) and the bank 0.1 % (at most ¥10,000).
Feature: IP-pledge loan interest and service-fee subsidies (贴息、服务费补贴, 二(三)7)

  Background:
    Given the policy yantai-2020

  Rule: The subsidy is the ratio of the base rate on the IP share, for the days whose interest was paid (先付后贴)

    Scenario: 20 % of the December LPR of 3.65 % on a ¥3,000,000 loan for a year
      Given a ¥3,000,000.00 loan at 3.90 %, 100 % IP share, drawn 2021-12-01, maturing 2022-12-01
      And interest of ¥117,000.00 paid for 2021-12-01 to 2022-12-01
      When the interest subsidy is computed for 2021-12-01 to 2022-12-01
      Then the subsidy is ¥21,900.00, bound by the formula
      And the trace shows the one-year LPR of 2022-12 at 3.65 % with parameter rates.lpr_1y in force from 2022-08-22

    Scenario: The subsidy never exceeds the interest actually paid
      Given a ¥3,000,000.00 loan at 3.90 %, 100 % IP share, drawn 2021-12-01, maturing 2022-12-01
      And interest of ¥1,500.00 paid for 2021-12-01 to 2021-12-31
      When the interest subsidy is computed for 2021-12-01 to 2022-12-01
      Then the subsidy is ¥1,500.00, bound by the interest paid
      And the formula gave ¥1,800.00

    Scenario: Below the LPR, the loan's own rate is the base
      Given a ¥1,000,000.00 loan at 3.00 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      And interest of ¥30,000.00 paid for 2022-01-01 to 2023-01-01
      When the interest subsidy is computed for 2022-01-01 to 2023-01-01
      Then the subsidy is ¥6,000.00, bound by the formula

    Scenario: A combined loan is subsidised on its IP share only (组合贷)
      Given a ¥5,000,000.00 loan at 3.65 %, 60 % IP share, drawn 2022-01-01, maturing 2023-01-01
      And interest of ¥182,500.00 paid for 2022-01-01 to 2023-01-01
      When the interest subsidy is computed for 2022-01-01 to 2023-01-01
      Then the subsidy is ¥21,900.00, bound by the formula
      And the eligible interest paid is ¥109,500.00

    Scenario: The insured part carries 50 % and the rest 20 %
      Given a ¥2,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      And half of it is covered by pledge insurance
      And interest of ¥73,000.00 paid for 2022-01-01 to 2023-01-01
      When the interest subsidy is computed for 2022-01-01 to 2023-01-01
      Then the subsidy is ¥25,550.00, bound by the formula

    Scenario: A whitelisted borrower gets 30 %
      Given a ¥2,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      And the borrower is on the whitelist
      And interest of ¥73,000.00 paid for 2022-01-01 to 2023-01-01
      When the interest subsidy is computed for 2022-01-01 to 2023-01-01
      Then the subsidy is ¥21,900.00, bound by the formula

  Rule: Overdue, surcharge and penalty interest and extended periods are never subsidised (逾期、罚息、展期不贴息)

    Scenario: Penalty interest is left out and named
      Given a ¥1,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      And interest of ¥36,500.00 paid for 2022-01-01 to 2023-01-01
      And penalty interest of ¥2,000.00 paid for 2022-06-01 to 2022-07-01
      When the interest subsidy is computed for 2022-01-01 to 2023-01-01
      Then the subsidy is ¥7,300.00, bound by the formula
      And receipt 2 is excluded because penalty interest is never subsidised

    Scenario: The extended months of a loan earn nothing
      Given a ¥1,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2022-07-01
      And the loan was extended to 2023-01-01
      And interest of ¥18,100.00 paid for 2022-01-01 to 2022-07-01
      And interest of ¥18,400.00 paid for 2022-07-01 to 2023-01-01
      When the interest subsidy is computed for 2022-01-01 to 2023-01-01
      Then the subsidy is ¥3,620.00, bound by the formula
      And receipt 2 is excluded because it is an extended period

    Scenario: Interest above what the rate allows is refused at recording, naming the field
      Given a ¥1,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      When a receipt of ¥36,500.01 for 2022-01-01 to 2023-01-01 is checked
      Then it is refused: "amount: ¥36,500.01 of interest for 365 days is more than the rate 3.65 % allows"

    Scenario: Interest exactly what the rate allows is accepted
      Given a ¥1,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      When a receipt of ¥36,500.00 for 2022-01-01 to 2023-01-01 is checked
      Then it is accepted

  Rule: Caps bind: the yearly and cumulative caps per enterprise, and the years per loan (不超额)

    Scenario Outline: The yearly cap of ¥500,000 leaves <left>
      Given a ¥3,000,000.00 loan at 3.90 %, 100 % IP share, drawn 2021-12-01, maturing 2022-12-01
      And interest of ¥117,000.00 paid for 2021-12-01 to 2022-12-01
      And the borrower already received <granted> this year
      When the interest subsidy is computed for 2021-12-01 to 2022-12-01
      Then the subsidy is <subsidy>, bound by <bound>

      Examples:
        | granted      | left                | subsidy    | bound          |
        | ¥478,100.00  | exactly the formula | ¥21,900.00 | the formula    |
        | ¥478,100.01  | one fen less        | ¥21,899.99 | the yearly cap |
        | ¥500,000.00  | nothing             | ¥0.00      | the yearly cap |

    Scenario: The cumulative cap of ¥1,000,000 binds across years
      Given a ¥3,000,000.00 loan at 3.90 %, 100 % IP share, drawn 2021-12-01, maturing 2022-12-01
      And interest of ¥117,000.00 paid for 2021-12-01 to 2022-12-01
      And the borrower already received ¥990,000.00 in all years
      When the interest subsidy is computed for 2021-12-01 to 2022-12-01
      Then the subsidy is ¥10,000.00, bound by the cumulative cap

    Scenario Outline: A loan is subsidised for 2 years at most
      Given a ¥3,000,000.00 loan at 3.90 %, 100 % IP share, drawn 2021-12-01, maturing 2022-12-01
      And interest of ¥117,000.00 paid for 2021-12-01 to 2022-12-01
      And the loan was subsidised in <years> earlier year(s)
      When the interest subsidy is computed for 2021-12-01 to 2022-12-01
      Then the subsidy is <subsidy>, bound by <bound>

      Examples:
        | years | subsidy    | bound         |
        | 1     | ¥21,900.00 | the formula   |
        | 2     | ¥0.00      | the years cap |

  Rule: A first loan (首贷) earns a bonus to the enterprise and a reward to the bank

    Scenario Outline: 1 % to the enterprise up to ¥30,000, 0.1 % to the bank up to ¥10,000
      Given a first loan of <principal>
      When its first-loan awards are computed
      Then the enterprise gets <bonus> and the bank <reward>

      Examples:
        | principal      | bonus      | reward     |
        | ¥3,000,000.00  | ¥30,000.00 | ¥3,000.00  |
        | ¥3,000,100.00  | ¥30,000.00 | ¥3,000.10  |
        | ¥10,000,000.00 | ¥30,000.00 | ¥10,000.00 |
        | ¥10,000,010.00 | ¥30,000.00 | ¥10,000.00 |

  Rule: Service fees are subsidised by half, within a share of the loan and each fee's yearly cap

    Scenario Outline: The <kind> fee
      Given a ¥2,000,000.00 loan at 3.65 %, 100 % IP share, drawn 2022-01-01, maturing 2023-01-01
      When a <kind> fee of <fee> is claimed with <granted> already received this year
      Then the fee subsidy is <subsidy>, bound by <bound>

      Examples:
        | kind       | fee        | granted    | subsidy    | bound                 |
        | evaluation | ¥16,000.00 | ¥0.00      | ¥8,000.00  | the share             |
        | evaluation | ¥24,000.00 | ¥0.00      | ¥10,000.00 | the share of the loan |
        | evaluation | ¥16,000.00 | ¥45,000.00 | ¥5,000.00  | the yearly cap        |
        | insurance  | ¥40,000.00 | ¥0.00      | ¥20,000.00 | the share             |
        | insurance  | ¥40,000.02 | ¥0.00      | ¥20,000.00 | the yearly cap        |
        | guarantee  | ¥30,000.00 | ¥0.00      | ¥15,000.00 | the share             |
