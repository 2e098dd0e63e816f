"""Ranking and allocation within budget (择优、不超额, 二(二)4): trial and finalize.

Trial and finalize call the same pure allocation on the same data, so they give the same result;
the trial writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import func
from sqlalchemy import literal as sa_literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import duties as duty
from flows.services.applications import awarded_states
from flows.services.benefits import Claim, same_benefit_awards
from flows.services.budget import planned_figures, thresholds
from flows.services.context import acting, current_policy, scheme_of
from flows.services.evaluation import exact_scores
from flows.services.links import linked_records
from models import audit, guards, ledger
from models.clock import now, stamp
from models.tables import Applicant, Application, AwardRound, BudgetLine, IntakeCheck, RoundOpening
from rules import allocation, forms
from rules.audit_chain import canonical_json
from rules.errors import NotFound, OverAward, RuleViolation, ValidationFailed
from rules.funds import evaluate_fund_rules, move_entries, raise_if_violated
from rules.money import split_largest_remainder
from rules.policy import Policy
from rules.schemes import Candidate, Outcome, Resolved
from rules.scoring import display, read_exact_record


@dataclass(slots=True)  # slots: a round holds one per case (100,000 in a city's round)
class CaseRow:
    """The columns allocation and the state machine need (quacks like an Application for move_many,
    which keeps its status in step)."""

    id: int
    ref: str
    scheme: str
    year: int
    status: str
    status_at: str
    applicant_id: int


@dataclass(frozen=True, slots=True)
class ApplicantRow:
    id: int
    kind: str
    sme: bool
    uscc: str


@dataclass
class RoundPlan:
    scheme: str
    year: int
    line: BudgetLine | None  # None: the scheme pays nothing (a recognition)
    budget_fen: int | None
    outcomes: list[Outcome]
    applicants: dict[int, ApplicantRow]
    apps: dict[int, CaseRow]
    policy: Policy
    ready: frozenset[str]
    forms: dict[int, dict[str, Any]]
    as_of: dt.date
    linked: dict[int, dict[str, Any]] = field(default_factory=dict)  # the records each case's form links to

    @property
    def funded_outcome(self) -> str:
        return self.policy.scheme(self.scheme).allocation.funded

    def report(self) -> dict[str, Any]:
        counts = Counter(o.outcome for o in self.outcomes)
        funded = [o for o in self.outcomes if o.outcome == self.funded_outcome]
        unfunded = [o for o in self.outcomes if o.outcome == "budget_exhausted"]
        total = sum(o.award_fen for o in funded)
        budget = self.budget_fen or 0
        return {
            "scheme": self.scheme, "year": self.year, "line": self.line.code if self.line else None,
            "issue_order": allocation.issue_order(self.policy, self.scheme, self.as_of),
            "budget_fen": budget, "counts": dict(sorted(counts.items())), "funded": len(funded), "total_fen": total,
            "remaining_fen": budget - total,
            "eligible_unfunded": len(unfunded),
            "eligible_unfunded_fen": sum(self._would_award(o) for o in unfunded),
            "cases": [{"ref": o.ref, "rank": o.rank, "outcome": o.outcome, "reason": o.reason,
                       "award_fen": o.award_fen, "final_score": None if o.final_score is None else display(o.final_score)}
                      for o in self.outcomes],
        }

    def _would_award(self, o: Outcome) -> int:
        sc = self.policy.scheme(self.scheme)
        if not sc.allocation.amount:
            return 0
        app = self.apps[o.application_id]
        p = self.applicants[app.applicant_id]
        as_of = dt.date(self.year, 12, 31)
        fn = Resolved(self.scheme, sc.module).amount(sc.allocation.amount, as_of)
        return int(fn(self.policy, Candidate(app.id, app.ref, app.applicant_id, p.kind, p.sme, "", None,
                                             form=self.forms.get(app.id, {}),
                                             linked=self.linked.get(app.id, {})), as_of))


def round_states(policy: Policy, scheme: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(ready: ranked in the round, pending: still in review or evaluation, rejected: refused at intake
    or in review) — read from the scheme's state tags and transitions, never from a list of names."""
    sc = policy.scheme(scheme)
    ready = sc.states_tagged("ready")
    pending = tuple(st for st in sc.states_tagged("open") if st not in ready)
    rejected = tuple(dict.fromkeys(t.to for t in sc.transitions if t.action in ("reject", "intake_failed")))
    return ready, pending, rejected


def lock_line(session: Session, scheme: str, year: int) -> None:
    if guards.ENABLED and session.get_bind().dialect.name == "postgresql":
        session.exec(select(BudgetLine).where(BudgetLine.year == year, BudgetLine.scheme == scheme)
                     .with_for_update()).all()


def scheme_line(session: Session, scheme: str, year: int) -> BudgetLine:
    lines = session.exec(select(BudgetLine).where(BudgetLine.year == year, BudgetLine.scheme == scheme)).all()
    if not lines:
        raise NotFound(f"no budget line of {year} funds {scheme!r}; add one to the plan (scheme = \"{scheme}\")")
    if len(lines) > 1:
        raise RuleViolation(f"{len(lines)} budget lines of {year} name {scheme!r}; a scheme draws on one line")
    return lines[0]


def compute(session: Session, scheme: str, year: int, policy: Policy, rescore: bool = False) -> RoundPlan:
    sc = policy.scheme(scheme)
    line: BudgetLine | None = None
    budget_fen: int | None = None
    if sc.pays:
        line = scheme_line(session, scheme, year)
        bal = ledger.line_balances(session, year).get(line.code, ledger.LineBalance(line.code))
        budget_fen = bal.total("available")
    as_of = dt.date(year, 12, 31) if now().year > year else now().date()
    ready, pending, rejected = round_states(policy, scheme)
    considered = (*ready, *rejected, *pending)
    # Plain rows, not ORM objects, read as a stream: a round of 100,000 cases stays small in memory.
    # Each scored case's exact score is the one aggregation wrote on it; cases scored before it did
    # (NULL there) are recomputed from their score rows.
    apps: dict[int, CaseRow] = {}
    submitted: dict[int, str] = {}
    exact: dict[int, tuple[Fraction, dict[str, Fraction]]] = {}
    legacy: list[int] = []
    forms_of: dict[int, dict[str, Any]] = {}
    same: dict[str, str] = {}  # one string object per distinct scheme and status, not one per row
    tie_criteria = allocation.ranking_criteria(policy, scheme, as_of)
    # A benefit whose member in this scheme is limited by form values (e.g. a voucher's service) needs the form.
    in_benefit = any(m.scheme == scheme and m.where for b in policy.duplicate_benefits for m in b.members)
    reads_form = (bool(sc.allocation.amount) and sc.allocation.mode in ("formula", "fcfs")) or in_benefit \
        or bool(sc.links)
    t = Application.__table__  # type: ignore[attr-defined]
    for i, ref, scheme_, year_, status, status_at, applicant_id, submitted_at, record, data in session.execute(
            sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.year, t.c.status, t.c.status_at, t.c.applicant_id,
                      t.c.submitted_at, t.c.final_score_exact, t.c.data if reads_form else sa_literal(None)).where(
                t.c.scheme == scheme, t.c.year == year, t.c.status.in_(considered))):
        status = same.setdefault(status, status)
        apps[i] = CaseRow(i, ref, same.setdefault(scheme_, scheme_), year_, status, status_at, applicant_id)
        submitted[i] = submitted_at
        if data is not None:
            forms_of[i] = forms.typed(sc.form, json.loads(data))
        if status in ready and sc.evaluation is not None and sc.evaluation.ranks:
            if record and not rescore:
                exact[i] = read_exact_record(record, tie_criteria)
            else:
                legacy.append(i)
    if legacy:  # a scheme without evaluation (vouchers, fcfs) has no scores to recompute
        exact.update(exact_scores(session, policy, scheme, legacy, as_of))
    applicants = {int(r[0] or 0): ApplicantRow(int(r[0] or 0), same.setdefault(r[1], r[1]), r[2], r[3]) for r in session.exec(
        select(Applicant.id, Applicant.kind, Applicant.sme, Applicant.uscc).join(
            Application, col(Application.applicant_id) == col(Applicant.id)).where(
            Application.scheme == scheme, Application.year == year,
            col(Application.status).in_(considered)).distinct())}
    awarded = dict(session.exec(select(Application.applicant_id, func.sum(Application.award_fen)).where(
        Application.scheme == scheme, Application.year == year,
        col(Application.status).in_(awarded_states(policy, scheme)))
        .group_by(col(Application.applicant_id))).all())
    # A ranked issue reads who held a voucher (any live award of the scheme) in an earlier year.
    earlier = dict(session.exec(select(Application.applicant_id, func.count()).where(
        Application.scheme == scheme, col(Application.year) < year,
        col(Application.status).in_(awarded_states(policy, scheme)))
        .group_by(col(Application.applicant_id))).all())
    # 从优从高不重复: other schemes' live awards of the same benefit, for the cases ranked in this round.
    ranked = [Claim(i, a.applicant_id, a.year, forms_of.get(i, {})) for i, a in apps.items() if a.status in ready]
    held_same = same_benefit_awards(session, policy, scheme, ranked)
    linked = linked_records(session, policy, scheme, ranked)
    failed_checks: dict[int, str] = {}
    rejected_ids = [i for i, a in apps.items() if a.status in rejected]
    for i in range(0, len(rejected_ids), 900):
        for app_id, check in session.exec(select(IntakeCheck.application_id, IntakeCheck.check).where(
                col(IntakeCheck.application_id).in_(rejected_ids[i:i + 900]), col(IntakeCheck.passed).is_(False))
                .order_by(col(IntakeCheck.id))).all():
            failed_checks.setdefault(app_id, check)
    candidates = []
    for i, a in apps.items():
        p = applicants[a.applicant_id]
        score = exact.pop(i, None)
        unscored = a.status in ready and sc.evaluation is not None and sc.evaluation.ranks and not score
        candidates.append(Candidate(
            application_id=i, ref=a.ref, applicant_id=a.applicant_id, kind=p.kind, sme=p.sme,
            submitted_at=submitted.pop(i), final_score=score[0] if score else None,
            criterion_means=score[1] if score else {},
            status="rejected" if a.status in rejected else ("evaluation" if unscored else a.status),
            failed_check=failed_checks.get(i), awarded_this_year_fen=int(awarded.get(a.applicant_id) or 0),
            form=forms_of.get(i, {}), earlier_years_awards=int(earlier.get(a.applicant_id) or 0),
            same_benefit=held_same.get(i, ()), linked=linked.get(i, {})))
    outcomes = allocation.allocate(policy, scheme, candidates, budget_fen, as_of, ready=frozenset(ready))
    return RoundPlan(scheme, year, line, budget_fen, outcomes, applicants, apps, policy, frozenset(ready), forms_of,
                     as_of, linked)


def trial(session: Session, actor: str | None, scheme: str, year: int,
          alternative: Policy | None = None) -> dict[str, Any]:
    """Rank and allocate; write nothing but return the report. With an ``alternative`` policy (what-if:
    another award, minimum score, rubric ...) the round is ranked under it instead, every case's score
    recomputed from its score rows under that policy's rubric."""
    acting(session, actor, "round.trial")
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    if alternative is None:
        return compute(session, scheme, year, policy).report()
    scheme_of(session, scheme, alternative)
    return compute(session, scheme, year, alternative, rescore=True).report()


def diff_reports(current: dict[str, Any], what_if: dict[str, Any]) -> dict[str, Any]:
    """Case by case what changes from the current policy's allocation to the alternative's: newly funded,
    no longer funded, amount changed (with the totals). Pure over the two reports."""
    before = {c["ref"]: c for c in current["cases"]}
    after = {c["ref"]: c for c in what_if["cases"]}
    changes = []
    for ref in sorted(set(before) | set(after)):
        b, a = before.get(ref), after.get(ref)
        was = (b or {}).get("award_fen") or 0
        now_ = (a or {}).get("award_fen") or 0
        b_out, a_out = (b or {}).get("outcome"), (a or {}).get("outcome")
        if (b_out, was) == (a_out, now_):
            continue
        if a_out == "funded" and b_out != "funded":
            kind = "newly funded"
        elif b_out == "funded" and a_out != "funded":
            kind = "no longer funded"
        elif was != now_:
            kind = "amount changed"
        else:
            kind = "outcome changed"
        changes.append({"ref": ref, "change": kind, "outcome_before": b_out, "outcome_after": a_out,
                        "award_before_fen": was, "award_after_fen": now_, "rank_before": (b or {}).get("rank"),
                        "rank_after": (a or {}).get("rank")})
    return {"changes": changes, "funded_before": current["funded"], "funded_after": what_if["funded"],
            "total_before_fen": current["total_fen"], "total_after_fen": what_if["total_fen"],
            "difference_fen": what_if["total_fen"] - current["total_fen"]}


def finalize(session: Session, actor: str | None, scheme: str, year: int, *, allow_pending: bool = False) -> dict[str, Any]:
    """Commit the trial's allocation: awards committed on the budget line (schemes that pay), decided
    cases into public notice (schemes with a notice), the others not awarded."""
    user = acting(session, actor, "round.finalize")
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    sc = policy.scheme(scheme)
    # A second approver waits here, then finds nothing left to finalize; so does a round of a scheme funding
    # the same benefit (从优从高不重复: each round must see the other's awards). Locks in one order: no deadlock.
    paired = {m.scheme for b in policy.duplicate_benefits if any(m.scheme == scheme for m in b.members)
              for m in b.members}
    for s_ in sorted(paired | {scheme}):
        lock_line(session, s_, year)
    plan = compute(session, scheme, year, policy)
    pending = [o.ref for o in plan.outcomes if o.outcome == "pending"]
    if pending and not allow_pending:
        raise RuleViolation(f"{len(pending)} case(s) are not scored yet ({', '.join(pending[:10])}"
                            f"{' ...' if len(pending) > 10 else ''}); finish their review and evaluation, or pass "
                            "--allow-pending to leave them for a later round")
    in_round = [o for o in plan.outcomes if o.outcome != "pending" and plan.apps[o.application_id].status in plan.ready]
    if not in_round:
        last = session.exec(select(AwardRound).where(AwardRound.scheme == scheme, AwardRound.year == year)
                            .order_by(col(AwardRound.seq).desc())).first()
        if last is not None:
            raise RuleViolation(f"round {last.seq} of {scheme} {year} was already finalized by {last.approver} at "
                                f"{last.finalized_at} (round id {last.id}); no scored cases are left to finalize")
        raise RuleViolation(f"no scored {scheme} cases of {year} to finalize")
    # 不相容岗位相互分离: the approver took no review decision of any kind on any case of the scheme's
    # year (the round ranks them all against each other), submitted none and belongs to none.
    a = Application.__table__  # type: ignore[attr-defined]
    every_case = [i for (i,) in session.execute(sa_select(a.c.id).where(a.c.scheme == scheme, a.c.year == year))]
    duty.require_on(session, "round.finalize", user, every_case)
    if sc.pays:
        raise_if_violated(evaluate_fund_rules(planned_figures(session, year), thresholds(policy, year)),
                          f"finalize {scheme} {year}")
    report = plan.report()
    won = plan.funded_outcome
    funded_total = sum(o.award_fen for o in in_round if o.outcome == won)
    if plan.budget_fen is not None and funded_total > plan.budget_fen:  # paired with the pure allocation's assertion
        raise OverAward(f"awards {funded_total} fen exceed the line's {plan.budget_fen} fen")
    at = stamp()
    seq = _next_seq(session, scheme, year)
    line_code = plan.line.code if plan.line else ""
    opening = open_round_of(session, scheme, year)
    mode = opening.settlement_mode if opening is not None else default_mode(policy, scheme, now().date())[0]
    rnd = AwardRound(scheme=scheme, year=year, seq=seq, line_code=line_code, approver=user.name,
                     finalized_at=at, report=canonical_json(report), total_fen=funded_total, settlement_mode=mode)
    session.add(rnd)
    session.flush()
    if opening is not None:
        opening.round_id = rnd.id
        session.add(opening)
        session.flush()
    if mode is not None:
        report["settlement_mode"] = mode
    funded = [o for o in in_round if o.outcome == won]
    others = [o for o in in_round if o.outcome != won]
    if sc.pays:
        commit_awards(session, [(plan.apps[o.application_id], o.award_fen) for o in funded], line_code, user.name, at)

    def base(o: Outcome) -> dict[str, Any]:
        return {"rank": o.rank, "outcome": o.outcome, "outcome_reason": o.reason[:400], "round_id": rnd.id}

    def money(o: Outcome) -> dict[str, Any]:
        return {"award_fen": o.award_fen, "line_code": line_code} if sc.pays else {}

    cases.move_many(session, [plan.apps[o.application_id] for o in funded], "award", user.name, {"approver"},
                    at=at, policy=policy, fields={o.application_id: base(o) | money(o) for o in funded},
                    payloads={o.application_id: {"round": rnd.id, "rank": o.rank}
                              | ({"award_fen": o.award_fen, "line": line_code} if sc.pays else {"outcome": o.outcome})
                              for o in funded})
    if sc.notice_days and funded:
        notice_days = policy.integer(sc.notice_days, now().date())
        notice_ends = (now() + dt.timedelta(days=notice_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cases.move_many(session, [plan.apps[o.application_id] for o in funded], "open_notice", user.name,
                        {"approver"}, at=at, policy=policy,
                        fields={o.application_id: {"notice_ends": notice_ends} for o in funded},
                        payloads={o.application_id: {"notice_ends": notice_ends, "notice_days": notice_days}
                                  for o in funded})
    for i in range(0, len(others), 5000):  # chunk by chunk: the per-case values never exist for all at once
        part = others[i:i + 5000]
        cases.move_many(session, [plan.apps[o.application_id] for o in part], "not_award", user.name, {"approver"},
                        at=at, policy=policy, fields={o.application_id: base(o) for o in part},
                        reasons={o.application_id: o.reason for o in part},
                        payloads={o.application_id: {"round": rnd.id, "rank": o.rank, "outcome": o.outcome}
                                  for o in part})
    audit.append(session, actor=user.name, action="round.finalize", subject=f"round:{scheme}:{year}:{seq}", at=at,
                 payload={k: v for k, v in report.items() if k != "cases"} | {"round_id": rnd.id})
    report["round_id"] = rnd.id
    return report


def _next_seq(session: Session, scheme: str, year: int) -> int:
    return 1 + (session.exec(select(func.max(AwardRound.seq)).where(AwardRound.scheme == scheme,
                                                                    AwardRound.year == year)).one() or 0)


def open_round_of(session: Session, scheme: str, year: int) -> RoundOpening | None:
    """The round of the scheme's year opened and not yet finalized, if any."""
    return session.exec(select(RoundOpening).where(RoundOpening.scheme == scheme, RoundOpening.year == year,
                                                   col(RoundOpening.round_id).is_(None))).first()


def default_mode(policy: Policy, scheme: str, on: dt.date) -> tuple[str | None, str]:
    """(the settlement mode a round of the scheme records by default on ``on``, where it comes from): the
    value of the scheme's payment.payee_mode parameter in force that day; (None, "") for a scheme whose
    payment declares no payee_mode (its payee is fixed)."""
    pname = policy.scheme(scheme).payment.payee_mode
    if pname is None:
        return None, ""
    return policy.text(pname, on), f"{pname} in force on {on.isoformat()}"


def open_round(session: Session, actor: str | None, scheme: str, year: int,
               settlement_mode: str | None = None) -> RoundOpening:
    """Open the scheme's next round of ``year`` and record its settlement mode (二(二)5: 通兑 — the agency is
    paid; 通用 — the enterprise, which paid in full, is reimbursed): the one given, or the value of the
    scheme's payment.payee_mode parameter in force today. Every case the round issues settles to that
    payee. Refused, nothing written, for a scheme whose payment declares no payee_mode, a mode the
    parameter does not offer, or while a round of that year is open."""
    user = acting(session, actor, "round.open")
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    sc = policy.scheme(scheme)
    what = f"round open {scheme} {year}"
    pname = sc.payment.payee_mode
    if pname is None:
        raise ValidationFailed(what, [f"--settlement-mode: {scheme} settles to a fixed payee (payment.payee: "
                                      f"{sc.payment.payee}; its policy section declares no payee_mode), so its "
                                      "rounds have no settlement mode"])
    choices = policy.parameter(pname).choices
    today = now().date()
    if settlement_mode is not None:
        mode = settlement_mode.strip().lower()
        if mode not in choices:
            raise ValidationFailed(what, [f"--settlement-mode: {settlement_mode!r} is not a settlement mode of {pname} "
                                          f"({', '.join(choices)}; {policy.parameter(pname).clause})"])
        source = f"chosen by {user.name} (default {policy.text(pname, today)}, {pname})"
    else:
        mode_, source = default_mode(policy, scheme, today)
        assert mode_ is not None
        mode = mode_
    earlier = open_round_of(session, scheme, year)
    if earlier is not None:
        raise RuleViolation(f"round {earlier.seq} of {scheme} {year} is already open (opened by {earlier.opened_by} at "
                            f"{earlier.opened_at}, settlement mode {earlier.settlement_mode}); finalize it first")
    a = Application.__table__  # type: ignore[attr-defined]
    every_case = [i for (i,) in session.execute(sa_select(a.c.id).where(a.c.scheme == scheme, a.c.year == year))]
    duty.require_on(session, "round.open", user, every_case)
    at = stamp()
    o = RoundOpening(scheme=scheme, year=year, seq=_next_seq(session, scheme, year), settlement_mode=mode,
                     mode_source=source[:200], opened_by=user.name, opened_at=at)
    session.add(o)
    session.flush()
    audit.append(session, actor=user.name, action="round.open", subject=f"round:{scheme}:{year}:{o.seq}", at=at,
                 payload={"opening_id": o.id, "settlement_mode": mode, "mode_source": o.mode_source,
                          "parameter": pname, "clause": policy.parameter(pname).clause})
    return o


def _round_row(r: AwardRound | None, o: RoundOpening | None) -> dict[str, Any]:
    assert r is not None or o is not None
    return {"round_id": r.id if r else None, "scheme": (r or o).scheme, "year": (r or o).year,  # type: ignore[union-attr]
            "seq": (r or o).seq, "state": "finalized" if r is not None else "open",  # type: ignore[union-attr]
            "settlement_mode": r.settlement_mode if r is not None else o.settlement_mode,  # type: ignore[union-attr]
            "mode_source": o.mode_source if o is not None else None,
            "opened_by": o.opened_by if o else None, "opened_at": o.opened_at if o else None,
            "approver": r.approver if r else None, "finalized_at": r.finalized_at if r else None,
            "line_code": r.line_code if r else None, "total_fen": r.total_fen if r else None}


def list_rounds(session: Session, actor: str | None, scheme: str | None = None,
                year: int | None = None) -> list[dict[str, Any]]:
    """Every round (open or finalized), by scheme, year and seq, with its settlement mode."""
    acting(session, actor, "round.trial")
    rq = select(AwardRound)
    oq = select(RoundOpening)
    if scheme:
        rq, oq = rq.where(AwardRound.scheme == scheme), oq.where(RoundOpening.scheme == scheme)
    if year is not None:
        rq, oq = rq.where(AwardRound.year == year), oq.where(RoundOpening.year == year)
    openings = list(session.exec(oq).all())
    by_round = {o.round_id: o for o in openings if o.round_id is not None}
    rows = [_round_row(r, by_round.get(r.id or 0)) for r in session.exec(rq).all()]
    rows += [_round_row(None, o) for o in openings if o.round_id is None]
    return sorted(rows, key=lambda x: (x["scheme"], x["year"], x["seq"]))


def show_round(session: Session, actor: str | None, round_id: int) -> dict[str, Any]:
    """One finalized round: its terms and the allocation report it committed."""
    acting(session, actor, "round.trial")
    r = session.get(AwardRound, round_id)
    if r is None:
        raise NotFound(f"round {round_id} does not exist (see `ipfund round list`)")
    o = session.exec(select(RoundOpening).where(RoundOpening.round_id == r.id)).first()
    return _round_row(r, o) | {"report": json.loads(r.report)}


def commit_award(session: Session, app: Application | CaseRow, line_code: str, amount_fen: int, actor: str, at: str) -> None:
    """Commit an award on its line, drawing on the line's sources in proportion to what each has
    available (largest remainder: the parts sum to the award, none exceeds its source)."""
    commit_awards(session, [(app, amount_fen)], line_code, actor, at)


def commit_awards(session: Session, awards: list[tuple[Application | CaseRow, int]], line_code: str, actor: str,
                  at: str) -> None:
    """:func:`commit_award` for many awards on one line, in order: each draws on the sources in proportion
    to what they have available after the ones before it (exactly as one call after another), the line's
    balances read once and the postings written together (ledger.post_many)."""
    if not awards:
        return
    year = awards[0][0].year
    bal = ledger.line_balances(session, year).get(line_code, ledger.LineBalance(line_code))
    sources = sorted(bal.by_source)
    available = {s: bal.get(s, "available") for s in sources}
    postings = []
    for app, amount_fen in awards:
        assert app.year == year, (app.ref, app.year, year)
        weights = [available[s] for s in sources]
        if sum(weights) < amount_fen:
            raise OverAward(f"{app.ref}: line {line_code} has {sum(weights)} fen available, award is {amount_fen} fen")
        entries = []
        for s, part in zip(sources, split_largest_remainder(amount_fen, weights), strict=True):
            if part:
                entries += move_entries(line_code, s, "available", "committed", part)
                available[s] -= part
        postings.append(ledger.NewPosting(year=year, kind="commitment", memo=f"award {app.ref}", actor=actor,
                                          entries=entries, subject=f"app:{app.ref}", at=at))
    ledger.post_many(session, postings)
