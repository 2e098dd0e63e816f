"""知识产权质押融资服务费补贴及首贷奖励 (二(三)7): claims of the evaluation, insurance and guarantee fee subsidies
(评估费、保证保险费、担保费补贴), of the first-loan bonus to the enterprise and of the first-loan reward to the bank
(首贷奖励, kind ``bank_reward``: paid to the lending bank, the policy's ``payment.payees``) on a registered loan.

A scheme of its own beside ``pledge-interest-subsidy`` rather than a claim kind of it: a fee claim has no interest
period (the interest scheme's claim key is the loan and fiscal year, its checks read a period), each fee kind has
its own yearly cap per enterprise (not the interest subsidy's), a fee is paid when the policy says (after the
drawdown or after full repayment, read against the loan's principal receipts), and the scheme has a budget line of
its own. The amounts are the pure rules of :mod:`rules.schemes.pledge_interest_subsidy` (``fee_subsidy``,
``first_loan_awards``), reading their parameters under that scheme's names (``pledge-interest-subsidy.*_fee_*``,
``first_loan_bonus_*``); what is new here is the claim: which kind, the fee actually paid and its receipt, and
when it may be paid (``pledge-fee-subsidy.<kind>_paid_after``: ``drawdown`` | ``full_repayment``).

The per-kind yearly cap counts what the borrower was awarded for that kind in the claim's fiscal year
(``LinkedLoan.year_by_kind``, read by the service from the scheme's live awards). Pure functions.
"""

from __future__ import annotations

import datetime as dt

from rules.money import format_yuan
from rules.policy import Policy
from rules.schemes import Candidate, CheckResult, IntakeFacts, SchemeRules
from rules.schemes import pledge_interest_subsidy as pis
from rules.trace import Step

SCHEME = "pledge-fee-subsidy"
PARAMS = pis.SCHEME  # the fee shares and caps are the interest scheme's measure's parameters (二(三)7)
CLAUSE = "二(三)7"
FIRST_LOAN = {"first_loan_bonus": "enterprise", "bank_reward": "bank"}  # kind -> first_loan_awards' payee
KINDS: tuple[str, ...] = (*pis.FEE_KINDS, *FIRST_LOAN)
KIND_NAMES = {"evaluation": "评估费补贴", "insurance": "保证保险费补贴", "guarantee": "担保费补贴",
              "first_loan_bonus": "首贷奖励 (to the enterprise)", "bank_reward": "首贷奖励 (to the bank)"}

RULES = SchemeRules(SCHEME, outcomes={
    "funded": "服务费补贴 granted within the budget line",
    "budget_exhausted": "eligible, but the budget line cannot hold the subsidy",
})

# The loan checks are the interest scheme's own (the same registry, the same rule and clause).
for _name in ("loan_registered", "borrower_is_applicant", "pledge_before_drawdown", "borrower_sme"):
    RULES.check(_name)(getattr(pis, _name))


def _result(name: str, ok: bool, rule: str, detail: str, parameter: str | None = None,
            trace: tuple[Step, ...] = ()) -> CheckResult:
    return CheckResult(name, ok, rule, CLAUSE, parameter, detail, trace)


def _kind(f: IntakeFacts | Candidate) -> str:
    return str(f.form.get("kind") or "")


@RULES.check("fee_timing")
def fee_timing(policy: Policy, f: IntakeFacts) -> CheckResult:
    """A fee subsidy is claimed when the policy says: after the drawdown, or after the loan is repaid in full
    (the registry's principal receipts sum to the principal, on or before the claim)."""
    ln, kind = pis._linked(f), _kind(f)
    name = f"{SCHEME}.{kind}_paid_after"
    rule = "服务费补贴 is paid when the policy says (after the drawdown, or after full repayment)"
    if kind not in KINDS:
        return _result("fee_timing", False, rule, f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if ln is None or ln.loan is None:
        return _result("fee_timing", False, rule, "no registered loan to compare", name)
    when = policy.text(name, f.submitted_on)
    loan = ln.loan
    if when == "drawdown":
        ok = loan.drawdown <= f.submitted_on
        return _result("fee_timing", ok, rule, f"drawn down {loan.drawdown.isoformat()}, claimed "
                       f"{f.submitted_on.isoformat()}" + ("" if ok else ": not yet drawn down"), f"{name} = {when}")
    repaid, on = ln.principal_repaid_fen, ln.repaid_on
    ok = repaid >= loan.principal_fen and on is not None and on <= f.submitted_on
    detail = (f"repaid in full on {on.isoformat()}" if ok and on is not None else
              f"repaid {format_yuan(repaid)} of {format_yuan(loan.principal_fen)}: paid only after full repayment")
    return _result("fee_timing", ok, rule, detail, f"{name} = {when}")


@RULES.check("first_loan")
def first_loan(policy: Policy, f: IntakeFacts) -> CheckResult:
    """首贷: the bonus is for a first loan as the registry decides it (no earlier loan of the borrower from any
    bank), not as declared; other kinds pass."""
    ln, kind = pis._linked(f), _kind(f)
    rule = "首贷: no earlier loan of the borrower from any bank (the registry decides)"
    if kind not in FIRST_LOAN:
        return _result("first_loan", True, rule, f"a {kind} fee claim needs no first loan")
    if ln is None or ln.loan is None:
        return _result("first_loan", False, rule, "no registered loan to compare")
    return _result("first_loan", ln.loan.first_loan, rule, f"loan {ln.ref} is "
                   + ("the borrower's first loan in the registry" if ln.loan.first_loan
                      else "not the borrower's first loan in the registry"))


def claim_amount(policy: Policy, f: IntakeFacts | Candidate, on: dt.date) -> pis.Amount | None:
    """The fee subsidy or first-loan bonus a claim comes to, with its trace (None without a loan or a valid fee)."""
    ln, kind = pis._linked(f), _kind(f)
    if ln is None or ln.loan is None or kind not in KINDS:
        return None
    if kind in FIRST_LOAN:
        what = "首贷 bonus" if kind == "first_loan_bonus" else "首贷 reward to the bank"
        a = pis.first_loan_awards(policy, ln.loan, on, PARAMS).get(FIRST_LOAN[kind])
        if a is None:  # not a first loan, or a policy that pays none
            return pis.Amount(0, "not_first_loan", (Step(what, format_yuan(0), clause=CLAUSE),))
        return pis.Amount(a.amount_fen, a.bound, (*a.trace, Step(what, format_yuan(a.amount_fen), clause=CLAUSE,
                                                                  reference=f"bound by {a.bound}")))
    fee = f.form.get("fee")
    if isinstance(fee, bool) or not isinstance(fee, int) or fee <= 0:
        return None
    return pis.fee_subsidy(policy, kind, fee, ln.loan, ln.year_by_kind.get(kind, 0), on, PARAMS)


@RULES.check("fee_subsidy")
def fee_subsidy_check(policy: Policy, f: IntakeFacts) -> CheckResult:
    """The amount with its trace: a share of the fee actually paid within its caps, or the 首贷 bonus; refused
    when it comes to nothing (the kind's yearly cap used up) or cannot be computed."""
    kind = _kind(f)
    rule = "服务费补贴 = min(share × fee paid, share of the loan, what is left under the kind's yearly cap)"
    a = claim_amount(policy, f, f.submitted_on)
    if a is None:
        why = ("fee: the fee actually paid is required, a whole number of fen above 0"
               if kind in pis.FEE_KINDS else "no registered loan, valid kind or first-loan award to compute on")
        return _result("fee_subsidy", False, rule, why)
    receipt = str(f.form.get("receipt") or "")
    head = (Step("receipt", receipt, clause=CLAUSE),) if receipt else ()
    trace = (Step("kind", f"{kind} ({KIND_NAMES[kind]})", clause=CLAUSE), *head, *a.trace)
    return _result("fee_subsidy", a.amount_fen > 0, rule,
                   f"{format_yuan(a.amount_fen)} (bound by {a.bound})", f"{PARAMS}.{kind}", trace)


@RULES.amount("fee_subsidy")
def fee_subsidy_amount(policy: Policy, c: Candidate, as_of: dt.date) -> int:
    """The claim's amount (0 without a linked loan): what allocation funds, before the budget line."""
    a = claim_amount(policy, c, as_of)
    return a.amount_fen if a else 0
