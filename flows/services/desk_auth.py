"""Desk sign-in: argon2id passwords, server-side sessions and the lock-out (flows/desk is the adapter).

* A password is kept as its argon2id hash only (``user_password``); an admin sets it
  (`ipfund user set-password NAME`), an audit event records that it was set (never the hash).
* A sign-in creates a ``desk_session`` row keyed by the sha256 of a random token; the token lives only in
  the browser's cookie. A session is live while not ended and not expired; sign-out ends it.
* Every attempt is logged in ``desk_sign_in``. After ``lockout_failures`` failures for a name within
  ``lockout_minutes`` (since its last successful sign-in), the name is locked for the rest of the window:
  the failure that locks it is logged ``locked_out``, each try while locked ``locked`` (not counted, so the
  lock ends when the window has passed the failures).

The deployment's settings (environment, with defaults): IPFUND_DESK_LOCKOUT_FAILURES (5),
IPFUND_DESK_LOCKOUT_MINUTES (15), IPFUND_DESK_SESSION_MINUTES (480), IPFUND_DESK_SECURE_COOKIES (0; 1
behind HTTPS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, col, func, select

from flows.services.context import acting
from models import audit
from models.clock import now, stamp
from models.tables import DeskSession, DeskSignIn, User, UserPassword
from rules.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from argon2 import PasswordHasher

FAILURES = ("bad_password", "unknown_user", "no_password", "locked_out")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
SEEN_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


def _whole(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, str(default)).strip()
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        raise ValueError(f"{name}={raw!r}: give a whole number between {low} and {high}")
    return int(raw)


@dataclass(frozen=True)
class DeskSettings:
    lockout_failures: int
    lockout_minutes: int
    session_minutes: int
    secure_cookies: bool
    # How long the dashboard's figures (budget status, KPIs) are reused before they are computed again, in
    # seconds (a screen many users watch; 0: computed on every request).
    dashboard_seconds: int = 30

    @classmethod
    def from_env(cls) -> DeskSettings:
        secure = os.environ.get("IPFUND_DESK_SECURE_COOKIES", "0").strip().lower()
        if secure not in ("0", "1", "true", "false", "yes", "no"):
            raise ValueError(f"IPFUND_DESK_SECURE_COOKIES={secure!r}: give 1 (behind HTTPS) or 0")
        return cls(lockout_failures=_whole("IPFUND_DESK_LOCKOUT_FAILURES", 5, 1, 100),
                   lockout_minutes=_whole("IPFUND_DESK_LOCKOUT_MINUTES", 15, 1, 24 * 60),
                   session_minutes=_whole("IPFUND_DESK_SESSION_MINUTES", 480, 1, 7 * 24 * 60),
                   secure_cookies=secure in ("1", "true", "yes"),
                   dashboard_seconds=_whole("IPFUND_DESK_DASHBOARD_SECONDS", 30, 0, 24 * 3600))


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(type=Type.ID)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"user {name!r} does not exist; an admin adds users with `ipfund user add`")
    return user


def set_password(session: Session, actor: str | None, name: str, password: str) -> UserPassword:
    """An admin sets a user's desk password (argon2id); the audit chain records that it was set."""
    admin = acting(session, actor, "user.add")
    user = _user(session, name)
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"password: at most {MAX_PASSWORD} characters")
    if password != password.strip() or any(not c.isprintable() for c in password):
        problems.append("password: printable characters, no leading or trailing spaces")
    if problems:
        raise ValidationFailed(f"password of {name!r}", problems)
    assert user.id is not None
    row = session.get(UserPassword, user.id) or UserPassword(user_id=user.id, hash="", set_at="", set_by="")
    row.hash, row.set_at, row.set_by = _hasher().hash(password), stamp(), admin.name
    session.add(row)
    session.flush()
    audit.append(session, actor=admin.name, action="user.password", subject=f"user:{name}",
                 payload={"name": name, "scheme": "argon2id"})
    return row


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the session's cookie token when it succeeded."""

    outcome: str
    token: str | None = None
    user: User | None = None
    desk_session: DeskSession | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def locked(self) -> bool:
        return self.outcome in ("locked_out", "locked")


def _recent_failures(session: Session, name: str, since: str) -> int:
    last_ok = session.exec(select(func.max(DeskSignIn.at)).where(DeskSignIn.name == name,
                                                                 DeskSignIn.outcome == "ok")).one()
    start = max(since, last_ok or "")
    return int(session.exec(select(func.count()).select_from(DeskSignIn).where(
        DeskSignIn.name == name, col(DeskSignIn.at) > start, col(DeskSignIn.outcome).in_(FAILURES))).one())


def sign_in(session: Session, name: str, password: str, remote: str | None = None,
            settings: DeskSettings | None = None) -> SignIn:
    """Check a name and password, log the attempt, and open a session when they match and the name is
    not locked. Returns the outcome (the caller commits the log either way)."""
    settings = settings or DeskSettings.from_env()
    moment = now()
    at = stamp(moment)
    name = name.strip()[:64]
    window = stamp(moment - dt.timedelta(minutes=settings.lockout_minutes))
    failures = _recent_failures(session, name, window)

    def log(outcome: str) -> None:
        session.add(DeskSignIn(name=name, at=at, outcome=outcome, remote=(remote or None) and remote[:64]))
        session.flush()

    if failures >= settings.lockout_failures:
        log("locked")
        return SignIn("locked")
    user = session.exec(select(User).where(User.name == name)).first()
    pw = session.get(UserPassword, user.id) if user is not None and user.id is not None else None
    hasher = _hasher()
    outcome = "ok"
    if user is None or pw is None:
        # the same work as a real check, so a missing user or password is not told apart by time
        hasher.hash(password[:MAX_PASSWORD] or "-")
        outcome = "unknown_user" if user is None else "no_password"
    else:
        from argon2.exceptions import VerificationError

        try:
            hasher.verify(pw.hash, password[:MAX_PASSWORD])
        except VerificationError:
            outcome = "bad_password"
    if outcome != "ok":
        log("locked_out" if failures + 1 >= settings.lockout_failures else outcome)
        return SignIn("locked_out" if failures + 1 >= settings.lockout_failures else outcome)
    assert user is not None and user.id is not None
    log("ok")
    token = secrets.token_urlsafe(32)
    ds = DeskSession(token_sha256=token_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     created_at=at, expires_at=stamp(moment + dt.timedelta(minutes=settings.session_minutes)),
                     last_seen_at=at)
    session.add(ds)
    session.flush()
    return SignIn("ok", token, user, ds)


def live_session(session: Session, token: str | None) -> tuple[DeskSession, User] | None:
    """The live session of a cookie token with its user, or None (unknown, ended or expired)."""
    if not token or len(token) > 128:
        return None
    ds = session.exec(select(DeskSession).where(DeskSession.token_sha256 == token_sha256(token))).first()
    if ds is None or ds.ended_at is not None or ds.expires_at <= stamp():
        return None
    user = session.get(User, ds.user_id)
    return (ds, user) if user is not None else None


def seen(session: Session, session_id: int) -> bool:
    """Record that a session was used (at most once a minute); True when a row was written."""
    ds = session.get(DeskSession, session_id)
    moment = now()
    if ds is None or ds.ended_at is not None:
        return False
    if ds.last_seen_at > stamp(moment - SEEN_EVERY):
        return False
    ds.last_seen_at = stamp(moment)
    session.add(ds)
    return True


def sign_out(session: Session, token: str | None) -> bool:
    """End the session of a cookie token; True when a live one was ended."""
    found = live_session(session, token)
    if found is None:
        return False
    ds = found[0]
    ds.ended_at, ds.ended_why = stamp(), "signed_out"
    session.add(ds)
    return True
