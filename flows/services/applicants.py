"""Applicants: enterprises, universities and research institutes, identified by their 统一社会信用代码."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services.context import acting, current_policy
from flows.services.csv_input import read_rows
from flows.services.text_input import limit, shown, text_problem
from models import audit
from models.bulk import insert_rows
from models.clock import stamp
from models.tables import APPLICANT_KINDS, Applicant
from rules.bank import BankDetailsError, normalise_account, normalise_bank_name
from rules.errors import NotFound, ValidationFailed
from rules.uscc import CreditCodeError, validate_uscc

COLUMNS = ("name", "uscc", "kind", "district", "sme", "whitelist")
BANK_COLUMNS = ("bank_name", "bank_account")  # optional: the payee's 开户银行 and 账号 (both or neither)
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


# The text columns checked as stored text (length, control characters), and whether each goes into
# files for other systems (the name is the payee of bank files: no leading formula character). The bank
# columns are checked by rules.bank once normalised (an account is typed with spaces between groups).
_TEXT_COLUMNS = {"name": True, "uscc": False, "kind": False, "district": False}


def _applicant_rows(text: str, districts: dict[str, str], problems: list[str]) -> Iterator[dict[str, object]]:
    """Valid rows of an applicant file, one at a time (the file is never held as a list of rows);
    each bad row's problems are appended to ``problems`` with its line number."""
    reader = read_rows(text, "applicant file")
    first = next(reader, None)
    if first is None:
        raise ValidationFailed("applicant file", ["line 1: the file is empty; expected a header " + ",".join(COLUMNS)])
    header = [h.strip().lower() for h in first[1]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValidationFailed("applicant file", [f"line 1: header lacks column(s) {', '.join(missing)}; "
                                                  f"expected {','.join(COLUMNS)}"])
    idx = {c: header.index(c) for c in COLUMNS}
    bank_idx = {c: header.index(c) for c in BANK_COLUMNS if c in header}
    if len(bank_idx) == 1:
        raise ValidationFailed("applicant file", ["line 1: give both bank_name and bank_account columns, or neither"])
    seen: dict[str, int] = {}
    for n, row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            problems.append(f"line {n}: {len(row)} cells, expected {len(header)}")
            continue
        errs: list[str] = []
        bad_text: set[str] = set()  # columns whose text cannot be stored: not checked any further
        for c, formula in _TEXT_COLUMNS.items():
            # Spaces around a cell are trimmed (as stored); a leading tab or carriage return is refused.
            problem = text_problem(row[idx[c]].rstrip().lstrip(" "), field=c, max_len=limit(Applicant, c),
                                   formula=formula)
            if problem is not None:
                errs.append(problem)
                bad_text.add(c)
        cell = {c: row[i].strip() for c, i in idx.items()}
        if not cell["name"]:
            errs.append("name is empty")
        code = cell["uscc"]
        if "uscc" not in bad_text:
            try:
                code = validate_uscc(cell["uscc"])
            except CreditCodeError as exc:
                errs.append(str(exc))
        if "kind" not in bad_text and cell["kind"] not in APPLICANT_KINDS:
            errs.append(f"kind {shown(cell['kind'])} must be one of {' | '.join(APPLICANT_KINDS)}")
        if "district" not in bad_text and cell["district"] not in districts:
            errs.append(f"district {shown(cell['district'])} is not a district of the policy's jurisdiction "
                        f"(e.g. 370602 芝罘区)")
        flags = {}
        for f in ("sme", "whitelist"):
            v = cell[f].lower()
            if v not in _BOOL:
                errs.append(f"{f} {shown(cell[f])} must be true or false")
            flags[f] = _BOOL.get(v, False)
        if "uscc" not in bad_text:
            if code in seen:
                errs.append(f"credit code {code} already appears on line {seen[code]}")
            seen.setdefault(code, n)
        bank: dict[str, str | None] = {"bank_name": None, "bank_account": None}
        given = {c: row[i].strip() for c, i in bank_idx.items() if i < len(row)}
        if any(given.values()):
            try:
                bank["bank_name"] = normalise_bank_name(given.get("bank_name", ""))
            except BankDetailsError as exc:
                errs.append(str(exc))
            try:
                bank["bank_account"] = normalise_account(given.get("bank_account", ""))
            except BankDetailsError as exc:
                errs.append(str(exc))
        if errs:
            problems.extend(f"line {n}: {e}" for e in errs)
            continue
        yield {"name": cell["name"], "uscc": code, "kind": cell["kind"], "district": cell["district"],
               "sme": flags["sme"], "whitelist": flags["whitelist"], **bank}


_NEW_COLUMNS = ("name", "uscc", "kind", "district", "sme", "whitelist", "bank_name", "bank_account", "created_at")


def import_applicants(session: Session, actor: str | None, content: bytes, filename: str = "applicants.csv") -> int:
    """All rows or none. Existing credit codes are updated only if identical (re-import is a no-op).

    Streamed in chunks of 5,000 rows: each chunk is checked against the register and written while the
    file has no problem so far; any problem anywhere refuses the whole file (the unit of work rolls
    back), with every bad line listed. Memory stays flat however long the file."""
    user = acting(session, actor, "applicant.import")
    policy = current_policy(session)
    text = decode_text(content, filename)
    parse_problems: list[str] = []
    problems: list[str] = []
    added: list[str] = []
    now = stamp()
    table = Applicant.__table__  # type: ignore[attr-defined]
    rows = _applicant_rows(text, policy.jurisdiction.districts, parse_problems)
    while chunk := list(islice(rows, 5000)):
        existing = {r.uscc: r for r in session.execute(
            sa_select(table.c.uscc, table.c.name, table.c.kind, table.c.district, table.c.sme, table.c.whitelist,
                      table.c.bank_name, table.c.bank_account)
            .where(table.c.uscc.in_([r["uscc"] for r in chunk]))).all()}
        new_rows = []
        for r in chunk:
            old = existing.get(str(r["uscc"]))
            if old is None:
                new_rows.append(r)
            elif (old.name, old.kind, old.district, bool(old.sme), bool(old.whitelist)) != (
                    r["name"], r["kind"], r["district"], r["sme"], r["whitelist"]):
                problems.append(f"credit code {r['uscc']}: already registered as {old.name!r} with other details; "
                                "corrections to an applicant are not made by import")
            elif r["bank_account"] is not None and (old.bank_name, old.bank_account) != (
                    r["bank_name"], r["bank_account"]):
                problems.append(f"credit code {r['uscc']}: already registered with other bank details; a change of "
                                "bank account is made with `ipfund applicant bank` (audited), not by import")
        if new_rows and not (problems or parse_problems):
            insert_rows(session, table, _NEW_COLUMNS,
                        [(r["name"], r["uscc"], r["kind"], r["district"], r["sme"], r["whitelist"], r["bank_name"],
                          r["bank_account"], now) for r in new_rows])
            added += [str(r["uscc"]) for r in new_rows]
    if parse_problems:
        raise ValidationFailed("applicant file", parse_problems)
    if problems:
        raise ValidationFailed(filename, problems)
    if not added:
        return 0  # re-importing the same file is a no-op: nothing written, not even an audit event
    audit.append(session, actor=user.name, action="applicant.import", subject="applicants",
                 payload={"file": filename, "added": len(added), "uscc": added})
    return len(added)


def list_applicants(session: Session) -> list[Applicant]:
    return list(session.exec(select(Applicant).order_by(col(Applicant.id))).all())


def get_applicant(session: Session, key: str) -> Applicant:
    """By credit code or id. A key no applicant can have (too long, control characters) is not looked
    up at all: PostgreSQL refuses a NUL even in a query, and a 10,000-digit id is no integer a row has."""
    a = None
    if text_problem(key, field="applicant", max_len=limit(Applicant, "uscc")) is None:
        a = session.exec(select(Applicant).where(Applicant.uscc == key.upper())).first()
        if a is None and key.isascii() and key.isdigit():
            a = session.get(Applicant, int(key))
    if a is None:
        raise NotFound(f"applicant {shown(key)} not found (give the credit code or id; see `ipfund applicant list`)")
    return a
