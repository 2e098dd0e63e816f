"""The fund ledger's pure rules and the 三(二) fund rules (加大资金投入).

Accounts are named by strings so the rules stay free of the database:

* ``external:<source>`` — where receipts come from (the only accounts allowed below zero);
* ``source:<source>`` — received and not yet allocated to a budget line;
* ``line:<code>:<source>:available|committed|paid|receivable`` — a budget line's money by fund source.

``receivable`` is money paid out and clawed back after a fraud finding (追回, 二(四)13; 三(三) 保障财政资金
安全): owed to the line by whoever was paid. It stays allocated to the line (the plan is unchanged), but it
is no longer ``paid``: the 三(二) floors checked against actual payments do not count money obtained by
fraud. Recovered money moves receivable → available (the line may spend it again).

Allocated = available + committed + paid + receivable. Every posting sums to zero; every non-external account
stays >= 0. All comparisons are exact (integers and Fractions), never floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from rules.errors import (
    ClusterFloorViolation,
    FundRuleViolation,
    MarketFloorViolation,
    MatchRatioViolation,
    NegativeBalance,
    UnbalancedPosting,
)
from rules.money import fen_to_yuan_str, format_yuan

SOURCES = ("central", "municipal", "district", "social")
BUCKETS = ("available", "committed", "paid", "receivable")


def external_account(source: str) -> str:
    return f"external:{source}"


def source_account(source: str) -> str:
    return f"source:{source}"


def line_account(line_code: str, source: str, bucket: str) -> str:
    assert bucket in BUCKETS, bucket
    return f"line:{line_code}:{source}:{bucket}"


def is_external(account: str) -> bool:
    return account.startswith("external:")


def check_balanced(entries: Iterable[tuple[str, int]]) -> None:
    """Double entry: a posting's amounts sum to zero and none is zero."""
    items = list(entries)
    if not items:
        raise UnbalancedPosting("a posting needs at least two entries")
    for account, amount in items:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise UnbalancedPosting(f"entry on {account}: amount {amount!r} is not integer fen")
        if amount == 0:
            raise UnbalancedPosting(f"entry on {account} is zero fen; leave it out")
    total = sum(a for _, a in items)
    if total != 0:
        raise UnbalancedPosting(f"posting does not balance: entries sum to {total} fen, they must sum to 0")


def apply_entries(balances: Mapping[str, int], entries: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Return new balances after a posting, refusing any non-external balance below zero."""
    items = list(entries)
    check_balanced(items)
    new = dict(balances)
    for account, amount in items:
        new[account] = new.get(account, 0) + amount
    for account, _ in items:
        if not is_external(account) and new[account] < 0:
            raise NegativeBalance(
                f"{account} would be {format_yuan(new[account])}: balances of a line or source never go "
                f"negative (it holds {format_yuan(balances.get(account, 0))}); post less or move funds first"
            )
    return new


# --- postings as entry lists ----------------------------------------------------------------

def receipt_entries(source: str, amount_fen: int) -> list[tuple[str, int]]:
    return [(source_account(source), amount_fen), (external_account(source), -amount_fen)]


def allocation_entries(line_code: str, source: str, amount_fen: int) -> list[tuple[str, int]]:
    """Allocate (amount > 0) or de-allocate (amount < 0) source money to a line."""
    return [(line_account(line_code, source, "available"), amount_fen), (source_account(source), -amount_fen)]


def move_entries(line_code: str, source: str, src_bucket: str, dst_bucket: str, amount_fen: int) -> list[tuple[str, int]]:
    """commit: available->committed; pay: committed->paid; release: committed->available; reverse: paid->committed;
    claw back: paid->receivable; recover: receivable->available."""
    return [(line_account(line_code, source, dst_bucket), amount_fen),
            (line_account(line_code, source, src_bucket), -amount_fen)]


def proportional_moves(amount_fen: int, held: Mapping[tuple[str, str], int], src_bucket: str, dst_bucket: str
                       ) -> list[tuple[str, int]]:
    """The entries moving ``amount_fen`` from ``src_bucket`` to ``dst_bucket`` on each (line, source) in
    proportion to what it holds there (largest remainder), so a whole amount moves exactly as it was booked.
    ValueError when less than the amount is held."""
    from rules.money import split_largest_remainder

    keys = sorted(k for k, v in held.items() if v > 0)
    weights = [held[k] for k in keys]
    if sum(weights) < amount_fen:
        raise ValueError(f"{format_yuan(amount_fen)} to move from {src_bucket}, only {format_yuan(sum(weights))} held")
    entries: list[tuple[str, int]] = []
    for (code, source), part in zip(keys, split_largest_remainder(amount_fen, weights), strict=True):
        if part:
            entries += move_entries(code, source, src_bucket, dst_bucket, part)
    return entries


# --- the 三(二) fund rules ----------------------------------------------------------------------

@dataclass(frozen=True)
class FundFigures:
    """What the three rules compare, in fen: ``central_fen`` is the base (central funds received)."""

    central_fen: int
    local_fen: int
    central_cluster_fen: int
    central_market_fen: int


@dataclass(frozen=True)
class FundRuleThresholds:
    match_ratio: Fraction
    cluster_floor: Fraction
    market_floor: Fraction
    clause: str = "三(二)"


@dataclass(frozen=True)
class RuleResult:
    rule: str
    title: str
    clause: str
    threshold: Fraction
    base_fen: int
    value_fen: int
    required_fen: int
    passed: bool
    shortfall_fen: int

    @property
    def ratio(self) -> Fraction | None:
        return None if self.base_fen == 0 else Fraction(self.value_fen, self.base_fen)

    def message(self) -> str:
        thr = _pct(self.threshold) if self.rule != "match" else f"{_dec(self.threshold)} x"
        return (
            f"{self.title} ({self.clause}): {format_yuan(self.value_fen)} is below the required "
            f"{format_yuan(self.required_fen)} ({thr} of central funds {format_yuan(self.base_fen)}); "
            f"shortfall ¥{fen_to_yuan_str(self.shortfall_fen)} — {_HOW_TO_FIX[self.rule]}"
        )

    def as_dict(self) -> dict[str, object]:
        r = self.ratio
        return {
            "rule": self.rule,
            "title": self.title,
            "clause": self.clause,
            "threshold": _dec(self.threshold),
            "base_fen": self.base_fen,
            "value_fen": self.value_fen,
            "required_fen": self.required_fen,
            "ratio": None if r is None else _dec(r, places=6),
            "passed": self.passed,
            "shortfall_fen": self.shortfall_fen,
        }


_HOW_TO_FIX = {
    "match": "raise municipal/district money on the plan's lines or lower the central receipt",
    "cluster_floor": "move central money to lines tagged cluster_zone",
    "market_floor": "move central money to lines tagged market_oriented",
}

_ERRORS: dict[str, type[FundRuleViolation]] = {
    "match": MatchRatioViolation,
    "cluster_floor": ClusterFloorViolation,
    "market_floor": MarketFloorViolation,
}


def _dec(f: Fraction, places: int = 4) -> str:
    q = round(f * 10**places)  # display only; comparisons never use this
    s = _fixed(q, places)
    return s.rstrip("0").rstrip(".") if "." in s else s


def _fixed(q: int, places: int) -> str:
    sign = "-" if q < 0 else ""
    q = abs(q)
    return f"{sign}{q // 10**places}.{q % 10**places:0{places}d}"


def _pct(f: Fraction) -> str:
    return f"{_dec(f * 100)} %"


def required_fen(threshold: Fraction, base_fen: int) -> int:
    """Smallest whole fen amount ``v`` with ``v >= threshold * base`` (exact)."""
    return math.ceil(threshold * base_fen)


def _result(rule: str, title: str, clause: str, threshold: Fraction, base: int, value: int) -> RuleResult:
    need = required_fen(threshold, base)
    return RuleResult(rule, title, clause, threshold, base, value, need, value >= need, max(0, need - value))


def evaluate_fund_rules(figures: FundFigures, t: FundRuleThresholds) -> list[RuleResult]:
    """三(二) 加大资金投入: 1:1.2 local match; >= 40 % of central funds to the cluster zone; >= 40 % of
    central funds used in market-oriented ways. Exactly at a threshold passes; one fen below fails."""
    return [
        _result("match", f"1:{_dec(t.match_ratio)} 地方配套 local match", t.clause, t.match_ratio,
                figures.central_fen, figures.local_fen),
        _result("cluster_floor", "集聚区 cluster-zone floor", t.clause, t.cluster_floor, figures.central_fen,
                figures.central_cluster_fen),
        _result("market_floor", "市场化 market-oriented floor", t.clause, t.market_floor, figures.central_fen,
                figures.central_market_fen),
    ]


def raise_if_violated(results: list[RuleResult], context: str) -> None:
    """Raise the named violation (or a combined one) listing every broken rule."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return
    messages = [r.message() for r in failed]
    cls = _ERRORS[failed[0].rule] if len(failed) == 1 else FundRuleViolation
    body = "\n".join(f"  - {m}" for m in messages)
    raise cls(f"{context}: refused, {len(failed)} fund rule(s) broken, nothing was written:\n{body}", messages)
