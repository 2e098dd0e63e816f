"""Payees' bank details (开户银行, 账号), kept with the applicant and written into the bank file.

A change of bank details is a classic way to divert a payment, so it is its own act: taken by an
admin or a reviewer (never by the finance officer who pays, whose role does not include it), checked
(rules.bank), and recorded in the audit chain with the old and the new details.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from flows.services.applicants import get_applicant
from flows.services.context import acting
from flows.services.text_input import clean
from models import audit
from models.tables import Applicant
from rules.bank import BankDetailsError, normalise_account, normalise_bank_name
from rules.errors import ValidationFailed


def _record_bank(session: Session, user: Any, holder: Any, action: str, subject: str, bank_name: str,
                 account: str, reason: str | None) -> Any:
    """Check and store a payee's 开户银行 and 账号 (an applicant's or an agency's), audited with old and new;
    the same details again record nothing."""
    why = clean(reason, field="--reason", max_len=400, what=f"bank details of {holder.name}", multiline=True)
    problems = []
    name = number = ""
    try:
        name = normalise_bank_name(bank_name)
    except BankDetailsError as exc:
        problems.append(f"--bank-name: {exc}")
    try:
        number = normalise_account(account)
    except BankDetailsError as exc:
        problems.append(f"--account: {exc}")
    if problems:
        raise ValidationFailed(f"bank details of {holder.name}", problems)
    old = {"bank_name": holder.bank_name, "bank_account": holder.bank_account}
    if (holder.bank_name, holder.bank_account) == (name, number):
        return holder  # the same details again: nothing to record
    holder.bank_name, holder.bank_account = name, number
    session.add(holder)
    session.flush()
    audit.append(session, actor=user.name, action=action, subject=subject,
                 payload={"old": old, "new": {"bank_name": name, "bank_account": number}, "reason": why})
    return holder


def set_bank(session: Session, actor: str | None, applicant_key: str, bank_name: str, account: str,
             reason: str | None = None) -> Applicant:
    user = acting(session, actor, "applicant.bank")
    applicant = get_applicant(session, applicant_key)
    result: Applicant = _record_bank(session, user, applicant, "applicant.bank", f"applicant:{applicant.uscc}",
                                     bank_name, account, reason)
    return result


def set_agency_bank(session: Session, actor: str | None, agency_uscc: str, bank_name: str, account: str,
                    reason: str | None = None) -> Any:
    """An agency's bank details (paid when a voucher settles 通兑): the same act as an applicant's — an
    admin or a reviewer, never the finance officer who pays; checked, and audited with old and new."""
    from flows.services import agencies

    user = acting(session, actor, "agency.bank")
    agency = agencies.get(session, agency_uscc)
    return _record_bank(session, user, agency, "agency.bank", f"agency:{agency.uscc}", bank_name, account, reason)


def set_bank_account(session: Session, actor: str | None, bank_uscc: str, bank_name: str, account: str,
                     reason: str | None = None) -> Any:
    """A lending bank's own account (where its 首贷 reward is paid, 二(三)7): an admin's act, never of the bank's
    own staff (the duties rule); checked, and audited with old and new like an applicant's."""
    from flows.services import duties as duty_svc
    from flows.services.loans import get_bank, parties

    user = acting(session, actor, "bank.account")
    bank = get_bank(session, bank_uscc)
    duty_svc.require("bank.account", user, [parties(bank)])
    return _record_bank(session, user, bank, "bank.account", f"bank:{bank.uscc}", bank_name, account, reason)
