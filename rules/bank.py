"""Payee bank details (开户银行, 账号) as a bank file needs them. Pure: no I/O.

A bank account number (银行结算账户账号) is written with digits only; people type it with spaces or
hyphens in groups of four, so those are removed. Chinese settlement accounts run from 9 to 30 digits
depending on the bank (individual card numbers 16–19, corporate accounts commonly 12–25); anything
outside 8–32 digits is a typing mistake. The bank's name goes into a CSV another system opens, so it
may not start like a spreadsheet formula.
"""

from __future__ import annotations

import re
import unicodedata

ACCOUNT_MIN_DIGITS = 8
ACCOUNT_MAX_DIGITS = 32
BANK_NAME_MAX = 100
_SEPARATORS = re.compile(r"[\s\-]+")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class BankDetailsError(ValueError):
    """Bank details that cannot be sent to a bank; the message names the field and how to fix it."""


def normalise_account(text: str) -> str:
    """Digits only (spaces and hyphens removed, full-width digits made ASCII), or BankDetailsError."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    if not compact:
        raise BankDetailsError("bank_account is empty; give the payee's account number (账号)")
    if not (compact.isascii() and compact.isdigit()):
        bad = next(c for c in compact if not (c.isascii() and c.isdigit()))
        raise BankDetailsError(f"bank_account {text.strip()[:40]!r} contains {bad!r}; an account number has digits "
                               "only (spaces and hyphens between groups are fine)")
    if not ACCOUNT_MIN_DIGITS <= len(compact) <= ACCOUNT_MAX_DIGITS:
        raise BankDetailsError(f"bank_account has {len(compact)} digits; an account number has "
                               f"{ACCOUNT_MIN_DIGITS}–{ACCOUNT_MAX_DIGITS}; check it against the 开户许可证")
    return compact


def normalise_bank_name(text: str) -> str:
    """The bank and branch (开户银行), trimmed, or BankDetailsError."""
    name = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()
    if len(name) < 2:
        raise BankDetailsError("bank_name is empty; give the bank and branch of the account (开户银行), e.g. "
                               "中国银行烟台分行")
    if len(name) > BANK_NAME_MAX:
        raise BankDetailsError(f"bank_name has {len(name)} characters; at most {BANK_NAME_MAX}")
    if name.startswith(_FORMULA):
        raise BankDetailsError(f"bank_name {name[:20]!r} starts with {name[0]!r}, which a spreadsheet runs as a "
                               "formula (CSV injection)")
    bad = next((c for c in name if unicodedata.category(c).startswith("C")), None)
    if bad is not None:
        raise BankDetailsError(f"bank_name contains the control character U+{ord(bad):04X}; remove it")
    return name


def mask_account(account: str) -> str:
    """For display: the last four digits only."""
    return ("*" * max(0, len(account) - 4)) + account[-4:]
