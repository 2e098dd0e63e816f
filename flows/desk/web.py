"""The desk's app factory, page rendering, error pages and the routes every user shares (sign-in,
sign-out, language, home, one case)."""

from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session

from flows.desk import i18n
from flows.desk.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    Ctx,
    SignInRequired,
    checked,
    current,
    lang_of,
    login_token_ok,
    new_login_token,
)
from flows.desk.i18n import N_
from flows.services import applications, desk_auth
from flows.services.context import current_policy
from models.uow import read_only, unit_of_work
from rules.errors import NotFound, PermissionDenied, RuleViolation

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "desk"
STATIC = Path(__file__).resolve().parent / "static"
FONTS = TEMPLATES.parent / "fonts"  # the dossiers' bundled Noto Sans Hans: the desk needs no system CJK font


@lru_cache(maxsize=len(i18n.LANGS))
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local"] = i18n.local_time
    env.filters["yuan"] = _yuan
    env.globals["LANGS"] = i18n.LANGS
    return env


def _yuan(fen: int | None) -> str:
    from rules.money import format_yuan

    return "" if fen is None else format_yuan(int(fen))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, ctx: Ctx | None = None, status: int = 200,
           headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
    lang = ctx.lang if ctx is not None else lang_of(request)
    html = environment(lang).get_template(template).render(ctx=ctx, lang=lang, path=request.url.path, **values)
    return HTMLResponse(html, status_code=status, headers=headers)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> desk_auth.DeskSettings:
    settings: desk_auth.DeskSettings = request.app.state.settings
    return settings


# --- errors ----------------------------------------------------------------------------------------

def _error(request: Request, status: int, title: str, message: str) -> Response:
    ctx = None
    with contextlib.suppress(SignInRequired):
        ctx = current(request)
    if is_htmx(request):
        return render(request, "_error.html", ctx, status, {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
                      title=title, message=message)
    return render(request, "error.html", ctx, status, title=title, message=message)


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = "/login?next=" + quote(request.url.path, safe="/")
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRefused)
    def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        return _error(request, 403, N_("Refused"), N_("This request did not carry this page's security token "
                                                      "(CSRF); nothing was done. Reload the page and try again."))

    @app.exception_handler(PermissionDenied)
    def _denied(request: Request, exc: PermissionDenied) -> Response:
        return _error(request, 403, N_("Not allowed"), str(exc))

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, N_("Not found"), str(exc))

    @app.exception_handler(RuleViolation)
    def _refused(request: Request, exc: RuleViolation) -> Response:
        return _error(request, 422, N_("Refused, nothing was written"), str(exc))


# --- sign-in, sign-out, language, home ---------------------------------------------------------------

common = APIRouter()


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@common.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    token = new_login_token()
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), problem=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings_of(request).secure_cookies, path="/login")
    return response


@common.post("/login")
def login(request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form(""),
          next: str = Form("/")) -> Response:
    if not login_token_ok(request, csrf):
        raise CsrfRefused()
    settings = settings_of(request)
    remote = request.client.host if request.client else None
    with unit_of_work(engine_of(request)) as s:
        result = desk_auth.sign_in(s, name, password, remote, settings)
    if not result.ok:
        problem = (N_("Too many failed sign-ins for this name: it is locked for a while. Try again later or ask "
                      "an administrator.") if result.locked else N_("The name or the password is wrong."))
        token = new_login_token()
        response = render(request, "login.html", None, 429 if result.locked else 401, login_csrf=token,
                          next=_safe_next(next), problem=problem, name=name[:64])
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=settings.secure_cookies, path="/login")
        return response
    done = RedirectResponse(_safe_next(next), status_code=303)
    # A browser-session cookie: the server-side row decides expiry (desk_session.expires_at).
    assert result.token is not None
    done.set_cookie(SESSION_COOKIE, result.token, httponly=True, samesite="strict",
                    secure=settings.secure_cookies, path="/")
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return done


@common.post("/logout")
def logout(request: Request, ctx: Ctx = Depends(checked)) -> Response:
    with unit_of_work(engine_of(request)) as s:
        desk_auth.sign_out(s, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@common.get("/lang/{code}")
def set_lang(request: Request, code: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(i18n.LANG_COOKIE, i18n.choose(code), httponly=True, samesite="strict",
                        secure=settings_of(request).secure_cookies, path="/", max_age=365 * 24 * 3600)
    return response


@common.get("/")
def home(request: Request, ctx: Ctx = Depends(current)) -> Response:
    for role, page in (("reviewer", "/review"), ("auditor", "/audit"), ("evaluator", "/evaluate"),
                       ("finance", "/pay"), ("approver", "/approve")):
        if role in ctx.roles:
            return RedirectResponse(page, status_code=303)
    from flows.desk.mine import own_pages

    return own_pages(request, ctx)


# --- one case, as whoever may read it -------------------------------------------------------------------

def case_view(session: Session, actor: str, ref: str) -> dict[str, Any]:
    """A case as applications.show gives it (which decides who may see it), with the scheme's own
    names and field labels from its declaration, and a voucher's evidence files with their hashes."""
    case = applications.show(session, actor, ref)
    policy = current_policy(session)
    sc = policy.scheme(case["scheme"])
    labels = {k: f.label or k for k, f in sc.form.fields.items()}
    fields = [(k, labels.get(k, k), v) for k, v in case["data"].items()]
    evidence: list[dict[str, Any]] = []
    if getattr(sc, "voucher", None) is not None:
        from flows.services import vouchers

        try:
            red = vouchers.show(session, actor, ref).get("redemption")
        except RuleViolation:
            red = None
        evidence = list((red or {}).get("evidence") or [])
    return {"case": case, "scheme_name": sc.name, "scheme_name_en": getattr(sc, "name_en", None) or case["scheme"],
            "fields": fields, "evidence": evidence}


@common.get("/case/{ref}")
def case_page(request: Request, ref: str, ctx: Ctx = Depends(current)) -> Response:
    with read_only(engine_of(request)) as s:
        view = case_view(s, ctx.name, ref)
    return render(request, "case.html", ctx, **view)


def create_app(url: str | None = None, settings: desk_auth.DeskSettings | None = None) -> FastAPI:
    """The desk on the database at ``url`` (default: the configured one, as every command)."""
    from flows.desk import approve, audit, dashboard, evaluate, mine, pay, projects, review
    from models.db import database_url, get_engine

    app = FastAPI(title="ipfund desk", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = get_engine(url or database_url())
    app.state.settings = settings or desk_auth.DeskSettings.from_env()
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount("/fonts", StaticFiles(directory=str(FONTS)), name="fonts")
    install_error_pages(app)
    app.include_router(common)
    app.include_router(review.router)
    app.include_router(audit.router)
    app.include_router(evaluate.router)
    app.include_router(pay.router)
    app.include_router(approve.router)
    app.include_router(dashboard.router)
    app.include_router(mine.router)
    app.include_router(projects.router)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
        if request.url.path.startswith(("/review", "/audit", "/case", "/evaluate", "/pay", "/approve",
                                        "/projects")):
            response.headers.setdefault("Cache-Control", "no-store")
        elif request.url.path.startswith(("/fonts/", "/static/")):
            response.headers.setdefault("Cache-Control", "public, max-age=86400")
        return response

    return app
