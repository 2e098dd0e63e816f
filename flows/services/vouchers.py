"""Custody service vouchers (托管服务券, 二(二)5): the acts on an issued voucher, the expiry stage, what an
agency's exit does to its open vouchers, the reads, and the checker's view.

A voucher is a case of a scheme whose policy section has a ``voucher:`` key. It is applied for with
`ipfund apply`, checked at intake and issued by `round finalize` (first come first served within the
line, its face value committed as any award). From there:

* ``contract`` — the SME names an accredited agency and a contract amount (by the use-by date, at no more
  than the agency's scheduled price); the cover min(share × contract, face) is fixed then;
* ``redeem`` — the agency's staff submit the evidence (stored content-addressed by sha256, the hashes in
  the audit chain), by the redeem-by date, once, for at most the cover;
* ``confirm`` / ``dispute`` — the SME; a confirmed voucher is payable for the redeemed amount, and what
  the face value held beyond it is released to the line in the same unit of work;
* settlement runs through the payment path (`pay batch`), the payee being the agency (通兑) or the SME
  (通用) as the mode in force when the round was finalized says;
* the ``expiry`` stage of `advance` lapses vouchers past their date and releases their commitment;
* suspending or expelling an agency returns its contracted vouchers to their holders or voids them
  (the policy's choice), each holder told by a notification in the same unit of work.

Every act is one function taking the caller's session (the unit of work commits), writing one audit event
per state change; duties are asked of rules/duties.py before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import agencies, cases
from flows.services import duties as duty_svc
from flows.services.context import SYSTEM_ACTOR, acting, current_policy, get_user
from flows.services.notifications import notify, notify_many
from flows.services.text_input import clean, text_problem
from models import audit, ledger
from models.clock import now, stamp
from models.tables import (
    Account,
    Agency,
    AgencyEvent,
    Applicant,
    Application,
    AuditEvent,
    AwardRound,
    EvidenceBlob,
    Notification,
    Payment,
    Posting,
    PostingEntry,
    VoucherClawback,
    VoucherContract,
    VoucherEvidence,
    VoucherRedemption,
)
from rules import duties
from rules.errors import NotFound, RuleViolation, ValidationFailed, VoucherRefused
from rules.funds import proportional_moves
from rules.money import MoneyFormatError, format_yuan, parse_yuan
from rules.policy import Policy, SchemeDef, VoucherDef
from rules.roles import allowed
from rules.schemes import custody_voucher as rules


def today() -> dt.date:
    return now().date()


def _day(stamp_text: str) -> dt.date:
    return dt.date.fromisoformat(stamp_text[:10])


def voucher_schemes(policy: Policy) -> list[str]:
    """The schemes whose cases are vouchers (a ``voucher:`` key in their section)."""
    return [sid for sid, sc in policy.schemes.items() if sc.voucher is not None]


def _scheme(policy: Policy, app: Application) -> tuple[SchemeDef, VoucherDef]:
    sc = policy.scheme(app.scheme)
    if sc.voucher is None:
        raise NotFound(f"{app.ref} is a case of {app.scheme}, which issues no vouchers")
    return sc, sc.voucher


def get_voucher(session: Session, key: str) -> Application:
    app = cases.get_app(session, key)
    _scheme(current_policy(session), app)
    return app


def issued_on(session: Session, app: Application) -> dt.date | None:
    """The day the voucher was issued: its round's finalize date (None before it is issued)."""
    if app.round_id is None:
        return None
    rnd = session.get(AwardRound, app.round_id)
    return _day(rnd.finalized_at) if rnd is not None else None


def terms_of(session: Session, policy: Policy, app: Application) -> rules.Terms:
    rnd = session.get(AwardRound, app.round_id) if app.round_id is not None else None
    return terms_issued(policy, app, rnd)


def terms_issued(policy: Policy, app: Application | Any, rnd: AwardRound | Any | None) -> rules.Terms:
    """The terms of a voucher issued by round ``rnd`` (None: not issued), or refused when it is not held."""
    if rnd is None or app.status not in _held_states(policy, app.scheme):
        raise VoucherRefused(f"{app.ref} is {app.status!r}: not an issued voucher (vouchers are issued by "
                             f"`ipfund round finalize {app.scheme} --year {app.year}`)")
    return round_terms(policy, rnd, app.scheme)


def round_terms(policy: Policy, rnd: AwardRound, scheme: str) -> rules.Terms:
    """A voucher's terms from its round: issued on the finalize day, settling in the mode the round recorded."""
    return rules.terms(policy, _day(rnd.finalized_at), scheme, rnd.settlement_mode)


def _held_states(policy: Policy, scheme: str) -> tuple[str, ...]:
    sc = policy.scheme(scheme)
    return (*sc.states_tagged("committed"), *sc.states_tagged("paid"))


def live_contract(session: Session, app_id: int) -> VoucherContract | None:
    return session.exec(select(VoucherContract).where(VoucherContract.application_id == app_id,
                                                      col(VoucherContract.ended_at).is_(None))).first()


def contracted_agency(session: Session, app_id: int) -> Agency | None:
    """The agency a voucher is contracted with (its live contract), for the payment path's payee."""
    c = live_contract(session, app_id)
    return session.get(Agency, c.agency_id) if c is not None else None


def redemption_of(session: Session, app_id: int) -> VoucherRedemption | None:
    """The voucher's live redemption (none ended by a return, a refusal or an upheld dispute)."""
    return session.exec(select(VoucherRedemption).where(VoucherRedemption.application_id == app_id,
                                                        col(VoucherRedemption.ended_at).is_(None))).first()


def redemptions_of(session: Session, app_id: int) -> list[VoucherRedemption]:
    """Every redemption of the voucher, oldest first (ended ones kept: returned, refused, upheld)."""
    return list(session.exec(select(VoucherRedemption).where(VoucherRedemption.application_id == app_id)
                             .order_by(col(VoucherRedemption.id))).all())


def face_of(session: Session, app: Application) -> int | None:
    """The face value the voucher was issued with (its commitment, as the award event recorded it)."""
    return _faces(session, [app.ref]).get(app.ref)


def _faces(session: Session, refs: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    subjects = [f"app:{r}" for r in refs]
    for i in range(0, len(subjects), 900):
        for subject, payload in session.execute(sa_select(t.c.subject, t.c.payload).where(
                t.c.subject.in_(subjects[i:i + 900]), t.c.action == "case.award").order_by(t.c.seq)):
            fen = json.loads(payload).get("award_fen")
            if isinstance(fen, int):
                out[subject.split(":", 1)[1]] = fen
    return out


def _holder_parties(session: Session, app: Application) -> duties.CaseParties:
    a = cases.applicant_of(session, app)
    return duties.CaseParties(ref=app.ref, applicant_code=a.uscc, applicant_name=a.name)


def _agency_parties(app: Application, agency: Agency) -> duties.CaseParties:
    return duties.CaseParties(ref=f"{app.ref} (contracted with agency {agency.uscc})", applicant_code=agency.uscc,
                              applicant_name=agency.name)


def _money(text: str, field: str, what: str) -> int:
    try:
        fen = parse_yuan(text, field=field)
    except MoneyFormatError as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    if fen <= 0:
        raise ValidationFailed(what, [f"{field}: {format_yuan(fen)} must be more than ¥0.00"])
    return fen


# --- the ledger: releasing what a voucher holds ------------------------------------------------------------

def _committed_left(session: Session, ref: str) -> dict[tuple[str, str], int]:
    """Per (line, source): what the case's postings still hold committed."""
    return dict(ledger.holdings(session, [f"app:{ref}"]).get(f"app:{ref}", {}).get("committed", {}))


def release_commitment(session: Session, app: Application | Any, amount_fen: int, actor: str, at: str,
                       why: str) -> Posting | None:
    """committed -> available on the voucher's line for ``amount_fen`` (what it no longer holds: its
    whole face value when it lapses or is void, the face beyond the redeemed amount when confirmed),
    source by source in proportion to what is still committed (largest remainder)."""
    if amount_fen <= 0:
        return None
    entries = _release_entries(app.ref, _committed_left(session, app.ref), amount_fen)
    return ledger.post(session, year=app.year, kind="release", memo=f"release {app.ref}: {why}"[:400], actor=actor,
                       entries=entries, subject=f"app:{app.ref}", at=at)


def release_many(session: Session, items: Sequence[tuple[Application | Any, int, str]], actor: str, at: str) -> int:
    """:func:`release_commitment` for many vouchers (``(voucher, amount_fen, why)``): what each still holds
    read in batched queries, one release posting each, written together (ledger.post_many)."""
    items = [(app, amount, why) for app, amount, why in items if amount > 0]
    left = _committed_left_many(session, [app.ref for app, _, _ in items])
    return ledger.post_many(session, [ledger.NewPosting(
        year=app.year, kind="release", memo=f"release {app.ref}: {why}"[:400], actor=actor,
        entries=_release_entries(app.ref, left.get(app.ref, {}), amount), subject=f"app:{app.ref}", at=at)
        for app, amount, why in items])


def _committed_left_many(session: Session, refs: Sequence[str]) -> dict[str, dict[tuple[str, str], int]]:
    """Per voucher and (line, source): what its postings still hold committed (batched :func:`_committed_left`)."""
    held = ledger.holdings(session, [f"app:{r}" for r in refs])
    return {subject.split(":", 1)[1]: dict(buckets.get("committed", {})) for subject, buckets in held.items()}


def _release_entries(ref: str, left: dict[tuple[str, str], int], amount_fen: int) -> list[tuple[str, int]]:
    """The entries moving ``amount_fen`` committed -> available, source by source in proportion to what is
    still committed (largest remainder); refused when less than that is committed."""
    try:
        return proportional_moves(amount_fen, left, "committed", "available")
    except ValueError:
        raise RuleViolation(f"{ref}: {format_yuan(amount_fen)} to release, only {format_yuan(sum(left.values()))} "
                            "still committed") from None


def _set_award(session: Session, app_id: int, award_fen: int | None) -> None:
    session.execute(update(Application).where(col(Application.id) == app_id).values(award_fen=award_fen)
                    .execution_options(synchronize_session=False))


# --- the per-voucher checks, shared by the single acts and the bulk files (voucher_bulk.py) ----------------

def check_contractable(policy: Policy, v: VoucherDef, app: Application | Any) -> None:
    """Only an issued voucher is contracted (二(二)5)."""
    if "contract" not in cases.workflow(policy, app.scheme).actions_from(app.status):
        raise VoucherRefused(f"{app.ref} is {app.status!r} ({cases.workflow(policy, app.scheme).state_name(app.status)}):"
                             " only an issued voucher is contracted (二(二)5)")


def check_use_by(v: VoucherDef, app: Application | Any, t: rules.Terms, on: dt.date) -> None:
    """A voucher is contracted by its use-by date (使用截止日期, 二(二)5)."""
    if on > t.use_by:
        raise VoucherRefused(f"{app.ref}: its use-by date (使用截止日期) was {t.use_by.isoformat()}, today is "
                             f"{on.isoformat()}; a voucher is contracted by then ({v.use_by_months}, 二(二)5)")


def contract_cover(policy: Policy, v: VoucherDef, app: Application | Any, service: str, standing: Any, on: dt.date,
                   face: int, amount: int) -> int:
    """The cover a contract of ``amount`` gives (min(share × contract, face)), or refused: an agency not in
    standing for the service that day or above its price, or a cover of nothing."""
    if not standing.accredited:
        raise VoucherRefused(f"{app.ref}: {standing.reason}; contract an agency on the public list "
                             f"(`ipfund agency list --service {service}`)")
    cover = rules.cover_fen(policy, on, face, amount, app.scheme)
    if cover <= 0:
        raise VoucherRefused(f"{app.ref}: a contract of {format_yuan(amount)} gives a cover of ¥0.00 "
                             f"({v.cover_share}); nothing to pay")
    return cover


def check_redeemable(policy: Policy, app: Application | Any, c: VoucherContract | Any | None,
                     earlier: VoucherRedemption | Any | None) -> None:
    """A voucher is redeemed once, and only when contracted (二(二)5)."""
    if earlier is not None:
        raise VoucherRefused(f"{app.ref} was already redeemed on {earlier.redeemed_on} by {earlier.redeemed_by} "
                             f"(redemption {earlier.id}); a voucher is redeemed once (二(二)5)")
    if c is None or "redeem" not in cases.workflow(policy, app.scheme).actions_from(app.status):
        raise VoucherRefused(f"{app.ref} is {app.status!r}: only a contracted voucher is redeemed (二(二)5)")


def redeem_amount(policy: Policy, v: VoucherDef, app: Application | Any, c: VoucherContract | Any, t: rules.Terms,
                  on: dt.date, standing: Any, amount: int | None) -> int:
    """The amount redeemed (the cover when none is given), or refused: after the redeem-by date, by an
    agency not in standing that day, above the cover."""
    if on > t.redeem_by:
        raise VoucherRefused(f"{app.ref}: its redeem-by date (兑付截止日期) was {t.redeem_by.isoformat()}, today is "
                             f"{on.isoformat()}; 兑付截止日期已过 ({v.redeem_by_months}, 二(二)5)")
    if not standing.accredited:
        raise VoucherRefused(f"{app.ref}: {standing.reason}; a suspended or expelled agency redeems no voucher")
    # A voucher returned after its SME confirmed holds only the first redemption's amount (the rest of its
    # face was released then): a redemption again is for at most what it still holds.
    held = int(app.award_fen or 0)
    amount = min(c.cover_fen, held) if amount is None else amount
    if held < amount <= c.cover_fen:
        raise VoucherRefused(f"{app.ref}: {format_yuan(amount)} is above the {format_yuan(held)} the voucher still "
                             "holds (its first redemption was confirmed for that, the rest released to the line; "
                             "二(二)5)")
    if amount > c.cover_fen:
        raise VoucherRefused(f"{app.ref}: {format_yuan(amount)} is above the voucher's cover of "
                             f"{format_yuan(c.cover_fen)} (min({policy.decimal(v.cover_share, _day(c.at))} × contract "
                             f"{format_yuan(c.contract_fen)}, face value); {v.cover_share}, 二(二)5)")
    return amount


def evidence_problems(policy: Policy, v: VoucherDef, scheme: str, on: dt.date,
                      files: Sequence[tuple[str, str, bytes]], mode: str | None = None) -> list[str]:
    """What is wrong with a redemption's evidence files (empty, a type the policy does not allow, not
    what the name says, a kind missing); empty when nothing is."""
    problems = []
    for kind, name, content in files:
        bad = text_problem(name, field="file name", max_len=260)
        if bad:
            problems.append(bad)
            continue
        why = rules.evidence_problem(policy, on, kind, name, content, scheme, mode)
        if why:
            problems.append(why)
    missing = rules.missing_evidence(policy, on, [k for k, _, _ in files], scheme, mode)
    pname, required = rules.required_evidence(policy, on, mode, scheme)
    problems += [f"no {k} file: a redemption of a voucher settling in mode {mode} carries "
                 f"{', '.join(required)} ({pname}, 二(二)5)" for k in missing]
    return problems


def check_confirmable(policy: Policy, app: Application | Any, r: VoucherRedemption | Any | None) -> None:
    """Only a redeemed voucher is confirmed (二(二)5)."""
    if r is None or "confirm" not in cases.workflow(policy, app.scheme).actions_from(app.status):
        raise VoucherRefused(f"{app.ref} is {app.status!r}: only a redeemed voucher is confirmed (二(二)5)")


# --- the acts ---------------------------------------------------------------------------------------------

def contract(session: Session, actor: str | None, key: str, agency_uscc: str, amount_yuan: str) -> VoucherContract:
    """The SME contracts the voucher's service with an accredited agency for a contract amount. Refused
    (nothing written), naming rule and clause, after the use-by date, with an agency not in standing for
    the service that day (suspended, expelled, not accredited for it) or above its scheduled price."""
    user = acting(session, actor, "voucher.contract")
    app = get_voucher(session, key)
    duty_svc.require("voucher.contract", user, [_holder_parties(session, app)])
    policy = current_policy(session)
    sc, v = _scheme(policy, app)
    what = f"contract of voucher {app.ref}"
    amount = _money(amount_yuan, "--amount", what)
    check_contractable(policy, v, app)
    on = today()
    t = terms_of(session, policy, app)
    service = str(cases.app_data(app).get(v.service_field) or "")
    check_use_by(v, app, t, on)
    agency = agencies.get(session, agency_uscc)
    standing = agencies.standing(session, agency.uscc, service, on, amount)
    face = app.award_fen
    assert face is not None and app.id is not None and agency.id is not None
    cover = contract_cover(policy, v, app, service, standing, on, face, amount)
    at = stamp()
    c = VoucherContract(application_id=app.id, agency_id=agency.id, service=service, contract_fen=amount,
                        cover_fen=cover, contracted_on=on.isoformat(), contracted_by=user.name, at=at)
    session.add(c)
    session.flush()
    share = policy.decimal(v.cover_share, on)
    cases.move(session, app, "contract", user.name, {"applicant"}, at=at, policy=policy, payload={
        "contract_id": c.id, "agency": agency.uscc, "service": service, "contract_fen": amount, "cover_fen": cover,
        "face_fen": face, "cover_share": str(share), "use_by": t.use_by.isoformat(),
        "redeem_by": t.redeem_by.isoformat()})
    subject, body = contract_notice(sc, app.ref, service, amount, cover, share, face, t)
    notify(session, recipient=agency.uscc, subject=subject, body=body, cause=f"voucher_contract:{c.id}", at=at)
    return c


def contract_notice(sc: SchemeDef, ref: str, service: str, amount: int, cover: int, share: Any, face: int,
                    t: rules.Terms) -> tuple[str, str]:
    """The agency's message about a new contract: (subject, body)."""
    return (f"托管服务券签约 {ref} ({sc.clause})",
            f"{ref}: {service} contracted for {format_yuan(amount)}; the voucher covers {format_yuan(cover)} "
            f"(at most {share} × contract, at most the face value {format_yuan(face)}). Redeem it with the "
            f"evidence by {t.redeem_by.isoformat()}.")


def redemption_notice(sc: SchemeDef, ref: str, agency_name: str, amount: int, files: int) -> tuple[str, str]:
    """The holder's message about a redemption to confirm or dispute: (subject, body)."""
    return (f"托管服务券兑付待确认 {ref} ({sc.clause})",
            f"{agency_name} redeemed {ref} for {format_yuan(amount)} with {files} evidence file(s); "
            "confirm the service (`ipfund voucher confirm`) or dispute it (`ipfund voucher dispute`).")


def redeem(session: Session, actor: str | None, key: str, files: Sequence[tuple[str, str, bytes]],
           amount_yuan: str | None = None) -> VoucherRedemption:
    """The agency's staff redeem a contracted voucher with evidence: (kind, file name, content) for each of
    the kinds the policy requires. Refused (nothing written), naming rule and clause: after the
    redeem-by date, by an agency not in standing that day, above the cover, a second time, or with an
    evidence file that is empty, of a type the policy does not allow, or not what its name says."""
    user = acting(session, actor, "voucher.redeem")
    app = get_voucher(session, key)
    policy = current_policy(session)
    sc, v = _scheme(policy, app)
    assert app.id is not None
    c = live_contract(session, app.id)
    check_redeemable(policy, app, c, redemption_of(session, app.id))
    assert c is not None
    agency = session.get(Agency, c.agency_id)
    assert agency is not None and agency.id is not None
    duty_svc.require("voucher.redeem", user, [_agency_parties(app, agency)])
    what = f"redemption of voucher {app.ref}"
    on = today()
    t = terms_of(session, policy, app)
    standing = agencies.standing(session, agency.uscc, c.service, on)
    amount = redeem_amount(policy, v, app, c, t, on, standing,
                           None if amount_yuan is None else _money(amount_yuan, "--amount", what))
    problems = evidence_problems(policy, v, app.scheme, on, files, t.settlement_mode)
    if problems:
        raise ValidationFailed(what, problems)
    at = stamp()
    r = VoucherRedemption(application_id=app.id, contract_id=c.id or 0, agency_id=agency.id, amount_fen=amount,
                          redeemed_on=on.isoformat(), redeemed_by=user.name, at=at)
    session.add(r)
    session.flush()
    evidence = []
    for kind, name, content in files:
        digest = hashlib.sha256(content).hexdigest()
        if session.get(EvidenceBlob, digest) is None:
            session.add(EvidenceBlob(sha256=digest, size_bytes=len(content), content=content))
            session.flush()
        suffix = name.rsplit(".", 1)[-1].lower()
        session.add(VoucherEvidence(redemption_id=r.id or 0, kind=kind, filename=name, media_type=suffix,
                                    size_bytes=len(content), sha256=digest))
        evidence.append({"kind": kind, "file": name, "sha256": digest, "bytes": len(content)})
    session.flush()
    cases.move(session, app, "redeem", user.name, {"agency"}, at=at, policy=policy, payload={
        "redemption_id": r.id, "agency": agency.uscc, "amount_fen": amount, "cover_fen": c.cover_fen,
        "evidence": evidence})
    holder = cases.applicant_of(session, app)
    subject, body = redemption_notice(sc, app.ref, agency.name, amount, len(evidence))
    notify(session, recipient=holder.uscc, subject=subject, body=body, cause=f"voucher_redemption:{r.id}", at=at)
    return r


def confirm(session: Session, actor: str | None, key: str) -> Application:
    """The SME confirms the service redeemed: the voucher becomes payable for the redeemed amount, and
    what its face value held beyond that is released to the line."""
    user = acting(session, actor, "voucher.confirm")
    app = get_voucher(session, key)
    duty_svc.require("voucher.confirm", user, [_holder_parties(session, app)])
    policy = current_policy(session)
    assert app.id is not None and app.award_fen is not None
    r = redemption_of(session, app.id)
    check_confirmable(policy, app, r)
    assert r is not None
    at = stamp()
    released = _hold_redeemed(session, app, r, user.name, at)
    cases.move(session, app, "confirm", user.name, {"applicant"}, at=at, policy=policy,
               payload={"redemption_id": r.id, "amount_fen": r.amount_fen, "released_fen": released})
    return app


def _hold_redeemed(session: Session, app: Application, r: VoucherRedemption, actor: str, at: str) -> int:
    """The voucher holds the redeemed amount from now on: what its face held beyond it is released to
    the line (a confirmation, a dismissed dispute). Returns the amount released."""
    assert app.id is not None and app.award_fen is not None
    held = app.award_fen
    released = held - r.amount_fen
    assert released >= 0, (held, r.amount_fen)  # paired with redeem's check: amount <= min(cover, held)
    release_commitment(session, app, released, actor, at, "face value beyond the redeemed amount")
    _set_award(session, app.id, r.amount_fen)
    app.award_fen = r.amount_fen
    return released


def _end_redemption(session: Session, r: VoucherRedemption, actor: str, at: str, as_: str, why: str) -> None:
    r.ended_at, r.ended_by, r.ended_as, r.ended_reason = at, actor, as_, why[:400]
    session.add(r)
    session.flush()


def _parties_notified(session: Session, app: Application, r: VoucherRedemption | None) -> tuple[str, str | None]:
    """(the holder's credit code, the redeeming agency's) for a notification to both."""
    holder = cases.applicant_of(session, app)
    agency = session.get(Agency, r.agency_id) if r is not None else None
    return holder.uscc, agency.uscc if agency is not None else None


# --- the reviewer's check (the engine's review path) and the dispute's resolution -----------------------------

def after_review(session: Session, policy: Policy, app: Application, decision: str, reason: str, actor: str,
                 at: str) -> None:
    """What a review decision on a confirmed voucher does besides moving it (called by the review path in
    its unit of work): an approval sends it to the third-party evaluation (the assignment stage staffs it);
    a return supersedes the redemption (the agency may redeem again by the redeem-by date); a refusal
    ends the redemption, releases what the voucher holds to the line and tells the agency and the SME."""
    sc, _v = _scheme(policy, app)
    assert app.id is not None
    r = redemption_of(session, app.id)
    if decision == "approve" or r is None:
        return
    holder, agency = _parties_notified(session, app, r)
    if decision == "return":
        _end_redemption(session, r, actor, at, "returned", reason)
        t = terms_of(session, policy, app)
        for who in filter(None, (agency, holder)):
            notify(session, recipient=who, subject=f"托管服务券兑付退回补正 {app.ref} ({sc.clause})",
                   body=f"{app.ref}: the reviewer returned the redemption {r.id} to the agency: {reason}. The agency "
                        f"may redeem it again with its evidence by {t.redeem_by.isoformat()} (兑付截止日期).",
                   cause=f"voucher_returned:{r.id}", at=at)
        return
    # refuse: no settlement; the voucher ends void, what it holds goes back to the line
    held = int(app.award_fen or 0)
    _end_redemption(session, r, actor, at, "refused", reason)
    release_commitment(session, app, held, actor, at, "redemption refused: " + reason)
    _set_award(session, app.id, None)
    app.award_fen = None
    audit.append(session, actor=actor, action="voucher.refused", subject=f"app:{app.ref}", at=at,
                 payload={"redemption_id": r.id, "released_fen": held, "reason": reason})
    for who in filter(None, (agency, holder)):
        notify(session, recipient=who, subject=f"托管服务券兑付不予结算 {app.ref} ({sc.clause})",
               body=f"{app.ref}: the reviewer refused redemption {r.id}: {reason}. The voucher is not settled; its "
                    f"{format_yuan(held)} returns to the budget line, and the refusal counts in the agency's "
                    "monitoring record (二(四)13).", cause=f"voucher_refused:{r.id}", at=at)


def resolve(session: Session, actor: str | None, key: str, outcome: str, reason: str) -> Application:
    """A reviewer resolves a disputed voucher, with a reason, both parties told. ``dismiss``: the service
    stands — the voucher goes on as if the SME had confirmed it (what its face held beyond the redeemed
    amount is released; the reviewer's check follows). ``uphold``: the redemption is refused — back to
    contracted for the agency to redeem again while the redeem-by date has not passed, otherwise void with
    its whole commitment released. Refused (nothing written) on a voucher that is not disputed."""
    user = acting(session, actor, "review.decide")
    if outcome not in ("dismiss", "uphold"):
        raise ValidationFailed("dispute resolution", [f"outcome {outcome!r}: use --dismiss or --uphold"])
    app = get_voucher(session, key)
    assert app.id is not None
    duty_svc.require_on(session, "voucher.resolve", user, [app.id])
    policy = current_policy(session)
    sc, _v = _scheme(policy, app)
    why = clean(reason, field="--reason", max_len=400, what=f"resolution of the dispute of voucher {app.ref}",
                multiline=True, required=True)
    wf = cases.workflow(policy, app.scheme)
    r = redemption_of(session, app.id)
    if r is None or "dispute_dismissed" not in wf.actions_from(app.status):
        raise VoucherRefused(f"{app.ref} is {app.status!r} ({wf.state_name(app.status)}): only a disputed voucher's "
                             "dispute is resolved (二(二)5)")
    at = stamp()
    holder, agency = _parties_notified(session, app, r)
    if outcome == "dismiss":
        released = _hold_redeemed(session, app, r, user.name, at)
        cases.move(session, app, "dispute_dismissed", user.name, {"reviewer"}, reason=why, at=at, policy=policy,
                   payload={"redemption_id": r.id, "amount_fen": r.amount_fen, "released_fen": released})
        said = "dismissed: the service stands and the voucher goes on to the reviewer's check and the evaluation"
    else:
        _end_redemption(session, r, user.name, at, "upheld", why)
        t = terms_of(session, policy, app)
        if today() <= t.redeem_by:
            cases.move(session, app, "dispute_upheld", user.name, {"reviewer"}, reason=why, at=at, policy=policy,
                       payload={"redemption_id": r.id, "redeem_by": t.redeem_by.isoformat()})
            said = (f"upheld: redemption {r.id} is refused; the agency may redeem again with its evidence by "
                    f"{t.redeem_by.isoformat()} (兑付截止日期)")
        else:
            held = int(app.award_fen or 0)
            release_commitment(session, app, held, user.name, at, "dispute upheld after the redeem-by date")
            cases.move(session, app, "dispute_upheld_lapsed", user.name, {"reviewer"}, reason=why, at=at,
                       policy=policy, payload={"redemption_id": r.id, "released_fen": held,
                                               "redeem_by": t.redeem_by.isoformat()})
            _set_award(session, app.id, None)
            app.award_fen = None
            said = (f"upheld: redemption {r.id} is refused and its redeem-by date {t.redeem_by.isoformat()} has "
                    f"passed, so the voucher is void and its {format_yuan(held)} returns to the budget line")
    for who in filter(None, (holder, agency)):
        notify(session, recipient=who, subject=f"托管服务券异议处理 {app.ref} ({sc.clause})",
               body=f"{app.ref}: the dispute is {said}. Reason: {why}", cause=f"voucher_dispute_resolved:{app.ref}:{r.id}",
               at=at)
    return app


# --- system: the grade decides the settlement -----------------------------------------------------------------

def grading_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                  policy: Policy | None = None) -> tuple[int, int]:
    """The grading step of `advance`: each voucher whose third-party evaluation is complete (scored) is
    settled by its grade (rules.settlement): at or above the pass grade for what it holds (its redeemed
    amount); below it, the policy's choice — a reduced share (the rest released to the line) or nothing
    (void, all released). The agency and the SME are told of a reduced or refused settlement."""
    policy = policy or current_policy(session)
    sc = policy.scheme(scheme)
    if sc.voucher is None or sc.voucher.pass_grade is None or sc.evaluation is None:
        return 0, after_id
    wf = cases.workflow(policy, scheme)
    waiting = [st for st in sc.states if "grade_passed" in wf.actions_from(st)]
    t = Application.__table__  # type: ignore[attr-defined]
    rows = session.execute(sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.status, t.c.year, t.c.award_fen,
                                     t.c.final_score_exact, t.c.applicant_id)
                           .where(t.c.scheme == scheme, t.c.status.in_(waiting), t.c.id > after_id,
                                  t.c.final_score_exact.is_not(None))
                           .order_by(t.c.id).limit(limit)).all()
    if not rows:
        return 0, after_id
    on = today()
    at = stamp()
    from rules.scoring import display, read_exact_record

    groups: dict[str, list[Any]] = defaultdict(list)
    payloads: dict[int, dict[str, Any]] = {}
    fields: dict[int, dict[str, Any]] = {}
    reasons: dict[int, str | None] = {}
    told = []
    releases: list[tuple[Any, int, str]] = []
    for r in rows:
        grade = read_exact_record(r.final_score_exact)[0]
        st = rules.settlement(policy, on, grade, int(r.award_fen or 0), scheme)
        action = {"passed": "grade_passed", "reduced": "grade_reduced", "failed": "grade_failed"}[st.outcome]
        groups[action].append(cases.CaseRef(r.id, r.ref, r.scheme, r.status))
        payloads[r.id] = {"grade": str(grade), "pass_grade": str(st.pass_grade), "outcome": st.outcome,
                          "pay_fen": st.pay_fen, "released_fen": st.release_fen,
                          "parameters": [sc.voucher.pass_grade, sc.voucher.below_pass, sc.voucher.reduced_share]}
        fields[r.id] = {"award_fen": st.pay_fen or None}
        reasons[r.id] = (f"grade {display(grade)} below the pass grade {st.pass_grade} ({sc.voucher.pass_grade}, "
                         f"{sc.clause}): no settlement" if st.outcome == "failed" else None)
        if st.release_fen:
            releases.append((r, st.release_fen, f"evaluation grade {display(grade)}: {st.outcome} settlement"))
        if st.outcome != "passed":
            told.append((r, st))
    release_many(session, releases, SYSTEM_ACTOR, at)  # one batched read of what each still holds
    for action, refs in groups.items():
        cases.move_many(session, refs, action, SYSTEM_ACTOR, {"system"}, at=at, policy=policy, payloads=payloads,
                        fields=fields, reasons=reasons if action == "grade_failed" else None)
    holders = {a.id: a.uscc for a in session.exec(select(Applicant).where(
        col(Applicant.id).in_({r.applicant_id for r, _ in told}))).all()} if told else {}
    for r, st in told:
        red = redemption_of(session, r.id)
        agency = session.get(Agency, red.agency_id) if red is not None else None
        what = (f"settles for {format_yuan(st.pay_fen)} (a reduced share, {sc.voucher.reduced_share}); "
                f"{format_yuan(st.release_fen)} returns to the budget line" if st.outcome == "reduced"
                else f"is not settled; its {format_yuan(st.release_fen)} returns to the budget line")
        for who in filter(None, (holders.get(r.applicant_id), agency.uscc if agency else None)):
            notify(session, recipient=who, subject=f"托管服务券绩效评价 {r.ref} ({sc.clause})",
                   body=f"{r.ref}: its third-party evaluation grade {display(st.grade)} is below the pass grade "
                        f"{st.pass_grade} ({sc.voucher.pass_grade}); the voucher {what}.",
                   cause=f"voucher_graded:{r.ref}", at=at)
    return len(rows), rows[-1].id


def dispute(session: Session, actor: str | None, key: str, reason: str) -> Application:
    """The SME disputes the service redeemed (a reason is required); the agency is told. A disputed
    voucher is not paid until the SME confirms it."""
    user = acting(session, actor, "voucher.dispute")
    app = get_voucher(session, key)
    duty_svc.require("voucher.dispute", user, [_holder_parties(session, app)])
    policy = current_policy(session)
    why = clean(reason, field="--reason", max_len=400, what=f"dispute of voucher {app.ref}", multiline=True,
                required=True)
    assert app.id is not None
    r = redemption_of(session, app.id)
    at = stamp()
    cases.move(session, app, "dispute", user.name, {"applicant"}, reason=why, at=at, policy=policy,
               payload={"redemption_id": r.id if r else None})
    agency = session.get(Agency, r.agency_id) if r is not None else None
    if agency is not None:
        notify(session, recipient=agency.uscc, subject=f"托管服务券兑付有异议 {app.ref} (二(二)5)",
               body=f"The holder disputes the service redeemed for {app.ref}: {why}", cause=f"voucher_dispute:{app.ref}",
               at=at)
    return app


# --- system: expiry, and an agency's exit ---------------------------------------------------------------------

def expiry_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                 policy: Policy | None = None) -> tuple[int, int]:
    """The expiry step of `advance`: vouchers not yet redeemed past their use-by date (uncontracted) or
    redeem-by date (contracted) lapse; their commitment is released to the line and the holder told, one
    audit event each. Returns (cases examined, last id) like every stage."""
    policy = policy or current_policy(session)
    sc = policy.scheme(scheme)
    if sc.voucher is None:
        return 0, after_id
    wf = cases.workflow(policy, scheme)
    waiting = [st for st in sc.states if "expire" in wf.actions_from(st)]
    t = Application.__table__  # type: ignore[attr-defined]
    rows = session.execute(sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.status, t.c.year, t.c.award_fen,
                                     t.c.round_id, t.c.applicant_id)
                           .where(t.c.scheme == scheme, t.c.status.in_(waiting), t.c.id > after_id)
                           .order_by(t.c.id).limit(limit)).all()
    if not rows:
        return 0, after_id
    ids = [r.id for r in rows]
    rounds = {r.id: _day(r.finalized_at) for r in session.exec(select(AwardRound).where(
        col(AwardRound.id).in_({r.round_id for r in rows if r.round_id is not None}))).all()}
    contracts = {c.application_id: c for c in session.exec(select(VoucherContract).where(
        col(VoucherContract.application_id).in_(ids), col(VoucherContract.ended_at).is_(None))).all()}
    on = today()
    lapsed = []
    waiting_terms = []
    for r in rows:
        issued = rounds.get(r.round_id)
        if issued is None:
            continue
        terms = rules.terms(policy, issued, scheme)
        if rules.lapses(terms, r.id in contracts, on):
            lapsed.append((r, terms))
        else:
            waiting_terms.append((r, terms))
    _remind(session, policy, sc, waiting_terms, contracts, on)
    if not lapsed:
        return len(rows), rows[-1].id
    at = stamp()
    holders = {a.id: a for a in session.exec(select(Applicant).where(
        col(Applicant.id).in_({r.applicant_id for r, _ in lapsed}))).all()}
    reasons: dict[int, str | None] = {}
    payloads: dict[int, dict[str, Any]] = {}
    for r, terms in lapsed:
        contracted = r.id in contracts
        date = terms.redeem_by if contracted else terms.use_by
        reasons[r.id] = (f"{'redeem-by (兑付截止日期)' if contracted else 'use-by (使用截止日期)'} date {date.isoformat()} "
                         "passed (二(二)5)")
        payloads[r.id] = {"released_fen": r.award_fen or 0, "use_by": terms.use_by.isoformat(),
                          "redeem_by": terms.redeem_by.isoformat()}
        if contracted:
            _end_contract(session, contracts[r.id], SYSTEM_ACTOR, at, "the voucher lapsed")
    release_many(session, [(r, int(r.award_fen or 0), "lapsed") for r, _ in lapsed], SYSTEM_ACTOR, at)
    refs = [cases.CaseRef(r.id, r.ref, r.scheme, r.status) for r, _ in lapsed]
    cases.move_many(session, refs, "expire", SYSTEM_ACTOR, {"system"}, at=at, policy=policy, reasons=reasons,
                    payloads=payloads, fields={r.id: {"award_fen": None} for r, _ in lapsed})
    notify_many(session, [(holders[r.applicant_id].uscc, f"托管服务券已过期 {r.ref} ({sc.clause})",
                           f"{r.ref} lapsed: its {reasons[r.id]}; its {format_yuan(int(r.award_fen or 0))} returns to "
                           "the budget line.", f"voucher_expiry:{r.ref}") for r, _ in lapsed], at)
    return len(rows), rows[-1].id


def _remind(session: Session, policy: Policy, sc: SchemeDef, waiting: list[tuple[Any, rules.Terms]],
            contracts: dict[int, VoucherContract], on: dt.date) -> int:
    """Expiry reminders (``voucher.reminder_days``) for vouchers still waiting: for each one whose
    reminder is due on ``on`` (rules.reminder_due), one message to the holder and, contracted, one to
    the agency, in the caller's unit of work. Exactly once per voucher, deadline and threshold: the
    cause ``voucher_reminder:<ref>:<deadline>:<days>`` already in the outbox means sent (and the outbox's
    unique index on recipient and cause for reminders refuses a second row). Returns how many vouchers
    were reminded."""
    v = sc.voucher
    if v is None or v.reminder_days is None or not waiting:
        return 0
    try:
        thresholds = [int(d) for d in policy.value(v.reminder_days, on)]
    except LookupError:
        return 0  # not in force that day: no reminders
    sent: dict[tuple[str, str], set[int]] = defaultdict(set)
    causes = _reminder_causes(waiting, contracts, thresholds)
    for cause in session.exec(select(Notification.cause).where(  # the LIKE lets the partial index serve
            col(Notification.cause).like("voucher_reminder:%"), col(Notification.cause).in_(causes))).all():
        _, ref, on_date, days = cause.split(":")
        sent[(ref, on_date)].add(int(days))
    due = []
    for r, terms in waiting:
        contracted = r.id in contracts
        deadline = terms.redeem_by if contracted else terms.use_by
        rem = rules.reminder_due(terms, contracted, on, thresholds, sent.get((r.ref, deadline.isoformat()), set()))
        if rem is not None:
            due.append((r, rem))
    if not due:
        return 0
    at = stamp()
    holders = {a.id: a for a in session.exec(select(Applicant).where(
        col(Applicant.id).in_({r.applicant_id for r, _ in due}))).all()}
    agency_ids = {contracts[r.id].agency_id for r, _ in due if r.id in contracts}
    agents = {a.id: a for a in session.exec(select(Agency).where(col(Agency.id).in_(agency_ids)))} if agency_ids else {}
    for r, rem in due:
        cause = f"voucher_reminder:{r.ref}:{rem.deadline.isoformat()}:{rem.days}"
        when = rem.deadline.isoformat()
        if rem.kind == "use_by":
            zh = f"请于 {when}（使用截止日期）前与已认定的服务机构签订托管服务合同，逾期本券失效、额度退回预算"
            en = f"contract an accredited agency by {when} (its use-by date), or the voucher lapses"
        else:
            zh = f"请督促服务机构于 {when}（兑付截止日期）前提交兑付材料（合同、付款凭证、服务成果），逾期本券失效"
            en = f"the agency must redeem it with its evidence by {when} (its redeem-by date), or the voucher lapses"
        left = "今天到期" if rem.left == 0 else f"还剩 {rem.left} 天"
        subject = f"托管服务券即将到期 {r.ref}：{left} ({sc.clause})"
        body = (f"您的托管服务券 {r.ref} 将于 {when} 到期（{left}）。{zh}。 — Voucher {r.ref}: {rem.left} day(s) "
                f"left; {en} ({rem.days}-day reminder, {v.reminder_days}).")
        notify(session, recipient=holders[r.applicant_id].uscc, subject=subject, body=body, cause=cause, at=at)
        if r.id in contracts:
            agency = agents[contracts[r.id].agency_id]
            notify(session, recipient=agency.uscc, subject=f"托管服务券待兑付 {r.ref}：{left} ({sc.clause})",
                   body=(f"贵机构签约的托管服务券 {r.ref} 兑付截止日期为 {when}（{left}），请在此前提交兑付材料"
                         f"（合同、企业付款凭证、服务成果），逾期本券失效。 — Voucher {r.ref}: redeem by {when}, "
                         f"{rem.left} day(s) left ({rem.days}-day reminder)."), cause=cause, at=at)
    return len(due)


def _reminder_causes(waiting: list[tuple[Any, rules.Terms]], contracts: dict[int, VoucherContract],
                     thresholds: list[int]) -> list[str]:
    """Every reminder cause the waiting vouchers could already have in the outbox for their deadline."""
    out = []
    for r, terms in waiting:
        deadline = terms.redeem_by if r.id in contracts else terms.use_by
        out += [f"voucher_reminder:{r.ref}:{deadline.isoformat()}:{d}" for d in thresholds]
    return out


def _end_contract(session: Session, c: VoucherContract, actor: str, at: str, why: str) -> None:
    c.ended_at, c.ended_by, c.ended_reason = at, actor, why[:400]
    session.add(c)
    session.flush()


def on_agency_exit(session: Session, policy: Policy, agency: Agency, disposition: str, event: AgencyEvent,
                   at: str, redeemed_too: bool = False) -> int:
    """An agency suspended or expelled (``event``): each voucher contracted with it and not yet redeemed
    is returned to its holder (back to issued, to contract another agency) or void (its commitment
    released), as the policy's ``disposition`` says; each holder is told. In the caller's unit of work.
    ``redeemed_too`` (a fraud finding, 二(四)13): the redeemed vouchers not yet in payment are void too —
    every state the scheme lets ``void`` leave — since the evidence of their service is what was found
    false; a voucher already in a payment batch is left to settle and be clawed back."""
    live = list(session.exec(select(VoucherContract).where(VoucherContract.agency_id == agency.id,
                                                           col(VoucherContract.ended_at).is_(None))).all())
    done = 0
    for c in live:
        app = session.get(Application, c.application_id)
        if app is None:
            continue
        if redeemed_too and disposition == "void":
            if "void" not in cases.workflow(policy, app.scheme).actions_from(app.status):
                continue  # in a payment batch, settled or ended: not open
        elif app.status != "contracted":
            continue  # redeemed already: the service was delivered; it is confirmed or disputed as usual
        why = (f"agency {agency.uscc} ({agency.name}) {event.to_state} ({event.clause}): open vouchers are "
               f"{'returned to the holder' if disposition == 'return_to_holder' else 'void'}")
        _end_contract(session, c, event.actor, at, why)
        holder = cases.applicant_of(session, app)
        if disposition == "return_to_holder":
            cases.move(session, app, "return_to_holder", SYSTEM_ACTOR, {"system"}, reason=why, at=at, policy=policy,
                       payload={"agency_event": event.id, "contract_id": c.id})
            body = (f"{app.ref}: {why}. The voucher is yours again: contract another accredited agency by its "
                    "use-by date.")
        else:
            held = int(app.award_fen or 0)
            release_commitment(session, app, held, SYSTEM_ACTOR, at, "void: " + why)
            assert app.id is not None
            cases.move(session, app, "void", SYSTEM_ACTOR, {"system"}, reason=why, at=at, policy=policy,
                       payload={"agency_event": event.id, "contract_id": c.id, "released_fen": held})
            _set_award(session, app.id, None)
            body = f"{app.ref}: {why}. The voucher is void."
        notify(session, recipient=holder.uscc, subject=f"托管服务券 {app.ref}: 服务机构 {event.to_state} ({event.clause})",
               body=body, cause=f"voucher:{app.ref}:agency_event:{event.id}", at=at)
        done += 1
    return done


# --- reads ------------------------------------------------------------------------------------------------------

def _visibility(session: Session, actor: str | None) -> tuple[bool, str | None, str | None]:
    """(reads every voucher, the holder's credit code, the agency's credit code) for the acting user."""
    user = get_user(session, actor)
    acting(session, actor, "voucher.read")
    if allowed(user.role_set(), "read.all"):
        return True, None, None
    org = user.affiliation or "-"
    return False, org if "applicant" in user.role_set() else None, org if "agency" in user.role_set() else None


def list_vouchers(session: Session, actor: str | None, scheme: str | None = None, status: str | None = None,
                  agency: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Vouchers, oldest first: staff read every one; an SME's users their own, an agency's staff those
    contracted with their agency."""
    everything, holder, own_agency = _visibility(session, actor)
    policy = current_policy(session)
    schemes = [scheme] if scheme else voucher_schemes(policy)
    for s in schemes:
        if policy.scheme(s).voucher is None:
            raise ValidationFailed("voucher list", [f"--scheme: {s!r} issues no vouchers"])
    q = (select(Application, Applicant).join(Applicant, col(Applicant.id) == col(Application.applicant_id))
         .where(col(Application.scheme).in_(schemes)))
    if status:
        q = q.where(Application.status == status)
    if not everything and holder is not None and own_agency is None:
        q = q.where(Applicant.uscc == holder)
    rows = list(session.exec(q.order_by(col(Application.id)).limit(limit)).all())
    ids = [a.id for a, _ in rows if a.id is not None]
    contracts: dict[int, VoucherContract] = {}
    for i in range(0, len(ids), 900):
        for vc in session.exec(select(VoucherContract).where(col(VoucherContract.application_id).in_(ids[i:i + 900]))
                              .order_by(col(VoucherContract.id))).all():
            if vc.ended_at is None or vc.application_id not in contracts:
                contracts[vc.application_id] = vc
    names = {a.id: a.uscc for a in session.exec(select(Agency)).all()}
    faces = _faces(session, [a.ref for a, _ in rows])
    from flows.services.fraud import clawback_totals

    claws = clawback_totals(session, ids)
    issued = {r.id: r for r in session.exec(select(AwardRound).where(
        col(AwardRound.id).in_({a.round_id for a, _ in rows if a.round_id is not None}))).all()}
    out = []
    for a, p in rows:
        c = contracts.get(a.id or 0)
        live = c is not None and c.ended_at is None
        code = names.get(c.agency_id) if c is not None and live else None
        if agency and code != agency.strip().upper():
            continue
        if not everything and own_agency is not None and code != own_agency and p.uscc != (holder or ""):
            continue
        t = round_terms(policy, issued[a.round_id], a.scheme) if a.round_id in issued else None
        out.append({"ref": a.ref, "scheme": a.scheme, "year": a.year, "status": a.status, "holder": p.name,
                    "uscc": p.uscc, "service": json.loads(a.data).get(policy.scheme(a.scheme).voucher.service_field)  # type: ignore[union-attr]
                    , "face_fen": faces.get(a.ref), "held_fen": a.award_fen, "agency": code,
                    "contract_fen": c.contract_fen if live and c else None, "cover_fen": c.cover_fen if live and c else None,
                    "issued_on": t.issued_on.isoformat() if t else None, "use_by": t.use_by.isoformat() if t else None,
                    "redeem_by": t.redeem_by.isoformat() if t else None,
                    "settlement_mode": t.settlement_mode if t else None,
                    "clawed_back_fen": claws.get(a.id or 0, (None, None))[0],
                    "recovered_fen": claws.get(a.id or 0, (None, None))[1]})
    return out


def show(session: Session, actor: str | None, key: str) -> dict[str, Any]:
    """One voucher: its holder, terms, contracts, redemption with evidence hashes, payments and every event."""
    everything, holder, own_agency = _visibility(session, actor)
    app = get_voucher(session, key)
    policy = current_policy(session)
    sc, v = _scheme(policy, app)
    p = cases.applicant_of(session, app)
    assert app.id is not None
    contracts = list(session.exec(select(VoucherContract).where(VoucherContract.application_id == app.id)
                                  .order_by(col(VoucherContract.id))).all())
    agencies_by_id = {a.id: a for a in session.exec(select(Agency).where(
        col(Agency.id).in_({c.agency_id for c in contracts}))).all()}
    mine = everything or p.uscc == holder or any(
        agencies_by_id[c.agency_id].uscc == own_agency for c in contracts if c.agency_id in agencies_by_id)
    if not mine:
        raise NotFound(f"voucher {key!r} not found among the vouchers you may read")
    r = redemption_of(session, app.id)
    evidence = list(session.exec(select(VoucherEvidence).where(VoucherEvidence.redemption_id == r.id)
                                 .order_by(col(VoucherEvidence.id))).all()) if r is not None else []
    rnd = session.get(AwardRound, app.round_id) if app.round_id is not None else None
    t = round_terms(policy, rnd, app.scheme) if rnd is not None else None
    return {
        "ref": app.ref, "scheme": app.scheme, "clause": sc.clause, "year": app.year, "status": app.status,
        "state_name": cases.workflow(policy, app.scheme).state_name(app.status),
        "holder": {"name": p.name, "uscc": p.uscc, "district": p.district, "sme": p.sme},
        "service": cases.app_data(app).get(v.service_field), "face_fen": face_of(session, app),
        "held_fen": app.award_fen, "line_code": app.line_code,
        "terms": None if t is None else {"issued_on": t.issued_on.isoformat(), "use_by": t.use_by.isoformat(),
                                         "redeem_by": t.redeem_by.isoformat(), "settlement_mode": t.settlement_mode},
        "contracts": [{"id": c.id, "agency": agencies_by_id[c.agency_id].uscc, "agency_name": agencies_by_id[c.agency_id].name,
                       "service": c.service, "contract_fen": c.contract_fen, "cover_fen": c.cover_fen,
                       "contracted_on": c.contracted_on, "by": c.contracted_by, "ended_at": c.ended_at,
                       "ended_reason": c.ended_reason} for c in contracts],
        "redemption": None if r is None else {
            "id": r.id, "amount_fen": r.amount_fen, "redeemed_on": r.redeemed_on, "by": r.redeemed_by,
            "evidence": [{"kind": e.kind, "file": e.filename, "type": e.media_type, "bytes": e.size_bytes,
                          "sha256": e.sha256} for e in evidence]},
        "payments": [{"idempotency_key": x.idempotency_key, "payee": x.payee, "credit_code": x.uscc,
                      "amount_fen": x.amount_fen, "status": x.status, "batch_id": x.batch_id}
                     for x in session.exec(select(Payment).where(Payment.application_id == app.id)
                                           .order_by(col(Payment.id))).all()],
        "clawback": _clawback_view(session, app.id),
        "history": [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                     "payload": json.loads(e.payload), "hash": e.hash}
                    for e in audit.events_for(session, f"app:{app.ref}")],
    }


def _clawback_view(session: Session, app_id: int) -> dict[str, Any] | None:
    from flows.services.fraud import clawback_view

    return clawback_view(session, app_id)


def evidence_content(session: Session, sha256: str) -> bytes:
    blob = session.get(EvidenceBlob, sha256.strip().lower())
    if blob is None:
        raise NotFound(f"no evidence file has sha256 {sha256.strip()[:64]!r}")
    return bytes(blob.content)


# --- the checker's view -------------------------------------------------------------------------------------------

def ledger_identity(session: Session, scheme: str, year: int) -> dict[str, dict[str, int]]:
    """Per budget line of the scheme's vouchers: Σ committed (commitment postings), Σ settled (live
    payments), Σ released (release postings) and Σ open (what the vouchers in a committed state hold),
    each read from its own rows; the identity is committed = settled + released + open. A clawback does
    not change it (the payment was made: settled stays settled). Beside it, after fraud (二(四)13): Σ
    clawed back (clawback postings into the receivable), Σ recovered (recovery postings back to available)
    and Σ outstanding (each clawback row's amount less what it records recovered); the identity is
    clawed back = recovered + outstanding."""
    t = Application.__table__  # type: ignore[attr-defined]
    subjects = {f"app:{ref}": line for ref, line in session.execute(
        sa_select(t.c.ref, t.c.line_code).where(t.c.scheme == scheme, t.c.year == year, t.c.line_code.is_not(None)))}
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"committed": 0, "settled": 0, "released": 0, "open": 0,
                                                          "clawed_back": 0, "recovered": 0, "outstanding": 0})
    p, e, a = (Posting.__table__, PostingEntry.__table__, Account.__table__)  # type: ignore[attr-defined]
    for subject, kind, name, amount in session.execute(
            sa_select(p.c.subject, p.c.kind, a.c.name, e.c.amount_fen).join(e, e.c.posting_id == p.c.id)
            .join(a, a.c.id == e.c.account_id)
            .where(p.c.year == year, p.c.kind.in_(("commitment", "release", "clawback", "recovery")),
                   e.c.amount_fen > 0)):
        line = subjects.get(subject or "")
        if line is None:
            continue
        bucket = name.split(":")[-1]
        if kind == "commitment" and bucket == "committed":
            out[line]["committed"] += amount
        elif kind == "release" and bucket == "available":
            out[line]["released"] += amount
        elif kind == "clawback" and bucket == "receivable":
            out[line]["clawed_back"] += amount
        elif kind == "recovery" and bucket == "available":
            out[line]["recovered"] += amount
    cb = VoucherClawback.__table__  # type: ignore[attr-defined]
    for line, amount, recovered in session.execute(
            sa_select(t.c.line_code, cb.c.amount_fen, cb.c.recovered_fen).join(cb, cb.c.application_id == t.c.id)
            .where(t.c.scheme == scheme, t.c.year == year, t.c.line_code.is_not(None))):
        out[line]["outstanding"] += int(amount) - int(recovered)
    policy = current_policy(session)
    live = _held_states(policy, scheme)
    paid_states = policy.scheme(scheme).states_tagged("paid")
    pay = Payment.__table__  # type: ignore[attr-defined]
    for line, status, award, settled in session.execute(
            sa_select(t.c.line_code, t.c.status, t.c.award_fen, func.coalesce(func.sum(pay.c.amount_fen), 0))
            .select_from(t).outerjoin(pay, (pay.c.application_id == t.c.id) & (pay.c.status != "failed"))
            .where(t.c.scheme == scheme, t.c.year == year, t.c.line_code.is_not(None))
            .group_by(t.c.id, t.c.line_code, t.c.status, t.c.award_fen)):
        out[line]["settled"] += int(settled or 0)
        if status in live and status not in paid_states:
            out[line]["open"] += int(award or 0) - int(settled or 0)
    return dict(out)


def invariants(session: Session) -> list[tuple[str, bool, str]]:
    """The voucher invariants over what is committed (written by any path): (check, ok, detail)."""
    policy = current_policy(session)
    schemes = voucher_schemes(policy)
    out: list[tuple[str, bool, str]] = []
    if not schemes:
        return out
    a = Application.__table__  # type: ignore[attr-defined]
    apps = {r.id: r for r in session.execute(sa_select(a.c.id, a.c.ref, a.c.scheme, a.c.award_fen, a.c.status,
                                                       a.c.applicant_id, a.c.round_id, a.c.year)
                                             .where(a.c.scheme.in_(schemes)))}
    faces = _faces(session, [r.ref for r in apps.values()])
    bad_cover = []
    contracts = {c.id: c for c in session.exec(select(VoucherContract)).all()}
    for c in contracts.values():
        app = apps.get(c.application_id)
        if app is None:
            bad_cover.append(f"contract {c.id} is not of a voucher")
            continue
        face = faces.get(app.ref, 0)
        want = rules.cover_fen(policy, dt.date.fromisoformat(c.contracted_on), face, c.contract_fen, app.scheme)
        if c.cover_fen != want or c.cover_fen > face:
            bad_cover.append(f"{app.ref}: cover {c.cover_fen} fen, the rule gives {want} fen (face {face}, contract "
                             f"{c.contract_fen})")
    for r in session.exec(select(VoucherRedemption)).all():
        rc = contracts.get(r.contract_id)
        if rc is None or rc.application_id != r.application_id or r.amount_fen > rc.cover_fen:
            bad_cover.append(f"redemption {r.id}: {r.amount_fen} fen is above its contract's cover")
    for app in apps.values():
        issued_face = faces.get(app.ref)
        if app.award_fen is not None and (issued_face is None or app.award_fen > issued_face):
            bad_cover.append(f"{app.ref}: holds {app.award_fen} fen, more than its face value {issued_face}")
    out.append(("voucher cover <= face and <= share × contract", not bad_cover,
                f"{len(contracts)} contract(s): each cover is min(share × contract, face); redemptions within it"
                if not bad_cover else "; ".join(bad_cover[:10])))

    pay = Payment.__table__  # type: ignore[attr-defined]
    twice = [ref for ref, _n in session.execute(
        sa_select(a.c.ref, func.count()).select_from(a).join(pay, pay.c.application_id == a.c.id)
        .where(a.c.scheme.in_(schemes), pay.c.status != "failed").group_by(a.c.ref).having(func.count() > 1))]
    out.append(("at most one settlement per voucher", not twice,
                "no voucher has two live payments" if not twice else ", ".join(twice[:10])))

    bad_ledger = []
    years = sorted({y for (y,) in session.execute(sa_select(a.c.year).where(a.c.scheme.in_(schemes)).distinct())})
    lines = 0
    for sid in schemes:
        for y in years:
            for line, f in ledger_identity(session, sid, y).items():
                lines += 1
                if f["committed"] != f["settled"] + f["released"] + f["open"]:
                    bad_ledger.append(f"{sid} {y} {line}: committed {f['committed']} ≠ settled {f['settled']} + "
                                      f"released {f['released']} + open {f['open']} fen")
                if f["clawed_back"] != f["recovered"] + f["outstanding"]:
                    bad_ledger.append(f"{sid} {y} {line}: clawed back {f['clawed_back']} ≠ recovered {f['recovered']} "
                                      f"+ outstanding {f['outstanding']} fen")
    out.append(("voucher ledger: committed = settled + released + open", not bad_ledger,
                f"{lines} line(s), to the fen; clawed back = recovered + outstanding" if not bad_ledger
                else "; ".join(bad_ledger[:10])))
    from flows.services import fraud

    out += fraud.invariants(session, apps)
    out.append(_settled_after_evaluation(session, policy, schemes))
    out.append(_payees_again(session, policy, apps))
    out.append(_duties_again(session, apps, contracts))
    return out


def _settled_after_evaluation(session: Session, policy: Policy, schemes: list[str]) -> tuple[str, bool, str]:
    """A graded scheme's voucher is payable, being paid or paid only after its evaluation: it has a live
    redemption, a final grade and a grading event, and holds no more than that redemption's amount; and a
    voucher refused or not settled holds nothing."""
    a = Application.__table__  # type: ignore[attr-defined]
    ev = AuditEvent.__table__  # type: ignore[attr-defined]
    bad = []
    checked = 0
    for sid in schemes:
        sc = policy.scheme(sid)
        if sc.voucher is None or sc.voucher.pass_grade is None:
            continue
        graded_states = {t.to for t in sc.transitions if t.action in ("grade_passed", "grade_reduced")}
        later = {t.to for t in sc.transitions if set(t.from_) & graded_states} - set(sc.states_tagged("void"))
        after = graded_states | later | set(sc.states_tagged("paid"))
        void = set(sc.states_tagged("void"))
        rows = session.execute(sa_select(a.c.id, a.c.ref, a.c.status, a.c.award_fen, a.c.final_score_exact)
                               .where(a.c.scheme == sid, a.c.status.in_(sorted(after | void)))).all()
        graded = {subject.split(":", 1)[1] for (subject,) in session.execute(
            sa_select(ev.c.subject).where(ev.c.action.in_(("case.grade_passed", "case.grade_reduced")),
                                          ev.c.subject.like("app:%")))}
        live = {r.application_id: r for r in session.exec(select(VoucherRedemption).where(
            col(VoucherRedemption.ended_at).is_(None))).all()}
        for r in rows:
            checked += 1
            if r.status in void:
                if r.award_fen not in (None, 0):
                    bad.append(f"{r.ref} is {r.status} but holds {r.award_fen} fen")
                continue
            red = live.get(r.id)
            if red is None or not r.final_score_exact or r.ref not in graded:
                bad.append(f"{r.ref} is {r.status} without a live redemption, a final grade and its grading event")
            elif r.award_fen is not None and r.award_fen > red.amount_fen:
                bad.append(f"{r.ref} holds {r.award_fen} fen, more than its redemption's {red.amount_fen}")
    return ("vouchers settle only after their evaluation", not bad,
            f"{checked} graded or ended voucher(s)" if not bad else "; ".join(bad[:10]))


def _payees_again(session: Session, policy: Policy, apps: dict[int, Any]) -> tuple[str, bool, str]:
    """Every voucher payment went to the payee of its round's settlement mode (二(二)5): the agency that
    redeemed it (通兑) or the holder (通用), by credit code."""
    from flows.services.payments import round_mode

    rounds = {r.id: r for r in session.exec(select(AwardRound).where(
        col(AwardRound.id).in_({r.round_id for r in apps.values() if r.round_id is not None}))).all()}
    holders = {h.id: h.uscc for h in session.exec(select(Applicant).where(
        col(Applicant.id).in_({r.applicant_id for r in apps.values()}))).all()}
    redeemers = {r.application_id: r.agency_id for r in session.exec(select(VoucherRedemption)).all()}
    codes = {ag.id: ag.uscc for ag in session.exec(select(Agency)).all()}
    wrong, n = [], 0
    for p in session.exec(select(Payment).where(col(Payment.application_id).in_(list(apps)))).all():
        app = apps[p.application_id]
        declared = policy.scheme(app.scheme).payment
        if not declared.payee_mode:
            continue
        n += 1
        mode = round_mode(policy, declared, rounds.get(app.round_id), app.year)
        agency_id = redeemers.get(p.application_id)
        want = (codes.get(agency_id) if agency_id is not None else None) if mode == "agency" else holders.get(
            app.applicant_id)
        if p.uscc != want:
            wrong.append(f"{p.idempotency_key}: paid to {p.uscc}, its round settles in mode {mode} to {want}")
    return ("voucher payee = its round's settlement mode", not wrong,
            f"{n} voucher payment(s) to the agency (通兑) or the holder (通用) as their round says"
            if not wrong else "; ".join(wrong[:10]))


def _duties_again(session: Session, apps: dict[int, Any], contracts: dict[int | None, VoucherContract]
                  ) -> tuple[str, bool, str]:
    """Every committed voucher act decided again by the duties rule: each contract by its signer for the
    holder, each redemption by its agency user for the contracted agency, each confirmation and dispute
    (their audit events) for the holder."""
    holders = {p.id: p for p in session.exec(select(Applicant).where(
        col(Applicant.id).in_({r.applicant_id for r in apps.values()}))).all()}
    agencies_by_id = {a.id: a for a in session.exec(select(Agency)).all()}
    by_ref = {r.ref: r.id for r in apps.values()}
    acts: list[tuple[str, str, duties.CaseParties]] = []

    def holder_of(app_id: int) -> duties.CaseParties:
        p = holders[apps[app_id].applicant_id]
        return duties.CaseParties(ref=apps[app_id].ref, applicant_code=p.uscc, applicant_name=p.name)

    for c in contracts.values():
        if c.application_id in apps:
            acts.append(("voucher.contract", c.contracted_by, holder_of(c.application_id)))
    for r in session.exec(select(VoucherRedemption)).all():
        if r.application_id in apps and r.agency_id in agencies_by_id:
            ag = agencies_by_id[r.agency_id]
            acts.append(("voucher.redeem", r.redeemed_by, duties.CaseParties(
                ref=f"{apps[r.application_id].ref} (contracted with agency {ag.uscc})", applicant_code=ag.uscc,
                applicant_name=ag.name)))
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    resolved: list[tuple[str, int]] = []
    for actor, action, subject in session.execute(sa_select(t.c.actor, t.c.action, t.c.subject).where(
            t.c.action.in_(("case.confirm", "case.dispute", "case.dispute_dismissed", "case.dispute_upheld",
                            "case.dispute_upheld_lapsed")), t.c.subject.like("app:%"))):
        app_id = by_ref.get(subject.split(":", 1)[1])
        if app_id is None:
            continue
        if action.startswith("case.dispute_"):
            resolved.append((actor, app_id))
        else:
            acts.append(("voucher." + action.split(".", 1)[1], actor, holder_of(app_id)))
    # A resolution is judged with every party of the case (the SME, the agencies, the submitter).
    full = duty_svc.parties(session, {app_id for _, app_id in resolved})
    acts += [("voucher.resolve", actor, full[app_id]) for actor, app_id in resolved if app_id in full]
    judged, breaches = duty_svc.judge_again(session, acts)
    return ("voucher duties (own organisation only)", not breaches,
            f"{judged} voucher act(s) decided again by the duties rule" if not breaches else "; ".join(breaches[:10]))
