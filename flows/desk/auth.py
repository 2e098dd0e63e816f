"""Who is signed in: the session cookie, looked up server-side (flows/services/desk_auth.py), and the CSRF
token every form and htmx request carries (the ``csrf`` field, or the ``X-CSRF-Token`` header htmx sends).
The sign-in form itself is protected by a double-submit token (a cookie and the same value in the form)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Depends, Request

from flows.desk.i18n import LANG_COOKIE, choose
from flows.services import desk_auth
from models.clock import now, stamp
from models.uow import read_only, unit_of_work

SESSION_COOKIE = "ipfund_session"
LOGIN_CSRF_COOKIE = "ipfund_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


class SignInRequired(Exception):
    """No live session: the browser is sent to /login."""


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token: refused before anything runs."""


@dataclass(frozen=True)
class Ctx:
    """The signed-in user of one request."""

    name: str
    display_name: str
    roles: frozenset[str]
    affiliation: str | None
    session_id: int
    csrf: str
    lang: str


def lang_of(request: Request) -> str:
    return choose(request.cookies.get(LANG_COOKIE))


def current(request: Request) -> Ctx:
    """The request's signed-in user, or SignInRequired (no cookie, an unknown, ended or expired session)."""
    engine = request.app.state.engine
    with read_only(engine) as s:
        found = desk_auth.live_session(s, request.cookies.get(SESSION_COOKIE))
        if found is None:
            raise SignInRequired()
        ds, user = found
        ctx = Ctx(user.name, user.display_name, frozenset(user.role_set()), user.affiliation, int(ds.id or 0),
                  ds.csrf_token, lang_of(request))
        stale = ds.last_seen_at <= stamp(now() - desk_auth.SEEN_EVERY)
    if stale and request.method == "GET":  # reads only: a refused POST writes nothing at all
        with unit_of_work(engine) as s:
            desk_auth.seen(s, ctx.session_id)
    return ctx


async def checked(request: Request, ctx: Ctx = Depends(current)) -> Ctx:
    """The signed-in user of a state-changing request that carries the session's CSRF token."""
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not token or not hmac.compare_digest(token.encode(), ctx.csrf.encode()):
        raise CsrfRefused()
    return ctx


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_token_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie.encode(), submitted.encode()))
