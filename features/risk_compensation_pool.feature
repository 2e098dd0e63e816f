# 二(三)7 联合设立质押融资风险补偿资金池，明确风险分担比例.
# Parameters (illustrative, yantai-2020): loans filed from 2020-10-19 share a loss city pool 40 : bank 40 :
# insurer 20; loans filed from 2022-01-01 province pool 40 : city pool 20 : bank 40 (layered, as Weihai on top of
# Shandong), both pool layers paid through the pool; the pool pays at most ¥1,000,000 a loan for a standard
# bank and ¥1,500,000 for an assessed one, only to its balance (以其余额为限: paid to the balance), covers loans
# up to 10× its balance; banks claim within 10 working days; a bank at 5 % non-performing is suspended.
Feature: The IP-pledge risk-compensation pool (风险补偿资金池, 二(三)7)

  Background:
    Given the policy yantai-2020

  Rule: A loss is shared in the proportions in force on the loan's filing date, to the fen

    Scenario: A ¥1,000,000 loss on a loan filed in 2021
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      Then the parts are city_pool ¥400,000.00, bank ¥400,000.00, insurer ¥200,000.00
      And the pool pays ¥400,000.00, bound by its share

    Scenario: The shares of the filing date apply, not those of the claim date
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-12-31, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      Then the pool pays ¥400,000.00, bound by its share
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2022-01-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      Then the parts are province_pool ¥400,000.00, city_pool ¥200,000.00, bank ¥400,000.00
      And the pool pays ¥600,000.00, bound by its share

    Scenario: Parts that do not divide evenly still sum to the loss (largest remainder)
      When a standard bank claims a loss of ¥0.07 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      Then the parts are city_pool ¥0.03, bank ¥0.03, insurer ¥0.01

  Rule: The pool pays at most the per-loan cap of the bank's tier; the bank bears the rest

    Scenario Outline: A <tier> bank's claim of <loss>
      When a <tier> bank claims a loss of <loss> on a loan filed 2021-06-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      Then the pool pays <pays>, bound by <bound>
      And the bank bears <bank>

      Examples:
        | tier     | loss          | pays          | bound     | bank          |
        | standard | ¥2,500,000.00 | ¥1,000,000.00 | its share | ¥1,000,000.00 |
        | standard | ¥2,500,000.03 | ¥1,000,000.00 | the cap   | ¥1,000,000.02 |
        | assessed | ¥2,500,000.03 | ¥1,000,000.01 | its share | ¥1,000,000.01 |
        | assessed | ¥4,000,000.00 | ¥1,500,000.00 | the cap   | ¥1,700,000.00 |

  Rule: The pool answers only to its balance (以其余额为限)

    Scenario: A claim beyond the balance is paid to the balance
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥300,000.00 in the pool
      Then the pool pays ¥300,000.00, bound by the balance
      And the bank bears ¥500,000.00

    Scenario: Under a policy that refuses such claims, it is refused with the rule named
      Given a draft policy where a claim beyond the balance is refused
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥399,999.99 in the pool
      Then the claim is refused: "以其余额为限"
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥400,000.00 in the pool
      Then the pool pays ¥400,000.00, bound by its share

  Rule: Recoveries after disposal return in the proportions borne

    Scenario: A ¥300,000 recovery on a ¥1,000,000 loss
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      And ¥300,000.00 is recovered after disposal
      Then the recovery returns city_pool ¥120,000.00, bank ¥120,000.00, insurer ¥60,000.00

    Scenario: When the cap bound, the pool recovers in proportion to what it paid
      When a standard bank claims a loss of ¥4,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      And ¥400,000.00 is recovered after disposal
      Then the recovery returns city_pool ¥100,000.00, bank ¥220,000.00, insurer ¥80,000.00

    Scenario: More than the loss cannot be recovered
      When a standard bank claims a loss of ¥1,000,000.00 on a loan filed 2021-06-01, claimed 2022-03-01, with ¥5,000,000.00 in the pool
      And ¥1,000,000.01 is recovered after disposal
      Then the recovery is refused: "more than the loss borne"

  Rule: Loans are covered up to 10× the balance, claimed within 10 working days; banks over 5 % NPL are suspended

    Scenario Outline: Filing <new> with ¥95,000,000 covered and ¥10,000,000 in the pool
      When a loan of <new> is filed on 2021-06-01 with ¥95,000,000.00 covered and ¥10,000,000.00 in the pool
      Then the filing is <outcome>

      Examples:
        | new           | outcome  |
        | ¥5,000,000.00 | accepted |
        | ¥5,000,000.01 | refused  |

    Scenario Outline: A default on Monday 2021-03-01 claimed on <claimed>
      When a default on 2021-03-01 is claimed on <claimed>
      Then the claim is <outcome> in time

      Examples:
        | claimed    | outcome  |
        | 2021-03-15 | made     |
        | 2021-03-16 | not made |

    Scenario Outline: A bank with <npl> non-performing of ¥100,000,000 covered
      When a bank has <npl> non-performing of ¥100,000,000.00 covered on 2021-06-01
      Then the bank is <outcome>

      Examples:
        | npl           | outcome       |
        | ¥4,999,999.99 | not suspended |
        | ¥5,000,000.00 | suspended     |

  Rule: Shares that do not sum to 100 % never load

    Scenario: A policy whose shares sum to 99 % is refused by key path
      When a draft policy gives the shares city_pool 40, bank 40, insurer 19
      Then the policy is refused: "risk-compensation.loss_shares"
      And the policy is refused: "shares sum to 99 %, they must sum to exactly 100 %"
