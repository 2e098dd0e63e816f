"""Applicants: enterprises, universities and research institutes, identified by their 统一社会信用代码."""

from __future__ import annotations

import csv
import io

from sqlmodel import Session, col, select

from flows.services.context import acting, current_policy
from models import audit
from models.bulk import insert_dicts
from models.clock import stamp
from models.tables import APPLICANT_KINDS, Applicant
from rules.errors import NotFound, ValidationFailed
from rules.uscc import CreditCodeError, validate_uscc

COLUMNS = ("name", "uscc", "kind", "district", "sme", "whitelist")
_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False, "是": True, "否": False}


def decode_text(content: bytes, what: str, allow_gbk: bool = False) -> str:
    """UTF-8 with or without BOM (and GBK where the format allows it)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if allow_gbk:
            try:
                return content.decode("gbk")
            except UnicodeDecodeError:
                pass
        raise ValidationFailed(what, [f"byte {exc.start}: the file is not UTF-8 text; save it as CSV UTF-8"]) from None


def parse_applicant_csv(text: str, districts: dict[str, str]) -> list[dict[str, object]]:
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    problems: list[str] = []
    if not rows:
        raise ValidationFailed("applicant file", ["line 1: the file is empty; expected a header " + ",".join(COLUMNS)])
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValidationFailed("applicant file", [f"line 1: header lacks column(s) {', '.join(missing)}; "
                                                  f"expected {','.join(COLUMNS)}"])
    idx = {c: header.index(c) for c in COLUMNS}
    out: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            problems.append(f"line {n}: {len(row)} cells, expected {len(header)}")
            continue
        cell = {c: row[i].strip() for c, i in idx.items()}
        errs: list[str] = []
        if not cell["name"]:
            errs.append("name is empty")
        try:
            code = validate_uscc(cell["uscc"])
        except CreditCodeError as exc:
            errs.append(str(exc))
            code = cell["uscc"]
        if cell["kind"] not in APPLICANT_KINDS:
            errs.append(f"kind {cell['kind']!r} must be one of {' | '.join(APPLICANT_KINDS)}")
        if cell["district"] not in districts:
            errs.append(f"district {cell['district']!r} is not a district of the policy's jurisdiction "
                        f"(e.g. 370602 芝罘区)")
        flags = {}
        for f in ("sme", "whitelist"):
            v = cell[f].lower()
            if v not in _BOOL:
                errs.append(f"{f} {cell[f]!r} must be true or false")
            flags[f] = _BOOL.get(v, False)
        if code in seen:
            errs.append(f"credit code {code} already appears on line {seen[code]}")
        seen.setdefault(code, n)
        if errs:
            problems.extend(f"line {n}: {e}" for e in errs)
            continue
        out.append({"name": cell["name"], "uscc": code, "kind": cell["kind"], "district": cell["district"],
                    "sme": flags["sme"], "whitelist": flags["whitelist"]})
    if problems:
        raise ValidationFailed("applicant file", problems)
    return out


def import_applicants(session: Session, actor: str | None, content: bytes, filename: str = "applicants.csv") -> int:
    """All rows or none. Existing credit codes are updated only if identical (re-import is a no-op)."""
    user = acting(session, actor, "applicant.import")
    policy = current_policy(session)
    rows = parse_applicant_csv(decode_text(content, filename), policy.jurisdiction.districts)
    existing = {a.uscc: a for a in session.exec(select(Applicant)).all()}
    problems = []
    new_rows = []
    for r in rows:
        old = existing.get(str(r["uscc"]))
        if old is None:
            new_rows.append(r)
        elif (old.name, old.kind, old.district, old.sme, old.whitelist) != (
                r["name"], r["kind"], r["district"], r["sme"], r["whitelist"]):
            problems.append(f"credit code {r['uscc']}: already registered as {old.name!r} with other details; "
                            "corrections to an applicant are not made by import")
    if problems:
        raise ValidationFailed(filename, problems)
    if not new_rows:
        return 0  # re-importing the same file is a no-op: nothing written, not even an audit event
    now = stamp()
    table = Applicant.__table__  # type: ignore[attr-defined]
    for i in range(0, len(new_rows), 5000):
        insert_dicts(session, table, [{**r, "created_at": now} for r in new_rows[i:i + 5000]])
    audit.append(session, actor=user.name, action="applicant.import", subject="applicants",
                 payload={"file": filename, "added": len(new_rows), "uscc": [r["uscc"] for r in new_rows]})
    return len(new_rows)


def list_applicants(session: Session) -> list[Applicant]:
    return list(session.exec(select(Applicant).order_by(col(Applicant.id))).all())


def get_applicant(session: Session, key: str) -> Applicant:
    q = select(Applicant).where(Applicant.uscc == key.upper())
    a = session.exec(q).first()
    if a is None and key.isdigit():
        a = session.get(Applicant, int(key))
    if a is None:
        raise NotFound(f"applicant {key!r} not found (give the credit code or id; see `ipfund applicant list`)")
    return a
