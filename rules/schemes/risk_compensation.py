"""质押融资风险补偿资金池 (二(三)7): the risk-compensation pool — who bears what share of a loss, what the pool
pays, what it may cover, and how recoveries flow back.

The seed: 联合设立质押融资风险补偿资金池，明确风险分担比例. Real pools (research/schemes.md §3) split a loss
among N parties — pool, bank, insurer, guarantor, evaluator — in shares that sum to exactly 100 %
(Zhongshan 54 : 26 : 16 : 4; Qingdao 6 : 2 : 2), sometimes layered (Shandong's province fund 40 % plus
Weihai's city 20 %); they cap what the pool pays per loan, pay only to their balance (以其余额为限), cover
loans only up to a leverage of the balance (10×), and share recoveries after disposal in the same
proportions. No Yantai number is known: every share, cap and period is an illustrative, dated parameter
named ``risk-compensation.<what>``.

Rules, all pure:

* the shares that apply are those in force on the loan's **filing** date, not on the claim date;
* a loss is the unpaid principal on the IP share of the loan (principal only: interest is never covered);
* each party's part is its share of the loss, split by largest remainder so the parts sum to the loss to
  the fen;
* the pool pays the part of its own parties (``risk-compensation.pool_parties``), at most the per-loan cap
  (which may differ by the bank's tier) and at most its balance: beyond the balance the policy either
  refuses the claim or pays to the balance (``risk-compensation.beyond_balance``); what the pool does not
  pay stays with the bank;
* a recovery after disposal is shared in proportion to what each party actually bore; the pool's part
  returns to the pool, never more than it paid;
* the pool balance (contributions − compensations + recoveries) never goes below zero;
* a loan may be filed only while the loans covered stay within ``leverage`` × the balance;
* a bank claims within ``claim_deadline_workdays`` working days of the default;
* a bank whose non-performing rate on covered loans reaches ``bank_suspension_npl_rate`` is suspended
  from the pool (业务暂停).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rules.money import RoundingMode, apply_ratio, format_yuan, split_by_shares
from rules.policy import Policy
from rules.trace import Step
from rules.trace import parameter_step as _step

SCHEME = "risk-compensation"
CLAUSE = "二(三)7"


class PoolRefusal(ValueError):
    """A pool act the rules refuse (names the rule and clause)."""


def _p(name: str) -> str:
    return f"{SCHEME}.{name}"


def shares_on(policy: Policy, filed_on: dt.date) -> dict[str, Fraction]:
    """The loss shares in force on the filing date, party -> exact share (they sum to 1)."""
    raw: Mapping[str, Any] = policy.value(_p("loss_shares"), filed_on)
    return {party: Fraction(Decimal(str(v))) / 100 for party, v in raw.items()}


def pool_parties(policy: Policy, filed_on: dt.date) -> list[str]:
    parties: list[str] = list(policy.value(_p("pool_parties"), filed_on))
    return parties


def principal_loss(outstanding_principal_fen: int, ip_share: Fraction, mode: RoundingMode) -> int:
    """The loss the pool shares: the unpaid principal on the IP share (interest is never covered)."""
    if outstanding_principal_fen < 0:
        raise PoolRefusal(f"outstanding principal: {outstanding_principal_fen} fen must not be negative")
    return apply_ratio(outstanding_principal_fen, ip_share, mode)


def split(amount_fen: int, weights: Mapping[str, Fraction | int]) -> dict[str, int]:
    """``amount_fen`` split in proportion to ``weights`` by largest remainder: the parts sum to it exactly."""
    names = list(weights)
    return dict(zip(names, split_by_shares(amount_fen, [Fraction(weights[n]) for n in names]), strict=True))


@dataclass(frozen=True, slots=True)
class Compensation:
    loss_fen: int
    parts: dict[str, int]  # each party's share of the loss (sums to loss_fen)
    pool_due_fen: int  # the pool parties' parts
    pool_pays_fen: int  # after the per-loan cap and the balance
    borne: dict[str, int]  # what each party finally bears (the bank absorbs what the pool does not pay)
    bound: str  # share | cap | balance
    trace: tuple[Step, ...]


def compensation(policy: Policy, loss_fen: int, filed_on: dt.date, claimed_on: dt.date, bank_tier: str,
                 pool_balance_fen: int, paid_before_fen: int = 0) -> Compensation:
    """What the pool pays on a covered loan's ``loss_fen`` (provisional compensation), with the trace.

    Shares are those in force on ``filed_on``; the per-loan cap and the balance rule those in force on
    ``claimed_on``. ``paid_before_fen`` is what the pool already paid on this loan (the cap is per loan).
    Raises :class:`PoolRefusal` when the pool cannot pay and the policy refuses rather than paying to the
    balance."""
    if loss_fen <= 0:
        raise PoolRefusal(f"loss: {format_yuan(loss_fen)} must be above ¥0.00")
    shares = shares_on(policy, filed_on)
    own = pool_parties(policy, filed_on)
    unknown = [p for p in own if p not in shares]
    if unknown:
        raise PoolRefusal(f"risk-compensation.pool_parties names {', '.join(unknown)}, which hold no loss share")
    parts = split(loss_fen, shares)
    trace = [Step("principal loss on the IP share", format_yuan(loss_fen), clause=CLAUSE),
             _step(policy, "loss shares in force on the filing date", _p("loss_shares"), filed_on,
                   " : ".join(f"{k} {Decimal(v.numerator) / Decimal(v.denominator) * 100:f} %".replace(".000 %", " %")
                              for k, v in shares.items())),
             Step("each party's part (largest remainder)",
                  ", ".join(f"{k} {format_yuan(v)}" for k, v in parts.items()), clause=CLAUSE)]
    due = sum(parts[p] for p in own)
    caps: Mapping[str, int] = policy.value(_p("cap_fen_per_loan"), claimed_on)
    if bank_tier not in caps:
        raise PoolRefusal(f"bank tier: {bank_tier!r} has no per-loan cap in risk-compensation.cap_fen_per_loan "
                          f"(tiers: {', '.join(caps)})")
    cap_left = max(0, int(caps[bank_tier]) - paid_before_fen)
    trace.append(_step(policy, f"per-loan cap for a {bank_tier} bank (left)", _p("cap_fen_per_loan"), claimed_on,
                       f"{format_yuan(cap_left)} of {format_yuan(int(caps[bank_tier]))}"))
    pays, bound = due, "share"
    if cap_left < pays:
        pays, bound = cap_left, "cap"
    if pool_balance_fen < pays:
        rule = policy.text(_p("beyond_balance"), claimed_on)
        trace.append(_step(policy, "a claim beyond the pool balance (以其余额为限)", _p("beyond_balance"), claimed_on,
                           f"{rule}; balance {format_yuan(pool_balance_fen)}"))
        if rule == "refuse":
            raise PoolRefusal(f"the pool owes {format_yuan(pays)} but holds {format_yuan(pool_balance_fen)}: "
                              f"refused (以其余额为限, risk-compensation.beyond_balance = refuse, {CLAUSE})")
        pays, bound = max(0, pool_balance_fen), "balance"
    borne = {k: (v if k not in own else 0) for k, v in parts.items()}
    # the pool's parties bear what the pool pays, in proportion to their parts; the bank the rest
    pool_split = split(pays, {p: parts[p] for p in own}) if own else {}
    for p in own:
        borne[p] = pool_split.get(p, 0)
    bank = "bank" if "bank" in borne else next(iter(k for k in borne if k not in own), None)
    if bank is not None:
        borne[bank] += due - pays
    trace.append(Step("the pool pays", format_yuan(pays), clause=CLAUSE, reference=f"bound by {bound}"))
    return Compensation(loss_fen, parts, due, pays, borne, bound, tuple(trace))


def recovery_split(recovered_fen: int, borne: Mapping[str, int]) -> dict[str, int]:
    """A recovery after disposal, shared in proportion to what each party bore (the same proportions as the
    loss, after any cap), to the fen; no party recovers more than it bore."""
    if recovered_fen < 0:
        raise PoolRefusal(f"recovery: {format_yuan(recovered_fen)} must not be negative")
    total = sum(borne.values())
    if recovered_fen > total:
        raise PoolRefusal(f"recovery: {format_yuan(recovered_fen)} is more than the loss borne ({format_yuan(total)})")
    return split(recovered_fen, {k: v for k, v in borne.items()})


def pool_balance(contributions: Iterable[int], compensations: Iterable[int], recoveries: Iterable[int]) -> int:
    """Contributions − compensations + recoveries (each a non-negative amount)."""
    return sum(contributions) - sum(compensations) + sum(recoveries)


def may_file(policy: Policy, on: dt.date, covered_fen: int, new_fen: int, balance_fen: int) -> tuple[bool, str]:
    """A loan may be filed while the loans covered stay within leverage × the pool balance."""
    k = policy.ratio(_p("leverage"), on)
    limit = apply_ratio(max(0, balance_fen), k, RoundingMode.down)
    after = covered_fen + new_fen
    ok = after <= limit
    return ok, (f"covered {format_yuan(after)} {'≤' if ok else '>'} {k} × balance {format_yuan(balance_fen)} "
                f"= {format_yuan(limit)} (risk-compensation.leverage, {CLAUSE})")


def claim_in_time(policy: Policy, defaulted_on: dt.date, claimed_on: dt.date) -> tuple[bool, str]:
    """A bank claims within the deadline in working days after the default (the policy's calendar: rest
    days, holidays and 调休 workdays), counting the days after the default up to and including the claim."""
    limit = policy.integer(_p("claim_deadline_workdays"), defaulted_on)
    used = policy.calendar.work_calendar().working_days_between(defaulted_on, claimed_on)
    ok = claimed_on >= defaulted_on and used <= limit
    return ok, (f"claimed {used} working day(s) after the default on {defaulted_on.isoformat()}; "
                f"the deadline is {limit} (risk-compensation.claim_deadline_workdays, {CLAUSE})")


def bank_suspended(policy: Policy, on: dt.date, npl_fen: int, covered_fen: int) -> tuple[bool, str]:
    """业务暂停: a bank whose non-performing share of its covered loans reaches the threshold is suspended."""
    threshold = policy.ratio(_p("bank_suspension_npl_rate"), on)
    rate = Fraction(npl_fen, covered_fen) if covered_fen else Fraction(0)
    hit = covered_fen > 0 and rate >= threshold
    shown = (Decimal(rate.numerator) * 100 / Decimal(rate.denominator)).quantize(Decimal("0.01"))
    limit = (Decimal(threshold.numerator) * 100 / Decimal(threshold.denominator)).normalize()
    return hit, (f"non-performing {format_yuan(npl_fen)} of {format_yuan(covered_fen)} covered "
                 f"({shown} %) {'≥' if hit else '<'} {limit:f} % "
                 f"(risk-compensation.bank_suspension_npl_rate, {CLAUSE})")
