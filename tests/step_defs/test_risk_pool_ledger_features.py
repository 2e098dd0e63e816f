"""Step definitions for features/risk_pool_ledger.feature: the risk-compensation pool on the ledger, driven
through the CLI (`ipfund pool ...`), the database compared by content where nothing may be written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import parse_yuan
from tests.conftest import Db
from tests.loan_support import BANK_A, BANK_B, loan_args, ok, refused, setup_registry

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("risk_pool_ledger.feature", features_base_dir=str(FEATURES))

BANKS = {"中国银行烟台分行": (BANK_A, "zhao"), "烟台农村商业银行": (BANK_B, "qian")}
BOUND = {"share": "share", "cap": "cap", "balance": "balance"}


@pytest.fixture
def w(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": cli, "db": db, "tmp": tmp_path, "result": None, "before": None, "claims": {}, "staff": {}}


def run(w: dict[str, Any], *args: str) -> Any:
    w["before"] = w["db"].snapshot()
    w["result"] = w["cli"](*args)
    return w["result"]


def pool_json(w: dict[str, Any]) -> dict[str, Any]:
    return json.loads(ok(w["cli"]("pool", "status", "--json", "--as", "li")))


@given("the banks, the finance officer zhou and the reviewer li")
def banks(w: dict[str, Any]) -> None:
    setup_registry(w["cli"], w["tmp"])
    ok(w["cli"]("user", "add", "zhou", "--role", "finance", "--affiliation", "烟台市财政局", "--as", "admin"))


@given(parsers.parse("the pool holds {amount} from municipal funds"))
def funded(w: dict[str, Any], amount: str) -> None:
    ok(w["cli"]("pool", "contribute", "municipal", f"--amount={amount}", "--ref", "SZ-2021-001", "--on", "2021-01-05",
                "--as", "zhou"))


@given(parsers.parse("the pool holds a further {amount} from central funds"))
def funded_more(w: dict[str, Any], amount: str) -> None:
    ok(w["cli"]("pool", "contribute", "central", f"--amount={amount}", "--ref", "ZY-2021-001", "--on", "2021-01-06",
                "--as", "zhou"))


@given(parsers.parse("{bank} registered loan {ref} of {amount}"))
def registered(w: dict[str, Any], bank: str, ref: str, amount: str) -> None:
    _code, staff = BANKS[bank]
    w["staff"][ref] = staff
    ok(w["cli"](*loan_args(ref, principal=amount), "--as", staff))


@given(parsers.parse("loan {ref} is filed into the pool on {day}"))
def filed(w: dict[str, Any], ref: str, day: str) -> None:
    ok(w["cli"]("pool", "file", ref, "--on", day, "--as", w["staff"][ref]))


@given(parsers.parse("loans {a}, {b} and {c} are filed into the pool on {day}"))
def filed_three(w: dict[str, Any], a: str, b: str, c: str, day: str) -> None:
    for ref in (a, b, c):
        filed(w, ref, day)


@given(parsers.parse('zhao revokes the filing of {ref} on {day}: "{reason}"'))
def revoked(w: dict[str, Any], ref: str, day: str, reason: str) -> None:
    ok(w["cli"]("pool", "revoke", ref, "--on", day, "--reason", reason, "--as", "zhao"))


@when(parsers.parse("{who} claims on loan {ref}, defaulted {default}, on {day}"))
def claims(w: dict[str, Any], who: str, ref: str, default: str, day: str) -> None:
    r = run(w, "pool", "claim", ref, "--defaulted", default, "--on", day, "--json", "--as", who)
    if r.exit_code == 0:
        w["claims"][ref] = json.loads(r.stdout)["claim"]


@given(parsers.parse("{who} claimed on loan {ref}, defaulted {default}, on {day}"))
def claimed(w: dict[str, Any], who: str, ref: str, default: str, day: str) -> None:
    claims(w, who, ref, default, day)
    ok(w["result"])


@when(parsers.parse("li approves the claim on {ref} and zhou pays it"))
def approve_and_pay(w: dict[str, Any], ref: str) -> None:
    ok(w["cli"]("pool", "decide", w["claims"][ref], "approve", "--as", "li"))
    run(w, "pool", "pay", w["claims"][ref], "--json", "--as", "zhou")


@when(parsers.parse("zhou settles the claim on {ref} with {amount} recovered"))
def settles(w: dict[str, Any], ref: str, amount: str) -> None:
    ok(w["result"])
    run(w, "pool", "settle", w["claims"][ref], "--recovered", amount, "--receipt", f"CZ-{ref}", "--json",
        "--as", "zhou")


@when(parsers.parse("zhou decides the claim on {ref}"))
def finance_decides(w: dict[str, Any], ref: str) -> None:
    run(w, "pool", "decide", w["claims"][ref], "approve", "--as", "zhou")


@when(parsers.parse("{who} files loan {ref} of {bank} on {day}"))
def files_other(w: dict[str, Any], who: str, ref: str, bank: str, day: str) -> None:
    run(w, "pool", "file", ref, "--bank", BANKS[bank][0], "--on", day, "--as", who)


@when(parsers.parse("zhao files loan {ref} on {day}"))
def files(w: dict[str, Any], ref: str, day: str) -> None:
    run(w, "pool", "file", ref, "--on", day, "--as", "zhao")


@when(parsers.parse("zhou contributes {amount} from {source}"))
def contributes(w: dict[str, Any], amount: str, source: str) -> None:
    run(w, "pool", "contribute", source, f"--amount={amount}", "--ref", "SZ-2021-099", "--as", "zhou")


@then(parsers.parse("the pool pays {amount}, bound by {bound}"))
def pays(w: dict[str, Any], amount: str, bound: str) -> None:
    out = json.loads(ok(w["result"]))
    assert (out["paid_fen"], out["bound"]) == (parse_yuan(amount), BOUND[bound]), out


@then(parsers.parse("the pool holds {amount}"))
def holds(w: dict[str, Any], amount: str) -> None:
    status = pool_json(w)
    assert status["balance_fen"] == parse_yuan(amount), status
    assert w["db"].scalar("SELECT balance_fen FROM account WHERE year = 0 AND name = 'pool:balance'") \
        == parse_yuan(amount)


@then(parsers.parse('the pool refuses: "{text}"'))
def pool_refuses(w: dict[str, Any], text: str) -> None:
    assert text in refused(w["result"]), w["result"].stderr


@then("nothing was written")
def unchanged(w: dict[str, Any]) -> None:
    assert w["db"].snapshot() == w["before"]


@then(parsers.parse("the claim is recorded with a loss of {amount}"))
def recorded(w: dict[str, Any], amount: str) -> None:
    out = json.loads(ok(w["result"]))
    assert out["loss_fen"] == parse_yuan(amount) and out["status"] == "claimed", out


@then(parsers.parse("the claim is {outcome}"))
def claim_outcome(w: dict[str, Any], outcome: str) -> None:
    if outcome.startswith("refused: "):
        pool_refuses(w, outcome.removeprefix("refused: ").strip('"'))
        unchanged(w)
    else:
        recorded(w, outcome.removeprefix("recorded with a loss of "))


@then(parsers.parse("the recovery returns {amount} to the pool"))
def recovery(w: dict[str, Any], amount: str) -> None:
    out = json.loads(ok(w["result"]))
    assert out["pool_recovered_fen"] == parse_yuan(amount), out


@then(parsers.parse("the filing is {outcome}"))
def filing_outcome(w: dict[str, Any], outcome: str) -> None:
    if outcome.startswith("refused: "):
        pool_refuses(w, outcome.removeprefix("refused: ").strip('"'))
        unchanged(w)
    else:
        assert outcome == "accepted"
        ok(w["result"])


@then("ipfund check passes")
def check_passes(w: dict[str, Any]) -> None:
    r = w["cli"]("check", "--json")
    report = json.loads(r.stdout)
    assert r.exit_code == 0 and report["ok"], [c for c in report["checks"] if not c["ok"]]
