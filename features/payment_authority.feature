Feature: Payment authority and bank files (拨付)
  烟政字〔2020〕47号 三(三) 保障财政资金安全: public money leaves the fund only on the authority of a
  finance officer, never on the system's own. A finance officer releases payable awards; the payment
  stage of the advance flow pays only released cases, as the officer who released them, into the
  payee's bank account kept with the applicant. A bank file is written once, when its batch is paid; a
  copy is written only on request and says it is a copy. The bank's acknowledgement must match what
  was sent — amount, payee and account — line by line, or nothing is recorded.

  Background:
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the registered applicants
      | name                 | kind       | sme   |
      | 烟台海拓机械有限公司 | enterprise | true  |
      | 烟台大学             | university | false |
    And the scored cases of 烟台海拓机械有限公司 and 烟台大学
    And "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended

  Scenario: The advance flow pays nothing a finance officer has not released
    When the advance run goes on 2021-05-19
    Then the cases of 烟台海拓机械有限公司 and 烟台大学 are in state payable (待拨付)
    And no bank file is written at all

  Scenario: A released payment is paid by the next advance run, as the officer who released it
    Given "chen.finance" has released the payable awards
    When the advance run goes on 2021-05-19
    Then the cases of 烟台海拓机械有限公司 and 烟台大学 are in state payment_pending (拨付中)
    And every payment names "chen.finance" as payer and "wang.approve" as approver
    And the bank file pays each award into the payee's account on file

  Scenario: Running the advance flow needs an administrator acting under their own name
    When the advance flow is run from the command line without --as
    Then the command is refused naming "no acting user: pass --as USER or set IPFUND_USER"
    When the advance flow is run from the command line as "chen.finance"
    Then the command is refused naming "chen.finance (roles: finance) may not flow.advance"

  Scenario: A copy of a bank file is written only on request, and says it is a copy
    Given "chen.finance" has made a payment batch
    When "chen.finance" asks for the bank file of batch 1 again
    Then the command warns "this is a copy of payment batch 1, already issued"
    And the copy is byte for byte the file of batch 1
    And the audit log records both writings of batch 1's file, the second as a copy

  Scenario: A payee's bank account is changed only by its own audited act
    When "li.review" records the bank account of 烟台大学 as "中国银行烟台分行", "6216 6100 0001 2345 678"
    Then the bank account of 烟台大学 is "6216610000012345678" at "中国银行烟台分行"
    And the audit log records the old and the new bank details of 烟台大学 by "li.review"

  Scenario Outline: Bank details that cannot be sent to a bank are refused and nothing is written
    When "li.review" records the bank account of 烟台大学 as "<bank>", "<account>"
    Then the command is refused naming "<problem>"
    And nothing is written to the database

    Examples:
      | bank             | account              | problem                                         |
      | 中国银行烟台分行 | 6216-6100-000A-1234  | an account number has digits only               |
      | 中国银行烟台分行 | 1234567              | bank_account has 7 digits                        |
      | =HYPERLINK("x")  | 6216610000012345678  | which a spreadsheet runs as a formula           |

  Scenario: The finance officer cannot change a payee's bank account
    When "chen.finance" records the bank account of 烟台大学 as "中国银行烟台分行", "6216610000012345678"
    Then the command is refused naming "chen.finance (roles: finance) may not applicant.bank"
    And nothing is written to the database

  Scenario Outline: An acknowledgement that does not match the payment is refused by line
    Given "chen.finance" has made a payment batch
    When "chen.finance" imports the bank confirmation
      | idempotency_key       | status | bank_ref    | reason | <column>  |
      | CA-2021-00001:award:1 | paid   | B2021051801 |        | <value>   |
    Then the confirmation is refused naming "<problem>"
    And nothing is written to the database

    Examples:
      | column       | value               | problem                                                                 |
      | amount_fen   | 5000001             | line 2: CA-2021-00001:award:1 was sent for 5000000 fen; the bank reports 5000001 fen |
      | payee        | 烟台海拓有限公司    | line 2: CA-2021-00001:award:1 was sent to '烟台海拓机械有限公司'; the bank reports payee '烟台海拓有限公司' |
      | bank_account | 6216610000012345678 | line 2: CA-2021-00001:award:1 was sent to account                        |
      | memo         | 已入账              | line 1: unknown column(s) 'memo'                                         |
