"""Ranking and allocation within budget, for every scheme, by the mode its policy section declares.

* ``merit`` (择优): rank by the scheme's rank key; fund in rank order while the budget line can pay the
  full amount; the first case it cannot fund, and every case below it, is ``budget_exhausted`` (merit
  order is never skipped for a cheaper award).
* ``fcfs``: the same, in order of submission (first come, first served; later cases never overtake) —
  or, when the scheme's ``issue_order`` parameter says ``ranked`` on the round's date, in the order of
  its rank key (e.g. first-time custody SMEs first), or, when it says ``pro_rata``, every eligible case
  funded with its amount cut in proportion when the line cannot hold them all (:func:`pro_rata`: largest
  remainder, exact to the fen, the parts summing to the line). Either way a round whose eligible demand the
  line can hold funds every eligible case in full; the order decides only who is left out, or cut, when it
  cannot.
* ``formula``: each case's amount by the scheme's formula, funded in order of submission while the
  budget lasts.
* ``none``: no money: a case whose final score reaches the minimum receives the scheme's outcome (e.g.
  ``recognised``); ranked by the rank key for the record.

从优从高不重复: a case holding another scheme's live award of the same benefit this year (the policy's
``duplicate_benefits``) is ``ineligible`` when that award is at least its own; otherwise what it holds is
deducted, so the applicant receives the higher amount in all, never both.

不超额: never above the per-applicant cap for the fiscal year, never above the line (a paired
assertion here, the same check again where the round is committed and in `ipfund check`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction

from rules.money import format_yuan, split_largest_remainder
from rules.policy import Policy
from rules.schemes import Candidate, Outcome, Resolved
from rules.schemes.common import duplicate_deduction
from rules.scoring import display


def issue_order(policy: Policy, scheme_id: str, as_of: dt.date) -> str:
    """The order an fcfs scheme issues in on ``as_of``: ``fcfs`` (submission) unless its ``issue_order``
    parameter says ``ranked``; merit and formula schemes have no choice (``merit`` / ``fcfs``)."""
    alloc = policy.scheme(scheme_id).allocation
    if alloc.mode == "merit":
        return "merit"
    if alloc.mode != "fcfs" or alloc.issue_order is None:
        return "fcfs"
    return policy.text(alloc.issue_order, as_of)


def pro_rata(budget_fen: int, amounts: Sequence[int]) -> list[int]:
    """Each amount in full when the budget holds them all; else the budget split in proportion to them by
    largest remainder: the parts sum to the budget exactly, each is the floor or ceiling of its exact share
    and never above its amount (按比例核减, never over the line)."""
    if budget_fen < 0 or any(a < 0 for a in amounts):
        raise ValueError("a pro-rata split needs a budget and amounts of at least 0 fen")
    if sum(amounts) <= budget_fen:
        return list(amounts)
    return split_largest_remainder(budget_fen, list(amounts))


def _unranked(c: Candidate) -> Outcome:
    if c.failed_check:
        return Outcome(c.application_id, c.ref, None, "ineligible", f"intake check failed: {c.failed_check}", 0, None)
    if c.status == "rejected":
        return Outcome(c.application_id, c.ref, None, "rejected_in_review", "rejected in formal review", 0, None)
    return Outcome(c.application_id, c.ref, None, "pending", f"not yet scored (status {c.status})", 0,
                   c.final_score)


def allocate(policy: Policy, scheme_id: str, candidates: Sequence[Candidate], budget_fen: int | None,
             as_of: dt.date, ready: frozenset[str] = frozenset({"scored"})) -> list[Outcome]:
    """Outcomes for every candidate of a round. ``ready`` are the states a case is ranked in (the
    scheme's states tagged ``ready``); ``budget_fen`` is None for a scheme that pays nothing."""
    scheme = policy.scheme(scheme_id)
    alloc = scheme.allocation
    resolved = Resolved(scheme_id, scheme.module)
    needs_score = scheme.evaluation is not None and scheme.evaluation.ranks
    rankable = [c for c in candidates if c.status in ready and (c.final_score is not None or not needs_score)]
    taken = {c.application_id for c in rankable}
    out = [_unranked(c) for c in candidates if c.application_id not in taken]
    min_score = Fraction(policy.decimal(alloc.min_score, as_of)) if alloc.min_score else None
    order = issue_order(policy, scheme_id, as_of)
    by = alloc.rank_key if alloc.rank_key and order != "fcfs" else "submission_order"
    if alloc.mode == "formula":
        by = "submission_order"
    key = resolved.rank_key(by, as_of)(policy, as_of)
    explain = resolved.rank_reason(by, as_of)
    rankable.sort(key=key)
    cap = policy.fen(alloc.cap, as_of) if alloc.cap else None
    amount_of = resolved.amount(alloc.amount, as_of) if alloc.amount else None
    remaining = budget_fen if budget_fen is not None else 0
    exhausted = False
    given: dict[int, int] = {}
    shared: list[tuple[Candidate, int, int, str, str]] = []  # pro rata: (case, rank, amount, why, less)
    for rank, c in enumerate(rankable, 1):
        if min_score is not None and (c.final_score is None or c.final_score < min_score):
            shown = "none" if c.final_score is None else display(c.final_score)
            out.append(Outcome(c.application_id, c.ref, rank, "below_min_score",
                               f"final score {shown} < minimum {display(min_score)}", 0, c.final_score))
            continue
        if alloc.mode == "none":
            out.append(Outcome(c.application_id, c.ref, rank, alloc.funded, f"rank {rank}", 0, c.final_score))
            continue
        assert amount_of is not None and budget_fen is not None
        amount = int(amount_of(policy, c, as_of))
        if cap is not None:
            amount = min(amount, cap - c.awarded_this_year_fen - given.get(c.applicant_id, 0))
            if amount <= 0:
                out.append(Outcome(c.application_id, c.ref, rank, "ineligible",
                                   f"applicant_year_cap: the applicant's cap of {format_yuan(cap)} is used", 0,
                                   c.final_score))
                continue
        deducted, refusal = duplicate_deduction(c, amount)
        if refusal is not None:
            out.append(Outcome(c.application_id, c.ref, rank, "ineligible", refusal, 0, c.final_score))
            continue
        why = f"rank {rank}" + (f" ({explain(policy, c, as_of)})" if explain else "")
        less = ""
        if deducted:
            less = (f" ({format_yuan(amount)} less {format_yuan(deducted)} already awarded for the same benefit "
                    f"by {', '.join(a.ref for a in c.same_benefit)}: 从优从高不重复)")
            amount -= deducted
        if order == "pro_rata":
            given[c.applicant_id] = given.get(c.applicant_id, 0) + amount
            shared.append((c, rank, amount, why, less))
            continue
        if exhausted or amount > remaining:
            exhausted = True
            out.append(Outcome(c.application_id, c.ref, rank, "budget_exhausted",
                               f"{why + ': ' if explain else ''}award {format_yuan(amount)} exceeds the {format_yuan(remaining)} left on the line",
                               0, c.final_score))
            continue
        remaining -= amount
        given[c.applicant_id] = given.get(c.applicant_id, 0) + amount
        out.append(Outcome(c.application_id, c.ref, rank, alloc.funded, f"{why}, award {format_yuan(amount)}{less}",
                           amount, c.final_score))
    if shared:
        assert budget_fen is not None
        demand = sum(a for _, _, a, _, _ in shared)
        parts = pro_rata(budget_fen, [a for _, _, a, _, _ in shared])
        for (c, rank, amount, why, less), part in zip(shared, parts, strict=True):
            cut = "" if part == amount else (f": 按比例核减, {format_yuan(part)} of {format_yuan(amount)} (the line's "
                                             f"{format_yuan(budget_fen)} over eligible {format_yuan(demand)})")
            if part == 0:
                out.append(Outcome(c.application_id, c.ref, rank, "budget_exhausted",
                                   f"{why}{cut}", 0, c.final_score))
                continue
            out.append(Outcome(c.application_id, c.ref, rank, alloc.funded,
                               f"{why}, award {format_yuan(part)}{less}{cut}", part, c.final_score))
    # Paired assertion (TigerBeetle): never above the line, never above a cap.
    assert budget_fen is None or sum(o.award_fen for o in out) <= budget_fen
    assert budget_fen is not None or all(o.award_fen == 0 for o in out)
    return sorted(out, key=lambda o: (o.rank is None, o.rank or 0, o.application_id))


def ranking_criteria(policy: Policy, scheme_id: str, as_of: dt.date) -> frozenset[str]:
    """The rubric criteria whose mean score the scheme's tie-break reads (``criterion:NAME`` entries of
    its ``<scheme>.tie_break`` parameter, when it has one): ranking keeps only those per case."""
    name = f"{scheme_id}.tie_break"
    if name not in policy.parameters:
        return frozenset()
    return frozenset(tb.split(":", 1)[1] for tb in policy.value(name, as_of) if str(tb).startswith("criterion:"))
