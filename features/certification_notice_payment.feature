Feature: Public notice (公示) and disbursement (拨付) of the certification awards
  烟政字〔2020〕47号 二(二)4: the finalized awards are published for 7 days (an illustrative parameter)
  before any money is paid. Anyone may object; an objection puts the case on hold until an approver
  upholds it (the award is withdrawn and its money released back to the line) or dismisses it (back in
  notice). When the period ends the cases are payable. A finance officer turns them into a payment
  batch and a bank file, each payment under an idempotency key, so nothing is ever paid twice; the
  bank's confirmations are imported back, a failed transfer is paid again under a new key.
  不相容岗位相互分离: the approver who finalized a case never pays it, and no finance officer pays an
  award to the organisation it belongs to. Auditors change nothing, so they cannot object.

  Background:
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the registered applicants
      | name                 | kind       | sme   |
      | 烟台海拓机械有限公司 | enterprise | true  |
      | 烟台大学             | university | false |
    And the scored cases of 烟台海拓机械有限公司 and 烟台大学

  Scenario Outline: Funded cases stay in public notice for 7 days, then become payable
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    When the advance run goes on <day>
    Then the cases of 烟台海拓机械有限公司 and 烟台大学 are in state <status> (<state name>)
    And their notice period ends on 2021-05-17

    Examples:
      | day        | status    | state name |
      | 2021-05-16 | in_notice | 公示中     |
      | 2021-05-18 | payable   | 待拨付     |

  Scenario: An objection puts a case in public notice on hold
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    When "zhou.citizen" objects to the award of 烟台海拓机械有限公司 because "该企业认证证书已被认证机构暂停"
    Then the case of 烟台海拓机械有限公司 is in state on_hold (异议暂停)
    And the case shows the open objection of "zhou.citizen", "该企业认证证书已被认证机构暂停"

  Scenario: An auditor cannot object, because auditors change nothing
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    When "sun.audit" tries to object to the award of 烟台海拓机械有限公司 because "审计抽查"
    Then the objection is refused naming "sun.audit (roles: auditor) may not notice.object"
    And nothing is written to the database

  Scenario: The person who objected cannot resolve the objection
    Given the user "xu.approve" is an approver of the finance bureau
    And "wang.approve" has finalized the 2021 round on 2021-05-10
    And "xu.approve" has objected to the award of 烟台海拓机械有限公司
    When "xu.approve" tries to dismiss the objection to 烟台海拓机械有限公司 because "异议不成立"
    Then the objection is refused naming "xu.approve raised the objection to CA-2021-00001, so may not resolve the objection"
    And nothing is written to the database

  Scenario: A case on hold is not made payable when the notice period ends
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And "zhou.citizen" has objected to the award of 烟台海拓机械有限公司
    When the advance run goes on 2021-05-18
    Then the case of 烟台海拓机械有限公司 is in state on_hold (异议暂停)
    And the case of 烟台大学 is in state payable (待拨付)

  Scenario: An upheld objection withdraws the award and releases its commitment
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And "zhou.citizen" has objected to the award of 烟台海拓机械有限公司
    And the certification-award line has ¥130,000.00 committed
    When "wang.approve" upholds the objection to 烟台海拓机械有限公司 because "认证证书已被暂停，异议成立"
    Then the case of 烟台海拓机械有限公司 is in state not_awarded (未获奖励) with no award
    And the certification-award line has ¥80,000.00 committed, ¥50,000.00 less

  Scenario: A dismissed objection puts the case back in public notice
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And "zhou.citizen" has objected to the award of 烟台海拓机械有限公司
    When "wang.approve" dismisses the objection to 烟台海拓机械有限公司 because "证书经核实有效，异议不成立"
    Then the case of 烟台海拓机械有限公司 is in state in_notice (公示中) with an award of ¥50,000.00
    And the certification-award line has ¥130,000.00 committed

  Scenario: A payment batch writes the bank file with every amount in figures and in 大写
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    When "chen.finance" makes a payment batch
    Then the bank file has the columns idempotency_key,payee,credit_code,bank_name,bank_account,amount_fen,amount_yuan,amount_daxie,reference
    And the bank file pays
      | idempotency_key       | payee                | amount_fen | amount_yuan | amount_daxie | reference                                   |
      | CA-2021-00001:award:1 | 烟台海拓机械有限公司 | 5000000    | 50000.00    | 伍万元整     | 知识产权管理规范贯标认证奖励 CA-2021-00001 |
      | CA-2021-00002:award:1 | 烟台大学             | 8000000    | 80000.00    | 捌万元整     | 知识产权管理规范贯标认证奖励 CA-2021-00002 |
    And the cases of 烟台海拓机械有限公司 and 烟台大学 are in state payment_pending (拨付中)

  Scenario: The approver who finalized the round cannot pay it
    Given the user "lin.both" is an approver and a finance officer
    And "lin.both" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    When "lin.both" makes a payment batch
    Then the batch is refused as a four-eyes violation naming "lin.both approved the round of 2 case(s) (CA-2021-00001, CA-2021-00002), so may not release the payment"
    And nothing is written to the database

  Scenario: A finance officer belonging to an applicant cannot pay its award
    Given the finance officer "fin.haituo" belongs to 烟台海拓机械有限公司
    And "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    When "fin.haituo" makes a payment batch
    Then the batch is refused as a four-eyes violation naming "fin.haituo belongs to the applicant of CA-2021-00001 (烟台海拓机械有限公司), so may not release the payment"
    And nothing is written to the database

  Scenario: A second payment batch pays nothing new
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    And "chen.finance" has made a payment batch
    When "chen.finance" makes a payment batch
    Then the batch reports "nothing payable: no new payments, no file written"
    And no bank file is written
    And nothing is written to the database

  Scenario: A failed transfer makes the case payable again and the next batch pays it under a new key
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    And "chen.finance" has made a payment batch
    When "chen.finance" imports the bank confirmation
      | idempotency_key       | status | bank_ref    | reason         |
      | CA-2021-00001:award:1 | failed |             | 收款账户已销户 |
      | CA-2021-00002:award:1 | paid   | B2021051801 |                |
    Then the case of 烟台海拓机械有限公司 is in state payable (待拨付)
    And the case of 烟台大学 is in state paid (已拨付)
    When "chen.finance" makes a payment batch
    Then the bank file pays
      | idempotency_key       | payee                | amount_fen | amount_yuan | amount_daxie | reference                                   |
      | CA-2021-00001:award:2 | 烟台海拓机械有限公司 | 5000000    | 50000.00    | 伍万元整     | 知识产权管理规范贯标认证奖励 CA-2021-00001 |

  Scenario: Importing the same bank confirmation again changes no payment
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    And "chen.finance" has made a payment batch
    And "chen.finance" has imported the bank confirmation
      | idempotency_key       | status | bank_ref    | reason |
      | CA-2021-00001:award:1 | paid   | B2021051801 |        |
      | CA-2021-00002:award:1 | paid   | B2021051802 |        |
    When "chen.finance" imports the same bank confirmation again
    Then the import reports 0 paid, 0 failed and 2 already recorded
    And no payment, case or ledger entry changes

  Scenario: A confirmation contradicting an earlier one is refused and nothing is written
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    And "chen.finance" has made a payment batch
    And "chen.finance" has imported the bank confirmation
      | idempotency_key       | status | bank_ref    | reason |
      | CA-2021-00001:award:1 | paid   | B2021051801 |        |
    When "chen.finance" imports the bank confirmation
      | idempotency_key       | status | bank_ref | reason         |
      | CA-2021-00001:award:1 | failed |          | 收款账户已销户 |
    Then the confirmation is refused naming "line 2: CA-2021-00001:award:1 was already confirmed paid (B2021051801); the file says failed — contact the bank, nothing was written"
    And nothing is written to the database

  Scenario Outline: A payment requested again under its idempotency key returns the original or conflicts
    Given "wang.approve" has finalized the 2021 round on 2021-05-10
    And the notice period has ended
    And "chen.finance" has made a payment batch
    When the payment to 烟台海拓机械有限公司 is requested again under the key CA-2021-00001:award:1 for ¥<amount>
    Then <result>
    And nothing is written to the database

    Examples:
      | amount    | result                                                                                          |
      | 50,000.00 | the original payment of ¥50,000.00 is returned                                                  |
      | 40,000.00 | the request is refused as an idempotency conflict naming "was used for 5000000 fen to"           |
