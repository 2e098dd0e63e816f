"""Verifying a dossier file: re-render from the database and say why the bytes differ (see the
package docstring)."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from flows.services.dossier.issuing import issued_records
from flows.services.dossier.rendering import build, make_dossier, render
from models import checkpoints
from models.tables import AuditEvent
from rules.errors import RuleViolation

# Manifest keys that describe the document rather than the render environment.
DOCUMENT_KEYS = ("created", "data_sha256", "document_id")


class DossierMismatch(RuleViolation):
    """A file given to verify cannot be matched to a dossier: it has no readable embedded data or
    manifest naming the case or year (name it with --case or --year)."""


def flatten(obj: Any, path: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}`` (empty containers kept as leaves)."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        if not obj and path:
            out[path] = {}
        for k in sorted(obj):
            out.update(flatten(obj[k], f"{path}.{k}" if path else str(k)))
    elif isinstance(obj, list):
        if not obj and path:
            out[path] = []
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{path}[{i}]"))
    else:
        out[path] = obj
    return out


_MISSING = "(absent)"


def diff_data(in_file: dict[str, Any], in_db: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-by-field differences between two dossier data dicts, in document order."""
    a, b = flatten(in_file), flatten(in_db)
    keys = list(a) + [k for k in b if k not in a]
    return [{"field": k, "in_file": a.get(k, _MISSING), "in_database": b.get(k, _MISSING)}
            for k in keys if a.get(k, _MISSING) != b.get(k, _MISSING)]


def diff_pages(pages_file: list[str], pages_now: list[str], limit: int = 12) -> list[dict[str, Any]]:
    out = []
    for i in range(max(len(pages_file), len(pages_now))):
        a = pages_file[i] if i < len(pages_file) else ""
        b = pages_now[i] if i < len(pages_now) else ""
        if a == b:
            continue
        lines = [ln for ln in difflib.unified_diff(a.splitlines(), b.splitlines(), "file", "database", n=0,
                                                   lineterm="") if not ln.startswith(("---", "+++", "@@"))]
        out.append({"page": i + 1, "missing_in_file": i >= len(pages_file), "missing_now": i >= len(pages_now),
                    "lines": lines[:limit], "more": max(0, len(lines) - limit)})
    return out


@dataclass
class VerifyReport:
    identical: bool
    verdict: str  # identical | database_changed | environment_changed | pdf_altered | unreadable
    document_id: str | None
    kind: str | None
    key: str | None
    file_sha256: str
    expected_sha256: str | None = None
    expected_document_id: str | None = None
    messages: list[str] = field(default_factory=list)
    data_differences: list[dict[str, Any]] = field(default_factory=list)
    environment_differences: list[dict[str, Any]] = field(default_factory=list)
    page_differences: list[dict[str, Any]] = field(default_factory=list)
    first_byte_difference: int | None = None
    issued: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] = field(default_factory=dict)  # the embedded checkpoint, checked (ok, message)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def check_embedded_checkpoint(session: Session, data: dict[str, Any] | None) -> dict[str, Any]:
    """The signed checkpoint a dossier file embeds (``chain.checkpoint``), checked with the trusted
    public key of this installation (never a key the file names) and against the chain."""
    from rules import checkpoints as signed

    cp = ((data or {}).get("chain") or {}).get("checkpoint")
    if not cp:
        return {"present": False, "ok": True, "message": "the dossier embeds no signed checkpoint: no checkpoint "
                "covered its anchor when it was rendered"}
    try:
        parsed = signed.parse({k: v for k, v in cp.items() if k != "matches_chain"})
        trusted = checkpoints.trusted_public_key()
    except (ValueError, TypeError) as exc:
        return {"present": True, "ok": False, "message": f"the embedded checkpoint cannot be checked ({exc})"}
    if trusted is None:
        return {"present": True, "ok": False, "seq": parsed.seq, "message": (
            f"the embedded checkpoint #{parsed.seq} cannot be verified: no trusted public key at "
            f"{checkpoints.public_key_path()} (set {checkpoints.ENV_PUBLIC_KEY})")}
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    length = int(session.execute(select(func.coalesce(func.max(t.c.seq), 0))).scalar_one())
    problem = signed.signature_problem(parsed, trusted) or signed.chain_problem(
        parsed, checkpoints.stored_hashes(session, [parsed.seq]).get(parsed.seq), length)
    if problem:
        return {"present": True, "ok": False, "seq": parsed.seq,
                "message": f"the embedded checkpoint #{parsed.seq}: {problem}"}
    return {"present": True, "ok": True, "seq": parsed.seq, "message": (
        f"the embedded checkpoint #{parsed.seq} (signed {parsed.at}, key {parsed.key[:16]}…) verifies with the "
        f"trusted key and the chain still holds entry #{parsed.seq} with the hash it signed")}


def _identify(pdf: bytes) -> tuple[dict[str, Any] | None, bytes | None, dict[str, str] | None, list[str]]:
    """Embedded data (parsed and raw) and manifest of a file, with what could not be read."""
    from flows.pdf_render import extract_attachment, read_manifest

    problems = []
    raw: bytes | None = None
    data: dict[str, Any] | None = None
    manifest: dict[str, str] | None = None
    try:
        raw = extract_attachment(pdf)
        if raw is None:
            problems.append("the file has no embedded dossier.json")
        else:
            parsed = json.loads(raw.decode("utf-8"))
            data = parsed if isinstance(parsed, dict) else None
    except Exception as exc:  # a damaged file can fail anywhere inside pypdf or zlib
        problems.append(f"the embedded dossier.json cannot be read ({type(exc).__name__}: {exc})")
        raw = None
    try:
        manifest = read_manifest(pdf)
        if manifest is None:
            problems.append("the file has no render manifest")
    except Exception as exc:
        problems.append(f"the render manifest cannot be read ({type(exc).__name__}: {exc})")
    return data, raw, manifest, problems


def _key_from(data: dict[str, Any] | None, manifest: dict[str, str] | None) -> tuple[str, str] | None:
    head = (data or {}).get("dossier") or {}
    if head.get("kind") == "case" and head.get("ref"):
        return "case", str(head["ref"])
    if head.get("kind") == "year" and head.get("year"):
        return "year", str(head["year"])
    if head.get("kind") == "pool_claim" and head.get("ref"):
        return "pool_claim", str(head["ref"])
    doc = (manifest or {}).get("document_id", "")
    if doc.startswith("DOS-Y") and doc.count("-") == 2:
        return "year", doc.split("-")[1][1:]
    if doc.startswith("DOS-") and doc.count("-") >= 2:
        return "case", doc[4:].rsplit("-", 1)[0]
    return None


class NotAPdf(RuleViolation):
    """The file given to verify is not a PDF at all."""


def not_a_pdf(pdf: bytes, name: str = "the file") -> str | None:
    """Why ``pdf`` is not a PDF (it must start with ``%PDF-``), or None."""
    if pdf.startswith(b"%PDF-"):
        return None
    return f"{name} is not a PDF (it starts with {pdf[:16]!r}); give a dossier PDF written by `ipfund dossier`"


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf reports a damaged file on its logger and with warnings; verify says what is wrong itself."""
    import logging
    import warnings

    logger = logging.getLogger("pypdf")
    level, logger.level = logger.level, logging.CRITICAL
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def verify(session: Session, pdf: bytes, kind: str | None = None, key: str | None = None,
           name: str = "the file") -> VerifyReport:
    """Re-render the dossier a file claims to be from today's database and compare (see module doc).
    A file that is not a PDF is refused (NotAPdf) before anything reads it; pypdf stays quiet."""
    problem = not_a_pdf(pdf, name)
    if problem is not None:
        raise NotAPdf(problem)
    with _quiet_pypdf():
        return _verify(session, pdf, kind, key)


def _verify(session: Session, pdf: bytes, kind: str | None, key: str | None) -> VerifyReport:
    from flows.pdf_render import pdf_text_pages

    file_sha = hashlib.sha256(pdf).hexdigest()
    data, raw, manifest, problems = _identify(pdf)
    found = (kind, key) if kind and key else _key_from(data, manifest)
    if found is None:
        raise DossierMismatch("cannot tell which dossier this file is: it has no readable embedded data or "
                              "manifest (" + "; ".join(problems) + "); name it with --case REF or --year YEAR")
    kind, key = found
    d = build(session, kind, key)
    fresh = render(d)
    report = VerifyReport(identical=fresh.pdf == pdf, verdict="identical", document_id=(manifest or {}).get(
        "document_id"), kind=kind, key=key, file_sha256=file_sha, expected_sha256=fresh.sha256,
        expected_document_id=d.number)
    report.issued = issued_records(session, file_sha, d.subject)
    report.checkpoint = check_embedded_checkpoint(session, data)
    if report.identical:
        report.messages.append(f"identical: the database renders exactly this file ({d.number}, sha256 {file_sha})")
        return report
    report.first_byte_difference = next(
        (i for i, (x, y) in enumerate(zip(pdf, fresh.pdf, strict=False)) if x != y), min(len(pdf), len(fresh.pdf)))
    report.messages.extend(problems)
    if manifest is not None:
        for k in sorted(set(manifest) | set(fresh.manifest)):
            if k in DOCUMENT_KEYS:
                continue
            if manifest.get(k) != fresh.manifest.get(k):
                report.environment_differences.append(
                    {"key": k, "in_file": manifest.get(k, _MISSING), "now": fresh.manifest.get(k, _MISSING)})
    if raw is not None and manifest is not None and hashlib.sha256(raw).hexdigest() != manifest.get("data_sha256"):
        report.messages.append("the embedded dossier.json does not match the data hash in the file's own "
                               "manifest: the attachment was altered after rendering")
    if data is not None:
        report.data_differences = diff_data(data, d.data)
    if report.data_differences:
        try:
            own = render(make_dossier(data or {}))
            authentic = own.pdf == pdf
        except Exception:
            authentic = False
        if authentic:
            report.verdict = "database_changed"
            report.messages.append(
                f"the file is an authentic render of the data it embeds, but the database now differs in "
                f"{len(report.data_differences)} field(s): the database changed after the dossier was rendered")
        elif report.environment_differences:
            report.verdict = "database_changed"
            report.messages.append(
                f"the database differs from the data embedded in the file in {len(report.data_differences)} "
                "field(s), and the file was rendered in another environment (so its bytes cannot be re-derived)")
        else:
            report.verdict = "pdf_altered"
            report.messages.append(
                f"the data embedded in the file differs from the database in {len(report.data_differences)} "
                "field(s), and the file is not a render of its own embedded data either: the PDF was altered")
        return report
    if report.environment_differences:
        report.verdict = "environment_changed"
        report.messages.append("same data, rendered in a different environment: "
                               + ", ".join(f"{e['key']} {e['in_file']} → {e['now']}"
                                           for e in report.environment_differences[:6]))
    else:
        report.verdict = "unreadable" if data is None and manifest is None else "pdf_altered"
        report.messages.append(
            "same data and render environment, yet the bytes differ: the PDF was altered after rendering"
            if data is not None else "the file's embedded data cannot be read: the PDF is damaged or altered")
    try:
        report.page_differences = diff_pages(pdf_text_pages(pdf), pdf_text_pages(fresh.pdf))
    except Exception as exc:
        report.messages.append(f"the file's text cannot be extracted ({type(exc).__name__}: {exc})")
    if not report.page_differences:
        report.messages.append(f"the text of every page is the same; the bytes first differ at offset "
                               f"{report.first_byte_difference}")
    return report
