"""From data to a dossier and to PDF: :class:`Dossier`, :func:`make_dossier`, the template hash, the
Jinja2 environment, :func:`render_html` and :func:`render`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

import templates as templates_pkg
from flows.services.dossier.case import case_data
from flows.services.dossier.common import FORMAT, ChainStatus
from flows.services.dossier.year import year_data
from rules.audit_chain import canonical_json
from rules.errors import RuleViolation
from rules.money import format_yuan
from rules.stages import DOSSIER_SECTIONS

if TYPE_CHECKING:
    from flows.pdf_render import RenderResult

TEMPLATES_DIR = Path(templates_pkg.__file__).resolve().parent
# The template files of each kind: the case dossier's include one partial per section (case/_<name>.html).
# ua.css is the trimmed user-agent stylesheet every dossier is cascaded against (flows/pdf_render.py).
TEMPLATE_FILES = {
    "case": ("_dossier_base.html", "case.html", "dossier.css", "ua.css", "messages.json",
             *(f"case/_{s}.html" for s in DOSSIER_SECTIONS)),
    "year": ("_dossier_base.html", "year.html", "dossier.css", "ua.css", "messages.json"),
    "pool_claim": ("_dossier_base.html", "pool_claim.html", "dossier.css", "ua.css", "messages.json"),
}
KINDS = tuple(TEMPLATE_FILES)


@dataclass(frozen=True)
class Dossier:
    kind: str  # "case" | "year" | "pool_claim"
    key: str  # the case reference, the year, or the pool claim
    number: str
    data: dict[str, Any]
    data_json: bytes
    data_sha256: str
    created: str  # YYYY-MM-DD (UTC) of the anchor event

    @property
    def subject(self) -> str:
        if self.kind == "pool_claim":
            return f"dossier:pool-claim:{self.key}"
        return f"dossier:{self.key}" if self.kind == "case" else f"dossier:year:{self.key}"

    @property
    def file_name(self) -> str:
        return f"{self.number}.pdf"


def make_dossier(data: dict[str, Any]) -> Dossier:
    """The dossier of some data: number, hash and date all follow from the data alone."""
    head = data.get("dossier") or {}
    kind = head.get("kind")
    if kind not in KINDS or head.get("format") != FORMAT:
        raise RuleViolation(f"not {FORMAT} data (dossier.kind={kind!r}, format={head.get('format')!r})")
    data_json = canonical_json(data).encode("utf-8")
    digest = hashlib.sha256(data_json).hexdigest()
    key = str(head["year"]) if kind == "year" else str(head["ref"])
    number = f"DOS-Y{key}-{digest[:8]}" if kind == "year" else f"DOS-{key}-{digest[:8]}"
    anchor_at = (data.get("chain") or {}).get("at")
    created = anchor_at[:10] if anchor_at else (f"{key}-01-01" if kind == "year" else "1970-01-01")
    return Dossier(kind, key, number, data, data_json, digest, created)


def build_case(session: Session, key: str, chain: ChainStatus | None = None) -> Dossier:
    return make_dossier(case_data(session, key, chain))


def build_year(session: Session, year: int, chain: ChainStatus | None = None) -> Dossier:
    return make_dossier(year_data(session, year, chain))


def build_pool_claim(session: Session, ref: str, chain: ChainStatus | None = None) -> Dossier:
    from flows.services.dossier.pool_claim import pool_claim_data

    return make_dossier(pool_claim_data(session, ref, chain))


def build(session: Session, kind: str, key: str) -> Dossier:
    """The dossier of a kind and key as ``verify`` and the desk name it."""
    if kind == "year":
        return build_year(session, int(key))
    if kind == "pool_claim":
        return build_pool_claim(session, key)
    return build_case(session, key)


def template_sha256(kind: str) -> str:
    """sha256 over the template files a dossier kind uses (name and content of each): for a case, every
    section partial, whichever sections its scheme prints."""
    stamp = tuple((name, (TEMPLATES_DIR / name).stat().st_mtime_ns, (TEMPLATES_DIR / name).stat().st_size)
                  for name in sorted(TEMPLATE_FILES[kind]))
    cached = _TEMPLATE_HASHES.get(kind)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    h = hashlib.sha256()
    for name in sorted(TEMPLATE_FILES[kind]):
        content = (TEMPLATES_DIR / name).read_bytes()
        h.update(f"{name}\0{len(content)}\0".encode())
        h.update(content)
    _TEMPLATE_HASHES[kind] = (stamp, h.hexdigest())
    return h.hexdigest()


# kind -> ((name, mtime, size) of each file, hash): files re-read only when one changed.
_TEMPLATE_HASHES: dict[str, tuple[tuple[tuple[str, int, int], ...], str]] = {}


def _version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


_ENVS: dict[frozenset[str], Any] = {}

# China Standard Time: Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so a fixed offset
# gives the zone's clock time without reading the host's time-zone database (same bytes everywhere).
_CST = dt.timezone(dt.timedelta(hours=8))


def beijing_time(at: str | None) -> str:
    """An ISO UTC timestamp (``2021-03-01T01:00:00.032384Z``) as Beijing time to the second,
    ``2021-03-01 09:00:00``; the zone is printed beside it by the template."""
    if not at:
        return ""
    moment = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S")


_MESSAGES: list[tuple[re.Pattern[str], str]] = []


# A reason of several failed checks: "check: detail; check: detail" (rules/intake.py). A detail may hold a
# "; " of its own, so the text is split only where what comes before translates whole.
_NEXT_CHECK = re.compile(r"; (?=[a-z][a-z0-9_]*: )")
_CHECK = re.compile(r"^([a-z][a-z0-9_]*): (.+)$", re.S)


def _zh_whole(text: str) -> str:
    if not _MESSAGES:
        table = json.loads((TEMPLATES_DIR / "messages.json").read_text(encoding="utf-8"))
        _MESSAGES.extend((re.compile(p), zh) for p, zh in table["patterns"])
    for pattern, zh in _MESSAGES:
        if (m := pattern.match(text)) is not None:
            return m.expand(zh)
    return ""


def _zh_checks(text: str) -> str:
    """"check: detail[; check: detail …]" in Chinese, each check's name kept, or "" unless every detail has
    its Chinese."""
    m = _CHECK.match(text)
    if m is None:
        return ""
    name, rest = m.groups()
    if zh := _zh_whole(rest):
        return f"{name}：{zh}"
    for cut in _NEXT_CHECK.finditer(rest):
        head = _zh_whole(rest[:cut.start()])
        if head and (tail := _zh_checks(rest[cut.end():])):
            return f"{name}：{head}；{tail}"
    return ""


def _zh_of(english: str | None) -> str:
    """The Chinese of an English reason or check detail (templates/messages.json), or "" if none. A text of
    checks — "check: detail", or several joined by "; " — is translated detail by detail, each check's name
    kept: all of them, or "" (the English is then printed alone)."""
    if not english:
        return ""
    text = str(english)
    return _zh_whole(text) or _zh_checks(text)


def _jinja_env(escape: frozenset[str]) -> Any:
    """The Jinja2 environment; characters in ``escape`` (missing from the fonts) print as [U+XXXX]."""
    if escape not in _ENVS:
        import jinja2
        from markupsafe import Markup

        table = {ord(c): f"[U+{ord(c):04X}]" for c in escape}

        def finalize(value: Any) -> Any:
            if value is None:
                return ""
            if table and isinstance(value, str):
                text = str(value).translate(table)
                return Markup(text) if isinstance(value, Markup) else text
            return value

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=finalize)
        from rules.money import to_daxie

        env.filters["yuan"] = lambda fen: "—" if fen is None else format_yuan(int(fen))
        env.filters["daxie"] = lambda fen: "—" if fen is None else to_daxie(int(fen))
        env.filters["hexwrap"] = lambda h, n=32: Markup("<br>").join(
            [str(h)[i:i + n] for i in range(0, len(str(h)), n)]) if h else ""
        env.filters["cst"] = beijing_time
        env.filters["zh"] = _zh_of
        _ENVS[escape] = env
    return _ENVS[escape]


def render_html(d: Dossier, escape: frozenset[str] = frozenset()) -> str:
    env = _jinja_env(escape)
    ctx = {"d": d.data, "number": d.number, "data_sha256": d.data_sha256, "created": d.created, "kind": d.kind,
           "template_sha256": template_sha256(d.kind),
           # A case dossier's sections, in order (data rendered before sections were declared: all of them
           # there were then, so the voucher and project sections only when the data has one).
           "sections": list(d.data.get("sections") or [s for s in DOSSIER_SECTIONS if s not in ("voucher", "project")
                                                         or d.data.get(s)]),
           "versions": {"ipfund": _version("ipfund"), "weasyprint": _version("weasyprint"),
                        "pydyf": _version("pydyf")}}
    html: str = env.get_template(f"{d.kind}.html").render(**ctx)
    return html


def render(d: Dossier, *, escape_missing: bool = True) -> RenderResult:
    """Render a dossier to PDF bytes (deterministic: see flows.pdf_render).

    Characters of the *data* that the bundled fonts lack are printed as [U+XXXX] (a second render);
    with ``escape_missing=False`` they raise MissingGlyphError instead. Characters in the templates'
    own text are never escaped: they always raise."""
    from flows.pdf_render import MissingGlyphError, render_pdf

    escape: frozenset[str] = frozenset()
    for _attempt in range(4):
        html = render_html(d, escape)
        try:
            return render_pdf(html, base_url=TEMPLATES_DIR.as_uri() + "/", data_json=d.data_json,
                              document_id=d.number, created=d.created, stylesheets=(TEMPLATES_DIR / "dossier.css",),
                              manifest_extra={"template_sha256": template_sha256(d.kind),
                                              "dossier_kind": d.kind, "dossier_format": FORMAT})
        except MissingGlyphError as exc:
            chars = {c for c in exc.characters if len(c) == 1}
            if not escape_missing or not chars or chars <= escape:
                raise
            escape = escape | frozenset(chars)
    raise RuleViolation(f"dossier {d.number}: text keeps using characters the bundled fonts lack")


def page_count(pdf: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(pdf)).pages)
