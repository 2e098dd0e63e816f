"""Deterministic HTML -> PDF rendering layer for ipfund dossiers.

Auditors must be able to regenerate a dossier years later and obtain a
byte-identical file, so everything that could make two renders of the same
input differ is pinned here:

* fonts: only the files committed in ``templates/fonts`` are visible, through
  a project-only fontconfig file (see below), and are referenced through
  ``@font-face`` rules with project-unique family names;
* dates: no clock is read; the document dates come from the caller's
  ``created`` value, also used for the attachment timestamps;
* identifiers: the PDF ``/ID`` is derived from the data hash, never random;
* resources: only ``file:`` and ``data:`` URLs may be fetched, and a failed
  fetch aborts the render instead of silently dropping an image; links that
  would write a ``file:`` URI (hence the checkout path) into the PDF, and
  HTML ``rel="attachment"`` links (stamped with the current time by
  WeasyPrint), are refused;
* a render manifest (tool versions, font / template / data hashes) is
  written into the PDF information dictionary and returned to the caller.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import logging
import os
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from importlib import metadata as importlib_metadata
from io import BytesIO
from pathlib import Path
from typing import Any

import templates

FONTS_DIR = Path(templates.__file__).resolve().parent / "fonts"
FONTCONFIG_FILE = FONTS_DIR / "fonts.conf"

# FONTCONFIG_FILE must be set *before* WeasyPrint is imported: importing
# ``weasyprint`` loads Pango/fontconfig and immediately builds a fontconfig
# configuration (``weasyprint.text.fonts`` calls FcInitLoadConfigAndFonts at
# import time), and libfontconfig reads the environment when it loads its
# configuration.  With our file, which has no ``<include>`` of the system
# configuration and only lists ``templates/fonts``, host-installed fonts can
# never be matched (not even as glyph fallback), so the host cannot change
# the output.  FONTCONFIG_SYSROOT would prefix every path, so it is dropped.
# This is process-wide: other fontconfig users in this process see the same
# restricted font set.
os.environ["FONTCONFIG_FILE"] = str(FONTCONFIG_FILE)
os.environ.pop("FONTCONFIG_SYSROOT", None)

import pydyf  # noqa: E402
import weasyprint  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import FatalURLFetchingError, URLFetcher  # noqa: E402

__all__ = [
    "ATTACHMENT_NAME",
    "FONTS_DIR",
    "FONT_FILES",
    "MANIFEST_META_NAME",
    "MANIFEST_PDF_KEY",
    "MONO_FAMILY",
    "PDF_VARIANT",
    "SANS_FAMILY",
    "MissingGlyphError",
    "RenderError",
    "RenderResult",
    "extract_attachment",
    "font_hashes",
    "fonts_css",
    "pdf_text_pages",
    "read_manifest",
    "render_pdf",
]

SANS_FAMILY = "ipfund Sans SC"
MONO_FAMILY = "ipfund Mono"
PDF_VARIANT = "pdf/a-3b"
ATTACHMENT_NAME = "dossier.json"
# WeasyPrint stores ``<meta name=X>`` as info key X lower-cased with
# non-alphanumerics removed, so this meta ends up as /ipfundrendermanifest.
MANIFEST_META_NAME = "ipfund-render-manifest"
MANIFEST_PDF_KEY = "/ipfundrendermanifest"

# (file name, CSS family, CSS weight, CSS format) for every bundled face.
FONT_FILES: tuple[tuple[str, str, int, str], ...] = (
    ("NotoSansHans-Regular.otf", SANS_FAMILY, 400, "opentype"),
    ("NotoSansHans-Bold.otf", SANS_FAMILY, 700, "opentype"),
    ("DejaVuSansMono.ttf", MONO_FAMILY, 400, "truetype"),
    ("DejaVuSansMono-Bold.ttf", MONO_FAMILY, 700, "truetype"),
)

# Default family for the document. It is a *user* stylesheet, so any
# author (template) rule wins; it only avoids relying on fontconfig's choice
# for unstyled text.
_BASE_CSS = f'html {{ font-family: "{SANS_FAMILY}", "{MONO_FAMILY}"; }}\n'

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$")
_HEAD_RE = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML_RE = re.compile(r"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE_RE = re.compile(r"<!doctype[^>]*>", re.IGNORECASE)
# Messages that mean the output would depend on the environment.
_FATAL_WARNINGS = (
    "cannot be loaded",  # an @font-face failed: text would use a fallback
    "instead of HarfBuzz-Subset",  # subsetting differs from the pinned one
    "Unable to subset",
)


class RenderError(RuntimeError):
    """The document could not be rendered deterministically."""


class MissingGlyphError(RenderError):
    """Some text has no glyph in the bundled fonts (a .notdef was drawn)."""

    def __init__(self, message: str, characters: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.characters = characters


@dataclass(frozen=True)
class RenderResult:
    pdf: bytes
    sha256: str
    manifest: dict[str, str]
    warnings: tuple[str, ...] = field(default=())


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime): the bundled CJK fonts are megabytes, read
    once per process instead of once per dossier; a changed file is read again."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _FILE_HASHES.get(key)
    if digest is None:
        digest = _FILE_HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def font_hashes() -> dict[str, str]:
    """SHA-256 of every bundled font file, keyed by file name."""
    return {
        name: file_sha256(FONTS_DIR / name)
        for name, _family, _weight, _format in FONT_FILES
    }


def fonts_css() -> str:
    """``@font-face`` rules for the bundled fonts, as ``file://`` URLs."""
    rules = []
    for name, family, weight, font_format in FONT_FILES:
        url = (FONTS_DIR / name).as_uri()
        rules.append(
            "@font-face {\n"
            f'  font-family: "{family}";\n'
            f'  src: url("{url}") format("{font_format}");\n'
            f"  font-weight: {weight};\n"
            "  font-style: normal;\n"
            "}\n")
    return "".join(rules)


def _ipfund_version() -> str:
    try:
        return importlib_metadata.version("ipfund")
    except importlib_metadata.PackageNotFoundError:
        return "0.0.0"


_NATIVE: dict[str, str] = {}


def _native_versions() -> dict[str, str]:
    """Versions of the C libraries whose behaviour shapes the PDF bytes (looked up once per process)."""
    if not _NATIVE:
        _NATIVE.update(_lookup_native_versions())
    return dict(_NATIVE)


def _lookup_native_versions() -> dict[str, str]:
    from weasyprint.text import ffi as wp_ffi

    versions = {"zlib_version": zlib.ZLIB_RUNTIME_VERSION}
    number = int(wp_ffi.pango.pango_version())
    versions["pango_version"] = (
        f"{number // 10000}.{number // 100 % 100}.{number % 100}")
    try:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(
            "const char *hb_version_string (void);"
            "int FcGetVersion (void);")
        harfbuzz = ffi.dlopen("libharfbuzz.so.0")
        versions["harfbuzz_version"] = ffi.string(
            harfbuzz.hb_version_string()).decode()
        fontconfig = ffi.dlopen("libfontconfig.so.1")
        number = int(fontconfig.FcGetVersion())
        versions["fontconfig_version"] = (
            f"{number // 10000}.{number // 100 % 100}.{number % 100}")
    except (ImportError, OSError, AttributeError):  # pragma: no cover
        versions.setdefault("harfbuzz_version", "unknown")
        versions.setdefault("fontconfig_version", "unknown")
    versions["harfbuzz_subset"] = "yes" if wp_ffi.harfbuzz_subset else "no"
    return versions


def _dist_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _parse_created(created: str) -> datetime:
    """Validate ``created`` and return it as a naive UTC datetime.

    Only ``YYYY-MM-DD`` or a full timestamp with an explicit offset are
    accepted: a naive time would be interpreted in the host's time zone.
    """
    if _DATE_RE.match(created):
        day = date.fromisoformat(created)
        return datetime(day.year, day.month, day.day)
    if _DATETIME_RE.match(created):
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
        return moment.astimezone(UTC).replace(tzinfo=None)
    raise ValueError(
        f"created must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+HH:MM, got {created!r}")


class _MetaCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[tuple[str, str]] = []
        self.attachment_links = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta":
            name = (values.get("name") or "").strip().lower()
            if name:
                self.metas.append((name, values.get("content") or ""))
        elif tag in ("a", "link") and "attachment" in (values.get("rel") or "").lower().split():
            self.attachment_links += 1


def _inject_head(html: str, created: str, manifest_json: str) -> str:
    collector = _MetaCollector()
    collector.feed(html)
    collector.close()
    tags = []
    for meta_name in ("dcterms.created", "dcterms.modified"):
        found = [content for name, content in collector.metas if name == meta_name]
        if any(content.strip() != created for content in found):
            raise ValueError(
                f"HTML has <meta name={meta_name}> {found!r} != created {created!r}")
        if not found:
            tags.append(f'<meta name="{meta_name}" content="{html_lib.escape(created)}">')
    if any(name == MANIFEST_META_NAME for name, _ in collector.metas):
        raise ValueError(f"<meta name={MANIFEST_META_NAME}> is reserved")
    if collector.attachment_links:
        # WeasyPrint stamps such attachments with the current time.
        raise ValueError('rel="attachment" links are not allowed; use data_json')
    tags.append(
        f'<meta name="{MANIFEST_META_NAME}" '
        f'content="{html_lib.escape(manifest_json, quote=True)}">')
    block = "".join(tags)
    if match := _HEAD_RE.search(html):
        return f"{html[:match.end()]}{block}{html[match.end():]}"
    if match := _HTML_RE.search(html):
        return f"{html[:match.end()]}<head>{block}</head>{html[match.end():]}"
    if match := _DOCTYPE_RE.search(html):
        return f"{html[:match.end()]}{block}{html[match.end():]}"
    return block + html


class _CaptureHandler(logging.Handler):
    """Collect WeasyPrint log records emitted by the rendering thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


@contextmanager
def _capture_weasyprint_logs() -> Iterator[_CaptureHandler]:
    logger = logging.getLogger("weasyprint")
    handler = _CaptureHandler()
    previous_level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _check_records(records: list[logging.LogRecord]) -> tuple[str, ...]:
    messages = tuple(record.getMessage() for record in records)
    missing: list[str] = []
    for record, message in zip(records, messages, strict=True):
        lowered = message.lower()
        if ".notdef" in lowered or "missing glyph" in lowered:
            args = record.args if isinstance(record.args, tuple) else ()
            character = args[0] if args and isinstance(args[0], str) else message
            if character not in missing:
                missing.append(character)
    if missing:
        described = ", ".join(
            f"{char!r} (U+{ord(char):04X})" if len(char) == 1 else char
            for char in missing)
        raise MissingGlyphError(
            f"no glyph in the bundled fonts for: {described}", tuple(missing))
    fatal = [
        message for record, message in zip(records, messages, strict=True)
        if record.levelno >= logging.ERROR
        or any(marker in message for marker in _FATAL_WARNINGS)]
    if fatal:
        raise RenderError("non-deterministic rendering: " + "; ".join(fatal))
    return messages


def _check_pdf_objects(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: refuse output that would depend on the host.

    A relative ``<a href>`` is resolved against ``base_url`` and written as a
    ``file:`` URI, which would leak the checkout path into the PDF bytes; any
    attachment besides ``dossier.json`` would carry the current time.
    """
    filespecs = 0
    for pdf_object in pdf.objects:
        if not isinstance(pdf_object, dict):
            continue
        if pdf_object.get("Type") == "/Filespec":
            filespecs += 1
        action = pdf_object.get("A")
        if isinstance(action, dict) and action.get("S") == "/URI":
            uri = str(getattr(action.get("URI"), "string", action.get("URI")))
            if uri.lower().startswith("file:"):
                raise RenderError(
                    f"link to local file {uri!r} would embed the host path; "
                    "use absolute https: URLs or #fragments")
    if filespecs != 1:
        raise RenderError(f"expected exactly 1 embedded file, got {filespecs}")


UA_CSS_FILE = Path(templates.__file__).resolve().parent / "ua.css"


class _DossierHTML(weasyprint.HTML):  # type: ignore[misc]
    """An HTML document cascaded against the trimmed user-agent stylesheet (templates/ua.css): only the
    UA rules that can apply to a dossier's elements, so the cascade does not match every element against
    the rules for forms, lists and media. Same computed styles, same bytes (tests/unit/test_pdf_render.py)."""

    def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
        return [_renderer()[3]]


_RENDERER: dict[int, tuple[Any, FontConfiguration, Any, Any]] = {}


def _renderer() -> tuple[Any, FontConfiguration, Any, Any]:
    """This process's long-lived renderer: the URL fetcher, the font configuration with the bundled
    ``@font-face`` fonts loaded once, and the parsed font stylesheet, reused by every render in the
    process (a worker of ``dossier case --all`` renders hundreds). Keyed by process id: a forked child
    builds its own (WeasyPrint's FontConfiguration owns a temporary font folder it deletes when
    collected). Reuse gives the same bytes as a fresh configuration (tests/unit/test_pdf_render.py)."""
    pid = os.getpid()
    cached = _RENDERER.get(pid)
    if cached is None:
        _RENDERER.clear()
        url_fetcher = URLFetcher(allowed_protocols={"file", "data"}, fail_on_errors=True)
        font_config = FontConfiguration()
        stylesheet = weasyprint.CSS(
            string=fonts_css() + _BASE_CSS, font_config=font_config,
            url_fetcher=url_fetcher)
        from weasyprint.css.counters import CounterStyle

        ua = weasyprint.CSS(string=UA_CSS_FILE.read_text(encoding="utf-8"), counter_style=CounterStyle())
        cached = _RENDERER[pid] = (url_fetcher, font_config, stylesheet, ua)
    return cached


_STYLESHEETS: dict[tuple[int, str, int, int], Any] = {}


def _stylesheet(path: Path) -> Any:
    """A CSS file parsed once per process (again when it changed), with the renderer's fonts and fetcher."""
    url_fetcher, font_config, _fonts, _ua = _renderer()
    st = path.stat()
    key = (os.getpid(), str(path), st.st_size, st.st_mtime_ns)
    sheet = _STYLESHEETS.get(key)
    if sheet is None:
        if any(k[0] != key[0] for k in _STYLESHEETS):
            _STYLESHEETS.clear()  # parsed in the parent before a fork: its font configuration is not ours
        sheet = _STYLESHEETS[key] = weasyprint.CSS(
            string=path.read_text(encoding="utf-8"), base_url=path.parent.as_uri() + "/",
            font_config=font_config, url_fetcher=url_fetcher)
    return sheet


def render_pdf(
    html: str,
    *,
    base_url: str,
    data_json: bytes,
    document_id: str,
    created: str,
    manifest_extra: dict[str, str],
    stylesheets: tuple[Path, ...] = (),
    full_ua: bool = False,
) -> RenderResult:
    """Render ``html`` to a PDF/A-3b file whose bytes depend only on the input.

    ``stylesheets`` are CSS files applied after the document's own ``<style>`` rules would be, as user
    stylesheets (below the document's, above the user agent's), each parsed once per process.
    With ``full_ua`` the document is cascaded against WeasyPrint's whole HTML5 user-agent stylesheet
    instead of the trimmed templates/ua.css (the test that the two give the same bytes uses it).

    ``data_json`` is embedded as the ``dossier.json`` attachment, ``created``
    (``YYYY-MM-DD`` or an ISO timestamp with offset) is the document date,
    and ``manifest_extra`` must contain at least ``template_sha256``.
    Raises :class:`MissingGlyphError` if some text has no glyph in the
    bundled fonts, :class:`RenderError` if a resource or font fails to load.
    """
    if not isinstance(data_json, bytes):
        raise TypeError("data_json must be bytes")
    timestamp = _parse_created(created)
    if "template_sha256" not in manifest_extra:
        raise ValueError("manifest_extra must contain template_sha256")

    data_sha256 = hashlib.sha256(data_json).hexdigest()
    manifest: dict[str, str] = {
        "document_id": document_id,
        "created": created,
        "pdf_variant": PDF_VARIANT,
        "ipfund_version": _ipfund_version(),
        "weasyprint_version": weasyprint.__version__,
        "pydyf_version": pydyf.__version__,
        "pillow_version": _dist_version("pillow"),
        **_native_versions(),
        "fonts_conf_sha256": file_sha256(FONTCONFIG_FILE),
        **{f"font_sha256:{name}": digest for name, digest in font_hashes().items()},
        "data_sha256": data_sha256,
    }
    clashes = sorted(set(manifest) & set(manifest_extra))
    if clashes:
        raise ValueError(f"manifest_extra may not override {clashes}")
    for key, value in manifest_extra.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("manifest_extra must map str to str")
    manifest.update(manifest_extra)
    manifest = dict(sorted(manifest.items()))
    manifest_json = json.dumps(
        manifest, sort_keys=True, ensure_ascii=True, separators=(",", ":"))

    document_html = _inject_head(html, created, manifest_json)
    url_fetcher, font_config, stylesheet, _ua = _renderer()
    attachment = weasyprint.Attachment(
        string=data_json, name=ATTACHMENT_NAME,
        description=f"ipfund dossier data for {document_id}",
        created=timestamp, modified=timestamp, relationship="Data")

    with _capture_weasyprint_logs() as capture:
        try:
            pdf = (weasyprint.HTML if full_ua else _DossierHTML)(
                string=document_html, base_url=base_url, url_fetcher=url_fetcher,
            ).write_pdf(
                stylesheets=[stylesheet, *(_stylesheet(p) for p in stylesheets)],
                font_config=font_config,
                attachments=[attachment],
                finisher=_check_pdf_objects,
                pdf_identifier=data_sha256.encode("ascii"),
                pdf_variant=PDF_VARIANT,
                pdf_version="1.7",
                pdf_tags=False,
                uncompressed_pdf=False,
                custom_metadata=True,
                presentational_hints=False,
                output_intent="srgb",
                optimize_images=False,
                jpeg_quality=None,
                dpi=None,
                full_fonts=False,
                hinting=False,
            )
        except FatalURLFetchingError as exception:
            raise RenderError(str(exception)) from exception
    warnings = _check_records(capture.records)
    assert isinstance(pdf, bytes)
    return RenderResult(
        pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), manifest=manifest,
        warnings=warnings)


def read_manifest(pdf: bytes) -> dict[str, str] | None:
    """Return the render manifest stored in a PDF's information dictionary."""
    info = PdfReader(BytesIO(pdf)).metadata
    if info is None or MANIFEST_PDF_KEY not in info:
        return None
    value = json.loads(str(info[MANIFEST_PDF_KEY]))
    return {str(key): str(item) for key, item in value.items()}


def extract_attachment(pdf: bytes, name: str = ATTACHMENT_NAME) -> bytes | None:
    """Return the content of the embedded file called ``name``, if any."""
    reader = PdfReader(BytesIO(pdf))
    contents = reader.attachments.get(name)
    if not contents:
        return None
    return contents[0]


def pdf_text_pages(pdf: bytes) -> list[str]:
    """Extracted text of every page, in order."""
    return [page.extract_text() or "" for page in PdfReader(BytesIO(pdf)).pages]
