"""Step definitions for features/project_grant_lifecycle.feature and features/project_grant_refusals.feature:
a funded project (二(一)1, 二(四)12, 三(三)) driven through the real services, its payments through `pay release`,
the payment stage and the bank's acknowledgement, the scheduled stages through the advance run."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlmodel import Session, col, select

from flows.services import applications, checker, evaluation, projects, users
from models import ledger
from models.tables import Application, Notification, Payment
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from rules.money import fen_to_yuan_str, format_yuan, parse_yuan
from rules.uscc import make_uscc
from tests.conftest import Db
from tests.project_support import (
    AGREEMENT,
    EVIDENCE,
    NAV,
    Call,
    agree_all,
    applications_csv,
    funded_call,
    scores,
)
from tests.support import set_clock

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("project_grant_lifecycle.feature", features_base_dir=str(FEATURES))
scenarios("project_grant_refusals.feature", features_base_dir=str(FEATURES))

KIND = "navigation_industry"
LINE = "patent-navigation"
STAFF = "pn.staff"  # the project's own staff (an applicant user of its organisation)
EVALUATOR = "ma.expert"  # a third-party evaluator with no tie to the project
OTHER_ORG = make_uscc("370602", 9911)


@pytest.fixture
def p(db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"db": db, "tmp": tmp_path, "call": None, "ref": None, "error": None, "before": None, "files": []}


def _call(p: dict[str, Any]) -> Call:
    call = p["call"]
    assert call is not None
    return call


def _uow(p: dict[str, Any]) -> Any:
    return unit_of_work(p["db"].engine)


def _ro(p: dict[str, Any]) -> Any:
    return read_only(p["db"].engine)


def _clock(day: str, hour: str = "01") -> None:
    set_clock(f"{day}T{hour}:00:00Z")


def _act(p: dict[str, Any], fn: Callable[[Session], Any]) -> Any:
    """Run one act in its unit of work; a refusal is kept (with the database's content just before it)."""
    p["before"] = p["db"].snapshot()
    p["error"] = None
    try:
        with _uow(p) as s:
            return fn(s)
    except RuleViolation as exc:
        p["error"] = str(exc)
        return None


def _done(p: dict[str, Any]) -> None:
    assert p["error"] is None, p["error"]


def _show(p: dict[str, Any]) -> dict[str, Any]:
    with _ro(p) as s:
        return projects.show(s, "admin", p["ref"])


def _status(p: dict[str, Any]) -> tuple[str, str]:
    with _ro(p) as s:
        shown = applications.show(s, "admin", p["ref"])
    return shown["status"], shown["state_name"]


def _n(text: str) -> Fraction:
    return Fraction(Decimal(text.strip()))


def _actuals(text: str) -> dict[str, str]:
    return dict(part.strip().split(" ") for part in text.split(","))


# --- the project at each point of its life -------------------------------------------------------------------

def _funded(p: dict[str, Any], notice_ended: bool = True) -> None:
    call = funded_call(p["db"].engine, p["tmp"], n=1, kinds=(KIND,), notice_ended=notice_ended)
    p["call"], p["ref"] = call, call.refs[0]
    p["uscc"] = call.applicants[p["ref"]]
    with _uow(p) as s:
        users.create_user(s, "admin", STAFF, ["applicant"], STAFF, p["uscc"])
    with _ro(p) as s:
        assert s.exec(select(Application.award_fen).where(Application.ref == p["ref"])).one() == parse_yuan("500000")


def _agreed(p: dict[str, Any]) -> None:
    _funded(p)
    agree_all(_call(p), "2021-06-01T01:00:00Z")
    p["files"] += _call(p).pay()
    assert _status(p)[0] == "mid_term_running"


def _report(p: dict[str, Any], stage: str, day: str, what: str, actor: str = STAFF) -> None:
    _clock(day)
    files: list[tuple[str, str, bytes]] = list(EVIDENCE)
    actuals = {"patents_navigated": "2000", "reports": "1", "smes_served": "40"}
    if what.startswith("an empty evidence file "):
        files = [("report", what.rsplit(" ", 1)[-1], b"")]
    elif what.startswith("an evidence file "):
        files = [("report", what.rsplit(" ", 1)[-1], b"MZ not a report")]
    else:
        actuals = _actuals(what)
    p["evidence"] = files
    _act(p, lambda s: projects.report(s, actor, p["ref"], stage, actuals, files))


def _evaluate(p: dict[str, Any], stage: str, rubric: str, day: str, actor: str = EVALUATOR) -> None:
    _clock(day)
    marks = {c: rubric for c in scores(0)}
    _act(p, lambda s: projects.evaluate(s, actor, p["ref"], stage, marks))


def _release(p: dict[str, Any], day: str, actor: str = "qian.approve") -> None:
    _clock(day)
    _act(p, lambda s: projects.release(s, actor, p["ref"]))


def _graded_poor(p: dict[str, Any]) -> None:
    _agreed(p)
    _report(p, "mid_term", "2022-06-01", "patents_navigated 1200, reports 1, smes_served 0")
    _evaluate(p, "mid_term", "59.9", "2022-06-01")
    _done(p)
    assert _status(p)[0] == "mid_term_rectification"


def _advance(p: dict[str, Any], day: str) -> None:
    _clock(day)
    _call(p).advance()


@given(parsers.parse("a navigation_industry project of ¥500,000.00 finalized on {day}, its notice ending on {end}"))
def in_notice(p: dict[str, Any], day: str, end: str) -> None:
    assert day == "2021-05-10"
    _funded(p, notice_ended=False)
    with _ro(p) as s:
        status, ends = s.exec(select(Application.status, Application.notice_ends)
                              .where(Application.ref == p["ref"])).one()
    assert status == "in_notice" and (ends or "").startswith(end), (status, ends)


@given("a navigation_industry project of ¥500,000.00 out of its public notice")
def out_of_notice(p: dict[str, Any]) -> None:
    _funded(p)
    assert _status(p)[0] == "agreement_pending"


@given("the project agreed on 2021-06-01 with its advance paid")
def agreed_and_paid(p: dict[str, Any]) -> None:
    _agreed(p)


@given("the project graded 差 at mid-term on 2022-06-01")
def graded_poor(p: dict[str, Any]) -> None:
    _graded_poor(p)


@given("the project left unrectified on 2022-08-31")
def left_unrectified(p: dict[str, Any]) -> None:
    _graded_poor(p)
    _advance(p, "2022-08-31")
    assert _status(p)[0] == "clawback_due"


@given("the project completed on 2023-06-10")
def completed(p: dict[str, Any]) -> None:
    _agreed(p)
    _report(p, "mid_term", "2022-06-01", "patents_navigated 2000, reports 1, smes_served 0")
    _evaluate(p, "mid_term", "70.0", "2022-06-05")  # 0.6 × 70 + 0.4 × 80 = 74: 中, nothing released
    _release(p, "2022-06-06")
    _done(p)
    assert _status(p)[0] == "final_running"
    _report(p, "final", "2023-06-01", "patents_navigated 2000, reports 1, smes_served 40")
    _evaluate(p, "final", "85.0", "2023-06-05")
    _release(p, "2023-06-10")
    _done(p)
    assert _status(p)[0] == "completed"


@given(parsers.parse("the project has filed its mid_term report on {day}"))
def has_reported(p: dict[str, Any], day: str) -> None:
    _report(p, "mid_term", day, "patents_navigated 2000, reports 1, smes_served 40")
    _done(p)


@given("the evaluator has declared a conflict of interest with the applicant")
def declared_conflict(p: dict[str, Any]) -> None:
    with _uow(p) as s:
        evaluation.declare_conflict(s, EVALUATOR, p["uscc"], "曾为该企业提供专利导航咨询服务")


@given(parsers.parse("the project was evaluated 良 at mid-term on {day}"))
def evaluated_good(p: dict[str, Any], day: str) -> None:
    _report(p, "mid_term", "2022-06-01", "patents_navigated 2000, reports 1, smes_served 40")
    _evaluate(p, "mid_term", "80.0", day)
    _done(p)
    assert _status(p)[0] == "mid_term_evaluated" and _show(p)["evaluations"][-1]["grade_name"] == "良"


# --- the agreement ---------------------------------------------------------------------------------------------

@when(parsers.parse("the approver signs its agreement on {day}"))
def signs(p: dict[str, Any], day: str) -> None:
    _clock(day, "03")
    _call(p).advance()  # the scheduled stages of the day (the notice ends) run first
    _act(p, lambda s: projects.agree(s, "qian.approve", p["ref"], AGREEMENT[KIND].encode(), "agreement.toml"))


BAD_AGREEMENT: dict[str, Callable[[str], str]] = {
    "KPI patents_navigated has no baseline": lambda t: t.replace('baseline = "0"\n', "", 1),
    "KPI patents_navigated has an empty unit": lambda t: t.replace('code = "patents_navigated"\n',
                                                                   'code = "patents_navigated"\nunit = ""\n', 1),
    "weights are 50, 30 and 10": lambda t: t.replace('weight = "20"', 'weight = "10"'),
    "KPIs include licences": lambda t: t.replace("[[deliverable]]", '[[kpi]]\ncode = "licences"\nbaseline = "0"\n'
                                                 'target = "5"\nweight = "0"\n[[deliverable]]'),
    "KPIs leave out smes_served": lambda t: t.replace('[[kpi]]\ncode = "smes_served"\nbaseline = "0"\ntarget = "40"\n'
                                                      'weight = "20"\n', ""),
}


@when(parsers.parse("the approver signs on {day} an agreement whose {what}"))
def signs_bad(p: dict[str, Any], day: str, what: str) -> None:
    text = BAD_AGREEMENT[what](AGREEMENT[KIND])
    assert text != AGREEMENT[KIND], what
    _clock(day)
    _act(p, lambda s: projects.agree(s, "qian.approve", p["ref"], text.encode(), "agreement.toml"))


@then(parsers.parse("the project is agreed with the tranches advance {advance} and mid_term {mid}"))
def agreed(p: dict[str, Any], advance: str, mid: str) -> None:
    _done(p)
    shown = _show(p)
    assert shown["status"] == "agreed"
    assert [(t["key"], t["amount_fen"]) for t in shown["agreement"]["tranches"]] == [
        ("advance", parse_yuan(advance)), ("mid_term", parse_yuan(mid))]
    assert [(t["tranche"], t["released_fen"], t["cancelled_fen"]) for t in shown["tranches"]] == [
        ("advance", parse_yuan(advance), 0)]


@then(parsers.parse("its {stage} report is due on {day}"))
def due_on(p: dict[str, Any], stage: str, day: str) -> None:
    assert _show(p)["due"][stage] == day


# --- payments and the ledger ------------------------------------------------------------------------------------

@when("finance releases the payments, the payment stage writes the bank file and the bank acknowledges it paid")
def pays(p: dict[str, Any]) -> None:
    p["files"] += _call(p).pay()


@then(parsers.parse("the bank file paid {amount} for the tranche {tranche}"))
def bank_paid(p: dict[str, Any], amount: str, tranche: str) -> None:
    assert len(p["files"]) == 1
    with _ro(p) as s:
        rows = s.exec(select(Payment.purpose, Payment.amount_fen, Payment.status)
                      .join(Application, col(Application.id) == col(Payment.application_id))
                      .where(Application.ref == p["ref"])).all()
    assert [tuple(r) for r in rows] == [(tranche, parse_yuan(amount), "paid")]


@then(parsers.parse("the line patent-navigation holds committed {committed}, paid {paid}, receivable {receivable}, "
                    "available {available}"))
def line_holds(p: dict[str, Any], committed: str, paid: str, receivable: str, available: str) -> None:
    with _ro(p) as s:
        b = ledger.line_balances(s, 2021)[LINE]
    got = {k: format_yuan(b.total(k)) for k in ("committed", "paid", "receivable", "available")}
    assert got == {"committed": committed, "paid": paid, "receivable": receivable, "available": available}


@then("the checker is clean")
def checker_clean(p: dict[str, Any]) -> None:
    with _ro(p) as s:
        result = checker.run(s)
    assert result["ok"], result


@then(parsers.parse("the project is {status} ({name})"))
def project_is(p: dict[str, Any], status: str, name: str) -> None:
    _done(p)
    assert _status(p) == (status, name)


# --- reports and extensions ------------------------------------------------------------------------------------

@when(parsers.parse("the project files its {stage} report on {day} with {what}"))
def files_report(p: dict[str, Any], stage: str, day: str, what: str) -> None:
    _report(p, stage, day, what)


@when(parsers.parse("an applicant of another organisation files the mid_term report on {day}"))
def other_reports(p: dict[str, Any], day: str) -> None:
    with _uow(p) as s:
        users.create_user(s, "admin", "other.staff", ["applicant"], "other.staff", OTHER_ORG)
    _report(p, "mid_term", day, "patents_navigated 2000, reports 1, smes_served 40", actor="other.staff")


@then(parsers.parse("the report is filed {flag}, due on {day}, with the sha256 of its evidence"))
def report_filed(p: dict[str, Any], flag: str, day: str) -> None:
    _done(p)
    r = _show(p)["reports"][-1]
    assert (r["late"], r["due_on"]) == (flag == "late", day)
    assert [e["sha256"] for e in r["evidence"]] == [hashlib.sha256(c).hexdigest() for _, _, c in p["evidence"]]


@when(parsers.parse("the project asks on {day} to extend its {stage} report to {until}"))
def asks_extension(p: dict[str, Any], day: str, stage: str, until: str) -> None:
    _clock(day)
    e = _act(p, lambda s: projects.extend(s, STAFF, p["ref"], stage, until, "第三方数据延迟交付"))
    p["extension"] = e.id if e is not None else None


@when(parsers.parse("the reviewer {decision} the extension"))
def decides_extension(p: dict[str, Any], decision: str) -> None:
    _done(p)
    _act(p, lambda s: projects.decide_extension(s, "li.review", p["extension"], decision == "grants", "理由充分"))
    _done(p)


@then(parsers.parse('the applicant is told "{subject}"'))
def told(p: dict[str, Any], subject: str) -> None:
    with _ro(p) as s:
        subjects = list(s.exec(select(Notification.subject).where(Notification.recipient == p["uscc"])))
    assert any(subject in x and p["ref"] in x for x in subjects), subjects


# --- evaluation, release, rectification ----------------------------------------------------------------------

@when(parsers.parse("the evaluator scores the {stage} {rubric} on every criterion on {day}"))
def evaluates(p: dict[str, Any], stage: str, rubric: str, day: str) -> None:
    _evaluate(p, stage, rubric, day)


@when(parsers.parse("an evaluator of the applicant's own organisation scores the {stage} {rubric} on every "
                    "criterion on {day}"))
def own_evaluates(p: dict[str, Any], stage: str, rubric: str, day: str) -> None:
    with _uow(p) as s:
        users.create_user(s, "admin", "own.eval", ["evaluator"], "own.eval", p["uscc"])
    _evaluate(p, stage, rubric, day, actor="own.eval")


@then(parsers.parse("the evaluation's KPI score is {kpi}, its score {score} and its grade {grade}"))
def evaluation_is(p: dict[str, Any], kpi: str, score: str, grade: str) -> None:
    _done(p)
    e = _show(p)["evaluations"][-1]
    assert (_n(e["kpi_score"]), _n(e["score"]), e["grade_name"]) == (_n(kpi), _n(score), grade)
    assert {"project-grant.grade_bands", "project-grant.kpi_weight"} <= {t["parameter"] for t in e["trace"]}


@when(parsers.parse("the approver releases the mid-term tranche on {day}"))
def releases(p: dict[str, Any], day: str) -> None:
    _release(p, day)


@when(parsers.parse("an approver of the applicant's own organisation releases the mid-term tranche on {day}"))
def own_releases(p: dict[str, Any], day: str) -> None:
    with _uow(p) as s:
        users.create_user(s, "admin", "own.approve", ["approver"], "own.approve", p["uscc"])
    _release(p, day, actor="own.approve")


@then(parsers.parse("{released} of the mid_term tranche is released and {cancelled} cancelled, back to the line"))
def tranche_released(p: dict[str, Any], released: str, cancelled: str) -> None:
    _done(p)
    [t] = [t for t in _show(p)["tranches"] if t["tranche"] == "mid_term"]
    assert (t["released_fen"], t["cancelled_fen"], t["why"]) == (parse_yuan(released), parse_yuan(cancelled), "release")
    assert any(s["parameter"] == "project-grant.release_by_grade" for s in t["trace"])


@then(parsers.parse("it must be rectified by {day}"))
def rectify_by(p: dict[str, Any], day: str) -> None:
    [r] = _show(p)["rectifications"]
    assert (r["due_on"], r["result"]) == (day, None)


@when(parsers.parse("the reviewer accepts the rectification on {day}"))
def rectifies(p: dict[str, Any], day: str) -> None:
    _clock(day)
    _act(p, lambda s: projects.rectify(s, "li.review", p["ref"], "整改报告经复核合格"))


@when(parsers.parse("the advance run goes on {day}"))
def advance_on(p: dict[str, Any], day: str) -> None:
    _advance(p, day)


@then("the mid_term tranche is cancelled, ¥165,000.00 back to the line")
def tranche_cancelled(p: dict[str, Any]) -> None:
    [t] = [t for t in _show(p)["tranches"] if t["tranche"] == "mid_term"]
    assert (t["released_fen"], t["cancelled_fen"], t["why"]) == (0, parse_yuan("165000"), "unrectified")


@then(parsers.parse("{claw} is clawed back, all that was paid, and the organisation is barred from {since} until {until}"))
def clawed(p: dict[str, Any], claw: str, since: str, until: str) -> None:
    shown = _show(p)
    assert shown["clawback"]["amount_fen"] == parse_yuan(claw) == shown["paid_fen"]
    assert shown["clawback"]["recovered_fen"] == 0
    assert [(b["since"], b["until"]) for b in shown["bars"]] == [(since, until)]
    assert [r["result"] for r in shown["rectifications"]] == ["unrectified"]


@when(parsers.parse("the same organisation applies to project-navigation on {day} for a navigation_enterprise project "
                    "of {amount}"))
def applies_again(p: dict[str, Any], day: str, amount: str) -> None:
    _clock(day)
    row = {"applicant_uscc": p["uscc"], "project_type": "navigation_enterprise", "project_name": "企业专利导航二期",
           "industry": "高端装备", "requested": fen_to_yuan_str(parse_yuan(amount))}
    with _uow(p) as s:
        [app] = applications.import_applications(s, "admin", NAV, applications_csv([row]), "projects-next.csv")
    p["next"] = app.ref
    _call(p).advance()


@then(parsers.parse("its application of {year:d} is {outcome} by the intake check not_barred"))
def next_call(p: dict[str, Any], year: int, outcome: str) -> None:
    with _ro(p) as s:
        shown = applications.show(s, "admin", p["next"])
    [check] = [c for c in shown["checks"] if c["check"] == "not_barred"]
    assert shown["year"] == year
    if outcome == "refused":
        assert shown["status"] == "rejected" and not check["passed"], shown["checks"]
        assert f"after project {p['ref']} was left unrectified" in check["detail"] and check["clause"] == "三(三)"
    else:
        assert check["passed"], check


# --- recoveries ------------------------------------------------------------------------------------------------

@when(parsers.parse("finance records {amount} recovered with the bank's receipt {receipt} on {day}"))
def recovers(p: dict[str, Any], amount: str, receipt: str, day: str) -> None:
    _clock(day)
    _act(p, lambda s: projects.recover(s, "chen.finance", p["ref"], fen_to_yuan_str(parse_yuan(amount)), receipt, day))


@then(parsers.parse("the project is {status} ({name}) with {owed} still owed"))
def still_owed(p: dict[str, Any], status: str, name: str, owed: str) -> None:
    _done(p)
    assert _status(p) == (status, name)
    cb = _show(p)["clawback"]
    assert cb["amount_fen"] - cb["recovered_fen"] == parse_yuan(owed)


@then("the recovery is accepted")
def recovery_accepted(p: dict[str, Any]) -> None:
    _done(p)
    assert _status(p)[0] == "clawed_back"


@then(parsers.parse('the recovery is refused naming "{text}"'))
def recovery_refused(p: dict[str, Any], text: str) -> None:
    refused(p, text)


# --- refusals ---------------------------------------------------------------------------------------------------

@then(parsers.parse('it is refused naming "{text}" and nothing is written'))
def refused(p: dict[str, Any], text: str) -> None:
    assert p["error"] is not None, "the act was not refused"
    assert text in p["error"], p["error"]
    assert p["db"].snapshot() == p["before"]


def test_the_bar_ends_with_its_last_day() -> None:
    """The feature's dates, stated once: the bar of an organisation unrectified on 2022-08-31 runs from the day
    after to 31 December 2024 (project-grant.bar_years = 2)."""
    from rules.policy import load_policy
    from rules.schemes import project_grant as pg

    u = pg.unrectified(load_policy(), 50_000_000, 33_500_000, 33_500_000, dt.date(2022, 8, 31))
    bar = pg.Bar(dt.date(2022, 9, 1), u.barred_until, "PN-2021-00001")
    assert pg.bar_in_force([bar], dt.date(2024, 12, 31)) is bar and pg.bar_in_force([bar], dt.date(2025, 1, 1)) is None


@then(parsers.parse('the refusal cites "{rule}"'))
def cites(p: dict[str, Any], rule: str) -> None:
    assert rule in (p["error"] or ""), p["error"]
