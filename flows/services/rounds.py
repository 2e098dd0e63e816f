"""Ranking and allocation within budget (择优、不超额, 二(二)4): trial and finalize.

Trial and finalize call the same pure allocation on the same data, so they give the same result;
the trial writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import duties as duty
from flows.services.applications import AWARDED
from flows.services.budget import planned_figures, thresholds
from flows.services.context import acting, current_policy
from flows.services.evaluation import exact_scores
from models import audit, guards, ledger
from models.clock import now, stamp
from models.tables import Applicant, Application, AwardRound, BudgetLine, IntakeCheck
from rules import certification
from rules.audit_chain import canonical_json
from rules.errors import NotFound, OverAward, RuleViolation
from rules.funds import evaluate_fund_rules, move_entries, raise_if_violated
from rules.money import split_largest_remainder
from rules.policy import Policy
from rules.scoring import display, read_exact_record

PENDING = ("submitted", "formal_review", "returned", "evaluation")


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
    line: BudgetLine
    budget_fen: int
    outcomes: list[certification.Outcome]
    applicants: dict[int, ApplicantRow]
    apps: dict[int, CaseRow]
    policy: Policy

    def report(self) -> dict[str, Any]:
        counts = Counter(o.outcome for o in self.outcomes)
        funded = [o for o in self.outcomes if o.outcome == "funded"]
        unfunded = [o for o in self.outcomes if o.outcome == "budget_exhausted"]
        total = sum(o.award_fen for o in funded)
        return {
            "scheme": self.scheme, "year": self.year, "line": self.line.code, "budget_fen": self.budget_fen,
            "counts": dict(sorted(counts.items())), "funded": len(funded), "total_fen": total,
            "remaining_fen": self.budget_fen - total,
            "eligible_unfunded": len(unfunded),
            "eligible_unfunded_fen": sum(self._would_award(o) for o in unfunded),
            "cases": [{"ref": o.ref, "rank": o.rank, "outcome": o.outcome, "reason": o.reason,
                       "award_fen": o.award_fen, "final_score": None if o.final_score is None else display(o.final_score)}
                      for o in self.outcomes],
        }

    def _would_award(self, o: certification.Outcome) -> int:
        app = self.apps[o.application_id]
        return certification.award_fen(self.policy, self.applicants[app.applicant_id].kind,
                                       dt.date(self.year, 12, 31))


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


def compute(session: Session, scheme: str, year: int, policy: Policy) -> RoundPlan:
    line = scheme_line(session, scheme, year)
    bal = ledger.line_balances(session, year).get(line.code, ledger.LineBalance(line.code))
    budget_fen = bal.total("available")
    as_of = dt.date(year, 12, 31) if now().year > year else now().date()
    # Plain rows, not ORM objects, read as a stream: a round of 100,000 cases stays small in memory.
    # Each scored case's exact score is the one aggregation wrote on it; cases scored before it did
    # (NULL there) are recomputed from their score rows.
    apps: dict[int, CaseRow] = {}
    submitted: dict[int, str] = {}
    exact: dict[int, tuple[Fraction, dict[str, Fraction]]] = {}
    legacy: list[int] = []
    same: dict[str, str] = {}  # one string object per distinct scheme and status, not one per row
    tie_criteria = certification.tie_break_criteria(policy, as_of)
    t = Application.__table__  # type: ignore[attr-defined]
    for i, ref, scheme_, year_, status, status_at, applicant_id, submitted_at, record in session.execute(
            sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.year, t.c.status, t.c.status_at, t.c.applicant_id,
                      t.c.submitted_at, t.c.final_score_exact).where(
                t.c.scheme == scheme, t.c.year == year, t.c.status.in_(("scored", "rejected", *PENDING)))):
        status = same.setdefault(status, status)
        apps[i] = CaseRow(i, ref, same.setdefault(scheme_, scheme_), year_, status, status_at, applicant_id)
        submitted[i] = submitted_at
        if status == "scored":
            if record:
                exact[i] = read_exact_record(record, tie_criteria)
            else:
                legacy.append(i)
    exact.update(exact_scores(session, policy, scheme, legacy, as_of))
    applicants = {int(r[0] or 0): ApplicantRow(int(r[0] or 0), same.setdefault(r[1], r[1]), r[2], r[3]) for r in session.exec(
        select(Applicant.id, Applicant.kind, Applicant.sme, Applicant.uscc).join(
            Application, col(Application.applicant_id) == col(Applicant.id)).where(
            Application.scheme == scheme, Application.year == year,
            col(Application.status).in_(("scored", "rejected", *PENDING))).distinct())}
    awarded = dict(session.exec(select(Application.applicant_id, func.sum(Application.award_fen)).where(
        Application.scheme == scheme, Application.year == year, col(Application.status).in_(AWARDED))
        .group_by(col(Application.applicant_id))).all())
    failed_checks: dict[int, str] = {}
    rejected_ids = [i for i, a in apps.items() if a.status == "rejected"]
    for i in range(0, len(rejected_ids), 900):
        for app_id, check in session.exec(select(IntakeCheck.application_id, IntakeCheck.check).where(
                col(IntakeCheck.application_id).in_(rejected_ids[i:i + 900]), col(IntakeCheck.passed).is_(False))
                .order_by(col(IntakeCheck.id))).all():
            failed_checks.setdefault(app_id, check)
    candidates = []
    for i, a in apps.items():
        p = applicants[a.applicant_id]
        score = exact.pop(i, None)
        candidates.append(certification.Candidate(
            application_id=i, ref=a.ref, applicant_id=a.applicant_id, kind=p.kind, sme=p.sme,
            submitted_at=submitted.pop(i), final_score=score[0] if score else None,
            criterion_means=score[1] if score else {}, status=a.status if (a.status != "scored" or score) else "evaluation",
            failed_check=failed_checks.get(i), awarded_this_year_fen=int(awarded.get(a.applicant_id) or 0)))
    outcomes = certification.allocate(policy, candidates, budget_fen, as_of)
    return RoundPlan(scheme, year, line, budget_fen, outcomes, applicants, apps, policy)


def trial(session: Session, actor: str | None, scheme: str, year: int) -> dict[str, Any]:
    """Rank and allocate; write nothing but return the report."""
    acting(session, actor, "round.trial")
    policy = current_policy(session)
    return compute(session, scheme, year, policy).report()


def finalize(session: Session, actor: str | None, scheme: str, year: int, *, allow_pending: bool = False) -> dict[str, Any]:
    """Commit the trial's allocation: awards committed on the budget line, cases into public notice."""
    user = acting(session, actor, "round.finalize")
    policy = current_policy(session)
    lock_line(session, scheme, year)  # a second approver waits here, then finds nothing left to finalize
    plan = compute(session, scheme, year, policy)
    pending = [o.ref for o in plan.outcomes if o.outcome == "pending"]
    if pending and not allow_pending:
        raise RuleViolation(f"{len(pending)} case(s) are not scored yet ({', '.join(pending[:10])}"
                            f"{' ...' if len(pending) > 10 else ''}); finish their review and evaluation, or pass "
                            "--allow-pending to leave them for a later round")
    in_round = [o for o in plan.outcomes if o.outcome != "pending" and plan.apps[o.application_id].status == "scored"]
    if not in_round:
        last = session.exec(select(AwardRound).where(AwardRound.scheme == scheme, AwardRound.year == year)
                            .order_by(col(AwardRound.seq).desc())).first()
        if last is not None:
            raise RuleViolation(f"round {last.seq} of {scheme} {year} was already finalized by {last.approver} at "
                                f"{last.finalized_at} (round id {last.id}); no scored cases are left to finalize")
        raise RuleViolation(f"no scored {scheme} cases of {year} to finalize")
    # 不相容岗位相互分离: the approver took no review decision of any kind on any case of the scheme's
    # year (the round ranks them all against each other), submitted none and belongs to none.
    every_case = [i for (i,) in session.execute(sa_select(Application.__table__.c.id).where(  # type: ignore[attr-defined]
        Application.__table__.c.scheme == scheme, Application.__table__.c.year == year)).all()]  # type: ignore[attr-defined]
    duty.require_on(session, "round.finalize", user, every_case)
    raise_if_violated(evaluate_fund_rules(planned_figures(session, year), thresholds(policy, year)),
                      f"finalize {scheme} {year}")
    report = plan.report()
    funded_total = sum(o.award_fen for o in in_round if o.outcome == "funded")
    if funded_total > plan.budget_fen:  # paired with the assertion in the pure allocation
        raise OverAward(f"awards {funded_total} fen exceed the line's {plan.budget_fen} fen")
    at = stamp()
    seq = 1 + (session.exec(select(func.max(AwardRound.seq)).where(AwardRound.scheme == scheme,
                                                                   AwardRound.year == year)).one() or 0)
    rnd = AwardRound(scheme=scheme, year=year, seq=seq, line_code=plan.line.code, approver=user.name,
                     finalized_at=at, report=canonical_json(report), total_fen=funded_total)
    session.add(rnd)
    session.flush()
    notice_days = policy.integer(f"{scheme}.notice_days", now().date())
    notice_ends = (now() + dt.timedelta(days=notice_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    funded = [o for o in in_round if o.outcome == "funded"]
    others = [o for o in in_round if o.outcome != "funded"]
    for o in funded:
        commit_award(session, plan.apps[o.application_id], plan.line.code, o.award_fen, user.name, at)
    def base(o: certification.Outcome) -> dict[str, Any]:
        return {"rank": o.rank, "outcome": o.outcome, "outcome_reason": o.reason[:400], "round_id": rnd.id}

    cases.move_many(session, [plan.apps[o.application_id] for o in funded], "award", user.name, {"approver"},
                    at=at, policy=policy,
                    fields={o.application_id: base(o) | {"award_fen": o.award_fen, "line_code": plan.line.code}
                            for o in funded},
                    payloads={o.application_id: {"round": rnd.id, "rank": o.rank, "award_fen": o.award_fen,
                                                 "line": plan.line.code} for o in funded})
    cases.move_many(session, [plan.apps[o.application_id] for o in funded], "open_notice", user.name, {"approver"},
                    at=at, policy=policy, fields={o.application_id: {"notice_ends": notice_ends} for o in funded},
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


def commit_award(session: Session, app: Application | CaseRow, line_code: str, amount_fen: int, actor: str, at: str) -> None:
    """Commit an award on its line, drawing on the line's sources in proportion to what each has
    available (largest remainder: the parts sum to the award, none exceeds its source)."""
    bal = ledger.line_balances(session, app.year).get(line_code, ledger.LineBalance(line_code))
    sources = sorted(bal.by_source)
    weights = [bal.get(s, "available") for s in sources]
    if sum(weights) < amount_fen:
        raise OverAward(f"{app.ref}: line {line_code} has {sum(weights)} fen available, award is {amount_fen} fen")
    parts = split_largest_remainder(amount_fen, weights)
    entries = []
    for s, part in zip(sources, parts, strict=True):
        if part:
            entries += move_entries(line_code, s, "available", "committed", part)
    ledger.post(session, year=app.year, kind="commitment", memo=f"award {app.ref}", actor=actor, entries=entries,
                subject=f"app:{app.ref}", at=at)
