"""The records a scheme's form links to (the policy's ``links:``, rules.policy.LINK_KINDS), read for a batch
of cases so the scheme's intake checks and amount function see them (``IntakeFacts.linked``,
``Candidate.linked``). Generic: the declaration names the kind of record and the form fields that name it;
each kind has one reader here, no scheme is named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session

from flows.services.benefits import Claim
from rules.policy import Policy

Reader = Callable[[Session, Policy, str, dict[str, str], Sequence[Claim]], dict[int, Any]]


def _loan(session: Session, policy: Policy, scheme: str, fields: dict[str, str],
          claims: Sequence[Claim]) -> dict[int, Any]:
    from flows.services.loans import linked_loans

    return linked_loans(session, policy, scheme, fields, claims)


def _bar(session: Session, policy: Policy, scheme: str, fields: dict[str, str],
         claims: Sequence[Claim]) -> dict[int, Any]:
    """The applicant's bars from calls (an unrectified project's organisation, 三(三)), for every case."""
    from flows.services.projects import bars_of

    bars = bars_of(session, sorted({c.applicant_id for c in claims}))
    return {c.id: tuple(bars.get(c.applicant_id, ())) for c in claims}


READERS: dict[str, Reader] = {"loan": _loan, "bar": _bar}


def linked_records(session: Session, policy: Policy, scheme: str, claims: Sequence[Claim]
                   ) -> dict[int, dict[str, Any]]:
    """Per case id: {link kind: the record it names} for every link the scheme declares (empty without)."""
    links = policy.scheme(scheme).links
    out: dict[int, dict[str, Any]] = {c.id: {} for c in claims} if links else {}
    for kind, fields in links.items():
        for case_id, record in READERS[kind](session, policy, scheme, fields, claims).items():
            out[case_id][kind] = record
    return out


def invariants(session: Session, policy: Policy) -> list[tuple[str, bool, str]]:
    """Over what is committed: every live award of a scheme that links records is at most what its amount
    function gives on the linked record now, counting nothing granted before this fiscal year's other awards
    (an upper bound: the subsidy never exceeds what the rules allow on the loan, e.g. the interest paid)."""
    import datetime as dt
    import json

    from sqlalchemy import select as sa_select

    from flows.services.applications import awarded_states
    from models.tables import Applicant, Application
    from rules import forms
    from rules.schemes import Candidate, Resolved

    out: list[tuple[str, bool, str]] = []
    t = Application.__table__  # type: ignore[attr-defined]
    p = Applicant.__table__  # type: ignore[attr-defined]
    for sid, sc in policy.schemes.items():
        if not sc.links or not sc.allocation.amount:
            continue
        rows = session.execute(sa_select(t.c.id, t.c.ref, t.c.year, t.c.applicant_id, t.c.award_fen, t.c.data,
                                         p.c.kind, p.c.sme).join(p, p.c.id == t.c.applicant_id)
                               .where(t.c.scheme == sid, t.c.status.in_(awarded_states(policy, sid)))).all()
        claims = [Claim(r.id, r.applicant_id, r.year, forms.typed(sc.form, json.loads(r.data))) for r in rows]
        linked = linked_records(session, policy, sid, claims)
        bad = []
        for r, c in zip(rows, claims, strict=True):
            as_of = dt.date(r.year, 12, 31)
            fn = Resolved(sid, sc.module).amount(sc.allocation.amount, as_of)
            own = {k: without(v, int(r.award_fen or 0)) for k, v in linked[r.id].items()}
            most = int(fn(policy, Candidate(r.id, r.ref, r.applicant_id, r.kind, bool(r.sme), "", None, form=c.form,
                                            linked=own), as_of))
            if int(r.award_fen or 0) > most:
                bad.append(f"{r.ref}: award {r.award_fen} fen > {most} fen the rules give on its linked record")
        out.append((f"{sid}: awards within the rules on the linked record", not bad,
                    f"{len(rows)} live award(s) recomputed on their linked record" if not bad else "; ".join(bad[:10])))
    return out


def without(record: Any, own_fen: int) -> Any:
    """A linked record with the case's own award taken out of what it says was granted before (if it says)."""
    import dataclasses

    if dataclasses.is_dataclass(record) and hasattr(record, "cumulative_fen"):
        return dataclasses.replace(record, cumulative_fen=max(0, record.cumulative_fen - own_fen))  # type: ignore[type-var]
    return record


def linking_schemes(policy: Policy, kind: str, having: str | None = None) -> list[str]:
    """The schemes whose form links a record of ``kind`` (e.g. the claims on a pledge loan), and — with ``having``
    — has that form field (a command's kind of claim: an interest period, a fee)."""
    return [sid for sid, sc in policy.schemes.items() if kind in sc.links
            and (having is None or having in sc.form.fields)]


def scheme_linking(policy: Policy, kind: str, scheme: str | None, having: str | None = None) -> str:
    """The scheme a command about claims on a ``kind`` record means: the one named (it must link ``kind``), or
    the only scheme that does (and has the form field ``having``)."""
    from rules.errors import NotFound, ValidationFailed

    found = linking_schemes(policy, kind, None if scheme is not None else having)
    if scheme is not None:
        if scheme not in found:
            raise NotFound(f"scheme {scheme!r} takes no claims on a {kind} (those that do: {', '.join(found) or 'none'})")
        return scheme
    if len(found) != 1:
        raise ValidationFailed("claim", [f"scheme: name one with --scheme ({', '.join(found) or 'no scheme'} "
                                         f"link a {kind})"])
    return found[0]


def claim_fields(policy: Policy, scheme: str, kind: str, record: dict[str, str], fields: dict[str, str]
                 ) -> dict[str, str]:
    """A claim's form: the fields naming the linked record (by their roles, e.g. bank and ref of a loan) and the
    other fields given; a field given both ways is refused."""
    from rules.errors import ValidationFailed

    roles = policy.scheme(scheme).links[kind]
    out = dict(fields)
    twice = [roles[r] for r in record if roles[r] in out]
    if twice:
        raise ValidationFailed("claim", [f"{f}: given twice (as the {kind} and as --field)" for f in twice])
    out.update({roles[r]: v for r, v in record.items()})
    return out


def list_claims(session: Session, actor: str | None, scheme: str, year: int | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
    """The scheme's claims the actor may see, each with the record it links (its form fields) and the amount the
    intake computed (the last check run's trace, its last step)."""
    import json

    from sqlalchemy import select as sa_select

    from flows.services.applications import list_apps
    from models.tables import Application, IntakeCheck

    rows = [r for r in list_apps(session, actor, scheme, status, limit=100_000) if year is None or r["year"] == year]
    refs = [r["ref"] for r in rows]
    t = Application.__table__  # type: ignore[attr-defined]
    c = IntakeCheck.__table__  # type: ignore[attr-defined]
    data: dict[str, dict[str, Any]] = {}
    computed: dict[str, tuple[int, str]] = {}
    for i in range(0, len(refs), 900):
        for ref, d, run, trace in session.execute(
                sa_select(t.c.ref, t.c.data, c.c.run, c.c.trace).outerjoin(
                    c, (c.c.application_id == t.c.id) & c.c.trace.is_not(None))
                .where(t.c.ref.in_(refs[i:i + 900]))):
            data[ref] = json.loads(d)
            if trace and (ref not in computed or run > computed[ref][0]):
                computed[ref] = (run, json.loads(trace)[-1]["value"])
    return [{**r, "form": data.get(r["ref"], {}), "computed": computed.get(r["ref"], (0, None))[1]} for r in rows]
