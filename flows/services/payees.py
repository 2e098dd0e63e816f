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


def set_bank(session: Session, actor: str | None, applicant_key: str, bank_name: str, account: str,
             reason: str | None = None) -> Applicant:
    user = acting(session, actor, "applicant.bank")
    applicant = get_applicant(session, applicant_key)
    why = clean(reason, field="--reason", max_len=400, what=f"bank details of {applicant.name}", multiline=True)
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
        raise ValidationFailed(f"bank details of {applicant.name}", problems)
    old = {"bank_name": applicant.bank_name, "bank_account": applicant.bank_account}
    if (applicant.bank_name, applicant.bank_account) == (name, number):
        return applicant  # the same details again: nothing to record
    applicant.bank_name, applicant.bank_account = name, number
    session.add(applicant)
    session.flush()
    audit.append(session, actor=user.name, action="applicant.bank", subject=f"applicant:{applicant.uscc}",
                 payload={"old": old, "new": {"bank_name": name, "bank_account": number}, "reason": why})
    return applicant


def set_agency_bank(session: Session, actor: str | None, agency_uscc: str, bank_name: str, account: str,
                    reason: str | None = None) -> Any:
    """An agency's bank details (paid when a voucher settles 通兑): the same act as an applicant's — an
    admin or a reviewer, never the finance officer who pays; checked, and audited with old and new."""
    from flows.services import agencies

    user = acting(session, actor, "agency.bank")
    agency = agencies.get(session, agency_uscc)
    why = clean(reason, field="--reason", max_len=400, what=f"bank details of {agency.name}", multiline=True)
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
        raise ValidationFailed(f"bank details of {agency.name}", problems)
    old = {"bank_name": agency.bank_name, "bank_account": agency.bank_account}
    if (agency.bank_name, agency.bank_account) == (name, number):
        return agency
    agency.bank_name, agency.bank_account = name, number
    session.add(agency)
    session.flush()
    audit.append(session, actor=user.name, action="agency.bank", subject=f"agency:{agency.uscc}",
                 payload={"old": old, "new": {"bank_name": name, "bank_account": number}, "reason": why})
    return agency
