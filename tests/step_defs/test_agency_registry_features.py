"""Step definitions for features/agency_registry.feature: the registry driven through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import fen_to_yuan_str, format_yuan, parse_yuan
from rules.policy import load_policy
from rules.uscc import make_uscc
from tests.conftest import Db
from tests.step_defs.world import flat
from tests.support import set_clock

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("agency_registry.feature", features_base_dir=str(FEATURES))

CODES = {"烟台正道知识产权代理有限公司": make_uscc("370602", 8101), "烟台福山华知服务有限公司": make_uscc("370611", 8102)}
SERVICES = {s.name: code for code, s in (load_policy("yantai-2020").agency_registry.services.items()  # type: ignore[union-attr]
                                          )}
AGENCY = r"(?P<agency>[^ ]+?(?:有限公司|事务所))"


@pytest.fixture
def reg(cli: Any, db: Db) -> dict[str, Any]:
    set_clock("2021-03-01T01:00:00Z")
    return {"cli": cli, "db": db, "result": None, "before": None}


def run(reg: dict[str, Any], *args: str) -> Any:
    reg["before"] = reg["db"].snapshot()
    reg["result"] = reg["cli"](*args)
    return reg["result"]


def must(r: Any) -> str:
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return str(r.stdout)


@given(parsers.parse('the reviewer "{reviewer}", the evaluator "{evaluator}", the approver "{approver}" and the '
                     'agency user "{staff}" of {agency}'))
def staff(reg: dict[str, Any], reviewer: str, evaluator: str, approver: str, staff: str, agency: str) -> None:
    cli = reg["cli"]
    for name, role, org in ((reviewer, "reviewer", "烟台市市场监管局"), (evaluator, "evaluator", "青岛华智第三方评价有限公司"),
                            (approver, "approver", "烟台市财政局"), (staff, "agency", CODES[agency])):
        must(cli("user", "add", name, "--role", role, "--affiliation", org, "--as", "admin"))


@given(parsers.re(AGENCY + r" has applied with (?P<n>\d+) full-time staff, a fixed office and independent liability"))
def applied(reg: dict[str, Any], agency: str, n: str) -> None:
    must(reg["cli"]("agency", "apply", CODES[agency], "--name", agency, "--office", "烟台市芝罘区南大街1号", "--staff", n,
                    "--independent-liability", "--as", "admin"))


def _prices(text: str) -> list[str]:
    """'咨询 at ¥3,000.00 and 申请 at ¥5,000.00' -> ['consulting=3000.00', ...] (an unknown name as given)."""
    out = []
    for part in text.split(" and "):
        name, _, amount = part.strip().partition(" at ")
        out.append(f"{SERVICES.get(name, name)}={fen_to_yuan_str(parse_yuan(amount))}")
    return out


def _accredit(reg: dict[str, Any], reviewer: str, agency: str, services: str) -> Any:
    args = [a for s in _prices(services) for a in ("--service", s)]
    return run(reg, "agency", "accredit", CODES[agency], *args, "--as", reviewer)


@given(parsers.re(AGENCY + r" is accredited for (?P<services>.+)$"))
def accredited(reg: dict[str, Any], agency: str, services: str) -> None:
    must(_accredit(reg, "li", agency, services))


@when(parsers.re(r'the reviewer "(?P<reviewer>[^"]+)" accredits ' + AGENCY + r" for (?P<services>.+)$"))
def accredits(reg: dict[str, Any], reviewer: str, agency: str, services: str) -> None:
    _accredit(reg, reviewer, agency, services)


@given(parsers.re(r"(?P<n>\d+) complaints against " + AGENCY + r" were received in 2021"))
def complaints(reg: dict[str, Any], n: str, agency: str) -> None:
    for i in range(int(n)):
        must(reg["cli"]("agency", "complaint", CODES[agency], "--summary", f"服务拖延 {i + 1}", "--complainant",
                        "烟台某科技有限公司", "--received-on", "2021-02-0" + str(i + 1), "--as", "li"))


@given(parsers.re(r'the evaluator "(?P<who>[^"]+)" found (?P<n>\d+) spot checks of ' + AGENCY + r" failed in 2021"))
def failed_checks(reg: dict[str, Any], who: str, n: str, agency: str) -> None:
    for _ in range(int(n)):
        must(reg["cli"]("agency", "spot-check", CODES[agency], "--result", "fail", "--finding", "交付材料缺失",
                        "--as", who))


@given(parsers.re(r'the evaluator "(?P<who>[^"]+)" graded services of ' + AGENCY + r" (?P<grades>[\d. and]+) in 2021"))
def graded(reg: dict[str, Any], who: str, agency: str, grades: str) -> None:
    for g in grades.split(" and "):
        must(reg["cli"]("agency", "spot-check", CODES[agency], "--result", "pass", "--finding", "服务评价",
                        "--grade", g, "--as", who))


@given(parsers.re(r'the evaluator "(?P<who>[^"]+)" found fraud in a spot check of ' + AGENCY + r" in 2021"))
def fraud(reg: dict[str, Any], who: str, agency: str) -> None:
    must(reg["cli"]("agency", "spot-check", CODES[agency], "--result", "fraud", "--finding", "伪造服务合同",
                    "--as", who))


@given(parsers.re(r'the reviewer "(?P<who>[^"]+)" works for ' + AGENCY))
def works_for(reg: dict[str, Any], who: str, agency: str) -> None:
    must(reg["cli"]("user", "add", who, "--role", "reviewer", "--affiliation", CODES[agency], "--as", "admin"))


@when("the yearly monitoring of 2021 runs")
def monitoring(reg: dict[str, Any]) -> None:
    must(run(reg, "agency", "monitor", "--year", "2021", "--as", "admin"))


@when(parsers.re(r'the reviewer "(?P<who>[^"]+)" suspends ' + AGENCY + r' because "(?P<why>[^"]+)"'))
def suspends(reg: dict[str, Any], who: str, agency: str, why: str) -> None:
    run(reg, "agency", "suspend", CODES[agency], "--reason", why, "--as", who)


@when(parsers.parse('the approver "{who}" decides the 2021 reward in January 2022'))
def decides_reward(reg: dict[str, Any], who: str) -> None:
    set_clock("2022-01-05T01:00:00Z")
    reg["report"] = json.loads(must(run(reg, "agency", "reward", "--year", "2021", "--json", "--as", who)))


@then(parsers.re(AGENCY + r" is (?P<state>applied|accredited|warned|suspended|expelled|withdrawn)$"))
def is_state(reg: dict[str, Any], agency: str, state: str) -> None:
    shown = json.loads(must(reg["cli"]("agency", "show", CODES[agency], "--json")))
    assert shown["state"] == state, shown["events"]


@then(parsers.re(AGENCY + r" is on the public list for (?P<service>\S+) at (?P<price>¥[\d,.]+)"))
def on_list(reg: dict[str, Any], agency: str, service: str, price: str) -> None:
    rows = json.loads(must(reg["cli"]("agency", "list", "--service", SERVICES[service], "--json")))
    assert [(r["name"], format_yuan(r["services"][SERVICES[service]])) for r in rows] == [(agency, price)]


def _told(reg: dict[str, Any], agency: str) -> list[dict[str, Any]]:
    return list(json.loads(must(reg["cli"]("notify", "list", "--to", CODES[agency], "--json", "--as", "admin"))))


@then(parsers.re(AGENCY + r' is told "(?P<subject>[^"]+)"'))
def told(reg: dict[str, Any], agency: str, subject: str) -> None:
    assert _told(reg, agency)[-1]["subject"] == subject


@then(parsers.re(AGENCY + r" is told its open vouchers are (?P<fate>void|returned to their holders)"))
def told_vouchers(reg: dict[str, Any], agency: str, fate: str) -> None:
    assert f"Open custody vouchers contracted with the agency are {fate}." in _told(reg, agency)[-1]["body"]


@then(parsers.parse("the public list of that day has no agency for {service}"))
def list_empty(reg: dict[str, Any], service: str) -> None:
    assert reg["result"].exit_code == 0, reg["result"].stderr
    assert json.loads(must(reg["cli"]("agency", "list", "--on", "2021-03-01", "--service", SERVICES[service],
                                      "--json"))) == []


@then(parsers.re(r'the request is refused with "(?P<text>.+)" and nothing is written$'))
def refused(reg: dict[str, Any], text: str) -> None:
    r = reg["result"]
    assert r.exit_code == 1 and "Traceback" not in r.stderr, (r.stdout, r.stderr)
    assert text in flat(r.stderr), r.stderr
    assert reg["db"].snapshot() == reg["before"]


@then(parsers.re(AGENCY + r" is rewarded (?P<amount>¥[\d,.]+)"))
def rewarded(reg: dict[str, Any], agency: str, amount: str) -> None:
    report = reg["report"]
    assert report["winner"] == CODES[agency] and format_yuan(report["amount_fen"]) == amount
    assert report["ranked"][0]["name"] == agency and len(report["ranked"]) == 2
    assert re.search(r"rewarded ¥", _told(reg, agency)[-1]["body"])
