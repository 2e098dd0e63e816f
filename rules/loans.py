"""The IP-pledge loan registry (知识产权质押融资, 二(三)7): what a bank registers and receipts, checked by field.

Banks (a kind of organisation, tier ``standard`` or ``assessed``, state ``active`` or ``suspended``) register
their IP-pledge loans and the receipts of interest and principal paid on them. The subsidy claims and the
risk-compensation pool read this registry; the rules here are only the registry's own:

* the terms as typed (a principal in yuan parsed exactly to fen, an annual rate as an exact decimal string —
  ``3.90%`` or ``0.039`` — never a binary float, dates, shares as exact percentages);
* 质权设立 before the loan: the pledge is registered with 国家知识产权局 on or before the drawdown;
* 首贷: a first loan is one with no earlier loan of the borrower from any bank in the registry (drawdown
  before this one); a bank declaring a first loan the registry contradicts is refused, naming the earlier
  loan; a bank may declare a loan *not* a first one (an earlier loan outside the registry);
* idempotency: the same terms under the same (bank, reference) are already registered; different terms are
  a conflict naming each differing field;
* receipts: interest within what the rate allows for the period (``check_payment``), repayments within the
  principal outstanding.

Pure: no I/O, no database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rules.money import MoneyFormatError, format_yuan, parse_yuan
from rules.schemes.pledge_interest_subsidy import (
    PAYMENT_KINDS,
    check_loan,
    check_payment,
    interest_allowed_fen,
)
from rules.schemes.pledge_interest_subsidy import (
    InterestPayment as InterestPayment,
)
from rules.schemes.pledge_interest_subsidy import (  # the record a claim's ``links: loan`` reads
    LinkedLoan as LinkedLoan,
)
from rules.schemes.pledge_interest_subsidy import (
    Loan as Loan,
)
from rules.schemes.pledge_interest_subsidy import (
    PriorClaim as PriorClaim,
)
from rules.schemes.pledge_interest_subsidy import (
    claim_window as claim_window,
)

CLAUSE = "二(三)7"
BANK_TIERS: tuple[str, ...] = ("standard", "assessed")
BANK_STATES: tuple[str, ...] = ("active", "suspended")
BANK_ACTIONS: dict[str, tuple[str | None, str]] = {  # action -> (from state, to state); None: any
    "add": (None, "active"),
    "suspend": ("active", "suspended"),
    "reinstate": ("suspended", "active"),
    "tier": (None, ""),  # the tier changes, the state does not
}
COVER_KINDS: tuple[str, ...] = ("insurance", "guarantee")
RECEIPT_KINDS: tuple[str, ...] = (*PAYMENT_KINDS, "principal")
PPM = 1_000_000  # shares are stored in millionths (exact for percentages with up to 4 decimals)
IP_NUMBER = re.compile(r"(?:ZL|CN)?\d{8,13}(?:\.[0-9X])?|(?:TM)?\d{4,9}", re.IGNORECASE)
_RATE = re.compile(r"\d{1,2}(?:\.\d{1,6})?")
_SHARE = re.compile(r"\d{1,3}(?:\.\d{1,4})?")


class LoanInputError(ValueError):
    """A term that cannot be read (names the field)."""


def parse_rate(value: Any, field: str = "rate") -> Decimal:
    """An annual rate written exactly: ``"3.90%"`` (percent, up to 4 decimals) or ``"0.039"`` (a fraction, up
    to 6 decimals). A binary float (a JSON number, ``3.9e-2``, or the long expansion a float prints as) is
    refused: a rate is a decision, not a measurement."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise LoanInputError(f"{field}: {value!r} is a {type(value).__name__}; write the rate as exact text, "
                             "e.g. \"3.90%\" or \"0.039\" (a binary float is never exact)")
    t = value.strip().replace("％", "%")
    pct = t.endswith("%")
    digits = t[:-1].strip() if pct else t
    if not _RATE.fullmatch(digits) or (pct and len(digits.partition(".")[2]) > 4):
        raise LoanInputError(f"{field}: {value.strip()[:30]!r} is not an exact annual rate; write e.g. \"3.90%\" "
                             "(at most 4 decimals) or \"0.039\" (at most 6 decimals), no exponent")
    rate = Decimal(digits) / 100 if pct else Decimal(digits)
    if not 0 < rate < 1:
        raise LoanInputError(f"{field}: {value.strip()!r} must be above 0 and below 100 %")
    return rate.normalize()


def rate_text(rate: Decimal) -> str:
    """The stored form of a rate: the exact fraction, e.g. ``0.039``."""
    return format(rate.normalize(), "f")


def parse_share(value: str, field: str, *, default_ppm: int | None = None, allow_zero: bool = False) -> int:
    """A share written ``60%`` (percent) or ``0.6`` (a fraction), exact to a millionth; returned in ppm."""
    t = (value or "").strip().replace("％", "%")
    if not t:
        if default_ppm is None:
            raise LoanInputError(f"{field}: empty; give a share, e.g. 60%")
        return default_ppm
    pct = t.endswith("%")
    digits = t[:-1].strip() if pct else t
    if not _SHARE.fullmatch(digits):
        raise LoanInputError(f"{field}: {t[:20]!r} is not a share; write a percentage such as 60% or a fraction "
                             "such as 0.6")
    d = Decimal(digits)
    ppm = d * (PPM // 100) if pct else d * PPM
    if ppm != ppm.to_integral_value():
        raise LoanInputError(f"{field}: {t!r} is finer than a millionth")
    n = int(ppm)
    if n > PPM or n < 0 or (n == 0 and not allow_zero):
        raise LoanInputError(f"{field}: {t!r} must be above 0 and at most 100 %" if not allow_zero
                             else f"{field}: {t!r} must be between 0 and 100 %")
    return n


def share_text(ppm: int) -> str:
    return f"{(Decimal(ppm) / (PPM // 100)).normalize():f}%"


def parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        raise LoanInputError(f"{field}: {(value or '').strip()[:20]!r} is not a date (YYYY-MM-DD)") from None


def parse_amount(value: Any, field: str) -> int:
    """A yuan amount above 0, exactly to the fen; a float or negative refused."""
    try:
        fen = parse_yuan(value, field=field, allow_zero=False)
    except MoneyFormatError as exc:
        raise LoanInputError(str(exc)) from None
    if fen <= 0:
        raise LoanInputError(f"{field}: {value!r} must be above 0")
    return fen


def parse_ip(value: str, field: str = "pledged IP") -> tuple[str, ...]:
    """Patent and trademark numbers, separated by ``;``, ``,`` or spaces (e.g. ``ZL202010123456.7;TM12345678``)."""
    items = [p.strip().upper() for p in re.split(r"[;,，；\s]+", value or "") if p.strip()]
    if not items:
        raise LoanInputError(f"{field}: empty; give the pledged patent or trademark numbers (e.g. ZL202010123456.7)")
    bad = [p for p in items if not IP_NUMBER.fullmatch(p)]
    if bad:
        raise LoanInputError(f"{field}: {bad[0]!r} is not a patent number (ZL + 12 digits . check digit) or a "
                             "trademark registration number (TM + digits)")
    if len(set(items)) != len(items):
        raise LoanInputError(f"{field}: {next(p for p in items if items.count(p) > 1)!r} is listed twice")
    return tuple(sorted(items))


@dataclass(frozen=True, slots=True)
class Terms:
    """A loan's terms as registered (what idempotency compares)."""

    borrower: str  # credit code
    principal_fen: int
    rate: Decimal
    drawdown: dt.date
    maturity: dt.date
    pledged_ip: tuple[str, ...]
    pledge_reg_no: str
    pledge_reg_date: dt.date
    ip_share_ppm: int = PPM
    cover_kind: str | None = None
    cover_party: str | None = None
    cover_share_ppm: int = 0
    declared_first: bool | None = None

    def as_loan(self, ref: str, extended_to: dt.date | None = None, first: bool = False) -> Loan:
        return Loan(ref, self.borrower, self.principal_fen, self.rate, self.drawdown, self.maturity,
                    Fraction(self.ip_share_ppm, PPM), Fraction(self.cover_share_ppm, PPM), first,
                    extended_to=extended_to)

    def shown(self) -> dict[str, str]:
        """Each term as a person reads it (the conflict message and `loan show`)."""
        return {"borrower": self.borrower, "principal": format_yuan(self.principal_fen),
                "rate": share_text(int(self.rate * PPM)) if self.rate * PPM == int(self.rate * PPM)
                else rate_text(self.rate),
                "drawdown": self.drawdown.isoformat(), "maturity": self.maturity.isoformat(),
                "pledged_ip": ";".join(self.pledged_ip), "pledge_reg_no": self.pledge_reg_no,
                "pledge_reg_date": self.pledge_reg_date.isoformat(), "ip_share": share_text(self.ip_share_ppm),
                "cover": (f"{self.cover_kind} by {self.cover_party} for {share_text(self.cover_share_ppm)}"
                          if self.cover_kind else "none"),
                "first_loan": {None: "not declared", True: "declared first", False: "declared not first"}[
                    self.declared_first]}


def check_terms(t: Terms, ref: str) -> list[str]:
    """What is wrong with a loan's terms, each naming the field and, for a policy rule, the clause."""
    out = check_loan(t.as_loan(ref))
    if t.pledge_reg_date > t.drawdown:
        out.append(f"pledge_reg_date: the pledge was registered on {t.pledge_reg_date.isoformat()}, after the "
                   f"drawdown {t.drawdown.isoformat()}; 质权设立 comes before the loan ({CLAUSE}: the pledge is "
                   "registered with 国家知识产权局 on or before the drawdown)")
    if not t.pledge_reg_no.strip():
        out.append("pledge_reg_no: empty; give the 国家知识产权局 pledge registration number")
    if t.cover_kind is not None:
        if t.cover_kind not in COVER_KINDS:
            out.append(f"cover_kind: {t.cover_kind!r} is not one of {', '.join(COVER_KINDS)}")
        if not (t.cover_party or "").strip():
            out.append("cover_party: a covered loan names its insurer or guarantor")
        if not 0 < t.cover_share_ppm <= PPM:
            out.append(f"cover_share: {share_text(t.cover_share_ppm)} must be above 0 and at most 100 %")
    elif t.cover_party or t.cover_share_ppm:
        out.append("cover_kind: a cover party or share is given without its kind (insurance or guarantee)")
    return out


def differing(old: Terms, new: Terms) -> list[str]:
    """Each term that differs, as ``field: registered X, given Y``."""
    a, b = old.shown(), new.shown()
    return [f"{k}: registered {a[k]}, given {b[k]}" for k in a if a[k] != b[k]]


@dataclass(frozen=True, slots=True)
class Earlier:
    """A loan of the same borrower in the registry (or earlier in the same file)."""

    bank: str
    ref: str
    drawdown: dt.date


@dataclass(frozen=True, slots=True)
class FirstLoan:
    first: bool
    basis: str


def first_loan(drawdown: dt.date, declared: bool | None, others: Sequence[Earlier]) -> FirstLoan:
    """首贷, decided from the registry: a first loan when no other loan of the borrower was drawn down before
    this one (any bank). Raises LoanInputError when the bank declares a first loan the registry contradicts."""
    earlier = sorted((e for e in others if e.drawdown < drawdown), key=lambda e: (e.drawdown, e.bank, e.ref))
    if earlier:
        e = earlier[0]
        if declared is True:
            raise LoanInputError(f"first_loan: declared a first loan (首贷), but the registry holds an earlier loan "
                                 f"of this borrower: {e.ref} of bank {e.bank}, drawn down {e.drawdown.isoformat()} "
                                 f"({CLAUSE})")
        return FirstLoan(False, f"registry: earlier loan {e.ref} of bank {e.bank} drawn down {e.drawdown.isoformat()}")
    if declared is False:
        return FirstLoan(False, "declared not first by the bank (an earlier loan outside the registry)")
    return FirstLoan(True, f"registry: no loan of this borrower from any bank drawn down before "
                           f"{drawdown.isoformat()}")


def first_loan_consistent(first: bool, basis: str, drawdown: dt.date, others: Sequence[Earlier]) -> str | None:
    """The checker's question: does a stored first-loan flag still agree with the registry?"""
    earlier = [e for e in others if e.drawdown < drawdown]
    if first and earlier:
        e = min(earlier, key=lambda x: (x.drawdown, x.bank, x.ref))
        return f"flagged a first loan, but {e.ref} of bank {e.bank} was drawn down earlier ({e.drawdown.isoformat()})"
    if not first and not earlier and not basis.startswith("declared"):
        return "flagged not a first loan, yet the registry holds no earlier loan and the bank declared none"
    return None


def check_interest(loan: Loan, receipt: str, start: dt.date, end: dt.date, amount_fen: int, kind: str,
                   basis: int) -> list[str]:
    """An interest receipt against the loan's rate and term (rules.schemes.pledge_interest_subsidy.check_payment),
    each problem naming the field and the clause."""
    if kind not in PAYMENT_KINDS:
        return [f"kind: {kind!r} is not one of {', '.join(PAYMENT_KINDS)}"]
    problems = check_payment(loan, InterestPayment(receipt, start, end, amount_fen, kind), basis)  # type: ignore[arg-type]
    return [p if "allows" not in p else f"{p} at {basis} days a year ({CLAUSE})" for p in problems]


def allowed_interest_fen(loan: Loan, start: dt.date, end: dt.date, basis: int) -> int:
    return interest_allowed_fen(loan, start, end, basis)


def check_repayment(principal_fen: int, repaid_fen: int, amount_fen: int, on: dt.date, drawdown: dt.date) -> list[str]:
    """A principal repayment: within what is outstanding, on or after the drawdown."""
    out = []
    outstanding = principal_fen - repaid_fen
    if amount_fen > outstanding:
        out.append(f"principal: {format_yuan(amount_fen)} is more than the principal outstanding "
                   f"({format_yuan(outstanding)} of {format_yuan(principal_fen)})")
    if on < drawdown:
        out.append(f"on: {on.isoformat()} is before the drawdown {drawdown.isoformat()}")
    return out


def same_receipt(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Fields in which a receipt given again differs from the one recorded."""
    return [f"{k}: recorded {old[k]}, given {new[k]}" for k in old if old[k] != new.get(k)]
