# 二(三)7 采用各级政府贴息、服务费补贴等方式，降低融资成本 … 积极促成小微企业知识产权质押"首贷". The service-fee
# subsidies (评估费、保证保险费、担保费补贴) and the 首贷 bonus, claimed on a registered IP-pledge loan as claims of
# the scheme pledge-fee-subsidy: the intake checks the loan in the registry, when the fee may be paid (after the
# drawdown, or after full repayment) and computes the subsidy with its trace; 公示 and payment follow the engine.
# Parameters (illustrative, yantai-2020): evaluation 50 % of the fee, at most 0.5 % of the loan and ¥50,000 a
# year per enterprise; insurance 50 %, at most ¥20,000 a year; guarantee 50 % after full repayment; 首贷 bonus 1 %
# of the principal, at most ¥30,000; 从优从高不重复 between the 首贷 bonus and the interest subsidy.
Feature: Service-fee subsidies and the first-loan bonus on registered IP-pledge loans (服务费补贴, 二(三)7)

  Background:
    Given the banks, the SMEs 烟台海拓机械有限公司, 莱山云帆软件有限公司 and 福山鲁东食品有限公司, and the 2021 budget plan

  Rule: A share of the fee actually paid, within the loan share and the kind's yearly cap (二(三)7)

    Scenario: Half of a ¥8,000.00 evaluation fee is ¥4,000.00, paid to the borrower after 公示
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the evaluation fee of ¥8,000.00 on L-001 with receipt FP-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥4,000.00 bound by share
      And its dossier shows the step "receipt" at "FP-001"
      And the fee claims list shows the claim on L-001 for evaluation, computed at ¥4,000.00
      When the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends
      And finance pays the subsidies
      Then the claim is paid ¥4,000.00 to 烟台海拓机械有限公司
      And ipfund check passes

    Scenario: Half of a ¥12,000.00 evaluation fee is over 0.5 % of the loan: ¥5,000.00
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the evaluation fee of ¥12,000.00 on L-001 with receipt FP-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥5,000.00 bound by loan_share

    Scenario: Half of a ¥40,000.00 insurance premium is exactly the ¥20,000.00 yearly cap
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥5,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the insurance fee of ¥40,000.00 on L-001 with receipt BX-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥20,000.00 bound by share

    Scenario: Half of a ¥40,000.02 insurance premium is one fen over the yearly cap: ¥20,000.00
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥5,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the insurance fee of ¥40,000.02 on L-001 with receipt BX-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥20,000.00 bound by year_cap

    Scenario: A second insurance claim in the year gets only what is left under the ¥20,000.00 cap
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥5,000,000.00 as L-001 drawn down 2021-01-10
      And 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥5,000,000.00 as L-002 drawn down 2021-02-10
      When 烟台海拓机械有限公司 claims the insurance fee of ¥30,000.00 on L-001 with receipt BX-001 on 2021-07-15
      And the intake runs
      And the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends
      And 烟台海拓机械有限公司 claims the insurance fee of ¥30,000.00 on L-002 with receipt BX-002 on 2021-08-25
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥5,000.00 bound by year_cap

    Scenario: A fee is claimed once per loan and kind (不重复)
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the evaluation fee of ¥8,000.00 on L-001 with receipt FP-001 on 2021-07-15
      And 烟台海拓机械有限公司 claims the evaluation fee of ¥8,000.00 on L-001 with receipt FP-002 on 2021-07-16
      And the intake runs
      Then the first claim is in formal_review and the second is rejected by no_prior_award

  Rule: A fee is paid when the policy says: the guarantee fee after full repayment (二(三)7)

    Scenario: A guarantee fee before the loan is repaid is refused
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      And L-001 was repaid ¥999,999.99 on 2021-06-30
      When 烟台海拓机械有限公司 claims the guarantee fee of ¥10,000.00 on L-001 with receipt DB-001 on 2021-07-15
      And the intake runs
      Then the claim is rejected by fee_timing, naming "repaid ¥999,999.99 of ¥1,000,000.00"

    Scenario: A guarantee fee after full repayment is half the fee
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      And L-001 was repaid ¥1,000,000.00 on 2021-06-30
      When 烟台海拓机械有限公司 claims the guarantee fee of ¥10,000.00 on L-001 with receipt DB-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥5,000.00 bound by share

  Rule: The 首贷 bonus is for a first loan as the registry decides it (二(三)7)

    Scenario: A first loan of ¥1,000,000.00 earns a ¥10,000.00 bonus
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the first-loan bonus on L-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥10,000.00 bound by share

    Scenario: The borrower's second loan earns no bonus
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      And 烟台农村商业银行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-002 drawn down 2021-03-10
      When 烟台海拓机械有限公司 claims the first-loan bonus on L-002 of 烟台农村商业银行 on 2021-07-15
      And the intake runs
      Then the claim is rejected by first_loan, naming "not the borrower's first loan"

  Rule: The 首贷 reward to the bank is a share of the loan, paid to the bank's own account (二(三)7)

    Scenario: The bank files its reward of 0.1 % on a ¥1,000,000.00 first loan: ¥1,000.00, paid to the bank
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      And the admin records the account of 中国银行烟台分行 at 中国银行烟台分行营业部 6217000000009999
      When 中国银行烟台分行 files the bank reward on L-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥1,000.00 bound by share
      When the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends
      And finance pays the subsidies
      Then the claim is paid ¥1,000.00 to 中国银行烟台分行
      And ipfund check passes

    Scenario: The reward on a ¥10,000,000.00 first loan is exactly the ¥10,000.00 cap
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥10,000,000.00 as L-001 drawn down 2021-01-10
      When 中国银行烟台分行 files the bank reward on L-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥10,000.00 bound by share

    Scenario: The reward on a ¥10,000,010.00 first loan is over the cap: ¥10,000.00
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥10,000,010.00 as L-001 drawn down 2021-01-10
      When 中国银行烟台分行 files the bank reward on L-001 on 2021-07-15
      And the intake runs
      Then the claim is in formal_review with a subsidy of ¥10,000.00 bound by cap

    Scenario: The bank's own staff cannot record where the bank is paid
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 中国银行烟台分行's staff record the account of 中国银行烟台分行 at 中国银行烟台分行营业部 6217000000009999
      Then the claim is refused naming "bank.account" and nothing is written

  Rule: 从优从高不重复 — the 首贷 bonus and the interest subsidy fund the same interest cost, the higher kept

    Scenario: An interest subsidy below the ¥10,000.00 bonus already awarded is refused
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      And interest of ¥18,000.00 was paid on L-001 for 2021-01-10 to 2021-07-10
      When 烟台海拓机械有限公司 claims the first-loan bonus on L-001 on 2021-07-15
      And the intake runs
      And the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends
      And 烟台海拓机械有限公司 claims the interest subsidy on L-001 for 2021-01-10 to 2021-07-09 on 2021-08-25
      And the intake runs
      Then the interest claim is rejected by duplicate_benefit, naming "already funds the same benefit"

  Rule: Bad input is refused, naming the field, and nothing is written

    Scenario: An unknown fee kind is refused
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the notary fee of ¥8,000.00 on L-001 with receipt FP-001 on 2021-07-15
      Then the claim is refused naming "kind" and nothing is written

    Scenario: A fee with a fraction of a fen is refused
      Given 中国银行烟台分行 lent 烟台海拓机械有限公司 ¥1,000,000.00 as L-001 drawn down 2021-01-10
      When 烟台海拓机械有限公司 claims the evaluation fee of ¥8,000.001 on L-001 with receipt FP-001 on 2021-07-15
      Then the claim is refused naming "fee" and nothing is written
