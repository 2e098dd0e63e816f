"""Step definitions for features/ledger.feature: the ledger through models.ledger.post, the entry builders
of rules.funds and flows.services.budget, and raw SQL that goes around all of them on purpose."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select

from flows.services import budget
from models import ledger
from models.tables import Posting, Receipt
from models.uow import unit_of_work
from rules import errors
from rules.funds import allocation_entries, line_account, move_entries, receipt_entries
from rules.money import parse_yuan
from tests.conftest import EXAMPLES, FEATURES

scenarios("ledger.feature", features_base_dir=str(FEATURES))

YEAR = 2021

# bucket moves, as in rules.funds.move_entries: (from, to)
MOVES = {
    "committed": ("available", "committed"),
    "paid": ("committed", "paid"),
    "released": ("committed", "available"),
}


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {"postings": []}


def _dump(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the ledger and the audit chain write: finer than db.snapshot()'s counts."""
    out = {}
    with db.engine.connect() as conn:
        for table, order in (("account", "id"), ("posting", "id"), ("posting_entry", "id"),
                             ("receipt", "id"), ("budget_adjustment", "id"), ("audit_event", "seq")):
            out[table] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
    return out


def _remember_state(ctx: dict[str, Any], db: Any) -> None:
    ctx["before"] = db.snapshot()
    ctx["before_rows"] = _dump(db)


def _post(ctx: dict[str, Any], db: Any, kind: str, entries: list[tuple[str, int]], subject: str,
          reverses_id: int | None = None) -> None:
    """One posting in its own unit of work; a refusal is kept for the Then steps (and rolled back)."""
    _remember_state(ctx, db)
    try:
        with unit_of_work(db.engine) as s:
            p = ledger.post(s, year=YEAR, kind=kind, memo=f"test {kind}", actor="admin", entries=entries,
                            subject=subject, reverses_id=reverses_id)
            ctx["postings"].append((kind, p.id))
    except errors.LedgerViolation as exc:
        ctx["error"] = exc


@given("the sample 2021 plan is loaded")
def sample_plan(db: Any, ctx: dict[str, Any]) -> None:
    raw = tomllib.loads((EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8"))
    with unit_of_work(db.engine) as s:
        budget.load_plan(s, "admin", raw, "plan-2021.toml")
    ctx["plan_rows"] = _dump(db)


@when(parsers.parse("a further receipt of ¥{amount} of {source} funds arrives"))
def receipt(ctx: dict[str, Any], db: Any, amount: str, source: str) -> None:
    fen = parse_yuan(amount)
    with unit_of_work(db.engine) as s:
        p = ledger.post(s, year=YEAR, kind="receipt", memo="追加下达", actor="admin",
                        entries=receipt_entries(source, fen), subject=f"year:{YEAR}")
        assert p.id is not None
        s.add(Receipt(year=YEAR, source=source, amount_fen=fen, reference="追加下达", posting_id=p.id))


@when(parsers.parse('¥{amount} of {source} funds are allocated to the line "{line}"'))
def allocate(ctx: dict[str, Any], db: Any, amount: str, source: str, line: str) -> None:
    _post(ctx, db, "allocation", allocation_entries(line, source, parse_yuan(amount)), f"line:{YEAR}:{line}")


@when(parsers.parse('¥{amount} of {source} funds on the line "{line}" are {action}'))
def move(ctx: dict[str, Any], db: Any, amount: str, source: str, line: str, action: str) -> None:
    src, dst = MOVES[action]
    _post(ctx, db, action, move_entries(line, source, src, dst, parse_yuan(amount)), f"line:{YEAR}:{line}")


@when("the payment is reversed")
def reverse(ctx: dict[str, Any], db: Any) -> None:
    pay_id = next(pid for kind, pid in reversed(ctx["postings"]) if kind == "paid")
    with db.session() as s:
        entries = ledger.posting_entries(s, pay_id)
    # The reversal is the payment's entries with their signs flipped: paid -> committed.
    _post(ctx, db, "reversal", [(acc, -amt) for acc, amt in entries], f"line:{YEAR}:certification-award",
          reverses_id=pay_id)
    ctx["payment_id"] = pay_id
    ctx["payment_entries"] = entries


@when(parsers.parse("a posting moves +¥{into} into committed but only -¥{out} out of available "
                    'on the line "{line}"'))
def unbalanced(ctx: dict[str, Any], db: Any, into: str, out: str, line: str) -> None:
    entries = [(line_account(line, "central", "committed"), parse_yuan(into)),
               (line_account(line, "central", "available"), -parse_yuan(out))]
    _post(ctx, db, "commit", entries, f"line:{YEAR}:{line}")


@when(parsers.parse('the approver "{name}" gives back ¥{amount} of {source} funds from the line "{line}"'))
def give_back(ctx: dict[str, Any], db: Any, name: str, amount: str, source: str, line: str) -> None:
    _remember_state(ctx, db)
    try:
        with unit_of_work(db.engine) as s:
            budget.adjust_line(s, name, YEAR, line, source, f"-{amount}", "项目结余退回")
    except errors.RuleViolation as exc:
        ctx["error"] = exc


@when(parsers.parse('someone with database access sets the balance of "{account}" to {fen:d} fen'))
def raw_balance(ctx: dict[str, Any], db: Any, account: str, fen: int) -> None:
    _remember_state(ctx, db)
    try:
        with db.engine.begin() as conn:
            n = conn.execute(text("UPDATE account SET balance_fen = :b WHERE name = :n AND year = :y"),
                             {"b": fen, "n": account, "y": YEAR}).rowcount
            assert n == 1, f"scenario: no account {account}"
    except DBAPIError as exc:
        ctx["db_error"] = exc


@when(parsers.parse('someone with database access runs "{sql}"'))
def raw_sql(ctx: dict[str, Any], db: Any, sql: str) -> None:
    _remember_state(ctx, db)
    try:
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    except DBAPIError as exc:
        ctx["db_error"] = exc


# --- Then ----------------------------------------------------------------------------------------

@then(parsers.parse('the line "{line}" shows {source} funds allocated ¥{allocated}, available ¥{available}, '
                    "committed ¥{committed} and paid ¥{paid}"))
def line_shows(ctx: dict[str, Any], db: Any, line: str, source: str, allocated: str, available: str,
               committed: str, paid: str) -> None:
    assert "error" not in ctx, ctx.get("error")
    with db.session() as s:
        b = ledger.line_balances(s, YEAR)[line]
    got = {"allocated": b.allocated((source,)), "available": b.get(source, "available"),
           "committed": b.get(source, "committed"), "paid": b.get(source, "paid")}
    want = {"allocated": parse_yuan(allocated), "available": parse_yuan(available),
            "committed": parse_yuan(committed), "paid": parse_yuan(paid)}
    assert got == want


@then(parsers.parse("{source} funds show received ¥{received}, unallocated ¥{unallocated}, "
                    "allocated ¥{allocated}, committed ¥{committed} and paid ¥{paid}"))
def source_shows(ctx: dict[str, Any], db: Any, source: str, received: str, unallocated: str, allocated: str,
                 committed: str, paid: str) -> None:
    assert "error" not in ctx, ctx.get("error")
    with db.session() as s:
        row = ledger.source_balances(s, YEAR)[source]
    want = {"received": received, "unallocated": unallocated, "allocated": allocated, "committed": committed,
            "paid": paid}
    assert {k: row[k] for k in want} == {k: parse_yuan(v) for k, v in want.items()}
    # Conservation: what was received is either still unallocated or allocated to a line.
    assert row["received"] == row["unallocated"] + row["allocated"]
    assert row["allocated"] == row["available"] + row["committed"] + row["paid"]


@then(parsers.parse('the posting is refused as {name} naming "{fragment}"'))
def refused(ctx: dict[str, Any], name: str, fragment: str) -> None:
    exc = ctx.get("error")
    assert exc is not None, "the posting was accepted"
    assert type(exc) is getattr(errors, name), type(exc)
    assert fragment in str(exc), str(exc)


@then("nothing is written to the database")
def unchanged(ctx: dict[str, Any], db: Any) -> None:
    assert db.snapshot() == ctx["before"]
    assert _dump(db) == ctx["before_rows"]


@then(parsers.parse("the ledger holds {n:d} new postings and the earlier ones are unchanged"))
def new_postings(ctx: dict[str, Any], db: Any, n: int) -> None:
    now = _dump(db)
    before = ctx["plan_rows"]
    assert len(now["posting"]) == len(before["posting"]) + n
    # Append-only: every row the plan wrote is still there, byte for byte, in the same order.
    assert now["posting"][: len(before["posting"])] == before["posting"]
    assert now["posting_entry"][: len(before["posting_entry"])] == before["posting_entry"]


@then("the reversal points at the payment, which still stands with its entries")
def reversal_points(ctx: dict[str, Any], db: Any) -> None:
    assert "error" not in ctx, ctx.get("error")
    kind, rev_id = ctx["postings"][-1]
    assert kind == "reversal"
    with db.session() as s:
        rev = s.get(Posting, rev_id)
        assert rev is not None and rev.reverses_id == ctx["payment_id"]
        assert ledger.posting_entries(s, ctx["payment_id"]) == ctx["payment_entries"]
        kinds = [p.kind for p in s.exec(select(Posting).where(Posting.year == YEAR)).all()]
    assert kinds[-3:] == ["committed", "paid", "reversal"]


@then(parsers.parse('the database refuses it as an integrity error naming "{fragment}"'))
def db_integrity(ctx: dict[str, Any], fragment: str) -> None:
    exc = ctx.get("db_error")
    assert isinstance(exc, IntegrityError), repr(exc)
    assert fragment in str(exc.orig), str(exc.orig)


@then(parsers.parse('the database refuses it naming "{fragment}"'))
def db_refused(ctx: dict[str, Any], db: Any, fragment: str) -> None:
    exc = ctx.get("db_error")
    assert exc is not None, "the database accepted the statement"
    if db.engine.dialect.name == "sqlite":
        # RAISE(ABORT, ...) in a SQLite trigger surfaces as an integrity error.
        assert isinstance(exc, IntegrityError), repr(exc)
    assert fragment in str(exc.orig), str(exc.orig)
