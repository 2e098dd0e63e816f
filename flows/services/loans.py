"""The IP-pledge loan registry (知识产权质押融资, 二(三)7): banks, loans, extensions, interest and repayment
receipts, one by one or imported in bulk.

Every act is decided by the duties rule first (a bank's staff act for their own bank only), every row of an
import is validated by the same rules as the single act (rules/loans.py) before anything is written, and
every loan, extension and receipt writes one audit event in the unit of work that writes it. Registration
is idempotent on (bank, loan reference) and receipts on (bank, receipt reference): the same facts again are
"already registered", different facts a conflict naming each differing field, nothing written.

The subsidy claims and the risk-compensation pool read this registry (:func:`loan_facts`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from flows.services import duties as duty_svc
from flows.services.context import acting, current_policy
from flows.services.csv_input import read_rows
from flows.services.text_input import limit, text_problem
from models import audit
from models.bulk import insert_rows
from models.clock import stamp
from models.loans import Bank, BankEvent, LoanExtension, LoanReceipt, PledgeLoan
from models.tables import Applicant, Application, User
from rules import duties, forms
from rules import loans as rules
from rules.errors import IdempotencyConflict, IllegalTransition, NotFound, RuleViolation, ValidationFailed
from rules.money import format_yuan
from rules.policy import Policy
from rules.uscc import CreditCodeError, validate_uscc

if TYPE_CHECKING:
    from flows.services.benefits import Claim

CLAUSE = rules.CLAUSE
CHUNK = 5000  # loans or receipts per unit of work in an import
_IN = 900
LOAN_COLUMNS = ("bank", "ref", "borrower", "principal", "rate", "drawdown", "maturity", "pledged_ip", "pledge_reg_no",
                "pledge_reg_date", "ip_share", "cover_kind", "cover_party", "cover_share", "first_loan")
LOAN_REQUIRED = ("bank", "ref", "borrower", "principal", "rate", "drawdown", "maturity", "pledged_ip",
                 "pledge_reg_no", "pledge_reg_date")
RECEIPT_COLUMNS = ("bank", "loan_ref", "receipt", "kind", "from", "to", "amount")


def _at(line: int | None) -> str:
    return f"line {line}: " if line is not None else ""


def _chunks(items: Sequence[Any], n: int = _IN) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def parties(bank: Bank) -> duties.CaseParties:
    """The bank as the duties rule sees a case: its organisation is the bank's credit code and name."""
    return duties.CaseParties(ref=f"bank {bank.uscc}", applicant_code=bank.uscc, applicant_name=bank.name)


@lru_cache(maxsize=65536)
def _code(value: str, field: str) -> str:
    try:
        return validate_uscc(value)
    except CreditCodeError as exc:
        raise rules.LoanInputError(f"{field}: {exc}") from None


# --- banks --------------------------------------------------------------------------------------------

def get_bank(session: Session, uscc: str) -> Bank:
    try:
        code = _code(uscc, "bank")
    except rules.LoanInputError as exc:
        raise ValidationFailed(f"bank {uscc.strip()[:18]!r}", [str(exc)]) from None
    b = session.exec(select(Bank).where(Bank.uscc == code)).first()
    if b is None:
        raise NotFound(f"bank {code} is not registered; an admin adds it with `ipfund bank add`")
    return b


def _bank_event(session: Session, bank: Bank, action: str, from_state: str | None, actor: str, reason: str,
                at: str) -> BankEvent:
    assert bank.id is not None
    ev = BankEvent(bank_id=bank.id, action=action, from_state=from_state, to_state=bank.state, tier=bank.tier,
                   actor=actor, reason=reason, at=at)
    session.add(ev)
    session.flush()
    audit.append(session, actor=actor, action=f"bank.{action}", subject=f"bank:{bank.uscc}", at=at,
                 payload={"event_id": ev.id, "from": from_state, "to": bank.state, "tier": bank.tier,
                          "reason": reason, "name": bank.name})
    return ev


def add_bank(session: Session, actor: str | None, uscc: str, name: str, tier: str = "standard") -> Bank:
    """Add a lending bank (admins; never one's own bank). Its staff are users with role bank and the bank's
    credit code as their affiliation."""
    user = acting(session, actor, "bank.add")
    what = f"bank {uscc.strip()[:18]!r}"
    problems = []
    try:
        code = _code(uscc, "credit code")
    except rules.LoanInputError as exc:
        problems.append(str(exc))
        code = uscc.strip()
    p = text_problem(name.strip(), field="name", max_len=limit(Bank, "name"))
    if p:
        problems.append(p)
    if not name.strip():
        problems.append("name is empty: give the bank's registered name (e.g. 中国银行烟台分行)")
    if tier not in rules.BANK_TIERS:
        problems.append(f"tier: {tier!r} is not one of {', '.join(rules.BANK_TIERS)}")
    if problems:
        raise ValidationFailed(what, problems)
    if session.exec(select(Bank).where(Bank.uscc == code)).first() is not None:
        raise IdempotencyConflict(f"bank {code} is already registered; `ipfund bank show {code}`")
    at = stamp()
    bank = Bank(uscc=code, name=name.strip(), tier=tier, state="active", created_at=at, state_at=at)
    duty_svc.require("bank.add", user, [parties(bank)])
    session.add(bank)
    session.flush()
    _bank_event(session, bank, "add", None, user.name, "", at)
    return bank


def change_bank(session: Session, actor: str | None, uscc: str, action: str, reason: str,
                tier: str | None = None) -> Bank:
    """suspend, reinstate (with a reason) or tier (standard|assessed: the pool's per-loan cap reads it)."""
    if action not in ("suspend", "reinstate", "tier"):
        raise RuleViolation(f"{action!r} is not a change of a bank (suspend, reinstate, tier)")
    user = acting(session, actor, f"bank.{action}")
    bank = get_bank(session, uscc)
    duty_svc.require(f"bank.{action}", user, [parties(bank)])
    what = f"{action} of bank {bank.uscc}"
    why = reason.strip()
    p = text_problem(why, field="reason", max_len=limit(BankEvent, "reason"), multiline=True)
    if p:
        raise ValidationFailed(what, [p])
    if not why:
        raise ValidationFailed(what, ["reason is empty: say why (it is audited)"])
    from_state = bank.state
    if action == "tier":
        if tier not in rules.BANK_TIERS:
            raise ValidationFailed(what, [f"tier: {tier!r} is not one of {', '.join(rules.BANK_TIERS)}"])
        if tier == bank.tier:
            raise IllegalTransition(f"bank {bank.uscc} is already of tier {tier}")
        bank.tier = tier
    else:
        want_from, to = rules.BANK_ACTIONS[action]
        if bank.state != want_from:
            raise IllegalTransition(f"bank {bank.uscc} is {bank.state}; only a {want_from} bank can be {action}ed"
                                    if action != "suspend" else f"bank {bank.uscc} is already {bank.state}")
        bank.state = to
    at = stamp()
    bank.state_at = at
    session.add(bank)
    session.flush()
    _bank_event(session, bank, action, from_state, user.name, why, at)
    return bank


def bank_view(session: Session, bank: Bank) -> dict[str, Any]:
    events = session.exec(select(BankEvent).where(BankEvent.bank_id == bank.id).order_by(col(BankEvent.id))).all()
    loans = session.execute(sa_select(PledgeLoan.__table__.c.principal_fen)  # type: ignore[attr-defined]
                            .where(PledgeLoan.__table__.c.bank_id == bank.id)).scalars().all()  # type: ignore[attr-defined]
    return {"uscc": bank.uscc, "name": bank.name, "tier": bank.tier, "state": bank.state, "since": bank.state_at,
            "loans": len(loans), "principal_fen": sum(loans), "principal": format_yuan(sum(loans)),
            "events": [{"action": e.action, "from": e.from_state, "to": e.to_state, "tier": e.tier, "actor": e.actor,
                        "reason": e.reason, "at": e.at} for e in events]}


def list_banks(session: Session) -> list[Bank]:
    return list(session.exec(select(Bank).order_by(col(Bank.uscc))).all())


# --- loans: reading the terms ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Prepared:
    """A loan row that passed every rule and is new."""

    line: int | None
    bank_id: int
    bank_code: str
    ref: str
    borrower_id: int
    terms: rules.Terms
    first: rules.FirstLoan


def _bool(value: str, field: str) -> bool | None:
    t = (value or "").strip().lower()
    if not t:
        return None
    if t in ("yes", "true", "1", "y", "是"):
        return True
    if t in ("no", "false", "0", "n", "否"):
        return False
    raise rules.LoanInputError(f"{field}: {value.strip()[:10]!r} is not yes or no")


def _ref(value: str, field: str, model: Any, column: str) -> str:
    t = (value or "").strip()
    if not t:
        raise rules.LoanInputError(f"{field}: empty")
    p = text_problem(t, field=field, max_len=limit(model, column), formula=True)
    if p:
        raise rules.LoanInputError(p)
    return t


def parse_terms(row: dict[str, str]) -> tuple[str, str, rules.Terms | None, list[str]]:
    """(bank code, loan reference, the terms, problems) for one loan as typed: every field read, every
    problem named by its field."""
    problems: list[str] = []
    got: dict[str, Any] = {}

    def read(field: str, fn: Callable[[], Any]) -> None:
        try:
            got[field] = fn()
        except rules.LoanInputError as exc:
            problems.append(str(exc))

    for f in LOAN_REQUIRED:
        if not (row.get(f) or "").strip():
            problems.append(f"{f}: empty" + (" (required)" if f else ""))
    bank = (row.get("bank") or "").strip()
    ref = (row.get("ref") or "").strip()
    if bank:
        read("bank", lambda: _code(bank, "bank"))
    if ref:
        read("ref", lambda: _ref(ref, "ref", PledgeLoan, "ref"))
    if row.get("borrower", "").strip():
        read("borrower", lambda: _code(row["borrower"], "borrower"))
    if row.get("principal", "").strip():
        read("principal", lambda: rules.parse_amount(row["principal"].strip(), "principal"))
    if row.get("rate", "").strip():
        read("rate", lambda: rules.parse_rate(row["rate"]))
    for f in ("drawdown", "maturity", "pledge_reg_date"):
        if row.get(f, "").strip():
            read(f, lambda f=f: rules.parse_date(row[f], f))  # type: ignore[misc]
    if row.get("pledged_ip", "").strip():
        read("pledged_ip", lambda: rules.parse_ip(row["pledged_ip"], "pledged_ip"))
    if row.get("pledge_reg_no", "").strip():
        read("pledge_reg_no", lambda: _ref(row["pledge_reg_no"], "pledge_reg_no", PledgeLoan, "pledge_reg_no"))
    read("ip_share", lambda: rules.parse_share(row.get("ip_share", ""), "ip_share", default_ppm=rules.PPM))
    cover_kind = (row.get("cover_kind") or "").strip().lower() or None
    got["cover_kind"] = cover_kind
    party = (row.get("cover_party") or "").strip() or None
    if party is not None:
        p = text_problem(party, field="cover_party", max_len=limit(PledgeLoan, "cover_party"), formula=True)
        if p:
            problems.append(p)
    got["cover_party"] = party
    read("cover_share", lambda: rules.parse_share(row.get("cover_share", ""), "cover_share", default_ppm=0,
                                                  allow_zero=True))
    read("first_loan", lambda: _bool(row.get("first_loan", ""), "first_loan"))
    if problems:
        return bank, ref, None, problems
    terms = rules.Terms(got["borrower"], got["principal"], got["rate"], got["drawdown"], got["maturity"],
                        got["pledged_ip"], got["pledge_reg_no"], got["pledge_reg_date"], got["ip_share"],
                        cover_kind, party, got["cover_share"], got["first_loan"])
    if len(";".join(terms.pledged_ip)) > limit(PledgeLoan, "pledged_ip"):
        problems.append(f"pledged_ip: {len(terms.pledged_ip)} numbers are more than one loan row holds")
    problems += rules.check_terms(terms, got["ref"])
    return got["bank"], got["ref"], (terms if not problems else None), problems


def terms_of(loan: PledgeLoan, borrower_code: str) -> rules.Terms:
    return rules.Terms(borrower_code, loan.principal_fen, Decimal(loan.rate), dt.date.fromisoformat(loan.drawdown),
                       dt.date.fromisoformat(loan.maturity), tuple(loan.pledged_ip.split(";")), loan.pledge_reg_no,
                       dt.date.fromisoformat(loan.pledge_reg_date), loan.ip_share_ppm, loan.cover_kind,
                       loan.cover_party, loan.cover_share_ppm, loan.declared_first)


def _own_bank(user: User) -> str | None:
    """The bank a bank's staff member acts for (None for admins and the bureau's staff)."""
    roles = user.role_set()
    if "bank" in roles and not (roles - {"bank"}) & {"admin"}:
        return duties.org_key(user.affiliation).upper() or "-"
    return None


def _validate_loans(session: Session, user: User, rows: Sequence[tuple[int | None, dict[str, str]]]
                    ) -> tuple[list[Prepared], list[tuple[int | None, str, str]], list[str]]:
    """Every loan row against every rule: (new loans, already registered (line, bank, ref), problems by line)."""
    problems: list[str] = []
    parsed: list[tuple[int | None, str, str, rules.Terms]] = []
    for line, row in rows:
        code_, ref_, terms_, ps = parse_terms(row)
        problems += [_at(line) + p for p in ps]
        if terms_ is not None:
            parsed.append((line, code_, ref_, terms_))
    b = Bank.__table__  # type: ignore[attr-defined]
    a = Applicant.__table__  # type: ignore[attr-defined]
    lt = PledgeLoan.__table__  # type: ignore[attr-defined]
    bank_codes = sorted({p[1] for p in parsed})
    banks: dict[str, Bank] = {}
    for part in _chunks(bank_codes):
        for found in session.exec(select(Bank).where(col(Bank.uscc).in_(part))).all():
            banks[found.uscc] = found
    borrowers: dict[str, tuple[int, str]] = {}
    codes = sorted({p[3].borrower for p in parsed})
    for part in _chunks(codes):
        for aid, code, name in session.execute(sa_select(a.c.id, a.c.uscc, a.c.name).where(a.c.uscc.in_(part))):
            borrowers[code] = (aid, name)
    actor = duty_svc.actor_of(user)
    judged: dict[str, duties.Breach | None] = {}
    existing: dict[tuple[int, str], PledgeLoan] = {}
    by_bank: dict[int, list[str]] = defaultdict(list)
    for _, code, ref, _ in parsed:
        if code in banks:
            by_bank[banks[code].id or 0].append(ref)
    for bank_id, refs in by_bank.items():
        for part in _chunks(sorted(set(refs))):
            for loan in session.exec(select(PledgeLoan).where(PledgeLoan.bank_id == bank_id,
                                                              col(PledgeLoan.ref).in_(part))).all():
                existing[(bank_id, loan.ref)] = loan
    # Every loan of these borrowers in the registry (any bank): the first-loan question.
    bank_code_of = {bid: code for bid, code in session.execute(sa_select(b.c.id, b.c.uscc))}
    registry: dict[int, list[tuple[rules.Earlier, bool, int]]] = defaultdict(list)
    ids = sorted({v[0] for v in borrowers.values()})
    for part in _chunks(ids):
        for lid, bid, ref, borrower_id, drawdown, first in session.execute(
                sa_select(lt.c.id, lt.c.bank_id, lt.c.ref, lt.c.borrower_id, lt.c.drawdown, lt.c.first_loan)
                .where(lt.c.borrower_id.in_(part))):
            registry[borrower_id].append((rules.Earlier(bank_code_of[bid], ref, dt.date.fromisoformat(drawdown)),
                                          bool(first), lid))
    seen: dict[tuple[str, str], tuple[int | None, rules.Terms]] = {}
    in_file: dict[int, list[tuple[rules.Earlier, int | None]]] = defaultdict(list)
    new_rows: list[tuple[int | None, Bank, str, int, rules.Terms]] = []
    already: list[tuple[int | None, str, str]] = []
    for line, code, ref, terms in parsed:
        bank_or_none = banks.get(code)
        if bank_or_none is None:
            problems.append(_at(line) + f"bank: {code} is not a registered bank; an admin adds it with "
                                       "`ipfund bank add`")
            continue
        bank = bank_or_none
        if code not in judged:
            judged[code] = duties.breach("loan.register", actor, parties(bank))
        breach = judged[code]
        if breach is not None:
            problems.append(_at(line) + f"bank: {breach.message}")
            continue
        borrower = borrowers.get(terms.borrower)
        if borrower is None:
            problems.append(_at(line) + f"borrower: {terms.borrower} is not a registered applicant; it is "
                                       "imported with `ipfund applicant import` first")
            continue
        key = (code, ref)
        if key in seen:
            first_line, first_terms = seen[key]
            diff = rules.differing(first_terms, terms)
            if diff:
                problems.append(_at(line) + f"ref: {ref} of bank {code} is also on line {first_line} with other "
                                           "terms: " + "; ".join(diff))
            continue
        seen[key] = (line, terms)
        old = existing.get((bank.id or 0, ref))
        if old is not None:
            diff = rules.differing(terms_of(old, terms.borrower if old.borrower_id == borrower[0] else
                                            _code_of(session, old.borrower_id)), terms)
            if diff:
                problems.append(_at(line) + f"conflict: loan {ref} of bank {code} is already registered with other "
                                           "terms (nothing written): " + "; ".join(diff))
            else:
                already.append((line, code, ref))
            continue
        if bank.state != "active":
            problems.append(_at(line) + f"bank: {code} ({bank.name}) is {bank.state}; it registers no new loans "
                                       "until reinstated")
            continue
        new_rows.append((line, bank, ref, borrower[0], terms))
        in_file[borrower[0]].append((rules.Earlier(code, ref, terms.drawdown), line))
    prepared: list[Prepared] = []
    for line, lender, ref, borrower_id, terms in new_rows:
        others = [e for e, _, _ in registry.get(borrower_id, ())] + \
                 [e for e, _ in in_file.get(borrower_id, ()) if not (e.bank == lender.uscc and e.ref == ref)]
        try:
            first = rules.first_loan(terms.drawdown, terms.declared_first, others)
        except rules.LoanInputError as exc:
            problems.append(_at(line) + str(exc))
            continue
        displaced = [e for e, flagged, _ in registry.get(borrower_id, ()) if flagged and e.drawdown > terms.drawdown]
        if displaced:
            e = displaced[0]
            problems.append(_at(line) + f"drawdown: {terms.drawdown.isoformat()} is before that of {e.ref} of bank "
                                       f"{e.bank} ({e.drawdown.isoformat()}), registered as the borrower's first "
                                       f"loan (首贷, {CLAUSE}); a loan drawn down earlier is registered before it")
            continue
        prepared.append(Prepared(line, lender.id or 0, lender.uscc, ref, borrower_id, terms, first))
    return prepared, already, problems


def _code_of(session: Session, applicant_id: int) -> str:
    a = session.get(Applicant, applicant_id)
    return a.uscc if a is not None else "?"


def _loan_payload(p: Prepared) -> dict[str, Any]:
    return {"bank": p.bank_code, "ref": p.ref, **p.terms.shown(), "principal_fen": p.terms.principal_fen,
            "rate_exact": rules.rate_text(p.terms.rate), "first_loan": p.first.first, "first_basis": p.first.basis,
            "clause": CLAUSE}


def _write_loans(session: Session, actor: str, prepared: Sequence[Prepared]) -> None:
    at = stamp()
    rows = [(p.bank_id, p.ref, p.borrower_id, p.terms.principal_fen, rules.rate_text(p.terms.rate),
             p.terms.drawdown.isoformat(), p.terms.maturity.isoformat(), None, ";".join(p.terms.pledged_ip),
             p.terms.pledge_reg_no, p.terms.pledge_reg_date.isoformat(), p.terms.ip_share_ppm, p.terms.cover_kind,
             p.terms.cover_party, p.terms.cover_share_ppm, p.terms.declared_first, p.first.first, p.first.basis[:300],
             actor, at) for p in prepared]
    insert_rows(session, PledgeLoan.__table__,  # type: ignore[attr-defined]
                ("bank_id", "ref", "borrower_id", "principal_fen", "rate", "drawdown", "maturity", "extended_to",
                 "pledged_ip", "pledge_reg_no", "pledge_reg_date", "ip_share_ppm", "cover_kind", "cover_party",
                 "cover_share_ppm", "declared_first", "first_loan", "first_basis", "registered_by", "registered_at"),
                rows)
    audit.append_many(session, [{"actor": actor, "action": "loan.register", "at": at,
                                 "subject": f"loan:{p.bank_code}:{p.ref}", "payload": _loan_payload(p)}
                                for p in prepared])


def register(session: Session, actor: str | None, row: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Register one loan: ("registered" | "already registered", its facts). Refused naming each field."""
    user = acting(session, actor, "loan.register")
    own = _own_bank(user)
    if own is not None and not (row.get("bank") or "").strip():
        row = {**row, "bank": own}
    what = f"loan {(row.get('ref') or '').strip()[:64]!r}"
    prepared, already, problems = _validate_loans(session, user, [(None, row)])
    if problems:
        if any(p.startswith("bank: ") and "(不相容岗位相互分离)" not in p and "does not belong" in p for p in problems):
            duty_svc.require("loan.register", user, [parties(get_bank(session, row["bank"]))])
        if len(problems) == 1 and problems[0].startswith("conflict: "):
            raise IdempotencyConflict(problems[0].removeprefix("conflict: "))
        raise ValidationFailed(what, problems)
    if already:
        _, code, ref = already[0]
        return "already registered", show(session, actor, ref, code)
    _write_loans(session, user.name, prepared)
    return "registered", show(session, actor, prepared[0].ref, prepared[0].bank_code)


# --- extension and receipts ------------------------------------------------------------------------------

def find_loan(session: Session, user: User, ref: str, bank: str | None) -> tuple[PledgeLoan, Bank]:
    """A loan by its bank's reference: a bank's staff name their own bank's loans (the bank is theirs); the
    bureau's staff name the bank when two banks use one reference."""
    r = ref.strip()
    own = _own_bank(user)
    code = bank.strip() if bank and bank.strip() else own
    q = select(PledgeLoan, Bank).join(Bank, col(Bank.id) == col(PledgeLoan.bank_id)).where(PledgeLoan.ref == r)
    if code:
        try:
            code = validate_uscc(code)
        except CreditCodeError as exc:
            raise ValidationFailed(f"loan {r!r}", [f"bank: {exc}"]) from None
        q = q.where(Bank.uscc == code)
    found = session.exec(q).all()
    if not found:
        raise NotFound(f"no loan {r!r}" + (f" of bank {code}" if code else "") + " is registered")
    if len(found) > 1:
        raise NotFound(f"loan {r!r} is registered by {len(found)} banks ({', '.join(b.uscc for _, b in found)}); "
                       "name the bank with --bank")
    return found[0]


def extend(session: Session, actor: str | None, ref: str, to: str, bank: str | None = None) -> LoanExtension:
    """展期: the loan's maturity moves to ``to`` (later than its maturity, or its last extension); audited.
    Interest periods after the original maturity are extended periods (the subsidy excludes them)."""
    user = acting(session, actor, "loan.extend")
    loan, b = find_loan(session, user, ref, bank)
    duty_svc.require("loan.extend", user, [parties(b)])
    what = f"extension of loan {loan.ref} of bank {b.uscc}"
    try:
        new = rules.parse_date(to, "to")
    except rules.LoanInputError as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    last = loan.extended_to or loan.maturity
    if new.isoformat() <= last:
        raise ValidationFailed(what, [f"to: {new.isoformat()} is not after the loan's "
                                      f"{'extended maturity' if loan.extended_to else 'maturity'} {last}"])
    at = stamp()
    assert loan.id is not None
    session.execute(update(PledgeLoan).where(col(PledgeLoan.id) == loan.id).values(extended_to=new.isoformat())
                    .execution_options(synchronize_session=False))
    ext = LoanExtension(loan_id=loan.id, from_date=last, to_date=new.isoformat(), actor=user.name, at=at)
    session.add(ext)
    session.flush()
    audit.append(session, actor=user.name, action="loan.extend", subject=f"loan:{b.uscc}:{loan.ref}", at=at,
                 payload={"extension_id": ext.id, "from": last, "to": new.isoformat(), "clause": CLAUSE})
    return ext


@dataclass(frozen=True, slots=True)
class PreparedReceipt:
    line: int | None
    loan_id: int
    bank_id: int
    bank: str
    loan_ref: str
    receipt: str
    kind: str
    start: str | None
    end: str
    amount_fen: int

    def facts(self) -> dict[str, Any]:
        return {"loan": self.loan_ref, "kind": self.kind, "from": self.start, "to": self.end,
                "amount": format_yuan(self.amount_fen)}


@dataclass
class _LoanState:
    loan: PledgeLoan
    bank: Bank
    repaid_fen: int


def _validate_receipts(session: Session, user: User, rows: Sequence[tuple[int | None, dict[str, str]]], act: str
                       ) -> tuple[list[PreparedReceipt], list[tuple[int | None, str]], list[str]]:
    """Every receipt row (interest or principal) against the loan's rate, term and outstanding principal."""
    policy = current_policy(session)
    problems: list[str] = []
    own = _own_bank(user)
    actor = duty_svc.actor_of(user)
    parsed: list[tuple[int | None, str, str, str, str, str | None, str, int]] = []
    for line, row in rows:
        ps = []
        code = (row.get("bank") or "").strip() or (own or "")
        try:
            code = _code(code, "bank") if code else ""
        except rules.LoanInputError as exc:
            ps.append(str(exc))
        if not code:
            ps.append("bank: empty; name the lending bank's credit code")
        vals: dict[str, Any] = {}
        for f, fn in (("loan_ref", lambda v: _ref(v, "loan_ref", PledgeLoan, "ref")),
                      ("receipt", lambda v: _ref(v, "receipt", LoanReceipt, "receipt")),
                      ("amount", lambda v: rules.parse_amount(v.strip(), "amount"))):
            try:
                vals[f] = fn(row.get(f) or "")
            except rules.LoanInputError as exc:
                ps.append(str(exc) if str(exc) != f"{f}: empty" else f"{f}: empty (required)")
        kind = (row.get("kind") or "normal").strip().lower() or "normal"
        if kind not in rules.RECEIPT_KINDS:
            ps.append(f"kind: {kind!r} is not one of {', '.join(rules.RECEIPT_KINDS)}")
        start: str | None = None
        end = ""
        try:
            if kind == "principal":
                end = rules.parse_date(row.get("to") or "", "on").isoformat()
            else:
                start = rules.parse_date(row.get("from") or "", "from").isoformat()
                end = rules.parse_date(row.get("to") or "", "to").isoformat()
        except rules.LoanInputError as exc:
            ps.append(str(exc))
        if ps:
            problems += [_at(line) + p for p in ps]
            continue
        parsed.append((line, code, vals["loan_ref"], vals["receipt"], kind, start, end, vals["amount"]))
    banks: dict[str, Bank] = {}
    for part in _chunks(sorted({p[1] for p in parsed})):
        for found in session.exec(select(Bank).where(col(Bank.uscc).in_(part))).all():
            banks[found.uscc] = found
    loans: dict[tuple[int, str], _LoanState] = {}
    wanted: dict[int, set[str]] = defaultdict(set)
    for p in parsed:
        if p[1] in banks:
            wanted[banks[p[1]].id or 0].add(p[2])
    lt = PledgeLoan.__table__  # type: ignore[attr-defined]
    rt = LoanReceipt.__table__  # type: ignore[attr-defined]
    by_id = {b.id: b for b in banks.values()}
    for bank_id, refs in wanted.items():
        for part in _chunks(sorted(refs)):
            for loan in session.exec(select(PledgeLoan).where(PledgeLoan.bank_id == bank_id,
                                                              col(PledgeLoan.ref).in_(part))).all():
                loans[(bank_id, loan.ref)] = _LoanState(loan, by_id[bank_id], 0)
    ids = sorted(s.loan.id or 0 for s in loans.values())
    state_of = {s.loan.id: s for s in loans.values()}
    for part in _chunks(ids):
        for loan_id, total in session.execute(sa_select(rt.c.loan_id, rt.c.amount_fen).where(
                rt.c.loan_id.in_(part), rt.c.kind == "principal")):
            state_of[loan_id].repaid_fen += total
    existing: dict[tuple[int, str], dict[str, Any]] = {}
    receipts_by_bank: dict[int, set[str]] = defaultdict(set)
    for p in parsed:
        if p[1] in banks:
            receipts_by_bank[banks[p[1]].id or 0].add(p[3])
    ref_of = {}
    for bank_id, recs in receipts_by_bank.items():
        for part in _chunks(sorted(recs)):
            for rid, loan_id, rec, kind, start, end, amount in session.execute(
                    sa_select(rt.c.bank_id, rt.c.loan_id, rt.c.receipt, rt.c.kind, rt.c.period_start, rt.c.period_end,
                              rt.c.amount_fen).where(rt.c.bank_id == bank_id, rt.c.receipt.in_(part))):
                if loan_id not in ref_of:
                    ref_of[loan_id] = session.execute(sa_select(lt.c.ref).where(lt.c.id == loan_id)).scalar_one()
                existing[(rid, rec)] = {"loan": ref_of[loan_id], "kind": kind, "from": start, "to": end,
                                        "amount": format_yuan(amount)}
    basis_cache: dict[str, int] = {}
    judged: dict[str, duties.Breach | None] = {}
    seen: dict[tuple[str, str], tuple[int | None, dict[str, Any]]] = {}
    out: list[PreparedReceipt] = []
    already: list[tuple[int | None, str]] = []
    for line, code, loan_ref, receipt, kind, start, end, amount in parsed:
        lender_or_none = banks.get(code)
        if lender_or_none is None:
            problems.append(_at(line) + f"bank: {code} is not a registered bank")
            continue
        bank = lender_or_none
        if code not in judged:
            judged[code] = duties.breach(act if kind != "principal" else "loan.repay", actor, parties(bank))
        verdict = judged[code]
        if verdict is not None:
            problems.append(_at(line) + f"bank: {verdict.message}")
            continue
        st = loans.get((bank.id or 0, loan_ref))
        if st is None:
            problems.append(_at(line) + f"loan_ref: no loan {loan_ref!r} of bank {code} is registered")
            continue
        pr = PreparedReceipt(line, st.loan.id or 0, bank.id or 0, code, loan_ref, receipt, kind, start, end, amount)
        facts = pr.facts()
        if (code, receipt) in seen:
            first_line, first_facts = seen[(code, receipt)]
            diff = rules.same_receipt(first_facts, facts)
            if diff:
                problems.append(_at(line) + f"receipt: {receipt} of bank {code} is also on line {first_line} with "
                                           "other facts: " + "; ".join(diff))
            continue
        seen[(code, receipt)] = (line, facts)
        old = existing.get((bank.id or 0, receipt))
        if old is not None:
            diff = rules.same_receipt(old, facts)
            if diff:
                problems.append(_at(line) + f"conflict: receipt {receipt} of bank {code} is already recorded with "
                                           "other facts (nothing written): " + "; ".join(diff))
            else:
                already.append((line, receipt))
            continue
        loan = st.loan
        ext = dt.date.fromisoformat(loan.extended_to) if loan.extended_to else None
        terms = rules.Loan(loan.ref, "", loan.principal_fen, Decimal(loan.rate), dt.date.fromisoformat(loan.drawdown),
                           dt.date.fromisoformat(loan.maturity), extended_to=ext)
        if kind == "principal":
            ps = rules.check_repayment(loan.principal_fen, st.repaid_fen, amount, dt.date.fromisoformat(end),
                                       terms.drawdown)
            if not ps:
                st.repaid_fen += amount
        else:
            assert start is not None
            if start not in basis_cache:
                basis_cache[start] = policy.integer("loan.interest_day_count_basis", dt.date.fromisoformat(start))
            ps = rules.check_interest(terms, receipt, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                                      amount, kind, basis_cache[start])
        if ps:
            problems += [_at(line) + p for p in ps]
            continue
        out.append(pr)
    return out, already, problems


def _write_receipts(session: Session, actor: str, prepared: Sequence[PreparedReceipt]) -> None:
    at = stamp()
    insert_rows(session, LoanReceipt.__table__,  # type: ignore[attr-defined]
                ("loan_id", "bank_id", "receipt", "kind", "period_start", "period_end", "amount_fen", "recorded_by",
                 "at"),
                [(p.loan_id, p.bank_id, p.receipt, p.kind, p.start, p.end, p.amount_fen, actor, at)
                 for p in prepared])
    audit.append_many(session, [{"actor": actor, "action": "loan.repay" if p.kind == "principal" else "loan.interest",
                                 "at": at, "subject": f"loan:{p.bank}:{p.loan_ref}",
                                 "payload": {"receipt": p.receipt, **p.facts(), "amount_fen": p.amount_fen,
                                             "clause": CLAUSE}} for p in prepared])


def _receipt(session: Session, actor: str | None, act: str, row: dict[str, str]) -> str:
    user = acting(session, actor, act)
    prepared, already, problems = _validate_receipts(session, user, [(None, row)], act)
    what = f"receipt {(row.get('receipt') or '').strip()[:64]!r} of loan {(row.get('loan_ref') or '').strip()[:64]!r}"
    if problems:
        if any("does not belong" in p for p in problems):
            _, b = find_loan(session, user, row.get("loan_ref", ""), row.get("bank"))
            duty_svc.require(act, user, [parties(b)])
        if len(problems) == 1 and problems[0].startswith("conflict: "):
            raise IdempotencyConflict(problems[0].removeprefix("conflict: "))
        raise ValidationFailed(what, problems)
    if already:
        return "already recorded"
    _write_receipts(session, user.name, prepared)
    return "recorded"


def record_interest(session: Session, actor: str | None, ref: str, receipt: str, start: str, end: str, amount: str,
                    kind: str = "normal", bank: str | None = None) -> str:
    """An interest receipt (normal, overdue, surcharge or penalty interest for a period)."""
    return _receipt(session, actor, "loan.interest", {"bank": bank or "", "loan_ref": ref, "receipt": receipt,
                                                      "kind": kind, "from": start, "to": end, "amount": amount})


def record_repayment(session: Session, actor: str | None, ref: str, receipt: str, on: str, principal: str,
                     bank: str | None = None) -> str:
    """A repayment of principal on a day (never above what is outstanding)."""
    return _receipt(session, actor, "loan.repay", {"bank": bank or "", "loan_ref": ref, "receipt": receipt,
                                                   "kind": "principal", "to": on, "amount": principal})


# --- bulk imports ----------------------------------------------------------------------------------------

def _rows(content: bytes, what: str, columns: tuple[str, ...], required: tuple[str, ...]
          ) -> list[tuple[int | None, dict[str, str]]]:
    from flows.services.applicants import decode_text

    text = decode_text(content, what)
    out: list[tuple[int | None, dict[str, str]]] = []
    header: list[str] | None = None
    for line, cells in read_rows(text, what):
        if header is None:
            header = [c.strip().lower() for c in cells]
            missing = [c for c in required if c not in header]
            unknown = [c for c in header if c not in columns]
            if missing or unknown:
                raise ValidationFailed(what, ["line 1: the header " + (f"lacks {', '.join(missing)}" if missing else "")
                                              + ("; " if missing and unknown else "")
                                              + (f"has unknown columns {', '.join(unknown)}" if unknown else "")
                                              + f" (columns: {','.join(columns)})"])
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            out.append((line, {"__bad__": f"{len(cells)} cells, the header has {len(header)}"}))
            continue
        out.append((line, dict(zip(header, cells, strict=True))))
    if header is None:
        raise ValidationFailed(what, ["the file is empty; the first line is the header "
                                      f"({','.join(columns)})"])
    return out


def _bad_cells(rows: list[tuple[int | None, dict[str, str]]]) -> tuple[list[tuple[int | None, dict[str, str]]],
                                                                          list[str]]:
    ok, bad = [], []
    for line, row in rows:
        if "__bad__" in row:
            bad.append(f"line {line}: {row['__bad__']}")
        else:
            ok.append((line, row))
    return ok, bad


def _by_chunks(engine: Engine | None, items: Sequence[Any], write: Callable[[Session, Sequence[Any]], None]) -> None:
    from models.uow import unit_of_work

    for part in _chunks(items, CHUNK):
        with unit_of_work(engine) as s:
            write(s, part)


def import_loans(actor: str | None, content: bytes, filename: str = "loans.csv",
                 engine: Engine | None = None) -> dict[str, int]:
    """Import loans (one row per loan, header :data:`LOAN_COLUMNS`): every row validated first, every problem
    reported by line and field and nothing written on any; then written in units of work of :data:`CHUNK`
    loans, one audit event per loan. Rows already registered with the same terms are skipped."""
    from models.uow import read_only

    what = f"loan file {filename}"
    rows, bad = _bad_cells(_rows(content, what, LOAN_COLUMNS, LOAN_REQUIRED))
    with read_only(engine) as s:
        user = acting(s, actor, "loan.register")
        name = user.name
        prepared, already, problems = _validate_loans(s, user, rows)
    if bad or problems:
        raise ValidationFailed(what, sorted(bad + problems, key=_line_key))
    _by_chunks(engine, prepared, lambda s, part: _write_loans(s, name, part))
    return {"registered": len(prepared), "already registered": len(already)}


def import_receipts(actor: str | None, content: bytes, filename: str = "interest.csv",
                    engine: Engine | None = None) -> dict[str, int]:
    """Import interest receipts (one row per receipt, header :data:`RECEIPT_COLUMNS`; kind principal is a
    repayment on the ``to`` day): validated like :func:`import_loans`, nothing written on any problem."""
    from models.uow import read_only

    what = f"receipt file {filename}"
    rows, bad = _bad_cells(_rows(content, what, RECEIPT_COLUMNS, ("loan_ref", "receipt", "to", "amount")))
    with read_only(engine) as s:
        user = acting(s, actor, "loan.interest")
        name = user.name
        prepared, already, problems = _validate_receipts(s, user, rows, "loan.interest")
    if bad or problems:
        raise ValidationFailed(what, sorted(bad + problems, key=_line_key))
    _by_chunks(engine, prepared, lambda s, part: _write_receipts(s, name, part))
    return {"recorded": len(prepared), "already recorded": len(already)}


def _line_key(p: str) -> tuple[int, str]:
    head = p.split(":", 1)[0]
    return (int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0, p)


# --- reading -----------------------------------------------------------------------------------------------

def _readable(session: Session, user: User) -> str | None:
    """The bank whose loans the user may read (None: all)."""
    acting(session, user.name, "loan.read")
    return _own_bank(user)


def list_loans(session: Session, actor: str | None, bank: str | None = None,
               borrower: str | None = None) -> list[dict[str, Any]]:
    user = acting(session, actor, "loan.read")
    own = _readable(session, user)
    lt = PledgeLoan.__table__  # type: ignore[attr-defined]
    b = Bank.__table__  # type: ignore[attr-defined]
    a = Applicant.__table__  # type: ignore[attr-defined]
    q = (sa_select(lt.c.ref, b.c.uscc, b.c.name, a.c.uscc, a.c.name, lt.c.principal_fen, lt.c.rate, lt.c.drawdown,
                   lt.c.maturity, lt.c.extended_to, lt.c.first_loan, lt.c.ip_share_ppm)
         .join(b, b.c.id == lt.c.bank_id).join(a, a.c.id == lt.c.borrower_id).order_by(b.c.uscc, lt.c.ref))
    if own is not None:
        q = q.where(b.c.uscc == own)
    if bank:
        q = q.where(b.c.uscc == bank.strip().upper())
    if borrower:
        q = q.where(a.c.uscc == borrower.strip().upper())
    return [{"ref": r[0], "bank": r[1], "bank_name": r[2], "borrower": r[3], "borrower_name": r[4],
             "principal_fen": r[5], "principal": format_yuan(r[5]), "rate": r[6], "drawdown": r[7], "maturity": r[8],
             "extended_to": r[9], "first_loan": bool(r[10]), "ip_share": rules.share_text(r[11])}
            for r in session.execute(q)]


def show(session: Session, actor: str | None, ref: str, bank: str | None = None) -> dict[str, Any]:
    """A loan: its terms, first-loan basis, extensions, receipts, outstanding principal, interest by kind and
    its events in the audit log."""
    user = acting(session, actor, "loan.read")
    own = _readable(session, user)
    loan, b = find_loan(session, user, ref, bank)
    if own is not None and b.uscc != own:
        raise NotFound(f"no loan {ref.strip()!r} of bank {own} is registered")
    borrower = session.get(Applicant, loan.borrower_id)
    assert borrower is not None
    receipts = session.exec(select(LoanReceipt).where(LoanReceipt.loan_id == loan.id)
                            .order_by(col(LoanReceipt.period_end), col(LoanReceipt.id))).all()
    exts = session.exec(select(LoanExtension).where(LoanExtension.loan_id == loan.id)
                        .order_by(col(LoanExtension.id))).all()
    repaid = sum(r.amount_fen for r in receipts if r.kind == "principal")
    by_kind: dict[str, int] = {k: 0 for k in rules.RECEIPT_KINDS if k != "principal"}
    for r in receipts:
        if r.kind != "principal":
            by_kind[r.kind] += r.amount_fen
    from models.tables import AuditEvent

    events = session.exec(select(AuditEvent).where(AuditEvent.subject == f"loan:{b.uscc}:{loan.ref}")
                          .order_by(col(AuditEvent.seq))).all()
    terms = terms_of(loan, borrower.uscc)
    return {"ref": loan.ref, "bank": b.uscc, "bank_name": b.name, "bank_tier": b.tier,
            "borrower": borrower.uscc, "borrower_name": borrower.name, "borrower_sme": borrower.sme,
            "terms": terms.shown(), "principal_fen": loan.principal_fen, "rate": loan.rate,
            "ip_share_ppm": loan.ip_share_ppm, "cover_share_ppm": loan.cover_share_ppm,
            "extended_to": loan.extended_to,
            "first_loan": {"first": loan.first_loan, "declared": loan.declared_first, "basis": loan.first_basis},
            "extensions": [{"from": e.from_date, "to": e.to_date, "by": e.actor, "at": e.at} for e in exts],
            "receipts": [{"receipt": r.receipt, "kind": r.kind, "from": r.period_start, "to": r.period_end,
                          "amount_fen": r.amount_fen, "amount": format_yuan(r.amount_fen), "by": r.recorded_by}
                         for r in receipts],
            "repaid_fen": repaid, "outstanding_fen": loan.principal_fen - repaid,
            "outstanding": format_yuan(loan.principal_fen - repaid),
            "interest_paid_fen": by_kind,
            "registered_by": loan.registered_by, "registered_at": loan.registered_at,
            "events": [{"seq": e.seq, "action": e.action, "actor": e.actor, "at": e.at,
                        "payload": json.loads(e.payload)} for e in events]}


def loan_facts(session: Session, ids: Iterable[int] | None = None) -> list[rules.Loan]:
    """The loans as the pure rules read them (rules.schemes.pledge_interest_subsidy.Loan): for the subsidy
    claims and the pool."""
    return list(loan_facts_by_id(session, ids).values())


def loan_facts_by_id(session: Session, ids: Iterable[int] | None = None) -> dict[int, rules.Loan]:
    """:func:`loan_facts` keyed by the loan's id (two banks may use one reference)."""
    a = Applicant.__table__  # type: ignore[attr-defined]
    lt = PledgeLoan.__table__  # type: ignore[attr-defined]
    q = sa_select(lt, a.c.uscc.label("borrower_code"), a.c.whitelist).join(a, a.c.id == lt.c.borrower_id)
    if ids is not None:
        q = q.where(lt.c.id.in_(list(ids)))
    from fractions import Fraction

    return {r.id: rules.Loan(r.ref, r.borrower_code, r.principal_fen, Decimal(r.rate),
                             dt.date.fromisoformat(r.drawdown), dt.date.fromisoformat(r.maturity),
                             Fraction(r.ip_share_ppm, rules.PPM), Fraction(r.cover_share_ppm, rules.PPM),
                             bool(r.first_loan), bool(r.whitelist),
                             dt.date.fromisoformat(r.extended_to) if r.extended_to else None)
            for r in session.execute(q)}


def file_claim(session: Session, actor: str | None, scheme: str, bank: str, ref: str, fields: dict[str, str]
               ) -> Application:
    """代为申报: a bank's staff file a claim of ``scheme`` (one whose form links a loan) for the borrower of their
    own bank's loan ``ref`` — the duties rule decides (act loan.claim: the bank's own loans only)."""
    from flows.services.applications import submit_for

    user = acting(session, actor, "loan.claim")
    policy = current_policy(session)
    roles = policy.scheme(scheme).links.get("loan")
    if roles is None:
        raise NotFound(f"scheme {scheme!r} takes no claims on a loan")
    b = get_bank(session, bank)
    duty_svc.require("loan.claim", user, [parties(b)])
    loan = session.exec(select(PledgeLoan).where(PledgeLoan.bank_id == b.id, PledgeLoan.ref == ref)).first()
    if loan is None:
        raise NotFound(f"bank {b.uscc} ({b.name}) has no loan {ref!r} in the registry")
    borrower = session.get(Applicant, loan.borrower_id)
    assert borrower is not None
    given = [f for f in roles.values() if f in fields]
    if given:
        raise ValidationFailed("claim", [f"{f}: the loan names it; leave it out" for f in given])
    return submit_for(session, policy, scheme, borrower, {**fields, roles["bank"]: b.uscc, roles["ref"]: ref},
                      user.name)


def linked_bank(session: Session, policy: Policy, app: Application) -> Bank | None:
    """The lending bank of the loan a case's form names (its scheme's ``links: loan``), or None."""
    roles = policy.scheme(app.scheme).links.get("loan")
    code = str(json.loads(app.data).get(roles["bank"]) or "").upper() if roles else ""
    return session.exec(select(Bank).where(Bank.uscc == code)).first() if code else None


def linked_loans(session: Session, policy: Policy, scheme: str, fields: dict[str, str],
                 claims: Sequence[Claim]) -> dict[int, rules.LinkedLoan]:
    """For each claim whose form names a loan (``fields``: the form fields of its bank and reference), the
    registry's record of it (:class:`rules.LinkedLoan`): the loan, its bank's standing, the pledge
    registration, its interest receipts, the scheme's earlier live claims on it (submitted before: a lower
    case id), and what the borrower was
    awarded by the scheme in all years. A handful of queries per batch."""
    from flows.services.applications import awarded_states, claim_states

    wanted = {c.id: (str(c.form.get(fields["bank"]) or "").upper(), str(c.form.get(fields["ref"]) or ""))
              for c in claims}
    banks = {b.uscc: b for b in session.exec(select(Bank).where(
        col(Bank.uscc).in_(sorted({b for b, _ in wanted.values()})))).all()}
    lt = PledgeLoan.__table__  # type: ignore[attr-defined]
    by_key: dict[tuple[str, str], Any] = {}
    bank_code = {b.id: code for code, b in banks.items()}
    pairs = sorted({(banks[b].id, r) for b, r in wanted.values() if b in banks and r})
    for chunk in _chunks(pairs):
        for r in session.execute(sa_select(lt).where(lt.c.bank_id.in_({p[0] for p in chunk}),
                                                     lt.c.ref.in_({p[1] for p in chunk}))):
            by_key[(bank_code[r.bank_id], r.ref)] = r
    ids = [r.id for r in by_key.values()]
    facts_by_id: dict[int, rules.Loan] = {}
    for chunk in _chunks(ids):
        facts_by_id.update(loan_facts_by_id(session, chunk))
    rt = LoanReceipt.__table__  # type: ignore[attr-defined]
    payments: dict[int, list[rules.InterestPayment]] = defaultdict(list)
    repaid: dict[int, tuple[int, dt.date]] = {}
    for chunk in _chunks(ids):
        for r in session.execute(sa_select(rt.c.loan_id, rt.c.receipt, rt.c.kind, rt.c.period_start, rt.c.period_end,
                                           rt.c.amount_fen).where(rt.c.loan_id.in_(list(chunk)))):
            if r.kind == "principal":  # a repayment: period_end is the day it was repaid
                total, last = repaid.get(r.loan_id, (0, dt.date.min))
                repaid[r.loan_id] = (total + r.amount_fen, max(last, dt.date.fromisoformat(r.period_end)))
                continue
            payments[r.loan_id].append(rules.InterestPayment(r.receipt, dt.date.fromisoformat(r.period_start),
                                                             dt.date.fromisoformat(r.period_end), r.amount_fen,
                                                             r.kind))
    sc = policy.scheme(scheme)
    live, awarded = set(claim_states(policy, scheme)), set(awarded_states(policy, scheme))
    at = Application.__table__  # type: ignore[attr-defined]
    prior: dict[tuple[str, str], list[tuple[int, rules.PriorClaim]]] = defaultdict(list)
    cumulative: dict[int, int] = defaultdict(int)
    applicant_ids = sorted({c.applicant_id for c in claims})
    applicant_of = {c.id: c.applicant_id for c in claims}
    year_of = {c.id: c.year for c in claims}
    for chunk in _chunks(applicant_ids):
        for applicant_id, total in session.execute(
                sa_select(at.c.applicant_id, func.sum(at.c.award_fen))
                .where(at.c.scheme == scheme, at.c.applicant_id.in_(list(chunk)), at.c.status.in_(sorted(awarded)))
                .group_by(at.c.applicant_id)):
            cumulative[applicant_id] = int(total or 0)
    # Per-kind yearly caps (the fee subsidies): the borrower's other live awards of the scheme by kind and year.
    by_kind: dict[tuple[int, int], list[tuple[int, str, int]]] = defaultdict(list)
    if "kind" in sc.form.fields:
        for chunk in _chunks(applicant_ids):
            for app_id, applicant_id, year, award_fen, data in session.execute(
                    sa_select(at.c.id, at.c.applicant_id, at.c.year, at.c.award_fen, at.c.data)
                    .where(at.c.scheme == scheme, at.c.applicant_id.in_(list(chunk)),
                           at.c.status.in_(sorted(awarded)))):
                by_kind[(applicant_id, year)].append((app_id, str(json.loads(data).get("kind") or ""),
                                                      int(award_fen or 0)))

    def year_by_kind(case_id: int) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for app_id, kind, fen in by_kind.get((applicant_of[case_id], year_of[case_id]), ()):
            if app_id != case_id:
                out[kind] += fen
        return dict(out)

    # The scheme's claims on the same loans: by their claim key (an index) when the key is the loan's fields,
    # one key per fiscal year the scheme has cases in; else every case of the scheme is read.
    by_claim_key = set(sc.form.claim_key) == {fields["bank"], fields["ref"]} and "applicant" not in sc.form.claim_per
    q = sa_select(at.c.id, at.c.ref, at.c.year, at.c.status, at.c.award_fen, at.c.data).where(at.c.scheme == scheme)
    if by_claim_key:
        years = [y for (y,) in session.execute(sa_select(at.c.year).where(at.c.scheme == scheme).distinct())]
        keys = sorted({k for b, r in set(wanted.values()) for y in years
                       if (k := forms.claim_key(sc.form, {fields["bank"]: b, fields["ref"]: r}, "", y))})
        found = [row for chunk in _chunks(keys) for row in session.execute(q.where(at.c.claim_key.in_(list(chunk))))]
    elif "period_from" in sc.form.fields:
        found = list(session.execute(q))
    else:  # a scheme whose claims name no period (the fee subsidies): no period to overlap
        found = []
    for app_id, ref, year, status, award_fen, data in found:
        if status not in live:
            continue
        form = forms.typed(sc.form, json.loads(data))
        window = rules.claim_window(form)
        if window is None:
            continue
        key = (str(form.get(fields["bank"]) or "").upper(), str(form.get(fields["ref"]) or ""))
        prior[key].append((app_id, rules.PriorClaim(ref, year, window[0], window[1], int(award_fen or 0),
                                                    status in awarded)))
    out: dict[int, rules.LinkedLoan] = {}
    for case_id, (bank, ref) in wanted.items():
        row = by_key.get((bank, ref))
        others = tuple(p for other, p in prior.get((bank, ref), []) if other < case_id)  # earlier claims
        if row is None:
            out[case_id] = rules.LinkedLoan(False, bank, ref, prior=others)
            continue
        out[case_id] = rules.LinkedLoan(
            True, bank, ref, facts_by_id[row.id], banks[bank].state == "active",
            dt.date.fromisoformat(row.pledge_reg_date), tuple(payments.get(row.id, ())), others,
            cumulative.get(applicant_of[case_id], 0), repaid.get(row.id, (0, None))[0],
            repaid[row.id][1] if row.id in repaid else None, year_by_kind(case_id))
    return out


# --- the checker ---------------------------------------------------------------------------------------------

def _claims_filed_by_banks(session: Session, policy: Policy, users: dict[str, duties.Actor],
                           bank_ids: dict[str, int]) -> list[tuple[str, str, int]]:
    """(loan.claim, who, bank id) for every claim on a loan submitted by a bank's staff (代为申报): the duties
    rule decides it again for the bank the claim's form names."""
    at = Application.__table__  # type: ignore[attr-defined]
    bank_staff = sorted(n for n, u in users.items() if "bank" in u.roles)
    out: list[tuple[str, str, int]] = []
    for sid, sc in policy.schemes.items():
        if "loan" not in sc.links or not bank_staff:
            continue
        for who, data in session.execute(sa_select(at.c.submitted_by, at.c.data).where(
                at.c.scheme == sid, at.c.submitted_by.in_(bank_staff))):
            code = str(json.loads(data).get(sc.links["loan"]["bank"]) or "").upper()
            if code in bank_ids:
                out.append(("loan.claim", who, bank_ids[code]))
    return out



def invariants(session: Session) -> list[tuple[str, bool, str]]:
    """The registry's invariants over what is committed (written by any path): (check, ok, detail)."""
    policy = current_policy(session)
    out: list[tuple[str, bool, str]] = []
    lt = PledgeLoan.__table__  # type: ignore[attr-defined]
    rt = LoanReceipt.__table__  # type: ignore[attr-defined]
    banks = {b.id: b for b in session.exec(select(Bank)).all()}
    loans = {r.id: r for r in session.execute(sa_select(lt))}
    by_borrower: dict[int, list[rules.Earlier]] = defaultdict(list)
    for r in loans.values():
        by_borrower[r.borrower_id].append(rules.Earlier(banks[r.bank_id].uscc, r.ref, dt.date.fromisoformat(r.drawdown)))
    term_bad, over_bad, rate_bad = [], [], []
    repaid: dict[int, int] = defaultdict(int)
    basis_cache: dict[str, int] = {}
    receipts = 0
    acts: list[tuple[str, str, int]] = []
    for r in session.execute(sa_select(rt.c.loan_id, rt.c.bank_id, rt.c.receipt, rt.c.kind, rt.c.period_start,
                                       rt.c.period_end, rt.c.amount_fen, rt.c.recorded_by)):
        receipts += 1
        loan = loans[r.loan_id]
        acts.append(("loan.repay" if r.kind == "principal" else "loan.interest", r.recorded_by, loan.bank_id))
        name = f"{banks[loan.bank_id].uscc}:{loan.ref} receipt {r.receipt}"
        if r.bank_id != loan.bank_id:
            term_bad.append(f"{name} is recorded under another bank")
        last = loan.extended_to or loan.maturity
        if r.kind == "principal":
            repaid[r.loan_id] += r.amount_fen
            if r.period_end < loan.drawdown:
                term_bad.append(f"{name}: repaid {r.period_end}, before the drawdown {loan.drawdown}")
            continue
        if r.period_start < loan.drawdown or (r.kind == "normal" and r.period_end > last):
            term_bad.append(f"{name}: {r.period_start}–{r.period_end} outside {loan.drawdown}–{last}")
        if r.kind == "normal":
            if r.period_start not in basis_cache:
                basis_cache[r.period_start] = policy.integer("loan.interest_day_count_basis",
                                                             dt.date.fromisoformat(r.period_start))
            f = rules.Loan(loan.ref, "", loan.principal_fen, Decimal(loan.rate), dt.date.fromisoformat(loan.drawdown),
                           dt.date.fromisoformat(loan.maturity))
            allowed = rules.allowed_interest_fen(f, dt.date.fromisoformat(r.period_start),
                                                 dt.date.fromisoformat(r.period_end), basis_cache[r.period_start])
            if r.amount_fen > allowed:
                rate_bad.append(f"{name}: {format_yuan(r.amount_fen)} above the {format_yuan(allowed)} the rate allows")
    for lid, total in repaid.items():
        if total > loans[lid].principal_fen:
            over_bad.append(f"{banks[loans[lid].bank_id].uscc}:{loans[lid].ref} repaid {format_yuan(total)} of "
                            f"{format_yuan(loans[lid].principal_fen)}")
    out.append(("loan receipts within the loan's term and rate", not term_bad and not rate_bad,
                f"{receipts} receipts of {len(loans)} loans ({CLAUSE})" if not term_bad and not rate_bad
                else "; ".join((term_bad + rate_bad)[:10])))
    out.append(("loan repaid <= principal", not over_bad,
                "no loan repaid beyond its principal" if not over_bad else "; ".join(over_bad[:10])))
    first_bad = []
    pledge_bad = []
    for r in loans.values():
        others = [e for e in by_borrower[r.borrower_id]
                  if not (e.bank == banks[r.bank_id].uscc and e.ref == r.ref)]
        why = rules.first_loan_consistent(bool(r.first_loan), r.first_basis, dt.date.fromisoformat(r.drawdown), others)
        if why:
            first_bad.append(f"{banks[r.bank_id].uscc}:{r.ref} {why}")
        if r.pledge_reg_date > r.drawdown:
            pledge_bad.append(f"{banks[r.bank_id].uscc}:{r.ref} pledge registered {r.pledge_reg_date} after the "
                              f"drawdown {r.drawdown}")
        acts.append(("loan.register", r.registered_by, r.bank_id))
    out.append(("first loans (首贷) agree with the registry", not first_bad and not pledge_bad,
                f"{len(loans)} loans: each first-loan flag and pledge date checked ({CLAUSE})"
                if not first_bad and not pledge_bad else "; ".join((first_bad + pledge_bad)[:10])))
    for lid, who in session.execute(sa_select(LoanExtension.__table__.c.loan_id,  # type: ignore[attr-defined]
                                              LoanExtension.__table__.c.actor)):  # type: ignore[attr-defined]
        acts.append(("loan.extend", who, loans[lid].bank_id))
    users = {u.name: duty_svc.actor_of(u) for u in session.exec(select(User)).all()}
    acts += _claims_filed_by_banks(session, policy, users, {b.uscc: int(bid or 0) for bid, b in banks.items()})
    duty_bad = []
    judged: dict[tuple[str, str, int], duties.Breach | str | None] = {}
    for act, who, bank_id in acts:
        key = (act, who, bank_id)
        if key not in judged:
            actor = users.get(who)
            judged[key] = "not a user" if actor is None else duties.breach(act, actor, parties(banks[bank_id]))
        b = judged[key]
        if b is not None:
            msg = f"{act} for bank {banks[bank_id].uscc} by {who!r}, who is not a user" if isinstance(b, str) \
                else f"{act} for bank {banks[bank_id].uscc}: {b.message}"
            if msg not in duty_bad:
                duty_bad.append(msg)
    out.append(("loan acts by their bank's staff", not duty_bad,
                f"{len(acts)} registry acts decided again by the duties rule" if not duty_bad
                else "; ".join(duty_bad[:10])))
    bank_bad = []
    last_event: dict[int, BankEvent] = {}
    for be in session.exec(select(BankEvent).order_by(col(BankEvent.id))).all():
        last_event[be.bank_id] = be
    for bid, bank in banks.items():
        e = last_event.get(bid or 0)
        if e is None or e.to_state != bank.state or e.tier != bank.tier:
            bank_bad.append(f"bank {bank.uscc} is {bank.state}/{bank.tier} but its last event says "
                            + (f"{e.to_state}/{e.tier}" if e else "nothing"))
    out.append(("bank state = its last event", not bank_bad,
                f"{len(banks)} banks" if not bank_bad else "; ".join(bank_bad[:10])))
    return out
