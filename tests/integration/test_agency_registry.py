"""The service-agency registry against a real database (SQLite, and PostgreSQL with
IPFUND_TEST_DATABASE_URL): the database's own guards, bad input refused naming the field with nothing
written (compared by content), the outbox written in the unit of work of its event, the monitoring and
the reward through the services, and `ipfund check` catching registry data written around them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flows.services import agencies
from models.uow import read_only, unit_of_work
from rules.uscc import make_uscc
from tests.conftest import CliResult, Db
from tests.support import set_clock

A = make_uscc("370602", 7101)  # 烟台正道知识产权代理有限公司
B = make_uscc("370611", 7102)  # 福山华知知识产权服务有限公司
STAFF = [("li", "reviewer", "烟台市市场监管局"), ("zhao", "reviewer", A), ("wang", "approver", "烟台市财政局"),
         ("sun", "auditor", "烟台市审计局"), ("wu", "agency", A), ("ma", "agency", B), ("eval1", "evaluator", "青岛华智")]


def refused(r: CliResult) -> str:
    assert r.exit_code == 1, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.startswith("error:"), r.stderr
    return " ".join(r.stderr.split())


def ok(r: CliResult) -> str:
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r.stdout


@pytest.fixture
def reg(cli: Any, db: Db) -> Any:
    """Staff, agency A accredited for consulting (¥3,000) and application (¥5,000 from 1 June), agency B
    applied; the clock at 1 March 2021."""
    set_clock("2021-03-01T01:00:00Z")
    for name, role, org in STAFF:
        ok(cli("user", "add", name, "--role", role, "--affiliation", org, "--as", "admin"))
    ok(cli("agency", "apply", A, "--name", "烟台正道知识产权代理有限公司", "--office", "芝罘区南大街1号", "--staff", "4",
           "--independent-liability", "--as", "wu"))
    ok(cli("agency", "accredit", A, "--service", "consulting=3000", "--service", "application=5000@2021-06-01",
           "--as", "li"))
    ok(cli("agency", "apply", B, "--name", "福山华知知识产权服务有限公司", "--office", "福山区河滨路8号", "--staff", "3",
           "--independent-liability", "--as", "ma"))
    return cli


def events_of(db: Db, code: str) -> list[tuple[str, str | None, str, str]]:
    with db.engine.connect() as c:
        return [tuple(r) for r in c.execute(text(  # type: ignore[misc]
            "SELECT e.action, e.from_state, e.to_state, e.actor FROM agency_event e JOIN agency a ON a.id = e.agency_id "
            "WHERE a.uscc = :c ORDER BY e.id"), {"c": code}).all()]


# --- the database's own guards --------------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    "UPDATE agency_event SET actor = 'mallory'",
    "DELETE FROM agency_event",
    "UPDATE agency_service SET price_fen = 1",
    "DELETE FROM agency_service",
], ids=["event updated", "event deleted", "price updated", "price deleted"])
def test_events_and_price_schedules_are_append_only_in_the_database(reg: Any, db: Db, sql: str) -> None:
    before = db.snapshot()
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as c:
        c.execute(text(sql))
    assert db.snapshot() == before


def test_complaints_and_spot_checks_are_append_only_in_the_database(reg: Any, db: Db) -> None:
    ok(reg("agency", "complaint", A, "--summary", "拖延答复", "--complainant", "烟台某企业", "--as", "li"))
    ok(reg("agency", "spot-check", A, "--result", "pass", "--finding", "合同齐全", "--grade", "88", "--as", "eval1"))
    for sql in ("UPDATE agency_complaint SET summary = 'x'", "DELETE FROM agency_complaint",
                "UPDATE agency_spot_check SET result = 'fail'", "DELETE FROM agency_spot_check"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as c:
            c.execute(text(sql))


@pytest.mark.parametrize(("sql", "constraint"), [
    ("UPDATE agency SET state = 'dormant'", "agency_state_valid"),
    ("INSERT INTO agency_service (agency_id, service, price_fen, effective_from, event_id) "
     "SELECT agency_id, 'training', -1, '2021-03-01', id FROM agency_event WHERE action = 'accredit'",
     "agency_service_price_not_negative"),
    ("INSERT INTO agency_event (agency_id, action, from_state, to_state, actor, reason, clause, detail, at) "
     "SELECT id, 'warn', 'accredited', 'scolded', 'li', '', '', '{}', '2021' FROM agency", "agency_event_to_valid"),
], ids=["unknown state", "negative price", "event to an unknown state"])
def test_the_database_refuses_an_unknown_state_and_a_negative_price(reg: Any, db: Db, sql: str,
                                                                     constraint: str) -> None:
    with pytest.raises(DBAPIError) as exc, db.engine.begin() as c:
        c.execute(text(sql))
    assert constraint in str(exc.value) or "CHECK constraint failed" in str(exc.value)


def test_a_notification_is_marked_sent_once_and_otherwise_never_changes(reg: Any, db: Db) -> None:
    first = json.loads(ok(reg("notify", "list", "--json", "--as", "admin")))[0]["id"]
    for sql in (f"UPDATE notification SET body = 'changed' WHERE id = {first}",
                f"DELETE FROM notification WHERE id = {first}"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as c:
            c.execute(text(sql))
    ok(reg("notify", "mark-sent", str(first), "--as", "admin"))
    with pytest.raises(DBAPIError, match="only sent_at and sent_by change, once"), db.engine.begin() as c:
        c.execute(text(f"UPDATE notification SET sent_at = '2030-01-01', sent_by = 'x' WHERE id = {first}"))


# --- bad input: refused naming the field, nothing written ---------------------------------------------------

BAD = [
    pytest.param(("agency", "accredit", B, "--service", "lobbying=100", "--as", "li"),
                 "service 'lobbying' is not a custody service of the policy", id="unknown service"),
    pytest.param(("agency", "accredit", B, "--service", "consulting=-100", "--as", "li"),
                 "service 'consulting': price -10000 fen is negative; a price is 0 fen or more", id="negative price"),
    pytest.param(("agency", "accredit", B, "--service", "consulting=abc", "--as", "li"),
                 "service 'consulting': price", id="a price that is not money"),
    pytest.param(("agency", "accredit", B, "--service", "consulting=100@2021-13-01", "--as", "li"),
                 "service 'consulting': '2021-13-01' is not a date (YYYY-MM-DD)", id="a bad price date"),
    pytest.param(("agency", "apply", A[:-1] + ("0" if A[-1] != "0" else "1"), "--name", "冒名机构", "--office", "x",
                  "--staff", "3", "--as", "li"), "credit code: ", id="bad credit code"),
    pytest.param(("agency", "apply", make_uscc("370602", 7199), "--name", "", "--office", "x", "--as", "li"),
                 "name is empty: give the agency's registered name", id="empty name"),
    pytest.param(("agency", "apply", make_uscc("370602", 7199), "--name", "新机构", "--staff", "-1", "--as", "li"),
                 "staff: -1 is negative", id="negative staff"),
    pytest.param(("agency", "warn", B, "--reason", "投诉", "--as", "li"),
                 f"agency {B} (福山华知知识产权服务有限公司) is applied; 'warn' applies only to an agency that is accredited "
                 "(二(四)13)", id="illegal transition"),
    pytest.param(("agency", "accredit", A, "--service", "consulting=1", "--as", "li"),
                 "is accredited; 'accredit' applies only to an agency that is applied (二(四)10)",
                 id="accredit twice"),
    pytest.param(("agency", "suspend", A, "--reason", "  ", "--as", "li"), "'suspend' of agency", id="no reason"),
    pytest.param(("agency", "suspend", A, "--reason", "抽查不合格", "--as", "zhao"),
                 f"zhao belongs to agency {A} (烟台正道知识产权代理有限公司), so may not suspend the agency "
                 "(不相容岗位相互分离)", id="duty: own agency"),
    pytest.param(("agency", "warn", A, "--reason", "x", "--as", "sun"),
                 "sun (roles: auditor) may not agency.warn", id="auditors change nothing"),
    pytest.param(("agency", "withdraw", A, "--reason", "不做了", "--as", "ma"),
                 f"ma (role agency, of {B}) does not belong to agency {A}", id="another agency's staff"),
    pytest.param(("agency", "apply", make_uscc("370602", 7199), "--name", B, "--office", "x", "--staff", "3",
                  "--as", "ma"), f"ma (role agency, of {B}) does not belong to agency {make_uscc('370602', 7199)}",
                 id="staff naming their own agency as another's name"),
    pytest.param(("agency", "warn", make_uscc("370602", 7199), "--reason", "x", "--as", "li"),
                 "is not in the registry; it applies with `ipfund agency apply`", id="unknown agency"),
    pytest.param(("agency", "spot-check", A, "--result", "meh", "--finding", "x", "--as", "eval1"),
                 "result: 'meh' is not a spot-check result (pass, fail, fraud)", id="unknown result"),
    pytest.param(("agency", "spot-check", A, "--result", "pass", "--finding", "x", "--grade", "100.5",
                  "--as", "eval1"), "grade: '100.5' is not a grade from 0 to 100", id="grade above 100"),
    pytest.param(("agency", "complaint", A, "--summary", "x", "--complainant", "y", "--received-on", "2021-03-02",
                  "--as", "li"), "received on: 2021-03-02 is in the future", id="a complaint from the future"),
    pytest.param(("agency", "complaint", B, "--summary", "x", "--complainant", "y", "--as", "li"),
                 "is not accredited yet; complaints are recorded against agencies that serve", id="complaint too early"),
    pytest.param(("agency", "reward", "--year", "2021", "--as", "wang"),
                 "the 2021 reward is decided after 2021 ends (today is 2021-03-01)", id="reward before the year ends"),
    pytest.param(("notify", "mark-sent", "999", "--as", "admin"), "notification 999 does not exist",
                 id="unknown notification"),
    pytest.param(("agency", "list", "--service", "lobbying"), "--service: 'lobbying' is not a custody service",
                 id="list: unknown service"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(reg: Any, db: Db, args: tuple[str, ...],
                                                                     message: str) -> None:
    before = db.snapshot()
    assert message in refused(reg(*args))
    assert db.snapshot() == before


def test_a_failed_accreditation_check_is_named_with_its_clause_and_nothing_is_written(reg: Any, db: Db) -> None:
    code = make_uscc("370612", 7103)
    ok(reg("agency", "apply", code, "--name", "牟平小所", "--office", "", "--staff", "2", "--as", "li"))
    before = db.snapshot()
    err = refused(reg("agency", "accredit", code, "--service", "consulting=100", "--as", "li"))
    assert "check fixed_office (二(二)5) fails: no fixed office address is declared" in err
    assert "check minimum_staff (二(二)5) fails: 2 full-time staff; at least 3 are needed (agency.min_staff)" in err
    assert "check independent_liability (二(四)10) fails" in err
    assert db.snapshot() == before
    ok(reg("agency", "apply", code, "--name", "牟平小所", "--office", "牟平区正阳路2号", "--staff", "3",
           "--independent-liability", "--as", "li"))
    ok(reg("agency", "accredit", code, "--service", "consulting=100", "--as", "li"))
    assert [e[:3] for e in events_of(db, code)] == [("apply", None, "applied"), ("apply", "applied", "applied"),
                                                    ("accredit", "applied", "accredited")]


def test_the_notification_is_written_in_the_unit_of_work_of_its_event(reg: Any, db: Db,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*a: Any, **kw: Any) -> None:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(agencies, "notify", broken)
    before = db.snapshot()
    with pytest.raises(RuntimeError), unit_of_work(db.engine) as s:
        agencies.change(s, "li", A, "suspend", "抽查不合格")
    assert db.snapshot() == before  # no event, no audit entry, no state change without its notification


# --- a suspension, the public list and the standing vouchers ask for ----------------------------------------------

def test_a_suspended_agency_leaves_the_public_list_at_once_and_its_holders_rule_is_recorded(reg: Any, db: Db) -> None:
    import datetime as dt

    day = dt.date(2021, 3, 1)
    with read_only(db.engine) as s:
        assert agencies.standing(s, A, "consulting", day, 300_000).accredited
        assert not agencies.standing(s, A, "consulting", day, 300_001).accredited
    ok(reg("agency", "suspend", A, "--reason", "两次抽查不合格", "--as", "li"))
    with read_only(db.engine) as s:
        st = agencies.standing(s, A, "consulting", day)
    assert (st.accredited, st.state) == (False, "suspended")
    assert json.loads(ok(reg("agency", "list", "--on", "2021-03-01", "--json"))) == []
    shown = json.loads(ok(reg("agency", "show", A, "--json")))
    assert shown["events"][-1]["detail"] == {"open_vouchers": "return_to_holder"}
    told = json.loads(ok(reg("notify", "list", "--to", A, "--json", "--as", "wu")))
    assert told[-1]["subject"] == "服务机构 暂停服务资格 (二(四)10)"
    assert "Open custody vouchers contracted with the agency are returned to their holders." in told[-1]["body"]
    ok(reg("agency", "reinstate", A, "--reason", "整改完成", "--as", "li"))
    assert [r["uscc"] for r in json.loads(ok(reg("agency", "list", "--json")))] == [A]


def test_the_public_list_as_of_a_date_shows_the_prices_in_force_that_day(reg: Any) -> None:
    assert json.loads(ok(reg("agency", "list", "--on", "2021-05-31", "--json"))) == [
        {"uscc": A, "name": "烟台正道知识产权代理有限公司", "state": "accredited", "services": {"consulting": 300_000}}]
    june = json.loads(ok(reg("agency", "list", "--on", "2021-06-01", "--service", "application", "--json")))
    assert june[0]["services"] == {"consulting": 300_000, "application": 500_000}
    assert json.loads(ok(reg("agency", "list", "--on", "2021-02-28", "--json"))) == []
    assert [r["uscc"] for r in json.loads(ok(reg("agency", "list", "--state", "applied", "--json")))] == [B]


def test_agency_staff_read_only_their_own_notifications(reg: Any) -> None:
    mine = json.loads(ok(reg("notify", "list", "--json", "--as", "ma")))
    assert {n["recipient"] for n in mine} == {B} and len(mine) == 1
    everything = json.loads(ok(reg("notify", "list", "--json", "--as", "sun")))
    assert {n["recipient"] for n in everything} == {A, B} and len(everything) == 3
    ok(reg("notify", "mark-sent", str(mine[0]["id"]), "--as", "admin"))
    assert json.loads(ok(reg("notify", "list", "--unsent", "--json", "--as", "ma"))) == []
    assert "was already sent at" in refused(reg("notify", "mark-sent", str(mine[0]["id"]), "--as", "admin"))


# --- monitoring and the reward through the services ------------------------------------------------------------

def test_the_monitoring_warns_at_the_threshold_once_and_suspends_on_failed_spot_checks(reg: Any, db: Db) -> None:
    ok(reg("agency", "accredit", B, "--service", "training=800", "--as", "li"))
    for i in range(2):
        ok(reg("agency", "complaint", A, "--summary", f"投诉{i}", "--complainant", "企业", "--as", "li"))
    report = json.loads(ok(reg("agency", "monitor", "--year", "2021", "--json", "--as", "admin")))
    assert report["acts"] == 0  # two complaints: below the warning threshold of three
    ok(reg("agency", "complaint", A, "--summary", "投诉2", "--complainant", "企业", "--as", "li"))
    for _ in range(2):
        ok(reg("agency", "spot-check", B, "--result", "fail", "--finding", "材料缺失", "--as", "eval1"))
    report = json.loads(ok(reg("agency", "monitor", "--year", "2021", "--json", "--as", "admin")))
    assert [(r["uscc"], r["state_before"], r["act"], r["state"]) for r in report["agencies"]] == sorted([
        (A, "accredited", "warn", "warned"), (B, "accredited", "suspend", "suspended")])
    assert events_of(db, A)[-1] == ("warn", "accredited", "warned", "system")
    again = json.loads(ok(reg("agency", "monitor", "--year", "2021", "--json", "--as", "admin")))
    assert again["acts"] == 0  # nothing is taken twice
    assert json.loads(ok(reg("check", "--json")))["ok"] is True


def test_the_yearly_reward_goes_to_the_best_agency_once(reg: Any, db: Db) -> None:
    ok(reg("agency", "accredit", B, "--service", "training=800", "--as", "li"))
    ok(reg("agency", "spot-check", A, "--result", "pass", "--finding", "好", "--grade", "90", "--as", "eval1"))
    ok(reg("agency", "spot-check", B, "--result", "pass", "--finding", "好", "--grade", "90.1", "--as", "eval1"))
    set_clock("2022-01-05T01:00:00Z")
    before = db.snapshot()
    assert "li (roles: reviewer) may not agency.reward" in refused(reg("agency", "reward", "--year", "2021", "--as", "li"))
    assert db.snapshot() == before
    report = json.loads(ok(reg("agency", "reward", "--year", "2021", "--json", "--as", "wang")))
    assert (report["winner"], report["amount_fen"]) == (B, 10_000_000)
    assert [r["uscc"] for r in report["ranked"]] == [B, A]
    before = db.snapshot()
    assert "the 2021 reward was already decided" in refused(reg("agency", "reward", "--year", "2021", "--as", "wang"))
    assert db.snapshot() == before
    told = json.loads(ok(reg("notify", "list", "--to", B, "--json", "--as", "admin")))
    assert told[-1]["body"].endswith("is rewarded ¥100,000.00.")


# --- `ipfund check` catches registry data written around the services ---------------------------------------------

def _failing(cli: Any) -> dict[str, str]:
    report = json.loads(cli("check", "--json").stdout)
    return {c["check"]: c["detail"] for c in report["checks"] if not c["ok"]}


def test_check_passes_on_a_registry_written_by_the_services(reg: Any) -> None:
    assert _failing(reg) == {}


def test_check_finds_a_state_that_is_not_its_last_event(reg: Any, db: Db) -> None:
    with db.engine.begin() as c:
        c.execute(text("UPDATE agency SET state = 'accredited' WHERE uscc = :b"), {"b": B})
    failing = _failing(reg)
    assert list(failing) == ["agency state = its last event", "accredited services"]
    assert f"{B} is accredited but its last event moved it to applied" in failing["agency state = its last event"]
    assert f"{B} is accredited with no accredited service" in failing["accredited services"]


def test_check_finds_a_price_not_set_by_an_accreditation_and_an_act_against_the_duties(reg: Any, db: Db) -> None:
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO agency_service (agency_id, service, price_fen, effective_from, event_id) "
                       "SELECT b.id, 'training', 100, '2021-03-01', e.id FROM agency b, agency_event e "
                       "WHERE b.uscc = :b AND e.action = 'apply' AND e.agency_id = b.id"), {"b": B})
        c.execute(text("INSERT INTO agency_complaint (agency_id, received_on, complainant, summary, recorded_by, at) "
                       "SELECT id, '2021-03-01', 'x', 'y', 'zhao', '2021-03-01T01:00:00.000000Z' FROM agency "
                       "WHERE uscc = :a"), {"a": A})
    failing = _failing(reg)
    assert "was not set by an accreditation of its agency" in failing["accredited services"]
    assert f"agency.complaint: zhao belongs to agency {A}" in failing["agency duties (不相容岗位相互分离)"]


def test_a_reinstatement_closes_the_record_before_it_and_what_comes_after_counts_again(reg: Any, db: Db) -> None:
    def monitor() -> list[tuple[str, str | None]]:
        report = json.loads(ok(reg("agency", "monitor", "--year", "2021", "--json", "--as", "admin")))
        return [(r["state"], r["act"]) for r in report["agencies"] if r["uscc"] == A]

    for i in range(3):
        ok(reg("agency", "complaint", A, "--summary", f"投诉{i}", "--complainant", "企业", "--as", "li"))
    assert monitor() == [("warned", "warn")]
    ok(reg("agency", "reinstate", A, "--reason", "整改完成", "--as", "li"))
    assert monitor() == [("accredited", None)]  # the three complaints came before the reinstatement
    for _ in range(2):
        ok(reg("agency", "spot-check", A, "--result", "fail", "--finding", "材料缺失", "--as", "eval1"))
    assert monitor() == [("suspended", "suspend")]
    ok(reg("agency", "reinstate", A, "--reason", "整改完成", "--as", "li"))
    assert monitor() == [("accredited", None)]
    for i in range(3):
        ok(reg("agency", "complaint", A, "--summary", f"再投诉{i}", "--complainant", "企业", "--as", "li"))
    assert monitor() == [("warned", "warn")]
    assert [e[0] for e in events_of(db, A)] == ["apply", "accredit", "warn", "reinstate", "suspend", "reinstate", "warn"]


def test_the_public_list_keeps_every_price_whole_at_80_columns(reg: Any) -> None:
    r = reg("agency", "list", "--on", "2021-06-01", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert {"¥3,000.00", "¥5,000.00"} <= set(re.findall(r"¥[\d,]+\.\d\d", r.stdout))
    assert "…" not in "".join(line for line in r.stdout.splitlines() if "¥" in line)
