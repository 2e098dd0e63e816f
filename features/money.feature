Feature: Money amounts
  Amounts are kept as whole fen (1 yuan = 100 fen). Clerks type amounts in yuan; the engine reads
  them strictly, shows them with the ¥ sign, writes them in 人民币大写 on vouchers, rounds computed
  amounts with a named rounding mode and splits totals so that no fen is lost.

  Rule: Amounts typed in yuan are read exactly or rejected with a reason

    Scenario: An amount with thousands separators is read in fen
      When a clerk enters "12,345.67" as the award amount
      Then the award amount is 1234567 fen

    Scenario: An amount with a yuan sign and surrounding spaces is read in fen
      When a clerk enters " ¥500,000 " as the award amount
      Then the award amount is 50000000 fen

    Scenario Outline: A malformed amount is rejected with the reason
      When a clerk enters "<typed>" as the award amount
      Then the amount is rejected because it <reason>

      Examples:
        | typed     | reason                               |
        | 12.345    | has more than two decimal places     |
        | 1e5       | uses exponent notation               |
        | NaN       | is not a number (NaN/infinity)       |
        | 12,34.00  | has thousands separators in the wrong place |
        |           | is blank                             |
        | 十二元    | is not an amount in yuan             |
        | -500.00   | is negative                          |

    Scenario: A float is never accepted as money
      When a program passes the float 12.34 as the award amount
      Then the amount is rejected because floats are never accepted for money

    Scenario: A zero award is rejected where an award must be positive
      When a clerk enters "0.00" as an award amount that must be positive
      Then the amount is rejected because it is zero

  Rule: Amounts are shown with the yuan sign and written to files as plain yuan

    Scenario: An award is displayed with the yuan sign and thousands separators
      Given an award of 12345.67 yuan
      Then the award is displayed as "¥12,345.67"

    Scenario: A refund is displayed with a leading minus sign
      Given an award of -0.05 yuan
      Then the award is displayed as "-¥0.05"

    Scenario: An award is written to files as plain yuan
      Given an award of 12345.67 yuan
      Then the award is written to files as "12345.67"

  Rule: Vouchers carry the amount in 人民币大写 per 《支付结算办法》

    Scenario Outline: The 大写 amount follows 《支付结算办法》
      Given an award of <yuan> yuan
      Then the award is written in 大写 as "<daxie>"

      Examples: Whole yuan take 整
        | yuan         | daxie              |
        | 0            | 零元整             |
        | 10           | 壹拾元整           |
        | 1001         | 壹仟零壹元整       |
        | 50000        | 伍万元整           |
        | 100010       | 壹拾万零壹拾元整   |
        | 105000       | 壹拾万伍仟元整     |
        | 100000000    | 壹亿元整           |
        | 100000001    | 壹亿零壹元整       |
        | 100001000    | 壹亿零壹仟元整     |

      Examples: Amounts ending in 角 take 整
        | yuan         | daxie              |
        | 10.50        | 壹拾元伍角整       |
        | 20000300.40  | 贰仟万零叁佰元肆角整 |

      Examples: Amounts ending in 分 take no 整, and 角 = 0 is written 零
        | yuan         | daxie                         |
        | 0.05         | 伍分                          |
        | 1.05         | 壹元零伍分                    |
        | 12345.67     | 壹万贰仟叁佰肆拾伍元陆角柒分  |
        | 1000000.07   | 壹佰万元零柒分                |
        | 1010101.01   | 壹佰零壹万零壹佰零壹元零壹分  |

    Scenario: A negative amount is written with 负
      Given an award of -50000 yuan
      Then the award is written in 大写 as "负伍万元整"

  Rule: Computed amounts are rounded to whole fen with the policy's rounding mode (三(二))

    Scenario: The local match for central funds is 1.2 times the central funds (三(二))
      Given central funds of 500000.00 yuan
      When the local match at the ratio 1.2 is computed with 四舍五入
      Then the local match is 600000.00 yuan

    Scenario: 四舍五入 rounds half a fen up (三(二) default)
      When a computed amount of 12.345 yuan is rounded with half_up
      Then the rounded amount is 12.35 yuan

    Scenario: 银行家舍入 rounds half a fen to the even fen
      When a computed amount of 12.345 yuan is rounded with half_even
      Then the rounded amount is 12.34 yuan

    Scenario: 舍去 drops the fraction of a fen
      When a computed amount of 12.349 yuan is rounded with down
      Then the rounded amount is 12.34 yuan

  Rule: A total is split by largest remainder so the parts add up to the total

    Scenario: A total split three ways gives the odd fen to the first share
      Given a total of 100.00 yuan
      When it is split in the proportions 1, 1 and 1
      Then the shares are 33.34, 33.33 and 33.33 yuan

    Scenario: The leftover fen goes to the largest remainder
      Given a total of 0.07 yuan
      When it is split in the proportions 3, 0 and 2
      Then the shares are 0.04, 0.00 and 0.03 yuan

    Scenario: A total cannot be split when every proportion is zero
      Given a total of 100.00 yuan
      When it is split in the proportions 0 and 0
      Then the split is refused because the weights sum to zero
