"""Step definitions for features/pledge_subsidy_claims.feature: interest-subsidy claims (贴息, 二(三)7) through the
CLI, the engine's system steps by advance_plain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from models.uow import read_only
from rules.money import fen_to_yuan_str, format_yuan, parse_yuan
from tests.conftest import Db
from tests.loan_support import BANK_A, BANK_B, SME1, SME2, SME3, ok, refused
from tests.subsidy_support import (
    SCHEME,
    USER_OF,
    advance,
    interest,
    pay_all,
    register,
    set_clock,
    setup_claims,
    small_line_plan,
)

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("pledge_subsidy_claims.feature", features_base_dir=str(FEATURES))

SMES = {"烟台海拓机械有限公司": SME1, "莱山云帆软件有限公司": SME2, "福山鲁东食品有限公司": SME3}
BANKS = {"中国银行烟台分行": (BANK_A, "zhao"), "烟台农村商业银行": (BANK_B, "qian")}


def fen(text: str) -> int:
    return parse_yuan(text.lstrip("¥"))


@pytest.fixture
def w(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": cli, "db": db, "tmp": tmp_path, "receipts": {}, "claims": [], "ready": False, "before": None,
            "result": None}


def ready(w: dict[str, Any], plan: Path | None = None) -> None:
    if not w["ready"]:
        setup_claims(w["cli"], w["tmp"], plan)
        w["ready"] = True


@given("the banks, the SMEs 烟台海拓机械有限公司, 莱山云帆软件有限公司 and 福山鲁东食品有限公司, and the 2021 budget plan")
def background(w: dict[str, Any]) -> None:
    """Set up lazily: a scenario may first replace the plan (the line's size)."""


@given(parsers.parse("the pledge-interest-subsidy line of the 2021 plan holds {line}"))
def line_holds(w: dict[str, Any], line: str) -> None:
    ready(w, small_line_plan(w["tmp"], line.lstrip("¥")))


@given(parsers.re(r"(?P<bank>\S+) lent (?P<sme>\S+) (?P<principal>¥[\d,.]+) at (?P<rate>[\d.]+) % as (?P<ref>\S+) "
                  r"from (?P<start>\S+) to (?P<end>\S+?)(?: with a (?P<share>\d+) % IP share)?$"))
def lent(w: dict[str, Any], bank: str, sme: str, principal: str, rate: str, ref: str, start: str, end: str,
         share: str | None) -> None:
    ready(w)
    extra = {"ip_share": f"{share}%"} if share else {}
    register(w["cli"], ref, BANKS[bank][1], borrower=SMES[sme], principal=principal.lstrip("¥"), rate=f"{rate}%",
             drawdown=start, maturity=end, pledge_date=start, **extra)


@given(parsers.parse("{ref} was extended to {day}"))
def extended(w: dict[str, Any], ref: str, day: str) -> None:
    ok(w["cli"]("loan", "extend", ref, "--to", day, "--as", "zhao"))


@given(parsers.re(r"(?P<kind>overdue )?interest of (?P<amount>¥[\d,.]+) was paid on (?P<ref>\S+) for (?P<start>\S+) "
                  r"to (?P<end>\S+)$"))
def paid(w: dict[str, Any], kind: str | None, amount: str, ref: str, start: str, end: str) -> None:
    n = w["receipts"][ref] = w["receipts"].get(ref, 0) + 1
    interest(w["cli"], ref, f"R-{ref}-{n}", start, end, amount.lstrip("¥"), kind="overdue" if kind else "normal")


def _claim(w: dict[str, Any], sme: str, ref: str, start: str, end: str, day: str, extra: list[str]) -> Any:
    set_clock(f"{day}T01:00:00Z")
    w["before"] = w["db"].snapshot()
    w["result"] = w["cli"]("subsidy", "claim", ref, "--bank", BANK_A, "--from", start, "--to", end, *extra,
                           "--as", USER_OF[SMES[sme]])
    return w["result"]


@when(parsers.re(r"(?P<sme>\S+) claims on (?P<ref>\S+) for (?P<start>\S+) to (?P<end>\S+) on (?P<day>\S+)$"))
def claims(w: dict[str, Any], sme: str, ref: str, start: str, end: str, day: str) -> None:
    r = _claim(w, sme, ref, start, end, day, [])
    if r.exit_code == 0:
        w["claims"].append(r.stdout.split()[1])


@when(parsers.re(r"(?P<sme>\S+) claims on (?P<ref>\S+) for (?P<start>\S+) to (?P<end>\S+) with the field "
                 r"(?P<extra>\S+) on (?P<day>\S+)$"))
def claims_with(w: dict[str, Any], sme: str, ref: str, start: str, end: str, extra: str, day: str) -> None:
    _claim(w, sme, ref, start, end, day, ["-f", extra])


@when(parsers.re(r"(?P<bank>\S+) files on (?P<ref>\S+) for (?P<start>\S+) to (?P<end>\S+) on (?P<day>\S+)$"))
def bank_files(w: dict[str, Any], bank: str, ref: str, start: str, end: str, day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    w["before"] = w["db"].snapshot()
    r = w["result"] = w["cli"]("subsidy", "claim", ref, "--bank", BANK_A, "--from", start, "--to", end,
                               "--for-borrower", "--as", BANKS[bank][1])
    if r.exit_code == 0:
        w["claims"].append(r.stdout.split()[1])


@then(parsers.parse("the claim is {sme}'s, submitted by the bank's staff"))
def filed_by_bank(w: dict[str, Any], sme: str) -> None:
    c = case(w, w["claims"][-1])
    assert c["applicant"]["uscc"] == SMES[sme], c["applicant"]
    assert w["db"].scalar("SELECT submitted_by FROM application WHERE ref = :r", r=w["claims"][-1]) == "zhao"


@when("the intake runs")
def intake() -> None:
    advance()


def case(w: dict[str, Any], ref: str) -> dict[str, Any]:
    return dict(json.loads(ok(w["cli"]("application", "show", ref, "--json", "--as", "admin"))))


def computed(w: dict[str, Any], ref: str) -> dict[str, Any]:
    from flows.services.dossier.case import case_data

    with read_only(w["db"].engine) as s:
        checks = case_data(s, ref)["checks"]
    return next(c for c in checks if c["check"] == "interest_subsidy")


@then(parsers.parse("the claim is in {status} with a subsidy of {amount} bound by {bound}"))
def in_status(w: dict[str, Any], status: str, amount: str, bound: str) -> None:
    ref = w["claims"][-1]
    assert case(w, ref)["status"] == status
    c = computed(w, ref)
    assert c["passed"] and c["trace"][-1]["value"] == format_yuan(fen(amount)), c
    assert c["trace"][-1]["reference"] == f"bound by {bound}", c["trace"][-1]


@then(parsers.parse('its dossier shows the step "{what}" at "{value}"'))
def dossier_step(w: dict[str, Any], what: str, value: str) -> None:
    trace = computed(w, w["claims"][-1])["trace"]
    assert any(st["what"].startswith(what) and st["value"] == value for st in trace), trace


@then(parsers.parse('its dossier shows the step "{what}" at "{value}" with parameter {param}'))
def dossier_param(w: dict[str, Any], what: str, value: str, param: str) -> None:
    trace = computed(w, w["claims"][-1])["trace"]
    assert any(st["what"] == what and st["value"] == value and st["parameter"] == param and st["in_force"]
               for st in trace), trace


@when("the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends")
def through_round(w: dict[str, Any]) -> None:
    for ref in w["claims"]:
        ok(w["cli"]("review", "decide", ref, "--approve", "--reason", "材料齐全", "--as", "li"))
    set_clock("2021-08-01T01:00:00Z")
    ok(w["cli"]("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    set_clock("2021-08-20T01:00:00Z")
    advance()


@when("finance pays the subsidies")
def finance_pays(w: dict[str, Any]) -> None:
    pay_all(w["cli"], w["tmp"])


@then(parsers.parse("the claim is paid {amount} to {sme}"))
def paid_to(w: dict[str, Any], amount: str, sme: str) -> None:
    c = case(w, w["claims"][-1])
    assert c["status"] == "paid" and c["award_fen"] == fen(amount), c
    payee = w["db"].scalar("SELECT payee FROM payment WHERE application_id = (SELECT id FROM application WHERE ref = "
                           ":r)", r=w["claims"][-1])
    assert payee == SMES[sme] or sme in str(payee), payee


@then("ipfund check passes")
def check_passes(w: dict[str, Any]) -> None:
    checks = json.loads(ok(w["cli"]("check", "--json")))
    assert checks["ok"], [c for c in checks["checks"] if not c["ok"]]


@then(parsers.re(r"the claim is rejected by (?P<check>\w+)(?:, naming \"(?P<text>.+)\")?$"))
def rejected_by(w: dict[str, Any], check: str, text: str | None) -> None:
    c = case(w, w["claims"][-1])
    assert c["status"] == "rejected", c
    assert c["outcome_reason"].startswith(f"{check}:"), c["outcome_reason"]
    assert text is None or text in c["outcome_reason"], c["outcome_reason"]


@then(parsers.parse("the first claim is in {status} and the second is rejected by {check}"))
def first_and_second(w: dict[str, Any], status: str, check: str) -> None:
    first, second = (case(w, r) for r in w["claims"])
    assert first["status"] == status, first
    assert second["status"] == "rejected" and second["outcome_reason"].startswith(f"{check}:"), second


@then(parsers.parse("the claims are awarded {first} and {second}, {total} in all"))
def awarded(w: dict[str, Any], first: str, second: str, total: str) -> None:
    got = [case(w, r)["award_fen"] for r in w["claims"]]
    assert got == [fen(first), fen(second)], [fen_to_yuan_str(g) for g in got]
    assert sum(got) == fen(total)


@then(parsers.parse('the claim is refused naming "{field}" and nothing is written'))
def refused_naming(w: dict[str, Any], field: str) -> None:
    assert field in refused(w["result"])
    assert w["db"].snapshot() == w["before"]
