"""Assigning third-party evaluators (第三方评价, 二(二)4): balanced, conflict-free, deterministic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rules import duties


@dataclass(frozen=True)
class Evaluator:
    name: str
    org: str  # the firm, for spreading a case over firms (the user's affiliation, else the name)
    actor: duties.Actor | None = None  # as the duties rule sees them (roles and affiliation)


@dataclass(frozen=True)
class Case:
    application_id: int
    parties: duties.CaseParties
    already: tuple[str, ...] = ()


def may_evaluate(e: Evaluator, case: Case) -> bool:
    """The duties rule decides (rules.duties, act evaluation.assign): never an evaluator of the
    applicant's organisation, one who declared a conflict with it, submitted the case or reviewed it."""
    actor = e.actor or duties.Actor(e.name, frozenset({"evaluator"}), e.org)
    return duties.breach("evaluation.assign", actor, case.parties) is None


def assign(cases: Iterable[Case], evaluators: list[Evaluator], per_case: int,
           load: Mapping[str, int]) -> tuple[dict[int, list[str]], dict[int, str]]:
    """Return (new assignments per case, reason per case that cannot be fully staffed).

    Only evaluators the duties rule allows on the case (:func:`may_evaluate`). Organisations are
    spread: a case first gets evaluators from organisations it does not have yet, each time the
    least-loaded one (ties by name).
    """
    loads = dict(load)
    by_name = {e.name: e for e in evaluators}
    out: dict[int, list[str]] = {}
    short: dict[int, str] = {}
    for case in cases:
        chosen = list(case.already)
        need = per_case - len(chosen)
        if need <= 0:
            continue
        eligible = [e for e in evaluators if e.name not in chosen and may_evaluate(e, case)]
        new: list[str] = []
        for _ in range(need):
            orgs = {by_name[n].org for n in chosen + new if n in by_name}
            pool = [e for e in eligible if e.name not in new]
            if not pool:
                break
            fresh = [e for e in pool if e.org not in orgs]
            pick = min(fresh or pool, key=lambda e: (loads.get(e.name, 0), e.name))
            new.append(pick.name)
            loads[pick.name] = loads.get(pick.name, 0) + 1
        if new:
            out[case.application_id] = new
        if len(chosen) + len(new) < per_case:
            short[case.application_id] = (f"only {len(chosen) + len(new)} of {per_case} evaluators are free of "
                                          "conflicts; add evaluators or lift a conflict")
    return out, short
