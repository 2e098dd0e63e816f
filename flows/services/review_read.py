"""The reviewer's read path without the ORM: `ipfund review queue` and `ipfund review next`.

Reviewers run these two commands all day, so they answer through the DB-API driver directly
(``sqlite3``, or ``psycopg`` for PostgreSQL) with parameterised SQL, and never import SQLAlchemy,
SQLModel or pydantic. The answers are the same as :func:`flows.services.review.queue`,
:func:`flows.services.review.next_case` and :func:`flows.services.applications.show` (the ORM path,
which stays the reference: tests/integration/test_review_read.py compares the two).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rules.constants import DEFAULT_POLICY_ID
from rules.errors import NotFound, NotYours, PermissionDenied
from rules.roles import allowed, roles_for

DEFAULT_DB_FILE = "ipfund.db"  # as models.db
POLICY_DIR = Path(__file__).resolve().parents[2] / "rules" / "policies"  # as rules.policy


def database_url() -> str:
    """As :func:`models.db.database_url`, without importing SQLAlchemy."""
    url = os.environ.get("IPFUND_DATABASE_URL")
    if url:
        return url
    home = Path(os.environ.get("IPFUND_HOME", "."))
    return f"sqlite:///{(home / DEFAULT_DB_FILE).resolve()}"


# --- connecting ------------------------------------------------------------------------------

class DatabaseUrlError(ValueError):
    """IPFUND_DATABASE_URL is not a URL this path can connect with; the message says why (without the
    URL: flows.cli.output shows it, its password masked)."""


class _Db:
    """One read connection; ``?`` placeholders in every statement, adapted to the driver."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql.replace("?", "%s") if self.postgres else sql, tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A write; returns the rows it changed."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql.replace("?", "%s") if self.postgres else sql, tuple(params))
            return int(cur.rowcount)
        finally:
            cur.close()


def sqlite_path(url: str) -> tuple[str, bool]:
    """(database argument for sqlite3.connect, uri flag) for a SQLAlchemy SQLite URL:
    ``sqlite:////abs/path`` is the absolute path /abs/path, ``sqlite:///rel/path`` is relative to the
    working directory, ``sqlite://`` and ``sqlite:///:memory:`` are in memory; ``?uri=true`` makes the
    path a ``file:`` URI as SQLAlchemy does."""
    rest = url.split("://", 1)[1]
    path, _, query = rest.partition("?")
    if path.startswith("/"):
        path = path[1:]
    path = unquote(path)
    params = [p.partition("=") for p in query.split("&") if p]
    if any(k == "uri" and v.lower() in ("true", "1") for k, _, v in params):
        others = "&".join(f"{k}={v}" for k, _, v in params if k != "uri")
        return (f"{path}?{others}" if others else path), True
    return path or ":memory:", False


def pg_conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://...``):
    libpq reads the same URI once the SQLAlchemy driver suffix is dropped."""
    return "postgresql://" + url.split("://", 1)[1]


@contextmanager
def connect(url: str, write: bool = False) -> Iterator[_Db]:
    """One transaction (so a case is read consistently): rolled back, or with ``write`` (the review
    lease of `review next`) committed when the block ends without an error."""
    if "://" not in url:
        raise DatabaseUrlError("it has no scheme such as sqlite:// or postgresql+psycopg://")
    scheme = url.split("://", 1)[0].lower()
    if scheme.split("+", 1)[0] == "sqlite":
        import sqlite3

        path, uri = sqlite_path(url)
        if not uri and path != ":memory:" and not Path(path).exists():
            if not Path(path).resolve().parent.is_dir():  # as SQLite itself says it (flows.cli.output)
                raise sqlite3.OperationalError(f"unable to open database file {path}: its folder does not exist")
            # The ORM would create an empty file and fail on the first table; say the same thing.
            raise sqlite3.OperationalError(f"database file {path} does not exist")
        conn = sqlite3.connect(path, uri=uri, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield _Db(conn, postgres=False)
            if write:
                conn.commit()
        finally:
            conn.rollback()
            conn.close()
    elif scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        import psycopg

        with psycopg.connect(pg_conninfo(url)) as pconn:
            try:
                pconn.read_only = not write
                yield _Db(pconn, postgres=True)
                if write:
                    pconn.commit()
            finally:
                pconn.rollback()
    else:
        raise DatabaseUrlError(f"ipfund does not know the database kind {scheme!r}")


# --- who is acting ---------------------------------------------------------------------------

def _user(db: _Db, name: str | None) -> tuple[str, str, str | None]:
    """(name, roles, affiliation), with the messages of flows.services.context.get_user."""
    if not name:
        raise PermissionDenied("no acting user: pass --as USER or set IPFUND_USER")
    row = db.one("SELECT name, roles, affiliation FROM app_user WHERE name = ?", (name,))
    if row is None:
        raise NotFound(f"user {name!r} does not exist; an admin adds users with `ipfund user add`")
    return row[0], row[1], row[2]


def _role_set(roles: str) -> set[str]:
    return {r for r in roles.split(",") if r}


def _acting(db: _Db, name: str | None, action: str) -> tuple[str, str, str | None]:
    user = _user(db, name)
    if not allowed(_role_set(user[1]), action):
        raise PermissionDenied(
            f"{user[0]} (roles: {user[1] or 'none'}) may not {action}; this needs one of the roles "
            f"{', '.join(roles_for(action))}"
        )
    return user


# --- the queue and the review lease -------------------------------------------------------------

_QUEUE_SQL = """
SELECT a.id, a.ref, a.scheme, a.submitted_at, a.status_at, p.name, p.uscc, a.submitted_by, c.holder, c.expires_at,
       a.review_due,
       (SELECT e.to_role FROM escalation e WHERE e.application_id = a.id AND e.tier = a.status
                                             AND e.since = a.status_at),
       EXISTS (SELECT 1 FROM review_decision o WHERE o.application_id = a.id AND o.reviewer = ?
                                                AND o.stage <> a.status AND o.superseded_at IS NULL),
       (SELECT COUNT(*) FROM review_decision n WHERE n.application_id = a.id AND n.stage = a.status
                                                AND n.at >= a.status_at AND n.superseded_at IS NULL
                                                AND n.decision = 'approve'),
       a.status
FROM application a JOIN applicant p ON p.id = a.applicant_id
LEFT JOIN review_claim c ON c.application_id = a.id
WHERE {states}
  AND NOT EXISTS (SELECT 1 FROM review_decision d
                  WHERE d.application_id = a.id AND d.stage = a.status AND d.at >= a.status_at AND d.reviewer = ?
                    AND d.superseded_at IS NULL)
"""


def lease_minutes() -> int:
    """How long `review next` leases a case to the reviewer it hands it to (IPFUND_REVIEW_LEASE_MINUTES)."""
    raw = os.environ.get("IPFUND_REVIEW_LEASE_MINUTES", "30")
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= 24 * 60):
        raise ValueError(f"IPFUND_REVIEW_LEASE_MINUTES={raw!r}: give whole minutes between 1 and 1440")
    return int(raw)


def _now() -> str:
    from models.clock import stamp

    return stamp()


def review_states(db: _Db, scheme: str | None = None) -> list[str]:
    """Every state a scheme tags ``review`` (from the declared states in the database), in name order."""
    rows = db.all("SELECT DISTINCT state FROM scheme_state WHERE (',' || tags || ',') LIKE ?"
                  + (" AND scheme = ?" if scheme else "") + " ORDER BY state",
                  ("%,review,%", scheme) if scheme else ("%,review,%",))
    return [str(r[0]) for r in rows]


def _other_parties(db: _Db, ids: list[Any]) -> dict[Any, set[str]]:
    """The cases' other party organisations (the agencies a voucher was contracted with), as
    flows.services.duties.parties reads them."""
    out: dict[Any, set[str]] = {}
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        for app_id, code, name in db.all(
                "SELECT vc.application_id, g.uscc, g.name FROM voucher_contract vc JOIN agency g ON g.id = vc.agency_id "
                "WHERE vc.application_id IN (" + ", ".join("?" for _ in part) + ")", part):
            out.setdefault(app_id, set()).update((code, name))
    return out


def _candidates(db: _Db, user: tuple[str, str, str | None], stage: str | None, scheme: str | None,
                limit: int, district: str | None = None, overdue: bool = False) -> list[tuple[Any, ...]]:
    """Waiting cases, oldest first, that the duties rule lets this reviewer decide (never a case of their
    own organisation, nor one they submitted or imported). ``stage`` None: every state a scheme tags
    ``review`` (each scheme's own tiers); ``district`` only the applicants of that district (its GB/T 2260
    code); ``overdue`` only the cases past their tier's deadline."""
    from rules import duties

    actor = duties.Actor(user[0], frozenset(_role_set(user[1])), user[2])
    states = [stage] if stage else review_states(db, scheme)
    if not states:
        return []
    sql = _QUEUE_SQL.format(states="a.status = ?")
    extra: list[Any] = []
    if scheme:
        sql += "  AND a.scheme = ?\n"
        extra.append(scheme)
    if district:
        sql += "  AND p.district = ?\n"
        extra.append(district)
    if overdue:
        sql += "  AND a.review_due IS NOT NULL AND a.review_due < ?\n"
        extra.append(_now()[:10])
    sql += "ORDER BY a.status_at, a.id LIMIT ? OFFSET ?"

    def fetch(offset: int, page: int) -> list[tuple[Any, ...]]:
        # One query per review state, each walking ix_application_status_age in order (one query over
        # ``status IN (…)`` sorts every waiting case, subqueries and all, before its LIMIT: 215 ms at
        # 100,000 cases against 2 ms), merged by (status_at, id) — the same order as one ORDER BY.
        if len(states) == 1:
            return db.all(sql, [user[0], states[0], user[0], *extra, page, offset])
        rows = [r for st in states for r in db.all(sql, [user[0], st, user[0], *extra, offset + page, 0])]
        rows.sort(key=lambda r: (r[4], r[0]))
        return rows[offset:offset + page]

    out: list[tuple[Any, ...]] = []
    offset = 0
    page = max(limit, 50)
    while len(out) < limit:
        rows = fetch(offset, page)
        others = _other_parties(db, [r[0] for r in rows])
        for r in rows:
            case = duties.CaseParties(ref=r[1], applicant_code=r[6], applicant_name=r[5], submitted_by=r[7],
                                      tier_deciders=frozenset({user[0]}) if r[12] else frozenset(),
                                      others=frozenset(others.get(r[0], ())))
            if duties.breach("review.decide", actor, case) is None:
                out.append(r)
                if len(out) == limit:
                    break
        if len(rows) < page:
            break
        offset += page
    return out


def _queue(db: _Db, user: tuple[str, str, str | None], stage: str | None, scheme: str | None,
           limit: int, district: str | None = None, overdue: bool = False) -> list[dict[str, Any]]:
    now = _now()
    today = now[:10]
    out = []
    for r in _candidates(db, user, stage, scheme, limit, district, overdue):
        row: dict[str, Any] = {"ref": r[1], "scheme": r[2], "stage": r[14], "submitted_at": r[3], "waiting_since": r[4],
                               "applicant": r[5], "uscc": r[6], "held_by": r[8] if r[9] and r[9] > now else None,
                               "held_until": r[9] if r[9] and r[9] > now else None}
        if r[10] is not None:  # a tier with a deadline: when it is due, whether it is overdue or escalated
            row |= {"due": r[10], "overdue": r[10] < today, "escalated_to": r[11]}
        if r[13]:
            row["approvals"] = int(r[13])
        out.append(row)
    return out


def queue(url: str, actor: str | None, stage: str | None = None, scheme: str | None = None,
          limit: int = 50) -> list[dict[str, Any]]:
    """What waits for this reviewer, oldest first, with who holds each case; never a case the reviewer
    may not decide."""
    with connect(url) as db:
        user = _acting(db, actor, "review.decide")
        return _queue(db, user, stage, scheme, limit)


_CLAIM_SQL = """
INSERT INTO review_claim (application_id, holder, claimed_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (application_id) DO UPDATE
  SET holder = excluded.holder, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
  WHERE review_claim.expires_at <= ? OR review_claim.holder = ?
"""


def claim_next(db: _Db, user: tuple[str, str, str | None], stage: str | None, scheme: str | None = None) -> str | None:
    """Lease the next case to this reviewer and return its reference: the case they already hold, else
    the oldest one nobody holds. One conditional upsert per case tried, so two reviewers asking at the
    same moment are never handed the same case (the loser's upsert changes no row and it tries the
    next)."""
    from models.clock import now, stamp

    moment = now()
    at = stamp(moment)
    until = stamp(moment + dt.timedelta(minutes=lease_minutes()))
    rows = _candidates(db, user, stage, scheme, 200)
    mine = [r for r in rows if r[8] == user[0] and r[9] and r[9] > at]
    free = [r for r in rows if not (r[9] and r[9] > at) or r[8] == user[0]]
    for r in [*mine, *free]:
        if db.run(_CLAIM_SQL, (r[0], user[0], at, until, at, user[0])) == 1:
            return str(r[1])
    return None


def holder(db: _Db, app_id: int) -> tuple[str, str] | None:
    """(reviewer, until) holding an unexpired lease on the case, or None."""
    row = db.one("SELECT holder, expires_at FROM review_claim WHERE application_id = ?", (app_id,))
    if row is None or row[1] <= _now():
        return None
    return str(row[0]), str(row[1])


def holders(db: _Db, app_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """:func:`holder` for many cases at once: case id -> (reviewer, until) of each unexpired lease."""
    out: dict[int, tuple[str, str]] = {}
    at = _now()
    for i in range(0, len(app_ids), 900):
        part = list(app_ids[i:i + 900])
        for app_id, who, until in db.all("SELECT application_id, holder, expires_at FROM review_claim WHERE "
                                         f"application_id IN ({', '.join('?' * len(part))})", part):
            if until > at:
                out[int(app_id)] = (str(who), str(until))
    return out


def release(db: _Db, app_id: int) -> None:
    db.run("DELETE FROM review_claim WHERE application_id = ?", (app_id,))


def release_all(db: _Db, app_ids: Sequence[int]) -> None:
    """:func:`release` for many cases (their decisions are taken)."""
    for i in range(0, len(app_ids), 900):
        part = list(app_ids[i:i + 900])
        db.run(f"DELETE FROM review_claim WHERE application_id IN ({', '.join('?' * len(part))})", part)


def next_case(url: str, actor: str | None, stage: str | None = None, scheme: str | None = None) -> dict[str, Any] | None:
    """Lease the next case to this reviewer and return it in full (the shape of applications.show), or
    None when nothing is waiting that they may take."""
    with connect(url, write=True) as db:
        user = _acting(db, actor, "review.decide")
        ref = claim_next(db, user, stage, scheme)
        if ref is None:
            return None
        return _show(db, user, ref)


# --- one case in full ------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _state_names(policy_id: str) -> dict[str, dict[str, str]] | None:
    """scheme -> state -> name, read from the policy YAML with PyYAML only (no pydantic); None when
    the file is not a plain bundled one, so the caller falls back to the validated policy."""
    path = Path(policy_id)
    if not path.suffix:
        path = POLICY_DIR / f"{policy_id}.yaml"
    try:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        return {sid: {st: str(sd["name"]) for st, sd in s["states"].items()}
                for sid, s in raw["schemes"].items()}
    except Exception:
        return None


def _state_name(db: _Db, scheme: str, state: str) -> str:
    row = db.one("SELECT value FROM setting WHERE key = ?", ("policy_id",))
    policy_id = (row[0] if row else None) or DEFAULT_POLICY_ID
    name = ((_state_names(policy_id) or {}).get(scheme) or {}).get(state)
    if name is not None:
        return name
    # Unusual (a policy given by path that does not parse, an unknown scheme or state): the
    # validated policy raises exactly what the ORM path raises.
    from rules.policy import load_policy
    from rules.workflow import Workflow

    return Workflow(scheme, load_policy(policy_id).scheme(scheme)).state_name(state)


_APP_COLUMNS = ("id, ref, scheme, year, applicant_id, status, data, submitted_by, submitted_at, status_at, "
                "final_score, rank, outcome, outcome_reason, award_fen, line_code, round_id, notice_ends")


def _app_row(db: _Db, key: str) -> dict[str, Any]:
    """As cases.get_app: by reference, else by numeric id."""
    key = key.strip()
    names = [c.strip() for c in _APP_COLUMNS.split(",")]
    row = db.one(f"SELECT {_APP_COLUMNS} FROM application WHERE ref = ?", (key.upper(),))
    if row is None and key.isdigit():
        row = db.one(f"SELECT {_APP_COLUMNS} FROM application WHERE id = ?", (int(key),))
    if row is None:
        raise NotFound(f"application {key!r} not found (use the reference shown by `ipfund application list`, "
                       "e.g. CA-2021-00001)")
    return dict(zip(names, row, strict=True))


def _show(db: _Db, user: tuple[str, str, str | None], key: str) -> dict[str, Any]:
    everything = allowed(_role_set(user[1]), "read.all")
    try:
        app = _app_row(db, key)
    except NotFound:
        if everything:
            raise
        raise NotYours(f"application {key!r} not found among {user[0]}'s applications") from None
    p = db.one("SELECT name, uscc, kind, district, sme, whitelist FROM applicant WHERE id = ?",
               (app["applicant_id"],))
    assert p is not None
    if not everything and user[2] != p[1]:
        raise NotYours(f"application {key!r} not found among {user[0]}'s applications")
    app_id = app["id"]
    checks = db.all('SELECT "check", passed, rule, clause, parameter, detail, run, at FROM intake_check '
                    "WHERE application_id = ? ORDER BY id", (app_id,))
    last_run = max((c[6] for c in checks), default=0)
    third = "(third party)"
    return {
        "ref": app["ref"], "scheme": app["scheme"], "year": app["year"], "status": app["status"],
        "status_at": app["status_at"], "state_name": _state_name(db, app["scheme"], app["status"]),
        "submitted_at": app["submitted_at"], "submitted_by": app["submitted_by"], "data": json.loads(app["data"]),
        "applicant": {"name": p[0], "uscc": p[1], "kind": p[2], "district": p[3], "sme": bool(p[4]),
                      "whitelist": bool(p[5])},
        "checks": [{"check": c[0], "passed": bool(c[1]), "rule": c[2], "clause": c[3], "parameter": c[4],
                    "detail": c[5], "run": c[6], "at": c[7]} for c in checks if c[6] == last_run],
        "decisions": [{"stage": d[0], "reviewer": d[1], "decision": d[2], "reason": d[3], "at": d[4]}
                      for d in db.all("SELECT stage, reviewer, decision, reason, at FROM review_decision "
                                      "WHERE application_id = ? ORDER BY id", (app_id,))],
        "assignments": [{"evaluator": x[0] if everything else third, "org": x[1], "at": x[2]}
                        for x in db.all("SELECT evaluator, evaluator_org, at FROM assignment "
                                        "WHERE application_id = ? ORDER BY id", (app_id,))],
        "scores": [{"evaluator": s[0] if everything else third, "criterion": s[1],
                    "score": f"{s[2] // 10}.{s[2] % 10}", "comment": s[3], "active": bool(s[4]),
                    "upload_id": s[5]}
                   for s in db.all("SELECT evaluator, criterion, score_tenths, comment, active, upload_id "
                                   "FROM score WHERE application_id = ? ORDER BY id", (app_id,))],
        "final_score": app["final_score"], "rank": app["rank"], "outcome": app["outcome"],
        "outcome_reason": app["outcome_reason"], "award_fen": app["award_fen"], "line_code": app["line_code"],
        "round_id": app["round_id"], "notice_ends": app["notice_ends"],
        "objections": [{"raised_by": o[0], "reason": o[1], "at": o[2], "resolution": o[3], "resolved_by": o[4],
                        "resolution_reason": o[5], "resolved_at": o[6]}
                       for o in db.all("SELECT raised_by, reason, at, resolution, resolved_by, resolution_reason, "
                                       "resolved_at FROM objection WHERE application_id = ? ORDER BY id",
                                       (app_id,))],
        "payments": [{"idempotency_key": q[0], "amount_fen": q[1], "status": q[2], "batch_id": q[3],
                      "bank_ref": q[4], "failure_reason": q[5], "payer": q[6], "approver": q[7],
                      "created_at": q[8], "confirmed_at": q[9]}
                     for q in db.all("SELECT idempotency_key, amount_fen, status, batch_id, bank_ref, "
                                     "failure_reason, payer, approver, created_at, confirmed_at FROM payment "
                                     "WHERE application_id = ? ORDER BY id", (app_id,))],
        "history": [{"seq": e[0], "at": e[1], "actor": e[2], "action": e[3], "payload": json.loads(e[4]),
                     "hash": e[5]}
                    for e in db.all("SELECT seq, at, actor, action, payload, hash FROM audit_event "
                                    "WHERE subject = ? ORDER BY seq", (f"app:{app['ref']}",))],
    }


def show(url: str, actor: str | None, key: str) -> dict[str, Any]:
    """As :func:`flows.services.applications.show` (any user; applicants see only their own cases)."""
    with connect(url) as db:
        return _show(db, _user(db, actor), key)
