"""从优从高不重复: the applicant's live awards in OTHER schemes that fund the same benefit as a case, read
generically from the policy's ``duplicate_benefits`` (no scheme is named here). Intake hands them to the
check ``duplicate_benefit``; a round to the allocation, which refuses or deducts them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.services.applications import awarded_states
from models.tables import Application
from rules import forms
from rules.policy import Policy
from rules.schemes import BenefitAward
from rules.schemes.common import benefits_of, member_matches, other_members


class Claim(NamedTuple):
    id: int
    applicant_id: int
    year: int
    form: Mapping[str, Any]


def same_benefit_awards(session: Session, policy: Policy, scheme: str,
                        claims: Sequence[Claim]) -> dict[int, tuple[BenefitAward, ...]]:
    """Per claim of ``scheme`` that belongs to a benefit: the live (committed or paid) awards of the same
    applicant and fiscal year in the benefit's other member schemes, with their amounts."""
    if not policy.duplicate_benefits or not claims:
        return {}
    mine: dict[int, set[str]] = {}
    for c in claims:
        names = {b.name for b in benefits_of(policy, scheme, c.form)}
        if names:
            mine[c.id] = names
    if not mine:
        return {}
    members = [(b, m) for b in policy.duplicate_benefits if b.name in set().union(*mine.values())
               for m in other_members(b, scheme)]
    others = sorted({m.scheme for _, m in members})
    live = {s: set(awarded_states(policy, s)) for s in others}
    keys = sorted({(c.applicant_id, c.year) for c in claims if c.id in mine})
    applicant_ids = sorted({a for a, _ in keys})
    years = sorted({y for _, y in keys})
    t = Application.__table__  # type: ignore[attr-defined]
    held: dict[tuple[int, int], list[BenefitAward]] = defaultdict(list)
    for i in range(0, len(applicant_ids), 900):
        for ref, scheme_, applicant_id, year, status, award_fen, data in session.execute(
                sa_select(t.c.ref, t.c.scheme, t.c.applicant_id, t.c.year, t.c.status, t.c.award_fen, t.c.data)
                .where(t.c.scheme.in_(others), t.c.year.in_(years),
                       t.c.applicant_id.in_(applicant_ids[i:i + 900]))).all():
            if status not in live[scheme_] or not award_fen:
                continue
            form = forms.typed(policy.scheme(scheme_).form, json.loads(data))
            for b, m in members:
                if member_matches(m, scheme_, form):
                    held[(applicant_id, year)].append(BenefitAward(b.name, scheme_, ref, int(award_fen)))
    return {c.id: found for c in claims if c.id in mine
            if (found := tuple(a for a in held.get((c.applicant_id, c.year), ()) if a.benefit in mine[c.id]))}


def invariants(session: Session, policy: Policy) -> list[tuple[str, bool, str]]:
    """从优从高不重复 over what is committed (written by any path): for each benefit, applicant and fiscal year
    with live awards in two or more member schemes, their sum is at most the largest of their full amounts
    (each case's amount function before any deduction) — the higher award kept, never both."""
    import datetime as dt

    from flows.services import links
    from models.tables import Applicant
    from rules.schemes import Candidate, Resolved

    name = "no duplicate benefit (从优从高不重复)"
    if not policy.duplicate_benefits:
        return [(name, True, "the policy declares no duplicate benefits")]
    t = Application.__table__  # type: ignore[attr-defined]
    p = Applicant.__table__  # type: ignore[attr-defined]
    schemes = sorted({m.scheme for b in policy.duplicate_benefits for m in b.members})
    groups: dict[tuple[str, int, int], list[tuple[str, str, int, int]]] = defaultdict(list)
    for scheme in schemes:
        sc = policy.scheme(scheme)
        amount_name = sc.allocation.amount
        live = awarded_states(policy, scheme)
        held = session.execute(
            sa_select(t.c.id, t.c.ref, t.c.applicant_id, t.c.year, t.c.award_fen, t.c.data, p.c.kind, p.c.sme)
            .join(p, p.c.id == t.c.applicant_id)
            .where(t.c.scheme == scheme, t.c.status.in_(live), t.c.award_fen > 0)).all()
        typed = {r.id: forms.typed(sc.form, json.loads(r.data)) for r in held}
        linked = links.linked_records(session, policy, scheme, [Claim(r.id, r.applicant_id, r.year, typed[r.id])
                                                                for r in held])  # the amount reads the loan
        for app_id, ref, applicant_id, year, award_fen, _data, kind, sme in held:
            form = typed[app_id]
            for b in policy.duplicate_benefits:
                if not any(member_matches(m, scheme, form) for m in b.members):
                    continue
                as_of = dt.date(year, 12, 31)
                full = int(award_fen)
                if amount_name:
                    fn = Resolved(scheme, sc.module).amount(amount_name, as_of)
                    own = {k: links.without(v, int(award_fen)) for k, v in linked.get(app_id, {}).items()}
                    full = int(fn(policy, Candidate(0, ref, applicant_id, kind, bool(sme), "", None, form=form,
                                                    linked=own), as_of))
                groups[(b.name, applicant_id, year)].append((scheme, ref, int(award_fen), full))
    bad = []
    for (benefit, _applicant, year), rows in sorted(groups.items()):
        if len({r[0] for r in rows}) < 2:
            continue
        total, highest = sum(r[2] for r in rows), max(r[3] for r in rows)
        if total > highest:
            bad.append(f"{benefit} {year}: {', '.join(f'{r[1]} {r[2]} fen' for r in rows)} sum to {total} fen > "
                       f"the higher award's {highest} fen")
    return [(name, not bad, "each benefit funded at most once a year across schemes (the higher award kept)"
             if not bad else "; ".join(bad[:10]))]
