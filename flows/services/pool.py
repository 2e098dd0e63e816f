"""The risk-compensation pool (风险补偿资金池, 二(三)7) on the ledger: contributions, filings, claims,
provisional compensation and settlement after disposal.

One function per act, each decided by the duties rule first (finance contributes, pays and settles; a
bank's staff file, revoke and claim their own bank's loans only; a reviewer or approver decides a claim;
nobody of the bank nor its claimant decides, pays or settles, nobody pays a claim they decided), each
state change one audit event, and every amount from the pure rules (rules/schemes/risk_compensation.py):

* a contribution is a ledger posting ``external:pool:<source>`` → ``pool:balance`` (never an edited one);
* a loan is filed on a date for the principal outstanding on its IP share, only while the loans covered
  stay within ``risk-compensation.leverage`` × the balance, and only by a bank that is active and below
  ``risk-compensation.bank_suspension_npl_rate`` (业务暂停); a filing is revoked with a reason;
* a claim names the default date: only a loan filed before it defaulted is covered, and only a claim within
  ``claim_deadline_workdays`` working days is accepted; its loss (the principal outstanding on the IP share)
  and each party's part are fixed then, with the shares in force on the **filing** date;
* the payment (provisional compensation) locks the pool balance and pays min(the pool parties' parts, the
  per-loan cap of the bank's tier, the balance — 以其余额为限, refused or paid to the balance as the
  policy says); a pool holding nothing pays nothing, so the claim is refused;
* settlement after disposal shares the recovery in the proportions borne and returns the pool's part.

The pool balance is contributions − compensations + recoveries ≥ 0: the pure rule, the account's CHECK,
and :func:`invariants` (``ipfund check``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from flows.services import duties as duty_svc
from flows.services import loans as loan_svc
from flows.services.context import acting, current_policy
from flows.services.text_input import limit, text_problem
from models import audit, guards, ledger
from models.clock import now, stamp
from models.loans import Bank, LoanReceipt, PledgeLoan
from models.pool import POOL_ACCOUNT, POOL_YEAR, PoolClaim, PoolContribution, PoolFiling, PoolRevocation
from models.tables import Account, User
from rules import duties
from rules import loans as loan_rules
from rules.errors import IdempotencyConflict, IllegalTransition, NotFound, RuleViolation, ValidationFailed
from rules.funds import SOURCES
from rules.money import MoneyFormatError, RoundingMode, format_yuan, parse_yuan
from rules.schemes import risk_compensation as rc
from rules.trace import Step

CLAUSE = rc.CLAUSE
POOL_CASE = duties.CaseParties(ref="the risk-compensation pool", applicant_code="")
LIVE = ("claimed", "approved", "paid", "settled")


def _bank_account(uscc: str) -> str:
    return f"external:pool:bank:{uscc}"


def _date(value: str | None, field: str, what: str) -> dt.date:
    if value is None or not value.strip():
        return now().date()
    try:
        return loan_rules.parse_date(value, field)
    except loan_rules.LoanInputError as exc:
        raise ValidationFailed(what, [str(exc)]) from None


def _yuan(value: str, field: str, what: str, allow_zero: bool = False) -> int:
    try:
        fen = parse_yuan(value, field=field, allow_zero=allow_zero)
    except MoneyFormatError as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    return fen


def _refused(exc: rc.PoolRefusal) -> RuleViolation:
    return RuleViolation(str(exc))


def _rounding(policy: Any, on: dt.date) -> RoundingMode:
    return RoundingMode(policy.text("money.rounding", on))


def balance(session: Session, lock: bool = False) -> int:
    """The pool balance (the ledger account); ``lock``: held FOR UPDATE until the unit of work ends (PostgreSQL,
    with the guards on), so that two payments against one balance serialize."""
    q = select(Account).where(Account.year == POOL_YEAR, Account.name == POOL_ACCOUNT)
    if lock and guards.ENABLED and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    acc = session.exec(q).first()
    return acc.balance_fen if acc is not None else 0


def _audit(session: Session, actor: str, action: str, subject: str, at: str, payload: dict[str, Any]) -> None:
    audit.append(session, actor=actor, action=action, subject=subject, at=at, payload={**payload, "clause": CLAUSE})


# --- contributions ----------------------------------------------------------------------------------------

def contribute(session: Session, actor: str | None, source: str, amount: str, reference: str,
               on: str | None = None) -> PoolContribution:
    """A fund source's contribution to the pool (finance), with its reference (once): one ledger posting."""
    user = acting(session, actor, "pool.contribute")
    duty_svc.require("pool.contribute", user, [POOL_CASE])
    what = f"contribution {reference.strip()[:64]!r} to the pool"
    problems = []
    src = source.strip()
    if src not in SOURCES:
        problems.append(f"source: {src!r} is not a fund source ({', '.join(SOURCES)})")
    try:
        fen = parse_yuan(amount, field="amount", allow_zero=False)
    except MoneyFormatError as exc:
        problems.append(str(exc))
        fen = 0
    ref = reference.strip()
    p = text_problem(ref, field="reference", max_len=limit(PoolContribution, "reference"))
    if p or not ref:
        problems.append(p or "reference is empty: give the receipt or transfer reference (it is recorded once)")
    try:
        day = _date(on, "on", what)
    except ValidationFailed as exc:
        problems += exc.problems
        day = now().date()
    if problems:
        raise ValidationFailed(what, problems)
    if session.exec(select(PoolContribution).where(PoolContribution.reference == ref)).first() is not None:
        raise IdempotencyConflict(f"contribution {ref!r} is already recorded; a correction is a new contribution")
    at = stamp()
    posting = ledger.post(session, year=POOL_YEAR, kind="pool_contribution", memo=f"pool contribution {ref} ({src})",
                          actor=user.name, entries=[(POOL_ACCOUNT, fen), (f"external:pool:{src}", -fen)],
                          subject="pool", at=at)
    assert posting.id is not None
    row = PoolContribution(source=src, amount_fen=fen, received_on=day.isoformat(), reference=ref,
                           posting_id=posting.id, actor=user.name, at=at)
    session.add(row)
    session.flush()
    _audit(session, user.name, "pool.contribute", "pool", at,
           {"contribution_id": row.id, "source": src, "amount_fen": fen, "on": row.received_on, "reference": ref,
            "posting_id": posting.id})
    return row


# --- filings ---------------------------------------------------------------------------------------------

def _repaid(session: Session, loan_id: int | None, until: dt.date | None = None) -> int:
    q = select(LoanReceipt).where(LoanReceipt.loan_id == loan_id, LoanReceipt.kind == "principal")
    return sum(r.amount_fen for r in session.exec(q).all()
               if until is None or r.period_end <= until.isoformat())


def _revoked_ids(session: Session, filing_ids: Iterable[int | None]) -> set[int]:
    ids = [i for i in filing_ids if i is not None]
    if not ids:
        return set()
    return {r.filing_id for r in session.exec(select(PoolRevocation).where(col(PoolRevocation.filing_id).in_(ids)))}


def live_filing(session: Session, loan_id: int | None) -> PoolFiling | None:
    filings = session.exec(select(PoolFiling).where(PoolFiling.loan_id == loan_id).order_by(col(PoolFiling.id))).all()
    revoked = _revoked_ids(session, (f.id for f in filings))
    live = [f for f in filings if f.id not in revoked]
    return live[-1] if live else None


def covered(session: Session, bank_id: int | None = None, open_only: bool = True) -> int:
    """The loans the pool covers: the amounts of live filings — ``open_only``: less those whose claim the pool
    has paid (the leverage ceiling); otherwise every live filing (the base of a bank's non-performing rate)."""
    q = select(PoolFiling)
    if bank_id is not None:
        q = q.where(PoolFiling.bank_id == bank_id)
    filings = session.exec(q).all()
    revoked = _revoked_ids(session, (f.id for f in filings))
    closed = {c.filing_id for c in session.exec(select(PoolClaim).where(col(PoolClaim.status).in_(("paid", "settled"))))
              } if open_only else set()
    return sum(f.covered_fen for f in filings if f.id not in revoked and f.id not in closed)


def non_performing(session: Session, bank_id: int | None) -> int:
    """The bank's non-performing covered loans: the outstanding principal of its claims not yet settled."""
    return sum(c.outstanding_fen for c in session.exec(
        select(PoolClaim).where(PoolClaim.bank_id == bank_id,
                                col(PoolClaim.status).in_(("claimed", "approved", "paid")))).all())


def file_loan(session: Session, actor: str | None, ref: str, bank: str | None = None,
              on: str | None = None) -> PoolFiling:
    """File a loan into the pool on ``on`` (the bank's staff, for their own bank's loans)."""
    user = acting(session, actor, "pool.file")
    loan, b = loan_svc.find_loan(session, user, ref, bank)
    duty_svc.require("pool.file", user, [loan_svc.parties(b)])
    what = f"filing of loan {loan.ref} of bank {b.uscc} into the pool"
    day = _date(on, "on", what)
    last = loan.extended_to or loan.maturity
    if not loan.drawdown <= day.isoformat() < last:
        raise ValidationFailed(what, [f"on: {day.isoformat()} is outside the loan's term {loan.drawdown}–{last}"])
    if b.state != "active":
        raise RuleViolation(f"bank {b.uscc} is {b.state} (业务暂停): it files no loan into the pool until reinstated "
                            f"({CLAUSE})")
    policy = current_policy(session)
    hit, why = rc.bank_suspended(policy, day, non_performing(session, b.id), covered(session, b.id, open_only=False))
    if hit:
        raise RuleViolation(f"bank {b.uscc} is suspended from the pool (业务暂停): {why}")
    existing = live_filing(session, loan.id)
    if existing is not None:
        raise IdempotencyConflict(f"loan {loan.ref} of bank {b.uscc} is already filed into the pool "
                                  f"(on {existing.filed_on}); revoke that filing first")
    outstanding = loan.principal_fen - _repaid(session, loan.id, day)
    amount = rc.principal_loss(outstanding, Fraction(loan.ip_share_ppm, loan_rules.PPM), _rounding(policy, day))
    if amount <= 0:
        raise RuleViolation(f"loan {loan.ref} of bank {b.uscc} has no principal outstanding on {day.isoformat()}")
    held = balance(session, lock=True)
    ok, why = rc.may_file(policy, day, covered(session), amount, held)
    if not ok:
        raise RuleViolation(f"loan {loan.ref} of bank {b.uscc} cannot be filed: {why}")
    at = stamp()
    assert loan.id is not None and b.id is not None
    row = PoolFiling(loan_id=loan.id, bank_id=b.id, filed_on=day.isoformat(), covered_fen=amount, filed_by=user.name,
                     at=at)
    session.add(row)
    session.flush()
    _audit(session, user.name, "pool.file", f"loan:{b.uscc}:{loan.ref}", at,
           {"filing_id": row.id, "on": row.filed_on, "covered_fen": amount, "leverage": why})
    return row


def revoke(session: Session, actor: str | None, ref: str, reason: str, bank: str | None = None,
           on: str | None = None) -> PoolRevocation:
    """Revoke a loan's filing with a reason; a loan with a live claim keeps its filing."""
    user = acting(session, actor, "pool.revoke")
    loan, b = loan_svc.find_loan(session, user, ref, bank)
    duty_svc.require("pool.revoke", user, [loan_svc.parties(b)])
    what = f"revocation of the filing of loan {loan.ref} of bank {b.uscc}"
    why = reason.strip()
    problems = []
    p = text_problem(why, field="reason", max_len=limit(PoolRevocation, "reason"), multiline=True)
    if p or not why:
        problems.append(p or "reason is empty: say why the filing is revoked (it is audited)")
    day = _date(on, "on", what)
    if problems:
        raise ValidationFailed(what, problems)
    filing = live_filing(session, loan.id)
    if filing is None:
        raise NotFound(f"loan {loan.ref} of bank {b.uscc} is not filed into the pool")
    if day.isoformat() < filing.filed_on:
        raise ValidationFailed(what, [f"on: {day.isoformat()} is before the filing on {filing.filed_on}"])
    if session.exec(select(PoolClaim).where(PoolClaim.filing_id == filing.id,
                                            col(PoolClaim.status).in_(LIVE))).first() is not None:
        raise IllegalTransition(f"loan {loan.ref} of bank {b.uscc} has a claim on the pool: its filing stands")
    at = stamp()
    assert filing.id is not None
    row = PoolRevocation(filing_id=filing.id, revoked_on=day.isoformat(), reason=why, actor=user.name, at=at)
    session.add(row)
    session.flush()
    _audit(session, user.name, "pool.revoke", f"loan:{b.uscc}:{loan.ref}", at,
           {"filing_id": filing.id, "on": row.revoked_on, "reason": why})
    return row


# --- claims ----------------------------------------------------------------------------------------------

def _paid_before(session: Session, loan_id: int, but: int | None = None) -> int:
    return sum(c.paid_fen or 0 for c in session.exec(select(PoolClaim).where(PoolClaim.loan_id == loan_id)).all()
               if c.id != but)


def claim(session: Session, actor: str | None, ref: str, defaulted_on: str, bank: str | None = None,
          on: str | None = None) -> PoolClaim:
    """The bank claims on a covered loan that defaulted on ``defaulted_on``; the loss and each party's part
    are fixed now (the shares of the filing date)."""
    user = acting(session, actor, "pool.claim")
    loan, b = loan_svc.find_loan(session, user, ref, bank)
    duty_svc.require("pool.claim", user, [loan_svc.parties(b)])
    what = f"claim on loan {loan.ref} of bank {b.uscc}"
    try:
        default = loan_rules.parse_date(defaulted_on, "defaulted")
    except loan_rules.LoanInputError as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    day = _date(on, "on", what)
    if default.isoformat() < loan.drawdown:
        raise ValidationFailed(what, [f"defaulted: {default.isoformat()} is before the drawdown {loan.drawdown}"])
    filing = live_filing(session, loan.id)
    if filing is None or filing.filed_on >= default.isoformat():
        when = f"it was filed on {filing.filed_on}, not before" if filing else "it is not filed into the pool"
        raise RuleViolation(f"loan {loan.ref} of bank {b.uscc} is not covered: a loan is covered only if filed into "
                            f"the pool before it defaulted ({default.isoformat()}); {when} ({CLAUSE})")
    policy = current_policy(session)
    ok, why = rc.claim_in_time(policy, default, day)
    if not ok:
        raise RuleViolation(f"claim on loan {loan.ref} of bank {b.uscc} is late: {why}")
    if session.exec(select(PoolClaim).where(PoolClaim.filing_id == filing.id,
                                            col(PoolClaim.status).in_(LIVE))).first() is not None:
        raise IdempotencyConflict(f"loan {loan.ref} of bank {b.uscc} already has a claim on the pool")
    outstanding = loan.principal_fen - _repaid(session, loan.id, default)
    filed = dt.date.fromisoformat(filing.filed_on)
    loss = rc.principal_loss(outstanding, Fraction(loan.ip_share_ppm, loan_rules.PPM), _rounding(policy, filed))
    assert loan.id is not None and b.id is not None and filing.id is not None
    try:  # the pool's part within the per-loan cap, before the balance (that is read when paying)
        c = rc.compensation(policy, loss, filed, day, b.tier, pool_balance_fen=loss,
                            paid_before_fen=_paid_before(session, loan.id))
    except rc.PoolRefusal as exc:
        raise _refused(exc) from None
    n = len(session.exec(select(PoolClaim.id).where(PoolClaim.filing_id == filing.id)).all())
    at = stamp()
    row = PoolClaim(ref=f"RC-{filing.id}-{n + 1}", filing_id=filing.id, loan_id=loan.id, bank_id=b.id,
                    defaulted_on=default.isoformat(), claimed_on=day.isoformat(), outstanding_fen=outstanding,
                    loss_fen=loss, pool_due_fen=c.pool_pays_fen, parts=json.dumps(c.parts, ensure_ascii=False),
                    status="claimed", claimed_by=user.name, claimed_at=at)
    session.add(row)
    session.flush()
    _audit(session, user.name, "pool.claim", f"pool-claim:{row.ref}", at,
           {"loan": f"{b.uscc}:{loan.ref}", "defaulted_on": row.defaulted_on, "claimed_on": row.claimed_on,
            "outstanding_fen": outstanding, "loss_fen": loss, "parts": c.parts, "pool_due_fen": c.pool_pays_fen,
            "deadline": why})
    return row


def _claim(session: Session, ref: str) -> tuple[PoolClaim, Bank, PledgeLoan]:
    c = session.exec(select(PoolClaim).where(PoolClaim.ref == ref.strip())).first()
    if c is None:
        raise NotFound(f"no pool claim {ref.strip()!r}; `ipfund pool status` lists them")
    b = session.get(Bank, c.bank_id)
    loan = session.get(PledgeLoan, c.loan_id)
    assert b is not None and loan is not None
    return c, b, loan


def claim_parties(c: PoolClaim, b: Bank) -> duties.CaseParties:
    """A pool claim as the duties rule sees it: the bank's organisation, its claimant, who decided it."""
    return duties.CaseParties(ref=f"pool claim {c.ref}", applicant_code=b.uscc, applicant_name=b.name,
                              submitted_by=c.claimed_by,
                              reviewers=frozenset({c.decided_by}) if c.decided_by else frozenset())


def _move(session: Session, c: PoolClaim, want: str, **values: Any) -> None:
    """Move the claim from ``want`` (a conditional UPDATE: whoever changed it first wins)."""
    done = session.execute(update(PoolClaim).where(col(PoolClaim.id) == c.id, col(PoolClaim.status) == want)
                           .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition(f"pool claim {c.ref} was changed by someone else; look again")
    session.refresh(c)


def decide(session: Session, actor: str | None, ref: str, decision: str, reason: str = "") -> PoolClaim:
    """A reviewer or approver approves or rejects a claim (a rejection says why)."""
    user = acting(session, actor, "pool.decide")
    c, b, _loan = _claim(session, ref)
    duty_svc.require("pool.decide", user, [claim_parties(c, b)])
    what = f"decision on pool claim {c.ref}"
    why = reason.strip()
    if decision not in ("approve", "reject"):
        raise ValidationFailed(what, [f"decision: {decision!r} is not approve or reject"])
    p = text_problem(why, field="reason", max_len=limit(PoolClaim, "decision_reason"), multiline=True)
    if p or (decision == "reject" and not why):
        raise ValidationFailed(what, [p or "reason is empty: a rejection says why (it is audited)"])
    if c.status != "claimed":
        raise IllegalTransition(f"pool claim {c.ref} is {c.status}; only a claimed one is decided")
    at = stamp()
    _move(session, c, "claimed", status="approved" if decision == "approve" else "rejected", decided_by=user.name,
          decided_at=at, decision_reason=why)
    _audit(session, user.name, f"pool.{decision}", f"pool-claim:{c.ref}", at, {"reason": why})
    return c


def _trace(steps: Iterable[Step]) -> str:
    return json.dumps([{"what": s.what, "value": s.value, "clause": s.clause, "parameter": s.parameter,
                        "in_force": s.in_force.isoformat() if s.in_force else None, "reference": s.reference} for s in steps], ensure_ascii=False)


def pay(session: Session, actor: str | None, ref: str) -> PoolClaim:
    """Pay an approved claim (finance): the provisional compensation, from the balance held now (locked)."""
    user = acting(session, actor, "pool.pay")
    c, b, loan = _claim(session, ref)
    duty_svc.require("pool.pay", user, [claim_parties(c, b)])
    if c.status != "approved":
        raise IllegalTransition(f"pool claim {c.ref} is {c.status}; only an approved claim is paid")
    policy = current_policy(session)
    filing = session.get(PoolFiling, c.filing_id)
    assert filing is not None
    held = balance(session, lock=True)
    guards.checkpoint("pool.pay.balance_read")
    try:
        comp = rc.compensation(policy, c.loss_fen, dt.date.fromisoformat(filing.filed_on),
                               dt.date.fromisoformat(c.claimed_on), b.tier, held,
                               paid_before_fen=_paid_before(session, c.loan_id, but=c.id))
    except rc.PoolRefusal as exc:
        raise _refused(exc) from None
    if comp.pool_pays_fen <= 0:
        raise RuleViolation(f"the pool holds {format_yuan(held)}: it pays nothing on pool claim {c.ref} "
                            f"(以其余额为限, {CLAUSE}); it waits for a contribution")
    at = stamp()
    posting = ledger.post(session, year=POOL_YEAR, kind="pool_compensation", memo=f"pool claim {c.ref}",
                          actor=user.name, entries=[(POOL_ACCOUNT, -comp.pool_pays_fen),
                                                    (_bank_account(b.uscc), comp.pool_pays_fen)],
                          subject=f"pool-claim:{c.ref}", at=at)
    _move(session, c, "approved", status="paid", paid_fen=comp.pool_pays_fen, bound=comp.bound,
          borne=json.dumps(comp.borne, ensure_ascii=False), trace=_trace(comp.trace), paid_by=user.name, paid_at=at,
          paid_posting_id=posting.id)
    _audit(session, user.name, "pool.pay", f"pool-claim:{c.ref}", at,
           {"loan": f"{b.uscc}:{loan.ref}", "paid_fen": comp.pool_pays_fen, "bound": comp.bound, "borne": comp.borne,
            "balance_before_fen": held, "posting_id": posting.id})
    return c


def settle(session: Session, actor: str | None, ref: str, recovered: str, receipt: str) -> PoolClaim:
    """After disposal of the pledged IP: the recovery shared in the proportions borne; the pool's part returns."""
    user = acting(session, actor, "pool.settle")
    c, b, _loan = _claim(session, ref)
    duty_svc.require("pool.settle", user, [claim_parties(c, b)])
    what = f"settlement of pool claim {c.ref}"
    problems = []
    try:
        fen = parse_yuan(recovered, field="recovered", allow_zero=True)
    except MoneyFormatError as exc:
        problems.append(str(exc))
        fen = 0
    rec = receipt.strip()
    p = text_problem(rec, field="receipt", max_len=limit(PoolClaim, "recovery_receipt"))
    if p or not rec:
        problems.append(p or "receipt is empty: give the reference of the money returned")
    if problems:
        raise ValidationFailed(what, problems)
    if c.status != "paid":
        raise IllegalTransition(f"pool claim {c.ref} is {c.status}; only a paid claim is settled")
    filing = session.get(PoolFiling, c.filing_id)
    assert filing is not None and c.borne is not None
    borne = json.loads(c.borne)
    try:
        parts = rc.recovery_split(fen, borne)
    except rc.PoolRefusal as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    own = rc.pool_parties(current_policy(session), dt.date.fromisoformat(filing.filed_on))
    back = sum(v for k, v in parts.items() if k in own)
    at = stamp()
    posting_id = None
    if back > 0:
        posting = ledger.post(session, year=POOL_YEAR, kind="pool_recovery", memo=f"pool claim {c.ref} recovery {rec}",
                              actor=user.name, entries=[(POOL_ACCOUNT, back), (_bank_account(b.uscc), -back)],
                              subject=f"pool-claim:{c.ref}", at=at)
        posting_id = posting.id
    _move(session, c, "paid", status="settled", recovered_fen=fen, pool_recovered_fen=back,
          recovery_parts=json.dumps(parts, ensure_ascii=False), recovery_receipt=rec, settled_by=user.name,
          settled_at=at, settled_posting_id=posting_id)
    _audit(session, user.name, "pool.settle", f"pool-claim:{c.ref}", at,
           {"recovered_fen": fen, "parts": parts, "pool_recovered_fen": back, "receipt": rec, "posting_id": posting_id})
    return c


# --- reading -----------------------------------------------------------------------------------------------

def claim_view(c: PoolClaim, b: Bank, loan_ref: str) -> dict[str, Any]:
    return {"ref": c.ref, "bank": b.uscc, "bank_name": b.name, "loan": loan_ref, "status": c.status,
            "defaulted_on": c.defaulted_on, "claimed_on": c.claimed_on, "loss_fen": c.loss_fen,
            "loss": format_yuan(c.loss_fen), "parts": json.loads(c.parts), "pool_due_fen": c.pool_due_fen,
            "paid_fen": c.paid_fen, "paid": format_yuan(c.paid_fen) if c.paid_fen is not None else None,
            "bound": c.bound, "borne": json.loads(c.borne) if c.borne else None,
            "recovered_fen": c.recovered_fen, "pool_recovered_fen": c.pool_recovered_fen,
            "recovery_parts": json.loads(c.recovery_parts) if c.recovery_parts else None,
            "trace": json.loads(c.trace) if c.trace else None,
            "claimed_by": c.claimed_by, "decided_by": c.decided_by, "paid_by": c.paid_by, "settled_by": c.settled_by}


def show(session: Session, actor: str | None, ref: str) -> dict[str, Any]:
    """One claim: its facts, each party's part, what each bore, the computation's trace and its audit events."""
    user = acting(session, actor, "pool.read")
    c, b, loan = _claim(session, ref)
    own = loan_svc._own_bank(user)  # a bank's staff read their own bank's claims only
    if own is not None and own != b.uscc:
        raise NotFound(f"no pool claim {ref.strip()!r} of bank {own}")
    from models.tables import AuditEvent

    events = session.exec(select(AuditEvent).where(AuditEvent.subject == f"pool-claim:{c.ref}")
                          .order_by(col(AuditEvent.seq))).all()
    return {**claim_view(c, b, loan.ref),
            "events": [{"seq": e.seq, "action": e.action, "actor": e.actor, "at": e.at} for e in events]}


def _decimal(x: Fraction) -> str:
    return str((Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.01")))


def declared(policy: Any) -> bool:
    """Whether the policy declares the pool (its leverage ceiling)."""
    return "risk-compensation.leverage" in policy.parameters


def ratios(session: Session, claims: Sequence[PoolClaim] | None = None, held: int | None = None,
           total_covered: int | None = None, k: Fraction | None = None) -> dict[str, Any]:
    """The pool's covered loans, leverage ceiling and leverage used (covered ÷ balance), and loss rate (the
    losses of live claims ÷ every loan ever covered) — what `pool status` and the KPIs show. Reads only."""
    if claims is None:
        claims = list(session.exec(select(PoolClaim)).all())
    held = balance(session) if held is None else held
    total_covered = covered(session) if total_covered is None else total_covered
    if k is None:
        k = current_policy(session).ratio("risk-compensation.leverage", now().date())
    losses = sum(c.loss_fen for c in claims if c.status in LIVE)
    ever = covered(session, open_only=False)
    return {"covered_fen": total_covered, "leverage": str(k),
            "leverage_used": _decimal(Fraction(total_covered, held)) if held else None,
            "loss_rate": f"{_decimal(Fraction(losses, ever) * 100)} %" if ever else None}


def status(session: Session, actor: str | None) -> dict[str, Any]:
    """The pool: balance, contributions by source, compensations, recoveries, leverage, each bank's covered and
    non-performing loans (业务暂停 by threshold) and every claim."""
    user = acting(session, actor, "pool.read")
    own = loan_svc._own_bank(user)  # a bank's staff see the pool's totals and their own bank's lines only
    policy = current_policy(session)
    today = now().date()
    held = balance(session)
    by_source: dict[str, int] = defaultdict(int)
    for r in session.exec(select(PoolContribution)).all():
        by_source[r.source] += r.amount_fen
    claims = session.exec(select(PoolClaim).order_by(col(PoolClaim.id))).all()
    banks = {b.id: b for b in session.exec(select(Bank)).all()}
    refs = {loan.id: loan.ref for loan in session.exec(select(PledgeLoan).where(
        col(PledgeLoan.id).in_([c.loan_id for c in claims] or [0]))).all()}
    total_covered = covered(session)
    k = policy.ratio("risk-compensation.leverage", today)
    per_bank = []
    for bid, b in sorted(banks.items(), key=lambda kv: kv[1].uscc):
        cov, npl = covered(session, bid, open_only=False), non_performing(session, bid)
        if (cov == 0 and npl == 0) or (own is not None and b.uscc != own):
            continue
        hit, why = rc.bank_suspended(policy, today, npl, cov)
        per_bank.append({"bank": b.uscc, "name": b.name, "state": b.state, "covered_fen": cov, "npl_fen": npl,
                         "suspended_by_threshold": hit, "detail": why})
    paid = sum(c.paid_fen or 0 for c in claims)
    back = sum(c.pool_recovered_fen or 0 for c in claims)
    return {"balance_fen": held, "balance": format_yuan(held), "contributions_fen": dict(by_source),
            "contributed_fen": sum(by_source.values()), "compensated_fen": paid, "recovered_fen": back,
            **ratios(session, claims, held, total_covered, k),
            "banks": per_bank,
            "claims": [claim_view(c, banks[c.bank_id], refs.get(c.loan_id, "")) for c in claims
                       if own is None or banks[c.bank_id].uscc == own]}


# --- the checker ---------------------------------------------------------------------------------------------

def invariants(session: Session) -> list[tuple[str, bool, str]]:
    """The pool's invariants over what is committed (written by any path): (check, ok, detail)."""
    out: list[tuple[str, bool, str]] = []
    policy = current_policy(session)
    held = balance(session)
    contributed = sum(r.amount_fen for r in session.exec(select(PoolContribution)).all())
    claims = session.exec(select(PoolClaim).order_by(col(PoolClaim.id))).all()
    paid = sum(c.paid_fen or 0 for c in claims)
    back = sum(c.pool_recovered_fen or 0 for c in claims)
    expect = rc.pool_balance([contributed], [paid], [back])
    ok = held >= 0 and held == expect
    out.append(("pool balance = contributions − compensations + recoveries ≥ 0", ok,
                f"{format_yuan(held)} = {format_yuan(contributed)} − {format_yuan(paid)} + {format_yuan(back)} ({CLAUSE})"
                if ok else f"ledger {format_yuan(held)}, records {format_yuan(expect)}"))
    bad = []
    filings = {f.id: f for f in session.exec(select(PoolFiling)).all()}
    for c in claims:
        parts = json.loads(c.parts)
        if sum(parts.values()) != c.loss_fen:
            bad.append(f"{c.ref}: parts sum to {format_yuan(sum(parts.values()))}, the loss is {format_yuan(c.loss_fen)}")
        if c.borne is not None:
            borne = json.loads(c.borne)
            own = rc.pool_parties(policy, dt.date.fromisoformat(filings[c.filing_id].filed_on))
            if sum(borne.values()) != c.loss_fen or sum(v for k, v in borne.items() if k in own) != c.paid_fen:
                bad.append(f"{c.ref}: borne {borne} does not sum to the loss or the pool's part to what it paid")
        if filings[c.filing_id].filed_on >= c.defaulted_on:
            bad.append(f"{c.ref}: the loan was filed on {filings[c.filing_id].filed_on}, not before its default")
    out.append(("pool compensations per party sum to the loss", not bad,
                f"{len(claims)} claims, each party's part and what each bore sum to the loss" if not bad
                else "; ".join(bad[:10])))
    live: dict[int, int] = defaultdict(int)
    revoked = _revoked_ids(session, filings)
    for f in filings.values():
        if f.id not in revoked:
            live[f.loan_id] += 1
    twice = [str(lid) for lid, n in live.items() if n > 1]
    out.append(("one live pool filing per loan", not twice,
                f"{len(filings)} filings" if not twice else f"loans filed twice: {', '.join(twice[:10])}"))
    out.append(_duties_again(session, claims, filings))
    return out


def _duties_again(session: Session, claims: Iterable[PoolClaim], filings: dict[int | None, PoolFiling]
                  ) -> tuple[str, bool, str]:
    users = {u.name: duty_svc.actor_of(u) for u in session.exec(select(User)).all()}
    banks = {b.id: b for b in session.exec(select(Bank)).all()}
    acts: list[tuple[str, str, duties.CaseParties]] = []
    acts += [("pool.contribute", r.actor, POOL_CASE) for r in session.exec(select(PoolContribution)).all()]
    acts += [("pool.file", f.filed_by, loan_svc.parties(banks[f.bank_id])) for f in filings.values()]
    for r in session.exec(select(PoolRevocation)).all():
        acts.append(("pool.revoke", r.actor, loan_svc.parties(banks[filings[r.filing_id].bank_id])))
    for c in claims:
        b = banks[c.bank_id]
        acts.append(("pool.claim", c.claimed_by, loan_svc.parties(b)))
        case = claim_parties(c, b)
        before = duties.CaseParties(ref=case.ref, applicant_code=b.uscc, applicant_name=b.name,
                                    submitted_by=c.claimed_by)
        if c.decided_by:
            acts.append(("pool.decide", c.decided_by, before))
        if c.paid_by:
            acts.append(("pool.pay", c.paid_by, case))
        if c.settled_by:
            acts.append(("pool.settle", c.settled_by, case))
    bad = []
    for act, who, case in acts:
        actor = users.get(who)
        b_ = None if actor is None else duties.breach(act, actor, case)
        if actor is None or b_ is not None:
            bad.append(f"{act} on {case.ref} by {who!r}: " + ("not a user" if actor is None else b_.message))  # type: ignore[union-attr]
    return ("pool acts by whom the duties allow", not bad,
            f"{len(acts)} pool acts decided again by the duties rule" if not bad else "; ".join(bad[:10]))
