"""The accredited service-agency registry (服务机构库, 二(四)10 and 13): applying, accrediting with a
price schedule, warning, suspending, expelling, reinstating, withdrawing; complaints and spot checks;
the yearly monitoring and reward; the public list as of a date; and the question vouchers ask
(:func:`standing`: is agency X accredited for service S at price P on date D).

Every state change writes one agency_event, one audit event and one notification to the agency, in the
caller's unit of work; the rules are rules/agencies.py, the duties rules/duties.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from fractions import Fraction
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from flows.services import duties as duty_svc
from flows.services.context import SYSTEM_ACTOR, acting, current_policy
from flows.services.notifications import notify
from flows.services.text_input import clean, limit, text_problem
from models import audit, guards
from models.clock import now, stamp
from models.tables import (
    SPOT_CHECK_RESULTS,
    Agency,
    AgencyComplaint,
    AgencyEvent,
    AgencyReward,
    AgencyService,
    AgencySpotCheck,
    Application,
    AuditEvent,
    Notification,
    User,
    VoucherRedemption,
)
from rules import agencies as rules
from rules import duties
from rules.audit_chain import canonical_json
from rules.errors import IllegalTransition, NotFound, RuleViolation, ValidationFailed
from rules.money import MoneyFormatError, format_yuan, parse_yuan
from rules.policy import Policy
from rules.uscc import CreditCodeError, validate_uscc

_SUBJECT = {"apply": "申请入库已受理", "accredit": "已列入服务机构库", "warn": "警示", "suspend": "暂停服务资格",
            "expel": "取消服务资格（退出）", "reinstate": "恢复服务资格", "withdraw": "已退出服务机构库"}


def today() -> dt.date:
    return now().date()


def _day(stamp_text: str) -> dt.date:
    return dt.date.fromisoformat(stamp_text[:10])  # stamps are UTC: YYYY-MM-DDT...Z


def parties(agency: Agency) -> duties.CaseParties:
    """The agency as the duties rule sees a case: its organisation is the agency's code and name."""
    return duties.CaseParties(ref=f"agency {agency.uscc}", applicant_code=agency.uscc, applicant_name=agency.name)


def _code(uscc: str, what: str) -> str:
    try:
        return validate_uscc(uscc)
    except CreditCodeError as exc:
        raise ValidationFailed(what, [f"credit code: {exc}"]) from None


def get(session: Session, uscc: str) -> Agency:
    code = _code(uscc, f"agency {uscc.strip()[:18]!r}")
    a = session.exec(select(Agency).where(Agency.uscc == code)).first()
    if a is None:
        raise NotFound(f"agency {code} is not in the registry; it applies with `ipfund agency apply`")
    return a


# --- state changes --------------------------------------------------------------------------------------

def _move(session: Session, agency: Agency, action: str, actor: str, *, reason: str = "", clause: str | None = None,
          detail: dict[str, Any] | None = None, policy: Policy | None = None, fraud: bool = False) -> AgencyEvent:
    """One state change: the transition rule, the event, the agency's state, the audit event and the
    notification to the agency, all in the caller's unit of work. ``fraud``: an expulsion for a fraud
    finding (二(四)13), which voids every open voucher of the agency — redeemed and not yet paid ones too —
    whatever the policy's disposition for an ordinary expulsion says."""
    from rules.schemes.custody_voucher import FRAUD_DISPOSITION

    policy = policy or current_policy(session)
    t = rules.transition(action, agency.state, reason,
                         who=f"agency {agency.uscc} ({agency.name})")
    at = stamp()
    detail = dict(detail or {})
    vouchers = rules.open_vouchers_disposition(policy, t.to, _day(at))
    if fraud and vouchers is not None:
        vouchers = FRAUD_DISPOSITION
    if vouchers is not None:
        detail["open_vouchers"] = vouchers
    from_state = agency.state
    assert agency.id is not None
    guards.checkpoint("agency.move.read")
    # Conditional on the state read: two people racing on one agency cannot both move it (the loser is
    # refused), and its state stays the to-state of its last event.
    where = [col(Agency.id) == agency.id] + ([col(Agency.state) == from_state] if guards.ENABLED else [])
    res = session.execute(update(Agency).where(*where).values(state=t.to, state_at=at)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition(f"agency {agency.uscc} was changed by someone else (no longer {from_state!r}); "
                                "reload and try again")
    set_committed_value(agency, "state", t.to)
    set_committed_value(agency, "state_at", at)
    ev = AgencyEvent(agency_id=agency.id, action=action, from_state=from_state, to_state=t.to, actor=actor,
                     reason=reason.strip(), clause=clause or t.clause, detail=canonical_json(detail), at=at)
    session.add(ev)
    session.flush()
    audit.append(session, actor=actor, action=f"agency.{action}", subject=f"agency:{agency.uscc}", at=at,
                 payload={"event_id": ev.id, "from": from_state, "to": t.to, "reason": ev.reason, "clause": ev.clause,
                          **detail})
    body = f"{agency.name} ({agency.uscc}): {from_state or 'new'} → {t.to} ({ev.clause})."
    if ev.reason:
        body += f" Reason: {ev.reason}."
    if vouchers is not None:
        body += (" Open custody vouchers contracted with the agency are "
                 + ("returned to their holders." if vouchers == "return_to_holder" else "void.")
                 + " It takes no new vouchers from now on.")
    notify(session, recipient=agency.uscc, subject=f"服务机构 {_SUBJECT[action]} ({ev.clause})", body=body,
           cause=f"agency_event:{ev.id}", at=at)
    if vouchers is not None:
        from flows.services.vouchers import on_agency_exit

        # Its open vouchers are returned to their holders or void, and each holder told, in this unit of work.
        on_agency_exit(session, policy, agency, vouchers, ev, at, redeemed_too=fraud)
    return ev


def apply(session: Session, actor: str | None, uscc: str, name: str, office_address: str, staff_count: int,
          independent_liability: bool) -> Agency:
    """An agency applies to the registry (or applies again, with new facts, after a refusal or a
    withdrawal). Its staff apply for their own agency only; reviewers and admins for any."""
    user = acting(session, actor, "agency.apply")
    what = f"agency application {uscc.strip()[:18]!r}"
    problems = []
    try:
        code = validate_uscc(uscc)
    except CreditCodeError as exc:
        problems.append(f"credit code: {exc}")
        code = uscc.strip()
    for field, value, length in (("name", name, limit(Agency, "name")),
                                 ("office address", office_address, limit(Agency, "office_address"))):
        p = text_problem(value.strip(), field=field, max_len=length)
        if p:
            problems.append(p)
    if not name.strip():
        problems.append("name is empty: give the agency's registered name")
    if staff_count < 0:
        problems.append(f"staff: {staff_count} is negative; give the number of full-time staff")
    if problems:
        raise ValidationFailed(what, problems)
    agency = session.exec(select(Agency).where(Agency.uscc == code)).first()
    # An agency's staff belong to it by its credit code, or by the name the registry already holds: never by
    # the name they type into their own application (a name is no proof of membership).
    duty_svc.require("agency.apply", user, [duties.CaseParties(f"agency {code}", code,
                                                               agency.name if agency is not None else "")])
    facts = {"name": name.strip(), "office_address": office_address.strip(), "staff_count": staff_count,
             "independent_liability": independent_liability}
    if agency is None:
        rules.transition("apply", None, who=f"agency {code} ({name.strip()})")
        at = stamp()
        agency = Agency(uscc=code, name=name.strip(), state="applied", office_address=office_address.strip(),
                        staff_count=staff_count, independent_liability=independent_liability, applied_at=at,
                        state_at=at)
        session.add(agency)
        session.flush()
        _move_new(session, agency, user.name, facts)
        return agency
    rules.transition("apply", agency.state, who=f"agency {code} ({agency.name})")
    agency.name, agency.office_address = name.strip(), office_address.strip()
    agency.staff_count, agency.independent_liability = staff_count, independent_liability
    agency.applied_at = stamp()
    _move(session, agency, "apply", user.name, detail={"facts": facts})
    return agency


def _move_new(session: Session, agency: Agency, actor: str, facts: dict[str, Any]) -> None:
    """The first event of a new agency (from no state to applied)."""
    assert agency.id is not None
    at = agency.applied_at
    ev = AgencyEvent(agency_id=agency.id, action="apply", from_state=None, to_state="applied", actor=actor,
                     reason="", clause=rules.TRANSITIONS["apply"].clause, detail=canonical_json({"facts": facts}),
                     at=at)
    session.add(ev)
    session.add(agency)
    session.flush()
    audit.append(session, actor=actor, action="agency.apply", subject=f"agency:{agency.uscc}", at=at,
                 payload={"event_id": ev.id, "from": None, "to": "applied", "reason": "", "clause": ev.clause,
                          "facts": facts})
    notify(session, recipient=agency.uscc, subject=f"服务机构 {_SUBJECT['apply']} ({ev.clause})",
           body=f"{agency.name} ({agency.uscc}): the application to the service-agency registry is received; "
                "a reviewer checks it against the accreditation requirements.",
           cause=f"agency_event:{ev.id}", at=at)


def parse_service(spec: str, default_from: dt.date) -> rules.PriceEntry:
    """``SERVICE=YUAN`` or ``SERVICE=YUAN@YYYY-MM-DD`` (the price from that date on); ValueError naming
    what is wrong."""
    service, eq, rest = spec.partition("=")
    if not eq or not service.strip():
        raise ValueError(f"--service {spec!r}: write SERVICE=YUAN or SERVICE=YUAN@YYYY-MM-DD, e.g. consulting=3000")
    price, at_sign, when = rest.partition("@")
    try:
        fen = parse_yuan(price, field=f"service {service.strip()!r}: price", allow_negative=True)
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from None
    try:
        start = dt.date.fromisoformat(when.strip()) if at_sign else default_from
    except ValueError:
        raise ValueError(f"service {service.strip()!r}: {when.strip()!r} is not a date (YYYY-MM-DD)") from None
    return rules.PriceEntry(service.strip(), start, fen)


def accredit(session: Session, actor: str | None, uscc: str, services: list[str], reason: str = "") -> Agency:
    """Accredit an agency that applied, for the services and prices given (its price schedule), when
    every requirement of the policy passes; otherwise refused naming each failed check and its clause.
    Reviewers and admins only, never of their own agency."""
    user = acting(session, actor, "agency.accredit")
    agency = get(session, uscc)
    duty_svc.require("agency.accredit", user, [parties(agency)])
    policy = current_policy(session)
    on = today()
    what = f"accreditation of agency {agency.uscc}"
    entries, problems = [], []
    for spec in services:
        try:
            entries.append(parse_service(spec, on))
        except ValueError as exc:
            problems.append(str(exc))
    problems += rules.schedule_problems(policy, entries, on) if not problems else []
    why = clean(reason, field="reason", max_len=limit(AgencyEvent, "reason"), what=what, multiline=True)
    if problems:
        raise ValidationFailed(what, problems)
    rules.transition("accredit", agency.state, why, who=f"agency {agency.uscc} ({agency.name})")
    facts = rules.AgencyFacts(agency.uscc, agency.name, agency.office_address, agency.staff_count,
                              agency.independent_liability)
    checks = rules.accreditation_checks(policy, facts, on)
    failed = [c for c in checks if not c.passed]
    if failed:
        raise ValidationFailed(what, [f"check {c.check} ({c.clause}) fails: {c.detail}" for c in failed]
                               + ["the agency applies again with `ipfund agency apply` once it meets them"])
    schedule = sorted(entries, key=lambda e: (e.service, e.effective_from))
    ev = _move(session, agency, "accredit", user.name, reason=why, policy=policy, detail={
        "checks": [{"check": c.check, "clause": c.clause, "passed": c.passed, "detail": c.detail} for c in checks],
        "services": [{"service": e.service, "price_fen": e.price_fen, "from": e.effective_from.isoformat()}
                     for e in schedule]})
    assert agency.id is not None and ev.id is not None
    for e in schedule:
        session.add(AgencyService(agency_id=agency.id, service=e.service, price_fen=e.price_fen,
                                  effective_from=e.effective_from.isoformat(), event_id=ev.id))
    session.flush()
    return agency


def change(session: Session, actor: str | None, uscc: str, action: str, reason: str) -> Agency:
    """warn, suspend, expel, reinstate (the bureau's acts) or withdraw (the agency's own or an admin's),
    each with a reason, along the transitions of rules/agencies.py."""
    if action not in ("warn", "suspend", "expel", "reinstate", "withdraw"):
        raise RuleViolation(f"{action!r} is not a change of an agency's state (warn, suspend, expel, reinstate, "
                            "withdraw)")
    user = acting(session, actor, f"agency.{action}")
    agency = get(session, uscc)
    duty_svc.require(f"agency.{action}", user, [parties(agency)])
    why = clean(reason, field="reason", max_len=limit(AgencyEvent, "reason"), what=f"{action} of agency {agency.uscc}",
                multiline=True)
    _move(session, agency, action, user.name, reason=why)
    return agency


# --- the record: complaints and spot checks ----------------------------------------------------------------

def _date(value: str | None, field: str, what: str) -> dt.date:
    if value is None or not value.strip():
        return today()
    try:
        d = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(what, [f"{field}: {value.strip()[:20]!r} is not a date (YYYY-MM-DD)"]) from None
    if d > today():
        raise ValidationFailed(what, [f"{field}: {d.isoformat()} is in the future (today is {today().isoformat()})"])
    return d


def record_complaint(session: Session, actor: str | None, uscc: str, summary: str, complainant: str,
                     received_on: str | None = None) -> AgencyComplaint:
    """Record a complaint the bureau received about an agency (it counts towards the warning threshold
    of the year it was received in)."""
    user = acting(session, actor, "agency.complaint")
    agency = get(session, uscc)
    duty_svc.require("agency.complaint", user, [parties(agency)])
    what = f"complaint against agency {agency.uscc}"
    if agency.state == "applied":
        raise RuleViolation(f"agency {agency.uscc} is not accredited yet; complaints are recorded against agencies "
                            "that serve (二(四)13)")
    on = _date(received_on, "received on", what)
    text = clean(summary, field="summary", max_len=limit(AgencyComplaint, "summary"), what=what, multiline=True,
                 required=True)
    who = clean(complainant, field="complainant", max_len=limit(AgencyComplaint, "complainant"), what=what,
                required=True)
    assert agency.id is not None
    c = AgencyComplaint(agency_id=agency.id, received_on=on.isoformat(), complainant=who, summary=text,
                        recorded_by=user.name, at=stamp())
    session.add(c)
    session.flush()
    audit.append(session, actor=user.name, action="agency.complaint", subject=f"agency:{agency.uscc}", at=c.at,
                 payload={"complaint_id": c.id, "received_on": c.received_on, "complainant": who, "summary": text})
    return c


def record_spot_check(session: Session, actor: str | None, uscc: str, result: str, finding: str,
                      grade: str | None = None, checked_on: str | None = None) -> AgencySpotCheck:
    """Record a spot check (抽查) of an agency's service: pass, fail or fraud, with its evaluation grade
    (0–100, one decimal) where one was given."""
    user = acting(session, actor, "agency.spot_check")
    agency = get(session, uscc)
    duty_svc.require("agency.spot_check", user, [parties(agency)])
    what = f"spot check of agency {agency.uscc}"
    if agency.state == "applied":
        raise RuleViolation(f"agency {agency.uscc} is not accredited yet; spot checks are of agencies that serve "
                            "(二(四)10)")
    problems = []
    if result not in SPOT_CHECK_RESULTS:
        problems.append(f"result: {result!r} is not a spot-check result ({', '.join(SPOT_CHECK_RESULTS)})")
    tenths = None
    if grade is not None and grade.strip():
        try:
            g = Fraction(grade.strip()) * 10
        except (ValueError, ZeroDivisionError):
            g = Fraction(-1)
        if g.denominator != 1 or not 0 <= g <= 1000:
            problems.append(f"grade: {grade.strip()[:20]!r} is not a grade from 0 to 100 with at most one decimal")
        else:
            tenths = int(g)
    if problems:
        raise ValidationFailed(what, problems)
    on = _date(checked_on, "checked on", what)
    text = clean(finding, field="finding", max_len=limit(AgencySpotCheck, "finding"), what=what, multiline=True,
                 required=True)
    assert agency.id is not None
    sc = AgencySpotCheck(agency_id=agency.id, checked_on=on.isoformat(), result=result, grade_tenths=tenths,
                         finding=text, checked_by=user.name, at=stamp())
    session.add(sc)
    session.flush()
    audit.append(session, actor=user.name, action="agency.spot_check", subject=f"agency:{agency.uscc}", at=sc.at,
                 payload={"spot_check_id": sc.id, "checked_on": sc.checked_on, "result": result,
                          "grade_tenths": tenths, "finding": text})
    return sc


def year_record(session: Session, agency: Agency, year: int) -> rules.YearRecord:
    """The agency's record for ``year``: complaints received and spot checks made in it, counting only
    what was recorded after its last reinstatement (a reinstatement closes what came before it)."""
    assert agency.id is not None
    since = session.exec(select(AgencyEvent.at).where(AgencyEvent.agency_id == agency.id,
                                                      AgencyEvent.action == "reinstate")
                         .order_by(col(AgencyEvent.id).desc()).limit(1)).first() or ""
    lo, hi = f"{year:04d}-01-01", f"{year:04d}-12-31"
    complaints = session.exec(select(AgencyComplaint).where(
        AgencyComplaint.agency_id == agency.id, col(AgencyComplaint.received_on) >= lo,
        col(AgencyComplaint.received_on) <= hi, col(AgencyComplaint.at) > since)).all()
    checks = session.exec(select(AgencySpotCheck).where(
        AgencySpotCheck.agency_id == agency.id, col(AgencySpotCheck.checked_on) >= lo,
        col(AgencySpotCheck.checked_on) <= hi, col(AgencySpotCheck.at) > since)
        .order_by(col(AgencySpotCheck.id))).all()
    return rules.YearRecord(
        year=year, complaints=len(complaints),
        spot_checks_passed=sum(1 for c in checks if c.result == "pass"),
        spot_checks_failed=sum(1 for c in checks if c.result == "fail"),
        fraud_found=sum(1 for c in checks if c.result == "fraud"),
        grades=tuple(Fraction(c.grade_tenths, 10) for c in checks if c.grade_tenths is not None)
        + voucher_grades(session, agency.id, year, since))


def voucher_grades(session: Session, agency_id: int, year: int, since: str = "") -> tuple[Fraction, ...]:
    """The evaluation grades of the vouchers of ``year`` the agency redeemed (托管项目绩效评价, 二(二)5), in
    redemption order: each graded voucher's exact final grade (once its evaluation is complete and no
    longer open to scores), and a 0 for each redemption a reviewer refused (a refusal counts against the
    agency as the lowest grade, 二(四)13). Only redemptions after ``since`` (the last reinstatement)."""
    from rules.scoring import read_exact_record

    policy = current_policy(session)
    scoring_states = {(sid, st) for sid, sc in policy.schemes.items() for st in sc.states_tagged("evaluation")}
    out: list[Fraction] = []
    for r, app in session.exec(select(VoucherRedemption, Application).join(
            Application, col(Application.id) == col(VoucherRedemption.application_id)).where(
            VoucherRedemption.agency_id == agency_id, Application.year == year, col(VoucherRedemption.at) > since)
            .order_by(col(VoucherRedemption.id))).all():
        if r.ended_as == "refused":
            out.append(Fraction(0))
        elif r.ended_at is None and app.final_score_exact and (app.scheme, app.status) not in scoring_states:
            out.append(read_exact_record(app.final_score_exact)[0])
    return tuple(out)


def _record_json(r: rules.YearRecord) -> dict[str, Any]:
    return {"year": r.year, "complaints": r.complaints, "spot_checks_passed": r.spot_checks_passed,
            "spot_checks_failed": r.spot_checks_failed, "fraud_found": r.fraud_found,
            "grades": [str(g) for g in r.grades]}


def _as_of(year: int) -> dt.date:
    return min(today(), dt.date(year, 12, 31))


def monitor(session: Session, actor: str | None, year: int) -> dict[str, Any]:
    """The yearly monitoring (动态监测, a system act an admin runs): every agency that serves or is suspended
    is judged on its record for ``year`` by the policy's thresholds, and the act the record calls for is
    taken (warn, suspend, expel) by the system, with the thresholds met as its reason. Running it again
    takes no act twice."""
    user = acting(session, actor, "agency.monitor")
    policy = current_policy(session)
    on = _as_of(year)
    if dt.date(year, 1, 1) > today():
        raise RuleViolation(f"{year} has not begun; the monitoring judges a year that has (today is {today()})")
    watched = list(session.exec(select(Agency).where(col(Agency.state).in_(("accredited", "warned", "suspended")))
                                .order_by(col(Agency.uscc))).all())
    duty_svc.require("agency.monitor", user, [parties(a) for a in watched])
    rows = []
    for agency in watched:
        record = year_record(session, agency, year)
        rec = rules.recommend(policy, record, on)
        act = rules.act_for(agency.state, rec)
        before = agency.state
        if act is not None:
            _move(session, agency, act, SYSTEM_ACTOR, reason="; ".join(rec.reasons), clause=rec.clause, policy=policy,
                  detail={"monitoring": year, "run_by": user.name, "record": _record_json(record)})
        rows.append({"uscc": agency.uscc, "name": agency.name, "state_before": before, "state": agency.state,
                     "recommended": rec.action, "act": act, "reasons": list(rec.reasons), "clause": rec.clause,
                     "record": _record_json(record)})
    return {"year": year, "as_of": on.isoformat(), "agencies": rows,
            "acts": sum(1 for r in rows if r["act"] is not None)}


def reward(session: Session, actor: str | None, year: int) -> dict[str, Any]:
    """The yearly reward to the best agency (二(四)10), decided once the year is over, once a year: the
    agencies ranked by rules.agencies.reward_ranking; the first is rewarded the policy's amount."""
    user = acting(session, actor, "agency.reward")
    policy = current_policy(session)
    if today() <= dt.date(year, 12, 31):
        raise RuleViolation(f"the {year} reward is decided after {year} ends (today is {today().isoformat()})")
    done = session.exec(select(AgencyReward).where(AgencyReward.year == year)).first()
    if done is not None:
        winner = session.get(Agency, done.agency_id)
        raise RuleViolation(f"the {year} reward was already decided on {done.at[:10]} by {done.decided_by} "
                            f"({winner.name if winner else done.agency_id}); a year has one reward")
    on = dt.date(year, 12, 31)
    agencies = {a.uscc: a for a in session.exec(select(Agency)).all()}
    candidates = [rules.RewardCandidate(a.uscc, a.name, a.state, year_record(session, a, year))
                  for a in agencies.values()]
    ranked, excluded = rules.reward_ranking(policy, candidates, on)
    if not ranked:
        raise RuleViolation(f"no agency is eligible for the {year} reward: "
                            + ("; ".join(f"{c} {why}" for c, why in excluded) or "the registry is empty"))
    duty_svc.require("agency.reward", user, [parties(agencies[r.uscc]) for r in ranked])
    reg = rules.registry_of(policy)
    amount = policy.fen(reg.reward.amount, on)
    best = agencies[ranked[0].uscc]
    assert best.id is not None
    report = {"year": year, "amount_fen": amount, "parameter": reg.reward.amount,
              "ranked": [{"rank": r.rank, "uscc": r.uscc, "name": r.name, "mean_grade": str(r.mean_grade),
                          "record": _record_json(r.record)} for r in ranked],
              "excluded": [{"uscc": c, "why": why} for c, why in excluded]}
    row = AgencyReward(year=year, agency_id=best.id, amount_fen=amount, ranking=canonical_json(report),
                       decided_by=user.name, at=stamp())
    session.add(row)
    session.flush()
    audit.append(session, actor=user.name, action="agency.reward", subject=f"agency:{best.uscc}", at=row.at,
                 payload={"reward_id": row.id, "year": year, "amount_fen": amount, "rank": 1,
                          "mean_grade": str(ranked[0].mean_grade)})
    notify(session, recipient=best.uscc, subject=f"服务机构年度奖励 {year} (二(四)10)",
           body=f"{best.name} ({best.uscc}) is the best agency of {year} (mean grade {ranked[0].mean_grade}) and is "
                f"rewarded {format_yuan(amount)}.", cause=f"agency_reward:{row.id}", at=row.at)
    return {**report, "winner": best.uscc, "reward_id": row.id}


# --- reads: the record, the public list, the question vouchers ask ------------------------------------------

def record_of(session: Session, agency: Agency) -> rules.AgencyRecord:
    events = session.exec(select(AgencyEvent.at, AgencyEvent.to_state).where(AgencyEvent.agency_id == agency.id)
                          .order_by(col(AgencyEvent.id))).all()
    prices = session.exec(select(AgencyService).where(AgencyService.agency_id == agency.id)
                          .order_by(col(AgencyService.id))).all()
    return rules.AgencyRecord(agency.uscc, agency.name, tuple((_day(at), to) for at, to in events),
                              tuple(rules.PriceEntry(p.service, dt.date.fromisoformat(p.effective_from), p.price_fen)
                                    for p in prices))


def standing(session: Session, uscc: str, service: str, on: dt.date, price_fen: int | None = None) -> rules.Standing:
    """Is agency ``uscc`` accredited for ``service`` on ``on`` (at ``price_fen``, if given)? What vouchers
    ask before a contract or a redemption."""
    return rules.standing(record_of(session, get(session, uscc)), service, on, price_fen)


def accredited_on(session: Session, on: dt.date, service: str | None = None) -> list[dict[str, Any]]:
    """The public list (信息公示, 二(四)13): every agency accredited (or warned) on ``on``, with the services
    and prices in force that day."""
    policy = current_policy(session)
    services = list(rules.registry_of(policy).services)
    if service is not None and service not in services:
        raise ValidationFailed("agency list", [f"--service: {service!r} is not a custody service of the policy "
                                               f"(services: {', '.join(services)}; 二(二)5)"])
    out = []
    for a in session.exec(select(Agency).order_by(col(Agency.uscc))).all():
        record = record_of(session, a)
        state = rules.state_on(record, on)
        if state not in rules.ACTIVE:
            continue
        prices = {s: rules.price_on(record, s, on) for s in services}
        offered = {s: p for s, p in prices.items() if p is not None}
        if not offered or (service is not None and service not in offered):
            continue
        out.append({"uscc": a.uscc, "name": a.name, "state": state, "services": offered})
    return out


def list_agencies(session: Session, state: str | None = None) -> list[dict[str, Any]]:
    if state is not None and state not in rules.STATES:
        raise ValidationFailed("agency list", [f"--state: {state!r} is not an agency state ({', '.join(rules.STATES)})"])
    q = select(Agency).order_by(col(Agency.uscc))
    if state is not None:
        q = q.where(Agency.state == state)
    return [{"uscc": a.uscc, "name": a.name, "state": a.state, "since": a.state_at} for a in session.exec(q).all()]


def show(session: Session, uscc: str) -> dict[str, Any]:
    a = get(session, uscc)
    assert a.id is not None
    events = session.exec(select(AgencyEvent).where(AgencyEvent.agency_id == a.id).order_by(col(AgencyEvent.id))).all()
    prices = session.exec(select(AgencyService).where(AgencyService.agency_id == a.id)
                          .order_by(col(AgencyService.service), col(AgencyService.effective_from))).all()
    complaints = session.exec(select(AgencyComplaint).where(AgencyComplaint.agency_id == a.id)
                              .order_by(col(AgencyComplaint.id))).all()
    checks = session.exec(select(AgencySpotCheck).where(AgencySpotCheck.agency_id == a.id)
                          .order_by(col(AgencySpotCheck.id))).all()
    return {
        "uscc": a.uscc, "name": a.name, "state": a.state, "since": a.state_at, "office_address": a.office_address,
        "staff_count": a.staff_count, "independent_liability": a.independent_liability,
        "prices": [{"service": p.service, "price_fen": p.price_fen, "from": p.effective_from} for p in prices],
        "events": [{"id": e.id, "action": e.action, "from": e.from_state, "to": e.to_state, "actor": e.actor,
                    "reason": e.reason, "clause": e.clause, "at": e.at, "detail": json.loads(e.detail)} for e in events],
        "complaints": [{"received_on": c.received_on, "complainant": c.complainant, "summary": c.summary,
                        "recorded_by": c.recorded_by} for c in complaints],
        "spot_checks": [{"checked_on": c.checked_on, "result": c.result,
                         "grade": None if c.grade_tenths is None else str(Fraction(c.grade_tenths, 10)),
                         "finding": c.finding, "checked_by": c.checked_by} for c in checks],
        "fraud_findings": _findings(session, a.uscc),
    }


def _findings(session: Session, uscc: str) -> list[dict[str, Any]]:
    from flows.services.fraud import findings

    return findings(session, uscc)


# --- the checker's view ------------------------------------------------------------------------------------

def invariants(session: Session) -> list[tuple[str, bool, str]]:
    """The registry's invariants over what is committed (written by any path): (check, ok, detail)."""
    policy = current_policy(session)
    out: list[tuple[str, bool, str]] = []
    agencies = {a.id: a for a in session.exec(select(Agency)).all()}
    by_agency: dict[int, list[AgencyEvent]] = defaultdict(list)
    events = list(session.exec(select(AgencyEvent).order_by(col(AgencyEvent.id))).all())
    for e in events:
        by_agency[e.agency_id].append(e)

    bad_chain = []
    for aid, a in agencies.items():
        evs = by_agency.get(aid or 0, [])
        if not evs:
            bad_chain.append(f"{a.uscc} has no events")
            continue
        if evs[-1].to_state != a.state:
            bad_chain.append(f"{a.uscc} is {a.state} but its last event moved it to {evs[-1].to_state}")
        prev: str | None = None
        for e in evs:
            t = rules.TRANSITIONS.get(e.action)
            if e.from_state != prev or t is None or e.from_state not in t.from_states or e.to_state != t.to:
                bad_chain.append(f"{a.uscc} event {e.id} ({e.action} {e.from_state} → {e.to_state}) does not follow "
                                 f"from {prev}")
            prev = e.to_state
    out.append(("agency state = its last event", not bad_chain,
                f"{len(agencies)} agencies, {len(events)} events, each a transition of rules/agencies.py"
                if not bad_chain else "; ".join(bad_chain[:10])))

    services = set(rules.registry_of(policy).services) if policy.agency_registry else set()
    by_id = {e.id: e for e in events}
    bad_prices = []
    for p in session.exec(select(AgencyService)).all():
        ev = by_id.get(p.event_id)
        if ev is None or ev.action != "accredit" or ev.agency_id != p.agency_id:
            bad_prices.append(f"price {p.id} ({p.service}) was not set by an accreditation of its agency")
        if p.service not in services:
            bad_prices.append(f"price {p.id}: {p.service!r} is not a service of the policy")
        if p.price_fen < 0:
            bad_prices.append(f"price {p.id} is negative")
    for aid, a in agencies.items():
        if a.state in rules.ACTIVE and not any(p for p in session.exec(
                select(AgencyService.id).where(AgencyService.agency_id == aid).limit(1)).all()):
            bad_prices.append(f"{a.uscc} is {a.state} with no accredited service")
    out.append(("accredited services", not bad_prices,
                "every price was set by an accreditation, for a service of the policy; every agency on the list "
                "has one" if not bad_prices else "; ".join(bad_prices[:10])))

    users = {u.name: duty_svc.actor_of(u) for u in session.exec(select(User)).all()}
    acts: list[tuple[str, str, int]] = [(f"agency.{e.action}", e.actor, e.agency_id) for e in events]
    acts += [("agency.complaint", c.recorded_by, c.agency_id) for c in session.exec(select(AgencyComplaint)).all()]
    acts += [("agency.spot_check", c.checked_by, c.agency_id) for c in session.exec(select(AgencySpotCheck)).all()]
    acts += [("agency.reward", r.decided_by, r.agency_id) for r in session.exec(select(AgencyReward)).all()]
    breaches = []
    for act, name, aid in acts:
        if name == SYSTEM_ACTOR or aid not in agencies:
            continue
        who = users.get(name)
        b = duties.breach(act, who, parties(agencies[aid])) if who is not None else None
        if who is None:
            breaches.append(f"{act} on agency {agencies[aid].uscc} by {name!r}, who is not a user")
        elif b is not None:
            breaches.append(f"{act}: {b.message}")
    out.append(("agency duties (不相容岗位相互分离)", not breaches,
                f"{len(acts)} registry acts decided again by the duties rule" if not breaches
                else "; ".join(breaches[:10])))

    audited = set()
    for (payload,) in session.execute(select(AuditEvent.payload).where(col(AuditEvent.action).like("agency.%"))).all():
        body = json.loads(payload)
        if "event_id" in body:
            audited.add(body["event_id"])
    told: dict[int, int] = defaultdict(int)
    for (cause,) in session.execute(select(Notification.cause).where(col(Notification.cause).like("agency_event:%"))):
        told[int(cause.split(":", 1)[1])] += 1
    missing = [f"event {e.id} ({e.action} of agency {agencies[e.agency_id].uscc if e.agency_id in agencies else '?'})"
               f"{' has no audit event' if e.id not in audited else ''}"
               f"{' has ' + str(told.get(e.id or 0, 0)) + ' notifications, not 1' if told.get(e.id or 0, 0) != 1 else ''}"
               for e in events if e.id not in audited or told.get(e.id or 0, 0) != 1]
    out.append(("agency events audited and told", not missing,
                "each agency event has its audit event and one notification" if not missing
                else "; ".join(missing[:10])))
    return out
