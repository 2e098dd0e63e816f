"""Bulk voucher files (托管服务券, 二(二)5): contracts, redemption manifests and confirmations in CSV, as
real voucher platforms take them from SMEs and agencies.

Each line is the act of the single command (`ipfund voucher contract|redeem|confirm REF`), decided by
the same per-voucher checks (:mod:`flows.services.vouchers`: ``check_contractable``, ``check_use_by``,
``contract_cover``, ``check_redeemable``, ``redeem_amount``, ``evidence_problems``,
``check_confirmable``) and the same duties rule for the user who submits the file, line by line:

* a **contract file** is the SME's act (duties: ``voucher.contract``, the holder's own organisation
  only): an SME's user files the contracts of its own vouchers; the bureau's platform operator (role
  ``admin``, as for the single act) may enter contracts the SMEs signed on paper. An agency never files
  contracts: its staff have no ``voucher.contract`` permission, in bulk as one by one;
* a **redemption manifest** is the agency's act (``voucher.redeem``, its own contracts only), one line
  per voucher with one evidence file per kind the policy requires (paths relative to the manifest);
* a **confirmation file** is the SME's act (``voucher.confirm``).

All or nothing: the file is read in chunks of :data:`CHUNK` lines, each chunk's vouchers, contracts,
redemptions and agencies read in a few batched queries and, while the file has no problem so far,
written (prepared inserts, one guarded update per voucher, one audit event per state change, one
outbox message where the single act writes one); any problem on any line refuses the whole file, every
bad line named with its rule and clause, and the caller's unit of work rolls back: nothing is written.
Memory stays flat: only the references seen (to refuse a voucher named twice) outlive a chunk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases, vouchers
from flows.services import duties as duty_svc
from flows.services.applicants import decode_text
from flows.services.context import acting, current_policy
from flows.services.csv_input import read_header, read_rows
from flows.services.notifications import notify_many
from flows.services.text_input import text_problem
from models.bulk import insert_rows
from models.clock import stamp
from models.tables import (
    Agency,
    Applicant,
    Application,
    AwardRound,
    EvidenceBlob,
    User,
    VoucherContract,
    VoucherEvidence,
    VoucherRedemption,
)
from rules import agencies as agency_rules
from rules import duties
from rules.errors import NotFound, RuleViolation, ValidationFailed
from rules.money import MoneyFormatError, parse_yuan
from rules.policy import Policy

CHUNK = 2000  # lines read, checked and written together
MAX_REPORTED = 200  # bad lines named in one refusal (the count of the rest is given)

CONTRACT_COLUMNS = ("voucher", "agency", "amount_yuan")
CONFIRM_COLUMNS = ("voucher",)


@dataclass
class BulkResult:
    """What a bulk file did: the lines acted on, and the file's name."""

    act: str
    file: str
    vouchers: int

    def as_json(self) -> dict[str, Any]:
        return {"act": self.act, "file": self.file, "vouchers": self.vouchers}


# --- reading the file -------------------------------------------------------------------------------------

def _lines(content: bytes, filename: str, columns: Sequence[str], required: Sequence[str]
           ) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The header's column positions and the data lines; refused when the header lacks a required column
    or has one the format does not know."""
    reader = read_rows(decode_text(content, filename, allow_gbk=True), filename)
    _header, idx = read_header(reader, filename, columns, required)
    return idx, ((n, row) for n, row in reader if any(c.strip() for c in row))


def _cell(row: list[str], idx: dict[str, int], column: str) -> str:
    i = idx.get(column)
    return row[i].strip() if i is not None and i < len(row) else ""


class _Problems:
    """Bad lines of one file, each named by its line; the file is refused when there is any."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.items: list[str] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append(f"line {line}: {message}")

    def raise_any(self) -> None:
        if self.count:
            more = [f"… and {self.count - len(self.items)} more bad line(s)"] if self.count > len(self.items) else []
            raise ValidationFailed(self.filename, self.items + more)


@dataclass(slots=True)
class _Voucher:
    """A voucher's columns as the checks read them (``app`` for the shared helpers)."""

    id: int
    ref: str
    scheme: str
    status: str
    year: int
    award_fen: int | None
    round_id: int | None
    applicant_id: int
    service: str


class _World:
    """What the lines of a file refer to, read in batches and kept for the file: rounds' issue days,
    agencies and their records (few), and each chunk's vouchers and holders."""

    def __init__(self, session: Session, policy: Policy) -> None:
        self.session = session
        self.policy = policy
        self.issued: dict[int, AwardRound] = {r.id: r for r in session.exec(select(AwardRound)).all()
                                              if r.id is not None and r.finalized_at}
        self.agencies_by_code: dict[str, Agency] = {}
        self.agencies_by_id: dict[int, Agency] = {}
        self.records: dict[int, agency_rules.AgencyRecord] = {}
        self.schemes = set(vouchers.voucher_schemes(policy))

    def vouchers(self, refs: set[str]) -> dict[str, _Voucher]:
        a = Application.__table__  # type: ignore[attr-defined]
        out: dict[str, _Voucher] = {}
        good = [r for r in refs if text_problem(r, field="voucher", max_len=32) is None]
        for i in range(0, len(good), 900):
            for r in self.session.execute(sa_select(a.c.id, a.c.ref, a.c.scheme, a.c.status, a.c.year, a.c.award_fen,
                                                    a.c.round_id, a.c.applicant_id, a.c.data)
                                          .where(a.c.ref.in_(good[i:i + 900]))):
                sc = self.policy.schemes.get(r.scheme)
                field = sc.voucher.service_field if sc is not None and sc.voucher is not None else "service"
                service = str(_json(r.data).get(field) or "")
                out[r.ref] = _Voucher(r.id, r.ref, r.scheme, r.status, r.year, r.award_fen, r.round_id, r.applicant_id,
                                      service)
        return out

    def holders(self, ids: set[int]) -> dict[int, tuple[str, str]]:
        p = Applicant.__table__  # type: ignore[attr-defined]
        out: dict[int, tuple[str, str]] = {}
        idl = sorted(ids)
        for i in range(0, len(idl), 900):
            out.update({r.id: (r.uscc, r.name) for r in self.session.execute(
                sa_select(p.c.id, p.c.uscc, p.c.name).where(p.c.id.in_(idl[i:i + 900])))})
        return out

    def agency(self, code: str | None = None, agency_id: int | None = None) -> Agency:
        if agency_id is not None and agency_id in self.agencies_by_id:
            return self.agencies_by_id[agency_id]
        if code is not None and code in self.agencies_by_code:
            return self.agencies_by_code[code]
        if agency_id is not None:
            found = self.session.get(Agency, agency_id)
            if found is None:
                raise NotFound(f"no agency {agency_id}")
            ag = found
        else:
            from flows.services import agencies

            ag = agencies.get(self.session, code or "")
        assert ag.id is not None
        self.agencies_by_code[ag.uscc] = ag
        self.agencies_by_id[ag.id] = ag
        return ag

    def standing(self, ag: Agency, service: str, on: dt.date, price_fen: int | None = None) -> agency_rules.Standing:
        from flows.services import agencies

        assert ag.id is not None
        record = self.records.get(ag.id)
        if record is None:
            record = self.records[ag.id] = agencies.record_of(self.session, ag)
        return agency_rules.standing(record, service, on, price_fen)

    def terms(self, v: _Voucher) -> Any:
        return vouchers.terms_issued(self.policy, v, self.issued.get(v.round_id) if v.round_id is not None else None)


def _json(text: str) -> dict[str, Any]:
    import json

    data = json.loads(text)
    return data if isinstance(data, dict) else {}


def _chunks(lines: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(lines, CHUNK)):
        yield chunk


def _find(world: _World, found: dict[str, _Voucher], ref: str, seen: set[str]) -> _Voucher:
    """The voucher a line names, or refused: none named, unknown, not a voucher, named twice in the file."""
    if not ref:
        raise ValidationFailed("voucher", ["voucher: empty; give the voucher's reference, e.g. CV-2021-00001"])
    bad = text_problem(ref, field="voucher", max_len=32)
    if bad:
        raise ValidationFailed("voucher", [bad])
    if ref in seen:
        raise RuleViolation(f"{ref} is named twice in the file; one act per voucher")
    seen.add(ref)
    v = found.get(ref)
    if v is None:
        raise NotFound(f"voucher {ref!r} not found")
    if v.scheme not in world.schemes:
        raise NotFound(f"{ref} is a case of {v.scheme}, which issues no vouchers")
    return v


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(exc.problems) if exc.problems else str(exc)
    return str(exc)


def _breach(act: str, actor: duties.Actor, case: duties.CaseParties) -> None:
    b = duties.breach(act, actor, case)
    if b is not None:
        raise RuleViolation(b.message)


def _money(text: str, field: str) -> int:
    try:
        fen = parse_yuan(text, field=field)
    except MoneyFormatError as exc:
        raise ValidationFailed(field, [str(exc)]) from None
    if fen <= 0:
        raise ValidationFailed(field, [f"{field}: must be more than ¥0.00"])
    return fen


# --- contracts --------------------------------------------------------------------------------------------

def contract_file(session: Session, actor: str | None, content: bytes, filename: str = "contracts.csv"
                  ) -> BulkResult:
    """A contract file (``voucher,agency,amount_yuan``): each line the SME's contract of one voucher with an
    accredited agency, as `ipfund voucher contract` decides it. All lines or none."""
    user = acting(session, actor, "voucher.contract")
    policy = current_policy(session)
    who = duty_svc.actor_of(user)
    idx, lines = _lines(content, filename, CONTRACT_COLUMNS, CONTRACT_COLUMNS)
    world = _World(session, policy)
    problems = _Problems(filename)
    seen: set[str] = set()
    on = vouchers.today()
    done = 0
    for chunk in _chunks(lines):
        found = world.vouchers({_cell(row, idx, "voucher").upper() for _, row in chunk})
        holders = world.holders({v.applicant_id for v in found.values()})
        good: list[tuple[int, _Voucher, Agency, int, int, Any]] = []
        for n, row in chunk:
            try:
                v = _find(world, found, _cell(row, idx, "voucher").upper(), seen)
                uscc, name = holders[v.applicant_id]
                _breach("voucher.contract", who, duties.CaseParties(ref=v.ref, applicant_code=uscc, applicant_name=name))
                _sc, vd = vouchers._scheme(policy, v)  # type: ignore[arg-type]
                amount = _money(_cell(row, idx, "amount_yuan"), "amount_yuan")
                vouchers.check_contractable(policy, vd, v)
                t = world.terms(v)
                vouchers.check_use_by(vd, v, t, on)
                ag = world.agency(code=_cell(row, idx, "agency"))
                face = v.award_fen
                assert face is not None
                cover = vouchers.contract_cover(policy, vd, v, v.service, world.standing(ag, v.service, on, amount), on,
                                                face, amount)
                good.append((n, v, ag, amount, cover, t))
            except (RuleViolation, ValidationFailed, NotFound, LookupError) as exc:
                problems.add(n, _message(exc))
        if problems.count:
            continue  # keep reading to name every bad line; nothing more is written
        done += _write_contracts(session, policy, user, good, filename, on)
    problems.raise_any()
    return BulkResult("contract", filename, done)


def _write_contracts(session: Session, policy: Policy, user: User, good: list[tuple[int, _Voucher, Agency, int, int, Any]],
                     filename: str, on: dt.date) -> int:
    if not good:
        return 0
    at = stamp()
    rows = [VoucherContract(application_id=v.id, agency_id=ag.id or 0, service=v.service, contract_fen=amount,
                            cover_fen=cover, contracted_on=on.isoformat(), contracted_by=user.name, at=at)
            for _, v, ag, amount, cover, _ in good]
    session.add_all(rows)
    session.flush()
    payloads: dict[int, dict[str, Any]] = {}
    messages = []
    for (n, v, ag, amount, cover, t), c in zip(good, rows, strict=True):
        sc, vd = vouchers._scheme(policy, v)  # type: ignore[arg-type]
        share = policy.decimal(vd.cover_share, on)
        payloads[v.id] = {"contract_id": c.id, "agency": ag.uscc, "service": v.service, "contract_fen": amount,
                          "cover_fen": cover, "face_fen": v.award_fen, "cover_share": str(share),
                          "use_by": t.use_by.isoformat(), "redeem_by": t.redeem_by.isoformat(),
                          "file": filename, "line": n}
        subject, body = vouchers.contract_notice(sc, v.ref, v.service, amount, cover, share, v.award_fen or 0, t)
        messages.append((ag.uscc, subject, body, f"voucher_contract:{c.id}"))
    for c in rows:
        session.expunge(c)
    _move(session, policy, [v for _, v, *_ in good], "contract", user.name, {"applicant"}, at, payloads)
    notify_many(session, messages, at)
    return len(good)


def _move(session: Session, policy: Policy, vs: list[_Voucher], action: str, actor: str, roles: set[str], at: str,
          payloads: dict[int, dict[str, Any]], fields: dict[int, dict[str, Any]] | None = None) -> None:
    """The guarded transition of each voucher, one audit event each (cases.move_many, per scheme)."""
    by_scheme: dict[str, list[cases.CaseRef]] = {}
    for v in vs:
        by_scheme.setdefault(v.scheme, []).append(cases.CaseRef(v.id, v.ref, v.scheme, v.status))
    for refs in by_scheme.values():
        cases.move_many(session, refs, action, actor, roles, at=at, policy=policy, payloads=payloads, fields=fields)


# --- redemptions ------------------------------------------------------------------------------------------

def redeem_columns(policy: Policy, on: dt.date) -> tuple[str, ...]:
    """The columns of a redemption manifest: the voucher, the amount (blank: the cover), then one evidence
    file per kind a voucher scheme requires in any settlement mode (``evidence_required`` and
    ``evidence_required_by_mode``: a 通用 round's invoice); a cell left blank is a file not given."""
    kinds: list[str] = []
    for sid in vouchers.voucher_schemes(policy):
        v = policy.scheme(sid).voucher
        assert v is not None
        for pname in (v.evidence_required, *v.evidence_required_by_mode.values()):
            kinds += [k for k in policy.value(pname, on) if k not in kinds]
    return ("voucher", "amount_yuan", *kinds)


Opener = Callable[[str], tuple[str, bytes]]
"""Reads one evidence file a manifest names: (its file name, its bytes); raises ValidationFailed (a bad
path, no such file) naming the cell."""


def redeem_file(session: Session, actor: str | None, content: bytes, open_evidence: Opener,
                filename: str = "redemptions.csv") -> BulkResult:
    """A redemption manifest: each line the agency's redemption of one voucher contracted with it, with its
    evidence files, as `ipfund voucher redeem` decides it. All lines or none."""
    user = acting(session, actor, "voucher.redeem")
    policy = current_policy(session)
    who = duty_svc.actor_of(user)
    on = vouchers.today()
    columns = redeem_columns(policy, on)
    idx, lines = _lines(content, filename, columns, ("voucher",))
    kinds = [k for k in columns[2:] if k in idx]
    world = _World(session, policy)
    problems = _Problems(filename)
    seen: set[str] = set()
    done = 0
    for chunk in _chunks(lines):
        found = world.vouchers({_cell(row, idx, "voucher").upper() for _, row in chunk})
        ids = [v.id for v in found.values()]
        live: dict[int, VoucherContract] = {}
        earlier: dict[int, VoucherRedemption] = {}
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            live.update({c.application_id: c for c in session.exec(select(VoucherContract).where(
                col(VoucherContract.application_id).in_(part), col(VoucherContract.ended_at).is_(None))).all()})
            earlier.update({r.application_id: r for r in session.exec(select(VoucherRedemption).where(
                col(VoucherRedemption.application_id).in_(part), col(VoucherRedemption.ended_at).is_(None))).all()})
        good: list[tuple[int, _Voucher, VoucherContract, Agency, int, list[tuple[str, str, bytes]]]] = []
        for n, row in chunk:
            try:
                v = _find(world, found, _cell(row, idx, "voucher").upper(), seen)
                _sc, vd = vouchers._scheme(policy, v)  # type: ignore[arg-type]
                c = live.get(v.id)
                vouchers.check_redeemable(policy, v, c, earlier.get(v.id))
                assert c is not None
                ag = world.agency(agency_id=c.agency_id)
                _breach("voucher.redeem", who, duties.CaseParties(
                    ref=f"{v.ref} (contracted with agency {ag.uscc})", applicant_code=ag.uscc, applicant_name=ag.name))
                t = world.terms(v)
                given = _cell(row, idx, "amount_yuan")
                amount = vouchers.redeem_amount(policy, vd, v, c, t, on, world.standing(ag, c.service, on),
                                                _money(given, "amount_yuan") if given else None)
                files = []
                for kind in kinds:
                    cell = _cell(row, idx, kind)
                    if cell:
                        name, data = open_evidence(cell)
                        files.append((kind, name, data))
                bad = vouchers.evidence_problems(policy, vd, v.scheme, on, files, t.settlement_mode)
                if bad:
                    raise ValidationFailed(v.ref, bad)
                good.append((n, v, c, ag, amount, files))
            except (RuleViolation, ValidationFailed, NotFound, LookupError) as exc:
                problems.add(n, _message(exc))
        for c in live.values():
            session.expunge(c)
        for r in earlier.values():
            session.expunge(r)
        if problems.count:
            continue
        done += _write_redemptions(session, policy, user, good, filename, on)
    problems.raise_any()
    return BulkResult("redeem", filename, done)


def _write_redemptions(session: Session, policy: Policy, user: User,
                       good: list[tuple[int, _Voucher, VoucherContract, Agency, int, list[tuple[str, str, bytes]]]],
                       filename: str, on: dt.date) -> int:
    if not good:
        return 0
    at = stamp()
    rows = [VoucherRedemption(application_id=v.id, contract_id=c.id or 0, agency_id=ag.id or 0, amount_fen=amount,
                              redeemed_on=on.isoformat(), redeemed_by=user.name, at=at)
            for _, v, c, ag, amount, _ in good]
    session.add_all(rows)
    session.flush()
    digests = {hashlib.sha256(data).hexdigest(): data for *_, files in good for _, _, data in files}
    have: set[str] = set()
    keys = sorted(digests)
    for i in range(0, len(keys), 900):
        have.update(session.exec(select(EvidenceBlob.sha256).where(col(EvidenceBlob.sha256).in_(keys[i:i + 900]))).all())
    insert_rows(session, EvidenceBlob.__table__, ("sha256", "size_bytes", "content"),  # type: ignore[attr-defined]
                [(d, len(digests[d]), digests[d]) for d in keys if d not in have])
    evidence_rows = []
    payloads: dict[int, dict[str, Any]] = {}
    messages = []
    p = Applicant.__table__  # type: ignore[attr-defined]
    holder_code = dict(session.execute(sa_select(p.c.id, p.c.uscc).where(
        p.c.id.in_(sorted({v.applicant_id for _, v, *_ in good})))).all())
    for (n, v, c, ag, amount, files), r in zip(good, rows, strict=True):
        sc, _ = vouchers._scheme(policy, v)  # type: ignore[arg-type]
        evidence = []
        for kind, name, data in files:
            digest = hashlib.sha256(data).hexdigest()
            evidence_rows.append((r.id, kind, name, name.rsplit(".", 1)[-1].lower(), len(data), digest))
            evidence.append({"kind": kind, "file": name, "sha256": digest, "bytes": len(data)})
        payloads[v.id] = {"redemption_id": r.id, "agency": ag.uscc, "amount_fen": amount, "cover_fen": c.cover_fen,
                          "evidence": evidence, "file": filename, "line": n}
        subject, body = vouchers.redemption_notice(sc, v.ref, ag.name, amount, len(evidence))
        messages.append((holder_code[v.applicant_id], subject, body, f"voucher_redemption:{r.id}"))
    for r in rows:
        session.expunge(r)
    insert_rows(session, VoucherEvidence.__table__,  # type: ignore[attr-defined]
                ("redemption_id", "kind", "filename", "media_type", "size_bytes", "sha256"), evidence_rows)
    _move(session, policy, [v for _, v, *_ in good], "redeem", user.name, {"agency"}, at, payloads)
    notify_many(session, messages, at)
    return len(good)


# --- confirmations ----------------------------------------------------------------------------------------

def confirm_file(session: Session, actor: str | None, content: bytes, filename: str = "confirmations.csv"
                 ) -> BulkResult:
    """A confirmation file (``voucher``): each line the SME's confirmation of a service redeemed, as `ipfund
    voucher confirm` decides it: the voucher payable for the redeemed amount, what its face value held
    beyond it released to the line. All lines or none."""
    user = acting(session, actor, "voucher.confirm")
    policy = current_policy(session)
    who = duty_svc.actor_of(user)
    idx, lines = _lines(content, filename, CONFIRM_COLUMNS, CONFIRM_COLUMNS)
    world = _World(session, policy)
    problems = _Problems(filename)
    seen: set[str] = set()
    done = 0
    for chunk in _chunks(lines):
        found = world.vouchers({_cell(row, idx, "voucher").upper() for _, row in chunk})
        holders = world.holders({v.applicant_id for v in found.values()})
        ids = [v.id for v in found.values()]
        redeemed: dict[int, tuple[int, int]] = {}
        rt = VoucherRedemption.__table__  # type: ignore[attr-defined]
        for i in range(0, len(ids), 900):
            redeemed.update({r.application_id: (r.id, r.amount_fen) for r in session.execute(
                sa_select(rt.c.id, rt.c.application_id, rt.c.amount_fen).where(rt.c.application_id.in_(ids[i:i + 900])))})
        good: list[tuple[int, _Voucher, int, int]] = []
        for n, row in chunk:
            try:
                v = _find(world, found, _cell(row, idx, "voucher").upper(), seen)
                uscc, name = holders[v.applicant_id]
                _breach("voucher.confirm", who, duties.CaseParties(ref=v.ref, applicant_code=uscc, applicant_name=name))
                r = redeemed.get(v.id)
                vouchers.check_confirmable(policy, v, r)
                assert r is not None and v.award_fen is not None
                released = v.award_fen - r[1]
                assert released >= 0, (v.award_fen, r[1])  # paired with redeem's check: amount <= cover <= face
                good.append((n, v, r[0], r[1]))
            except (RuleViolation, ValidationFailed, NotFound, LookupError) as exc:
                problems.add(n, _message(exc))
        if problems.count:
            continue
        done += _write_confirmations(session, policy, user, good, filename)
    problems.raise_any()
    return BulkResult("confirm", filename, done)


def _write_confirmations(session: Session, policy: Policy, user: User, good: list[tuple[int, _Voucher, int, int]],
                         filename: str) -> int:
    if not good:
        return 0
    at = stamp()
    payloads: dict[int, dict[str, Any]] = {}
    fields: dict[int, dict[str, Any]] = {}
    vouchers.release_many(session, [(v, int(v.award_fen or 0) - amount, "face value beyond the redeemed amount")
                                    for _, v, _, amount in good], user.name, at)
    for n, v, redemption_id, amount in good:
        released = int(v.award_fen or 0) - amount
        payloads[v.id] = {"redemption_id": redemption_id, "amount_fen": amount, "released_fen": released,
                          "file": filename, "line": n}
        fields[v.id] = {"award_fen": amount}
    _move(session, policy, [v for _, v, *_ in good], "confirm", user.name, {"applicant"}, at, payloads, fields)
    return len(good)
