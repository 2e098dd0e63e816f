"""知识产权质押融资贴息及服务费补贴 (二(三)7–8): what an IP-pledge loan's interest subsidy and service-fee
subsidies come to, with the trace an auditor reads.

The seed asks for 各级政府贴息、服务费补贴 to lower financing costs, a "首贷" push for small and micro
firms, and a whitelist (贯标 and 示范优势 enterprises). No Yantai number is known, so every ratio, cap and
period is an illustrative, dated parameter of the policy, named ``<scheme>.<what>``; the real variants
(research/schemes.md §2: Shandong, Fujian, Beijing, Xuchang …) are all expressible as values:

* **the base rate** (``<scheme>.base``): ``benchmark`` (the PBoC one-year benchmark, ``rates.benchmark_1y``),
  ``lpr`` (the one-year LPR, ``rates.lpr_1y``, of the month ``<scheme>.lpr_month`` names), ``actual`` (the
  loan's own rate), ``lower_of_lpr_and_actual`` (Fujian 2022), ``actual_capped`` (the actual rate, at most
  LPR × (1 + ``<scheme>.lpr_markup_cap``): Beijing 2024), ``actual_within_cap`` (the actual rate, but nothing
  for a loan dearer than that: Zhongguancun 2021), or ``fixed`` (a flat rate, ``<scheme>.fixed_rate``, of the
  principal: "up to 3 % of the loan");
* **先付后贴**: only interest actually paid counts, on the IP share of the principal (组合贷); overdue,
  surcharge and penalty interest (逾期利息、加息、罚息) and extended periods (展期) never do;
* **the amount** = min(Σ part × ratio × base × days / basis, the eligible interest paid, what is left under
  the per-enterprise yearly cap and under the cumulative cap), and nothing once the loan has been subsidised
  for ``<scheme>.max_years_per_loan`` years. The part of the principal covered by pledge insurance or a
  policy guarantor may carry a higher ratio (``ratio_insured``, Fujian); whitelisted borrowers another
  (``ratio_whitelist``); each part takes the highest ratio that applies to it;
* **首贷**: a first loan may carry a bonus to the enterprise and a reward to the bank, each a share of the
  principal with its own cap (Shuangliu, Zhengzhou);
* **service fees** (评估、保证保险、担保): a share of the fee actually paid, at most a share of the loan and
  at most what is left under the fee's own yearly cap per enterprise.

Days count 算头不算尾 (from the first day of a period up to, not including, its last), as banks accrue
interest. Money is integer fen; each amount is computed exactly (Fraction) and rounded once, by
``money.rounding``. These functions are pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from rules.money import RoundingMode, apply_ratio, format_yuan
from rules.policy import Policy
from rules.schemes import Candidate, CheckResult, IntakeFacts, SchemeRules
from rules.trace import Step
from rules.trace import parameter_step as _step

SCHEME = "pledge-interest-subsidy"
CLAUSE = "二(三)7"

PaymentKind = Literal["normal", "overdue", "surcharge", "penalty"]
PAYMENT_KINDS: tuple[str, ...] = ("normal", "overdue", "surcharge", "penalty")
FEE_KINDS: tuple[str, ...] = ("evaluation", "insurance", "guarantee")
BASES: tuple[str, ...] = ("benchmark", "lpr", "actual", "lower_of_lpr_and_actual", "actual_capped",
                          "actual_within_cap", "fixed")
LPR_MONTHS: tuple[str, ...] = ("december_of_claim_year", "drawdown_month", "claim_end_month")


@dataclass(frozen=True, slots=True)
class Loan:
    """An IP-pledge loan as the bank registered it. ``rate`` is the annual rate as an exact decimal
    (``Decimal("0.039")`` for 3.90 %); ``ip_share`` the share of the principal the pledged IP secures
    (1 for a pure IP loan, e.g. 3/5 for a combined one); ``insured_share`` the share of that IP part
    covered by pledge insurance or a policy guarantor."""

    ref: str
    borrower: str
    principal_fen: int
    rate: Decimal
    drawdown: dt.date
    maturity: dt.date
    ip_share: Fraction = Fraction(1)
    insured_share: Fraction = Fraction(0)
    first_loan: bool = False
    whitelisted: bool = False
    extended_to: dt.date | None = None  # 展期: the new maturity, if the loan was extended


@dataclass(frozen=True, slots=True)
class InterestPayment:
    """One interest payment the bank receipted: the period it pays for (``start`` inclusive, ``end``
    exclusive — 算头不算尾), its amount and kind."""

    receipt: str
    start: dt.date
    end: dt.date
    amount_fen: int
    kind: PaymentKind = "normal"


@dataclass(frozen=True, slots=True)
class Granted:
    """What the borrower already received from this scheme: in the claim's fiscal year, in all years,
    and for how many earlier years this loan was subsidised."""

    year_fen: int = 0
    cumulative_fen: int = 0
    loan_years: int = 0


@dataclass(frozen=True, slots=True)
class Excluded:
    receipt: str
    amount_fen: int
    reason: str


@dataclass(frozen=True, slots=True)
class Subsidy:
    amount_fen: int
    formula_fen: int
    interest_paid_fen: int  # eligible interest actually paid, on the IP share
    days: int
    base_rate: Decimal
    bound: str  # what decided the amount: formula | interest_paid | year_cap | cumulative_cap | max_years
    trace: tuple[Step, ...]
    excluded: tuple[Excluded, ...] = field(default_factory=tuple)


class LoanProblem(ValueError):
    """A loan or payment that cannot be right (names the field and the rule)."""


def _p(scheme: str, name: str) -> str:
    return f"{scheme}.{name}"


def _has(policy: Policy, name: str) -> bool:
    return name in policy.parameters


def _pct(r: Fraction | Decimal) -> str:
    value = Decimal(r.numerator) / Decimal(r.denominator) if isinstance(r, Fraction) else r
    return f"{(value * 100).normalize():f} %"


def _rounding(policy: Policy, on: dt.date) -> RoundingMode:
    return RoundingMode(policy.text("money.rounding", on))


def days_between(start: dt.date, end: dt.date) -> int:
    """Interest days from ``start`` up to ``end`` (算头不算尾); 0 when ``end`` is not after ``start``."""
    return max(0, (end - start).days)


def check_loan(loan: Loan) -> list[str]:
    """What is wrong with a loan's terms, each naming the field (nothing, for a sound loan)."""
    out = []
    if isinstance(loan.principal_fen, bool) or not isinstance(loan.principal_fen, int) or loan.principal_fen <= 0:
        out.append(f"principal: {loan.principal_fen!r} must be a whole number of fen above 0")
    if not isinstance(loan.rate, Decimal) or not loan.rate.is_finite() or loan.rate <= 0 or loan.rate >= 1:
        out.append(f"rate: {loan.rate!r} must be an exact annual rate above 0 and below 1 (e.g. 0.0390 for 3.90 %)")
    if loan.maturity <= loan.drawdown:
        out.append(f"maturity: {loan.maturity.isoformat()} is not after the drawdown {loan.drawdown.isoformat()}")
    if not 0 < loan.ip_share <= 1:
        out.append(f"ip_share: {loan.ip_share} must be above 0 and at most 1")
    if not 0 <= loan.insured_share <= 1:
        out.append(f"insured_share: {loan.insured_share} must be between 0 and 1")
    if loan.extended_to is not None and loan.extended_to <= loan.maturity:
        out.append(f"extended_to: {loan.extended_to.isoformat()} is not after the maturity {loan.maturity.isoformat()}")
    return out


def interest_allowed_fen(loan: Loan, start: dt.date, end: dt.date, basis: int) -> int:
    """The most normal interest the loan's rate allows for a period, in fen (rounded up: a receipt one fen
    below it is never refused for rounding)."""
    exact = Fraction(loan.principal_fen) * Fraction(loan.rate) * days_between(start, end) / basis
    return -((-exact.numerator) // exact.denominator)


def check_payment(loan: Loan, p: InterestPayment, basis: int) -> list[str]:
    """What is wrong with an interest receipt for ``loan`` (its period, amount and kind), naming the field."""
    out = []
    if p.kind not in PAYMENT_KINDS:
        out.append(f"kind: {p.kind!r} is not one of {', '.join(PAYMENT_KINDS)}")
    if isinstance(p.amount_fen, bool) or not isinstance(p.amount_fen, int) or p.amount_fen <= 0:
        out.append(f"amount: {p.amount_fen!r} must be a whole number of fen above 0")
        return out
    if p.end <= p.start:
        out.append(f"end: {p.end.isoformat()} is not after the start {p.start.isoformat()}")
        return out
    last = loan.extended_to or loan.maturity
    if p.start < loan.drawdown or (p.kind == "normal" and p.end > last):
        out.append(f"start/end: the period {p.start.isoformat()}–{p.end.isoformat()} lies outside the loan "
                   f"({loan.drawdown.isoformat()}–{last.isoformat()})")
    if p.kind == "normal":
        allowed = interest_allowed_fen(loan, p.start, p.end, basis)
        if p.amount_fen > allowed:
            out.append(f"amount: {format_yuan(p.amount_fen)} of interest for {days_between(p.start, p.end)} days is "
                       f"more than the rate {_pct(loan.rate)} allows on {format_yuan(loan.principal_fen)} "
                       f"({format_yuan(allowed)})")
    return out


def lpr_month_end(policy: Policy, loan: Loan, window: tuple[dt.date, dt.date], scheme: str = SCHEME) -> dt.date:
    """The last day of the month whose one-year LPR is the base (``<scheme>.lpr_month``)."""
    end = window[1]
    which = policy.text(_p(scheme, "lpr_month"), end - dt.timedelta(days=1))
    if which == "december_of_claim_year":
        return dt.date((end - dt.timedelta(days=1)).year, 12, 31)
    day = loan.drawdown if which == "drawdown_month" else end - dt.timedelta(days=1)
    nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def base_rate(policy: Policy, loan: Loan, window: tuple[dt.date, dt.date],
              scheme: str = SCHEME) -> tuple[Decimal, list[Step]]:
    """The base rate of the subsidy and the steps that chose it."""
    on = window[1] - dt.timedelta(days=1)
    rule = policy.text(_p(scheme, "base"), on)
    steps = [_step(policy, "base rate rule", _p(scheme, "base"), on, rule)]
    if rule == "actual":
        steps.append(Step("the loan's actual rate", _pct(loan.rate), clause=CLAUSE))
        return loan.rate, steps
    if rule == "fixed":
        rate = policy.decimal(_p(scheme, "fixed_rate"), on)
        steps.append(_step(policy, "a flat rate of the principal", _p(scheme, "fixed_rate"), on, _pct(rate)))
        return rate, steps
    if rule == "benchmark":
        rate = policy.decimal("rates.benchmark_1y", loan.drawdown)
        steps.append(_step(policy, "one-year benchmark rate on the drawdown day", "rates.benchmark_1y",
                           loan.drawdown, _pct(rate)))
        return rate, steps
    month_end = lpr_month_end(policy, loan, window, scheme)
    lpr = policy.decimal("rates.lpr_1y", month_end)
    steps.append(_step(policy, f"one-year LPR of {month_end:%Y-%m}", "rates.lpr_1y", month_end, _pct(lpr)))
    if rule == "lpr":
        return lpr, steps
    if rule == "lower_of_lpr_and_actual":
        steps.append(Step("the loan's actual rate (the lower is used)", _pct(loan.rate), clause=CLAUSE))
        return min(lpr, loan.rate), steps
    markup = policy.decimal(_p(scheme, "lpr_markup_cap"), on)
    cap = lpr * (1 + markup)
    if rule == "actual_within_cap":
        steps.append(_step(policy, "only a loan at most at LPR × (1 + mark-up) is subsidised", _p(scheme, "lpr_markup_cap"),
                           on, f"{_pct(markup)} → at most {_pct(cap)}"))
        steps.append(Step("the loan's actual rate" + ("" if loan.rate <= cap else ": above it, nothing is subsidised"),
                          _pct(loan.rate), clause=CLAUSE))
        return (loan.rate if loan.rate <= cap else Decimal(0)), steps
    steps.append(_step(policy, "the actual rate is counted at most at LPR × (1 + mark-up)", _p(scheme, "lpr_markup_cap"),
                       on, f"{_pct(markup)} → at most {_pct(cap)}"))
    steps.append(Step("the loan's actual rate", _pct(loan.rate), clause=CLAUSE))
    return min(loan.rate, cap), steps


def _eligible(loan: Loan, payments: Sequence[InterestPayment], window: tuple[dt.date, dt.date]
              ) -> tuple[Fraction, int, list[Excluded]]:
    """(eligible interest paid on the IP share, eligible days, exclusions): normal interest, within the claim
    window and the loan's original term (展期 periods excluded), prorated by day when a period straddles."""
    ws, we = window
    paid = Fraction(0)
    days = 0
    out: list[Excluded] = []
    for p in sorted(payments, key=lambda x: (x.start, x.receipt)):
        if p.kind != "normal":
            out.append(Excluded(p.receipt, p.amount_fen, f"{p.kind} interest is never subsidised (逾期利息、加息、罚息不予贴息)"))
            continue
        lo, hi = max(p.start, ws, loan.drawdown), min(p.end, we, loan.maturity)
        span, inside = days_between(p.start, p.end), days_between(lo, hi)
        if inside == 0:
            why = ("an extended period (展期不贴息)" if p.start >= loan.maturity
                   else "outside the claim window")
            out.append(Excluded(p.receipt, p.amount_fen, why))
            continue
        if inside < span:
            cut = p.amount_fen - p.amount_fen * inside // span
            why = "partly an extended period (展期不贴息)" if p.end > loan.maturity else "partly outside the claim window"
            out.append(Excluded(p.receipt, cut, f"{why}: {span - inside} of {span} days"))
        paid += Fraction(p.amount_fen * inside, span)
        days += inside
    return paid * loan.ip_share, days, out


def interest_subsidy(policy: Policy, loan: Loan, payments: Sequence[InterestPayment], granted: Granted,
                     window: tuple[dt.date, dt.date], scheme: str = SCHEME) -> Subsidy:
    """The interest subsidy (贴息) of ``loan`` for the claim ``window`` (start inclusive, end exclusive),
    given the receipted ``payments`` and what the borrower was ``granted`` before. Parameters are those in
    force on the window's last day."""
    on = window[1] - dt.timedelta(days=1)
    mode = _rounding(policy, on)
    trace: list[Step] = [
        Step("principal", format_yuan(loan.principal_fen), clause=CLAUSE),
        Step("IP share of the principal (组合贷: the IP part only)", _pct(loan.ip_share), clause=CLAUSE),
    ]
    basis = policy.integer(_p(scheme, "day_count_basis"), on)
    paid, days, excluded = _eligible(loan, payments, window)
    paid_fen = _round(paid, mode)
    trace.append(Step("eligible interest actually paid (先付后贴), on the IP share", format_yuan(paid_fen), clause=CLAUSE))
    trace.append(Step("eligible interest days (算头不算尾)", str(days), clause=CLAUSE))
    base, steps = base_rate(policy, loan, window, scheme)
    trace.extend(steps)
    trace.append(_step(policy, "day-count basis", _p(scheme, "day_count_basis"), on, str(basis)))

    ratio = policy.ratio(_p(scheme, "ratio"), on)
    trace.append(_step(policy, "subsidy ratio", _p(scheme, "ratio"), on, _pct(ratio)))
    plain_ratio = ratio
    if loan.whitelisted and _has(policy, _p(scheme, "ratio_whitelist")):
        wl = policy.ratio(_p(scheme, "ratio_whitelist"), on)
        trace.append(_step(policy, "whitelist ratio (白名单: 贯标、示范优势企业)", _p(scheme, "ratio_whitelist"), on, _pct(wl)))
        plain_ratio = max(plain_ratio, wl)
    insured_ratio = plain_ratio
    if loan.insured_share and _has(policy, _p(scheme, "ratio_insured")):
        ins = policy.ratio(_p(scheme, "ratio_insured"), on)
        trace.append(_step(policy, "ratio on the part covered by pledge insurance or a policy guarantor",
                           _p(scheme, "ratio_insured"), on, _pct(ins)))
        trace.append(Step("share of the IP part so covered", _pct(loan.insured_share), clause=CLAUSE))
        insured_ratio = max(plain_ratio, ins)
    eligible_principal = loan.ip_share  # as a share of the principal
    weighted = eligible_principal * (loan.insured_share * insured_ratio + (1 - loan.insured_share) * plain_ratio)
    formula_fen = apply_ratio(loan.principal_fen, weighted * Fraction(base) * days / basis, mode)
    trace.append(Step("formula: Σ part × ratio × base × days / basis", format_yuan(formula_fen), clause=CLAUSE))

    candidates: list[tuple[int, str]] = [(formula_fen, "formula"), (paid_fen, "interest_paid")]
    year_cap = policy.fen(_p(scheme, "cap_fen_per_enterprise_year"), on)
    year_left = max(0, year_cap - granted.year_fen)
    trace.append(_step(policy, "left under the per-enterprise yearly cap", _p(scheme, "cap_fen_per_enterprise_year"),
                       on, f"{format_yuan(year_left)} of {format_yuan(year_cap)}"))
    candidates.append((year_left, "year_cap"))
    if _has(policy, _p(scheme, "cap_fen_cumulative")):
        cum_cap = policy.fen(_p(scheme, "cap_fen_cumulative"), on)
        cum_left = max(0, cum_cap - granted.cumulative_fen)
        trace.append(_step(policy, "left under the cumulative cap per enterprise", _p(scheme, "cap_fen_cumulative"),
                           on, f"{format_yuan(cum_left)} of {format_yuan(cum_cap)}"))
        candidates.append((cum_left, "cumulative_cap"))
    max_years = policy.integer(_p(scheme, "max_years_per_loan"), on)
    trace.append(_step(policy, "years a loan may be subsidised, at most", _p(scheme, "max_years_per_loan"), on,
                       f"{max_years} (already {granted.loan_years})"))
    if granted.loan_years >= max_years:
        candidates.append((0, "max_years"))
    amount, bound = min(candidates, key=lambda c: c[0])  # the first listed wins a tie
    trace.append(Step("subsidy", format_yuan(amount), clause=CLAUSE,
                      reference=f"bound by {bound}"))
    return Subsidy(amount, formula_fen, paid_fen, days, base, bound, tuple(trace), tuple(excluded))


def _round(value: Fraction, mode: RoundingMode) -> int:
    return apply_ratio(1, value, mode) if value else 0


@dataclass(frozen=True, slots=True)
class Amount:
    amount_fen: int
    bound: str
    trace: tuple[Step, ...]


def first_loan_awards(policy: Policy, loan: Loan, on: dt.date, scheme: str = SCHEME) -> dict[str, Amount]:
    """首贷: the bonus to the enterprise and the reward to the bank a first loan earns (each a share of the
    principal, at most its cap); empty for a loan that is not a first loan or a policy that pays neither."""
    if not loan.first_loan:
        return {}
    mode = _rounding(policy, on)
    out = {}
    for payee, name in (("enterprise", "first_loan_bonus"), ("bank", "bank_reward")):
        share_name, cap_name = _p(scheme, f"{name}_share"), _p(scheme, f"{name}_cap_fen")
        if not _has(policy, share_name):
            continue
        share = policy.ratio(share_name, on)
        if not share:
            continue
        raw = apply_ratio(loan.principal_fen, share, mode)
        trace = [Step("principal", format_yuan(loan.principal_fen), clause=CLAUSE),
                 _step(policy, f"{'bonus to the enterprise' if payee == 'enterprise' else 'reward to the bank'} "
                       "(首贷), share of the principal", share_name, on, _pct(share))]
        amount, bound = raw, "share"
        if _has(policy, cap_name):
            cap = policy.fen(cap_name, on)
            trace.append(_step(policy, "at most", cap_name, on, format_yuan(cap)))
            if cap < raw:
                amount, bound = cap, "cap"
        out[payee] = Amount(amount, bound, tuple(trace))
    return out


def fee_subsidy(policy: Policy, kind: str, fee_fen: int, loan: Loan, granted_year_fen: int, on: dt.date,
                scheme: str = SCHEME) -> Amount:
    """服务费补贴: a share of the ``kind`` fee actually paid (评估 evaluation, 保证保险 insurance, 担保
    guarantee), at most a share of the loan where the policy sets one, and at most what is left under the
    fee's yearly cap per enterprise (``granted_year_fen`` already received for this kind this year)."""
    if kind not in FEE_KINDS:
        raise LoanProblem(f"fee kind: {kind!r} is not one of {', '.join(FEE_KINDS)}")
    if isinstance(fee_fen, bool) or not isinstance(fee_fen, int) or fee_fen <= 0:
        raise LoanProblem(f"fee: {fee_fen!r} must be a whole number of fen above 0")
    mode = _rounding(policy, on)
    share = policy.ratio(_p(scheme, f"{kind}_fee_share"), on)
    trace = [Step(f"{kind} fee actually paid", format_yuan(fee_fen), clause="二(三)7"),
             _step(policy, f"share of the {kind} fee", _p(scheme, f"{kind}_fee_share"), on, _pct(share))]
    candidates = [(apply_ratio(fee_fen, share, mode), "share")]
    loan_cap_name = _p(scheme, f"{kind}_fee_cap_share_of_loan")
    if _has(policy, loan_cap_name):
        loan_share = policy.ratio(loan_cap_name, on)
        capped = apply_ratio(loan.principal_fen, loan_share, mode)
        trace.append(_step(policy, "at most this share of the loan", loan_cap_name, on,
                           f"{_pct(loan_share)} = {format_yuan(capped)}"))
        candidates.append((capped, "loan_share"))
    cap = policy.fen(_p(scheme, f"{kind}_fee_cap_fen_per_enterprise_year"), on)
    left = max(0, cap - granted_year_fen)
    trace.append(_step(policy, "left under the fee's yearly cap per enterprise",
                       _p(scheme, f"{kind}_fee_cap_fen_per_enterprise_year"), on,
                       f"{format_yuan(left)} of {format_yuan(cap)}"))
    candidates.append((left, "year_cap"))
    amount, bound = min(candidates, key=lambda c: c[0])
    trace.append(Step("fee subsidy", format_yuan(amount), clause="二(三)7", reference=f"bound by {bound}"))
    return Amount(amount, bound, tuple(trace))


# --- the claim (申请贴息): the scheme's intake checks and amount, on the loan the claim links to -------------

RULES = SchemeRules(SCHEME, outcomes={
    "funded": "贴息 granted within the budget line (pro rata or first come first served, as the policy says)",
    "budget_exhausted": "eligible, but the budget line cannot hold the subsidy",
})


@dataclass(frozen=True, slots=True)
class PriorClaim:
    """A live claim of the scheme on the same loan: its case, fiscal year, period (end exclusive) and award."""

    ref: str
    year: int
    start: dt.date
    end: dt.date
    award_fen: int
    awarded: bool  # committed or paid (counts against the caps)


@dataclass(frozen=True, slots=True)
class LinkedLoan:
    """The registry's record of the loan a claim names (the policy's ``links: loan``), as the service read it:
    the loan, its bank and its state, the pledge registration, the receipted interest, the scheme's earlier live
    claims on the loan, and what the borrower received from the scheme in all years."""

    found: bool
    bank: str
    ref: str
    loan: Loan | None = None
    bank_active: bool = True
    pledge_reg_date: dt.date | None = None
    payments: tuple[InterestPayment, ...] = ()
    prior: tuple[PriorClaim, ...] = ()
    cumulative_fen: int = 0  # awarded to the borrower by the scheme, all years, committed or paid
    principal_repaid_fen: int = 0  # the principal receipts' sum (repayments)
    repaid_on: dt.date | None = None  # the day of the last principal receipt
    # awarded to the borrower by the scheme in the claim's fiscal year, by the form's ``kind`` (a scheme whose
    # form has one: the per-kind yearly caps of the fee subsidies)
    year_by_kind: Mapping[str, int] = field(default_factory=dict)


def claim_window(form: Mapping[str, Any]) -> tuple[dt.date, dt.date] | None:
    """The claim's period as the rules read it (start inclusive, end exclusive): the form's ``period_from`` to
    the day after ``period_to`` (the form says the last day included)."""
    a, b = form.get("period_from"), form.get("period_to")
    if not isinstance(a, dt.date) or not isinstance(b, dt.date):
        return None
    return a, b + dt.timedelta(days=1)


def _linked(f: IntakeFacts | Candidate) -> LinkedLoan | None:
    ln = f.linked.get("loan")
    return ln if isinstance(ln, LinkedLoan) else None


def _result(name: str, ok: bool, rule: str, detail: str, parameter: str | None = None,
            trace: tuple[Step, ...] = ()) -> CheckResult:
    return CheckResult(name, ok, rule, CLAUSE, parameter, detail, trace)


@RULES.check("loan_registered")
def loan_registered(policy: Policy, f: IntakeFacts) -> CheckResult:
    """The claim names a loan the registry holds, of a bank in good standing."""
    ln = _linked(f)
    rule = "the loan is registered by its bank (贷款备案)"
    if ln is None or not ln.found or ln.loan is None:
        what = f"{ln.bank}:{ln.ref}" if ln else "(no loan named)"
        return _result("loan_registered", False, rule, f"no loan {what} in the registry; the bank registers it first")
    if not ln.bank_active:
        return _result("loan_registered", False, rule, f"the bank {ln.bank} is suspended (业务暂停)")
    return _result("loan_registered", True, rule, f"loan {ln.ref} of bank {ln.bank}, "
                   f"{format_yuan(ln.loan.principal_fen)} drawn down {ln.loan.drawdown.isoformat()}")


@RULES.check("borrower_is_applicant")
def borrower_is_applicant(policy: Policy, f: IntakeFacts) -> CheckResult:
    ln = _linked(f)
    rule = "the claimant is the loan's registered borrower"
    if ln is None or ln.loan is None:
        return _result("borrower_is_applicant", False, rule, "no registered loan to compare")
    ok = ln.loan.borrower == f.applicant_uscc
    return _result("borrower_is_applicant", ok, rule, f"borrower {ln.loan.borrower}, claimant {f.applicant_uscc}")


@RULES.check("pledge_before_drawdown")
def pledge_before_drawdown(policy: Policy, f: IntakeFacts) -> CheckResult:
    ln = _linked(f)
    rule = "质权设立: the pledge is registered with 国家知识产权局 on or before the drawdown"
    if ln is None or ln.loan is None or ln.pledge_reg_date is None:
        return _result("pledge_before_drawdown", False, rule, "no registered loan or pledge registration")
    ok = ln.pledge_reg_date <= ln.loan.drawdown
    return _result("pledge_before_drawdown", ok, rule, f"pledge registered {ln.pledge_reg_date.isoformat()}, "
                   f"drawdown {ln.loan.drawdown.isoformat()}")


@RULES.check("borrower_sme")
def borrower_sme(policy: Policy, f: IntakeFacts) -> CheckResult:
    return _result("borrower_sme", f.applicant_sme, "贴息 is for 中小微企业 (小微企业首贷, 二(三)7)",
                   "the applicant is registered as an SME" if f.applicant_sme else
                   "the applicant is not registered as an SME (中小微企业)")


@RULES.check("claim_period")
def claim_period(policy: Policy, f: IntakeFacts) -> CheckResult:
    """先付后贴: the period is over before the claim (interest already paid), at most the policy's days long,
    and starts no earlier than 1 January of the year before the claim's fiscal year."""
    name = _p(SCHEME, "claim_period_max_days")
    rule = "先付后贴: a past period of the claim round's window"
    w = claim_window(f.form)
    if w is None:
        return _result("claim_period", False, rule, "period_from and period_to are required", name)
    most = policy.integer(name, f.submitted_on)
    earliest = dt.date(f.submitted_on.year - 1, 1, 1)
    problems = []
    if w[1] <= w[0]:
        problems.append(f"period_to {f.form['period_to']} is before period_from {f.form['period_from']}")
    if w[1] > f.submitted_on:
        problems.append(f"the period ends {f.form['period_to']}, not before the claim ({f.submitted_on}): 先付后贴")
    if days_between(*w) > most:
        problems.append(f"{days_between(*w)} days is longer than {most}")
    if w[0] < earliest:
        problems.append(f"the period starts {w[0]}, before the round's window (from {earliest})")
    return _result("claim_period", not problems, rule, "; ".join(problems) or
                   f"{w[0]} – {f.form['period_to']} ({days_between(*w)} days), window from {earliest}",
                   f"{name} = {most}")


@RULES.check("no_other_fiscal_subsidy")
def no_other_fiscal_subsidy(policy: Policy, f: IntakeFacts) -> CheckResult:
    """A loan already subsidised by another fiscal programme is refused (declared by the claimant)."""
    other = bool(f.form.get("other_subsidy"))
    return _result("no_other_fiscal_subsidy", not other, "不重复: no loan subsidised by another fiscal programme",
                   "declared subsidised by another fiscal programme (已享受其他财政贴息)" if other
                   else "declared not subsidised by another fiscal programme")


@RULES.check("no_overlapping_claim")
def no_overlapping_claim(policy: Policy, f: IntakeFacts) -> CheckResult:
    """不重复: no earlier live claim on the same loan covers any day of this period."""
    ln, w = _linked(f), claim_window(f.form)
    rule = "不重复: one claim per loan and period"
    if ln is None or w is None:
        return _result("no_overlapping_claim", True, rule, "nothing to compare")
    clash = [p for p in ln.prior if p.start < w[1] and w[0] < p.end]
    return _result("no_overlapping_claim", not clash, rule,
                   "the period overlaps " + ", ".join(f"{p.ref} ({p.start} – {p.end - dt.timedelta(days=1)})"
                                                      for p in clash) if clash
                   else "no other claim on this loan covers the period")


def claim_subsidy(policy: Policy, ln: LinkedLoan, form: Mapping[str, Any], year_fen: int) -> Subsidy | None:
    """The subsidy of a claim on its linked loan: the period, the receipts, and what the borrower received
    (this fiscal year ``year_fen``; in all years and the loan's earlier subsidised years from the link)."""
    w = claim_window(form)
    if ln.loan is None or w is None or w[1] <= w[0]:
        return None
    years = len({p.year for p in ln.prior if p.awarded and p.start < w[0]})
    return interest_subsidy(policy, ln.loan, ln.payments, Granted(year_fen, ln.cumulative_fen, years), w)


def _trace_text(s: Subsidy) -> str:
    out = f"{format_yuan(s.amount_fen)} (bound by {s.bound}; formula {format_yuan(s.formula_fen)}, eligible interest " \
          f"paid {format_yuan(s.interest_paid_fen)}, {s.days} days)"
    by_reason: dict[str, list[Excluded]] = {}
    for e in s.excluded:
        by_reason.setdefault(e.reason, []).append(e)
    if by_reason:  # each reason once (the trace names every receipt)
        out += "; excluded: " + "; ".join(
            f"{reason}: {es[0].receipt if len(es) == 1 else f'{len(es)} receipts'} "
            f"{format_yuan(sum(e.amount_fen for e in es))}"
            for reason, es in sorted(by_reason.items(), key=lambda kv: "outside" in kv[0]))
    return out


@RULES.check("interest_subsidy")
def interest_subsidy_check(policy: Policy, f: IntakeFacts) -> CheckResult:
    """The subsidy the claim comes to, with its trace: refused when nothing is eligible (no normal interest
    paid in the window, all of it in an extension, or the loan's years used up)."""
    ln = _linked(f)
    rule = "贴息 = min(ratio × base × principal × days / basis, interest paid, caps) on normal interest paid"
    s = claim_subsidy(policy, ln, f.form, f.awarded_this_year_fen) if ln else None
    if s is None:
        return _result("interest_subsidy", False, rule, "no registered loan or period to compute on")
    excluded = tuple(Step(f"excluded: receipt {e.receipt}", format_yuan(e.amount_fen), clause=CLAUSE,
                          reference=e.reason) for e in s.excluded)
    trace = (*s.trace[:-1], *excluded, s.trace[-1])  # the subsidy stays the last step
    return _result("interest_subsidy", s.amount_fen > 0, rule, _trace_text(s), _p(SCHEME, "ratio"), trace)


@RULES.amount("interest_subsidy")
def interest_subsidy_amount(policy: Policy, c: Candidate, as_of: dt.date) -> int:
    """The claim's subsidy (0 without a linked loan): what allocation funds, before the budget line."""
    ln = _linked(c)
    s = claim_subsidy(policy, ln, c.form, c.awarded_this_year_fen) if ln else None
    return s.amount_fen if s else 0
