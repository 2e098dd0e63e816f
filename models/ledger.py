"""The fund ledger in the database: double-entry postings over per-year accounts.

A posting is appended with its entries; account balances are updated in the same transaction and
the database's CHECK refuses any line or source balance below zero. A correction is a new posting
(``reverses_id`` points at what it corrects), never an edit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from models import guards
from models.clock import stamp
from models.tables import Account, Posting, PostingEntry, Receipt
from rules.funds import BUCKETS, SOURCES, apply_entries, check_balanced


def post(session: Session, *, year: int, kind: str, memo: str, actor: str,
         entries: list[tuple[str, int]], subject: str | None = None, reverses_id: int | None = None,
         at: str | None = None) -> Posting:
    check_balanced(entries)
    names = sorted({a for a, _ in entries})
    _ensure_accounts(session, year, names)
    q = select(Account).where(Account.year == year, col(Account.name).in_(names)).order_by(col(Account.name))
    if guards.ENABLED and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    accounts = {a.name: a for a in session.exec(q).all()}
    new = apply_entries({n: a.balance_fen for n, a in accounts.items()}, entries)
    for name in names:
        accounts[name].balance_fen = new[name]
    p = Posting(year=year, kind=kind, memo=memo[:400], actor=actor, at=at or stamp(), subject=subject,
                reverses_id=reverses_id)
    session.add(p)
    session.flush()
    assert p.id is not None
    for name, amount in entries:
        acc_id = accounts[name].id
        assert acc_id is not None
        session.add(PostingEntry(posting_id=p.id, account_id=acc_id, amount_fen=amount))
    session.flush()
    return p


@dataclass(frozen=True)
class NewPosting:
    """One posting of :func:`post_many`: what :func:`post` takes."""

    year: int
    kind: str
    memo: str
    actor: str
    entries: list[tuple[str, int]]
    subject: str | None = None
    at: str | None = None


def post_many(session: Session, postings: list[NewPosting]) -> int:
    """:func:`post` for many postings at once (hot paths: a stage lapsing thousands of vouchers): each
    posting balanced and applied in order (no balance below zero after any of them, as if posted one by
    one), the accounts read once and updated once, the postings inserted in one batch and their entries
    in one prepared executemany. Returns how many were written."""
    from sqlalchemy import insert

    from models.bulk import CHUNK, insert_rows

    if not postings:
        return 0
    by_year: dict[int, set[str]] = defaultdict(set)
    for p in postings:
        check_balanced(p.entries)
        by_year[p.year].update(a for a, _ in p.entries)
    accounts: dict[tuple[int, str], Account] = {}
    for year, names in by_year.items():
        ordered = sorted(names)
        _ensure_accounts(session, year, ordered)
        q = select(Account).where(Account.year == year, col(Account.name).in_(ordered)).order_by(col(Account.name))
        if guards.ENABLED and session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        accounts.update({(year, a.name): a for a in session.exec(q).all()})
    balances = {k: a.balance_fen for k, a in accounts.items()}
    for p in postings:
        keys = {(p.year, a) for a, _ in p.entries}
        new = apply_entries({k[1]: balances[k] for k in keys}, p.entries)
        balances.update({(p.year, name): v for name, v in new.items()})
    for k, a in accounts.items():
        a.balance_fen = balances[k]
    default_at = stamp()
    session.flush()
    t = Posting.__table__  # type: ignore[attr-defined]
    returning = insert(t).returning(t.c.id, sort_by_parameter_order=True)  # ids in the order of the rows
    ids: list[int] = []
    for i in range(0, len(postings), CHUNK):
        ids += session.execute(returning, [
            {"year": p.year, "kind": p.kind, "memo": p.memo[:400], "actor": p.actor, "at": p.at or default_at,
             "subject": p.subject, "reverses_id": None} for p in postings[i:i + CHUNK]]).scalars().all()
    entries = []
    for p, posting_id in zip(postings, ids, strict=True):
        entries += [(posting_id, accounts[(p.year, name)].id, amount) for name, amount in p.entries]
    insert_rows(session, PostingEntry.__table__, ("posting_id", "account_id", "amount_fen"), entries)  # type: ignore[attr-defined]
    return len(ids)


def _ensure_accounts(session: Session, year: int, names: list[str]) -> None:
    """Create missing accounts race-free (INSERT ... ON CONFLICT DO NOTHING on both databases)."""
    rows = [{"year": year, "name": n, "balance_fen": 0} for n in names]
    table = Account.__table__  # type: ignore[attr-defined]
    stmt: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["year", "name"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["year", "name"])
    session.execute(stmt, rows)


def posting_entries(session: Session, posting_id: int) -> list[tuple[str, int]]:
    rows = session.exec(
        select(Account.name, PostingEntry.amount_fen)
        .join(Account, col(Account.id) == col(PostingEntry.account_id))
        .where(PostingEntry.posting_id == posting_id)
        .order_by(col(PostingEntry.id))
    ).all()
    return [(n, a) for n, a in rows]


def holdings(session: Session, subjects: list[str]) -> dict[str, dict[str, dict[tuple[str, str], int]]]:
    """Per posting subject (``app:REF``): what its postings hold on the budget lines, by bucket (committed, paid,
    receivable …) and (line, source) — every subject read in chunked queries, never one per posting."""
    out: dict[str, dict[str, dict[tuple[str, str], int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for i in range(0, len(subjects), 900):
        for subject, name, amount in session.exec(
                select(Posting.subject, Account.name, PostingEntry.amount_fen)
                .join(PostingEntry, col(PostingEntry.posting_id) == col(Posting.id))
                .join(Account, col(Account.id) == col(PostingEntry.account_id))
                .where(col(Posting.subject).in_(subjects[i:i + 900]))).all():
            parts = name.split(":")
            if parts[0] == "line" and subject is not None:
                out[subject][parts[3]][(parts[1], parts[2])] += amount
    return out


def account_balances(session: Session, year: int) -> dict[str, int]:
    return {a.name: a.balance_fen for a in session.exec(select(Account).where(Account.year == year)).all()}


@dataclass
class LineBalance:
    code: str
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)

    def get(self, source: str, bucket: str) -> int:
        return self.by_source.get(source, {}).get(bucket, 0)

    def total(self, bucket: str, sources: tuple[str, ...] | None = None) -> int:
        return sum(v.get(bucket, 0) for s, v in self.by_source.items() if sources is None or s in sources)

    def allocated(self, sources: tuple[str, ...] | None = None) -> int:
        return sum(self.total(b, sources) for b in BUCKETS)


def line_balances(session: Session, year: int) -> dict[str, LineBalance]:
    """Per line and source: available, committed, paid, receivable (allocated = their sum)."""
    out: dict[str, LineBalance] = {}
    for name, bal in account_balances(session, year).items():
        if not name.startswith("line:"):
            continue
        _, code, source, bucket = name.split(":")
        lb = out.setdefault(code, LineBalance(code))
        lb.by_source.setdefault(source, {})[bucket] = bal
    return out


def source_balances(session: Session, year: int) -> dict[str, dict[str, int]]:
    """Per source: received, unallocated, allocated, committed, paid, receivable, available (on lines)."""
    received: dict[str, int] = defaultdict(int)
    for r in session.exec(select(Receipt).where(Receipt.year == year)).all():
        received[r.source] += r.amount_fen
    bals = account_balances(session, year)
    lines = line_balances(session, year)
    out: dict[str, dict[str, int]] = {}
    for s in SOURCES:
        row = {"received": received.get(s, 0), "unallocated": bals.get(f"source:{s}", 0)}
        for b in BUCKETS:
            row[b] = sum(lb.get(s, b) for lb in lines.values())
        row["allocated"] = sum(row[b] for b in BUCKETS)
        out[s] = row
    return out
