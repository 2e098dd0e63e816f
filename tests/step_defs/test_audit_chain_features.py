"""Step definitions for features/audit_chain.feature.

Tampering is done the way Certificate Transparency tests its logs: drop the database's append-only
guard with raw SQL (someone with DBA rights), change exactly one byte of one field of one row, commit,
and expect the verifier to name that row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text

from flows.services.users import create_user
from rules.money import parse_yuan
from tests.conftest import EXAMPLES, FEATURES

scenarios("audit_chain.feature", features_base_dir=str(FEATURES))

PLAN = str(EXAMPLES / "plan-2021.toml")


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


def one_byte_changed(value: str) -> str:
    """The same text with exactly one byte of its UTF-8 changed: the first ASCII digit goes up by one
    (9 -> 0), or if there is none, the first ASCII letter moves to the next letter (z -> a)."""
    for i, ch in enumerate(value):
        if ch.isascii() and ch.isdigit():
            return value[:i] + str((int(ch) + 1) % 10) + value[i + 1:]
    for i, ch in enumerate(value):
        if ch.isascii() and ch.isalpha():
            base = ord("a") if ch.islower() else ord("A")
            return value[:i] + chr(base + (ord(ch) - base + 1) % 26) + value[i + 1:]
    raise AssertionError(f"scenario: no ASCII byte to change in {value!r}")


def test_one_byte_changed_changes_exactly_one_byte() -> None:
    for value in ('{"amount_fen":5000000000,"reference":"中央资金"}', "admin", "2021-01-05T08:00:00.000000Z",
                  "user.add", "year:2021", "zz9"):
        a, b = value.encode("utf-8"), one_byte_changed(value).encode("utf-8")
        assert len(a) == len(b)
        assert sum(x != y for x, y in zip(a, b, strict=True)) == 1


@given(parsers.parse('the finance officer "{name}" has loaded the sample 2021 plan'))
def plan_loaded(cli: Any, db: Any, name: str) -> None:
    with db.session() as s:
        create_user(s, "admin", name, ["finance"])
        s.commit()
    r = cli("budget", "plan", PLAN, "--as", name)
    assert r.exit_code == 0, r.stderr


@given("someone with DBA rights has dropped the append-only trigger of the audit log")
def drop_guard(db: Any) -> None:
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))


@when(parsers.parse('"{name}" tries to load the sample 2021 plan a second time'))
def load_again(ctx: dict[str, Any], cli: Any, name: str) -> None:
    ctx["result"] = cli("budget", "plan", PLAN, "--as", name)


@when(parsers.parse('the auditor runs "ipfund audit verify"'))
def run_verify(ctx: dict[str, Any], cli: Any) -> None:
    ctx["result"] = cli("audit", "verify", "--json")


@when(parsers.parse('the auditor lists the log of subject "{subject}" as JSON'))
def list_subject(ctx: dict[str, Any], cli: Any, subject: str) -> None:
    ctx["result"] = cli("audit", "log", "--json", "--subject", subject)


@when(parsers.parse("they change one byte of the {field} of entry #{seq:d} and commit"))
def tamper(db: Any, field: str, seq: int) -> None:
    assert field in ("payload", "actor", "at", "action", "subject"), field  # never interpolate other text
    with db.engine.begin() as conn:
        old = conn.execute(text(f"SELECT {field} FROM audit_event WHERE seq = :s"), {"s": seq}).scalar_one()
        new = one_byte_changed(old)
        sql = text(f"UPDATE audit_event SET {field} = :v WHERE seq = :s")
        assert conn.execute(sql, {"v": new, "s": seq}).rowcount == 1
    assert db.scalar(f"SELECT {field} FROM audit_event WHERE seq = :s", s=seq) == new  # really committed


@when(parsers.parse("they delete entry #{seq:d} and commit"))
def delete_entry(db: Any, seq: int) -> None:
    with db.engine.begin() as conn:
        assert conn.execute(text("DELETE FROM audit_event WHERE seq = :s"), {"s": seq}).rowcount == 1
    assert db.scalar("SELECT COUNT(*) FROM audit_event WHERE seq = :s", s=seq) == 0


@then("the audit log holds the events")
def log_holds(cli: Any, datatable: list[list[str]]) -> None:
    r = cli("audit", "log", "--json")
    assert r.exit_code == 0, r.stderr
    got = [[str(e["seq"]), e["actor"], e["action"], e["subject"]] for e in json.loads(r.stdout)]
    assert got == datatable[1:]


@then("the change is refused")
def change_refused(ctx: dict[str, Any]) -> None:
    r = ctx["result"]
    assert r.exit_code == 1, r.stdout
    assert "already has a plan" in r.stderr


@then(parsers.parse("the audit log still ends at entry #{seq:d}"))
def ends_at(cli: Any, db: Any, seq: int) -> None:
    assert db.scalar("SELECT MAX(seq) FROM audit_event") == seq
    assert cli("audit", "verify").exit_code == 0


@then(parsers.parse("the chain verifies with {n:d} events"))
def verifies(ctx: dict[str, Any], db: Any, n: int) -> None:
    r = ctx["result"]
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["events"] == n and out["head_seq"] == n
    assert out["head_hash"] == db.scalar("SELECT hash FROM audit_event WHERE seq = :s", s=n)
    assert out["first_bad_seq"] is None


@then(parsers.parse('it shows one budget.plan event by "{actor}" with central receipts of ¥{amount}'))
def plan_event(ctx: dict[str, Any], actor: str, amount: str) -> None:
    r = ctx["result"]
    assert r.exit_code == 0, r.stderr
    events = json.loads(r.stdout)
    assert [(e["action"], e["actor"], e["subject"]) for e in events] == [("budget.plan", actor, "year:2021")]
    receipts = events[0]["payload"]["receipts"]
    assert sum(x["amount_fen"] for x in receipts if x["source"] == "central") == parse_yuan(amount)
    import tomllib
    from pathlib import Path

    plan = tomllib.loads((Path(__file__).resolve().parents[2] / "examples" / "plan-2021.toml").read_text("utf-8"))
    assert [ln["code"] for ln in events[0]["payload"]["lines"]] == [ln["code"] for ln in plan["line"]]


@then(parsers.parse('"ipfund audit verify" fails naming entry #{seq:d} as "{problem}"'))
def verify_fails(cli: Any, seq: int, problem: str) -> None:
    r = cli("audit", "verify")
    assert r.exit_code == 1, r.stdout
    assert "Traceback" not in r.stderr
    err = " ".join(r.stderr.split())
    assert f"audit chain broken at entry #{seq}:" in err, err
    assert problem in err, err
    out = json.loads(cli("audit", "verify", "--json").stdout)
    assert (out["ok"], out["first_bad_seq"]) == (False, seq)


# --- signed checkpoints ---------------------------------------------------------------------------------

@given("the installation signs a checkpoint of the audit log after every change")
def signing(ctx: dict[str, Any], cli: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPFUND_AUDIT_KEY", str(tmp_path / "audit-key.pem"))
    monkeypatch.setenv("IPFUND_CHECKPOINTS", str(tmp_path / "checkpoints"))
    r = cli("audit", "keygen")
    assert r.exit_code == 0, r.stderr
    ctx["checkpoints"] = tmp_path / "checkpoints" / "checkpoints.jsonl"


@given(parsers.parse('the admin has added the reviewers "{a}", "{b}" and "{c}"'))
def add_reviewers(ctx: dict[str, Any], cli: Any, a: str, b: str, c: str) -> None:
    for name in (a, b, c):
        r = cli("user", "add", name, "--role", "reviewer", "--as", "admin")
        assert r.exit_code == 0, r.stderr
    assert len(ctx["checkpoints"].read_text().splitlines()) == 3  # one checkpoint per change


@when(parsers.parse("they delete the last {n:d} entries and commit"))
def delete_last(db: Any, n: int) -> None:
    top = db.scalar("SELECT MAX(seq) FROM audit_event")
    with db.engine.begin() as conn:
        assert conn.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": top - n}).rowcount == n


@when(parsers.parse('they make "{name}" an admin in entry #{seq:d} and recompute every later hash'))
def rewrite(db: Any, name: str, seq: int) -> None:
    from rules.audit_chain import event_hash

    with db.engine.begin() as conn:
        rows = conn.execute(text("SELECT seq, at, actor, action, subject, payload, prev_hash FROM audit_event "
                                 "WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()
        assert rows[0][4] == f"user:{name}" and '"reviewer"' in rows[0][5]
        prev = rows[0][6]
        for s, at, actor, action, subject, payload, _prev in rows:
            payload = payload.replace('"reviewer"', '"admin"') if s == seq else payload
            h = event_hash(prev, s, at, actor, action, subject, payload)
            conn.execute(text("UPDATE audit_event SET payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s"),
                         {"p": payload, "ph": prev, "h": h, "s": s})
            prev = h


@when("they replace the checkpoints with ones signed by a key of their own")
def forge(ctx: dict[str, Any], db: Any, tmp_path: Any) -> None:
    from models.checkpoints import _read_key, generate_key
    from rules.checkpoints import sign

    generate_key(tmp_path / "forger.pem")
    key = _read_key(tmp_path / "forger.pem", "private")
    assert key is not None
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, hash FROM audit_event WHERE seq >= 5 ORDER BY seq")).all()
    ctx["checkpoints"].write_text("".join(sign(key, s, h, "2021-12-31T00:00:00.000000Z").line() for s, h in rows))


@then(parsers.parse('"ipfund audit verify" fails naming checkpoint #{seq:d} as "{problem}"'))
def verify_fails_at_checkpoint(ctx: dict[str, Any], cli: Any, seq: int, problem: str) -> None:
    r = cli("audit", "verify")
    assert r.exit_code == 1, r.stdout
    assert "Traceback" not in r.stderr
    err = " ".join(r.stderr.split())
    assert f"checkpoint #{seq} at {ctx['checkpoints']}:" in err, err
    assert problem in err, err
    out = json.loads(cli("audit", "verify", "--json").stdout)
    assert out["ok"] is False and out["chain_ok"] is True  # the chain itself verifies: only a checkpoint sees it
    assert seq in [p["seq"] for p in out["checkpoints"]["problems"]]


@then(parsers.parse("checked without its checkpoints the {what} log still verifies"))
def control(cli: Any, tmp_path: Any, what: str) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    r = cli("audit", "verify", "--checkpoints", str(empty))
    assert r.exit_code == 0, r.stderr
    assert "cannot be detected without checkpoints" in " ".join(r.stdout.split())
