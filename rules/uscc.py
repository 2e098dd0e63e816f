"""统一社会信用代码 (Unified Social Credit Code, USCC) validation per GB 32100-2015.

Layout of the 18 characters (1-based positions):

* 1      registration-authority code (登记管理部门码), e.g. ``9`` = 市场监管 (工商)
* 2      organisation-type code (机构类别码), e.g. ``1`` = 企业
* 3–8    administrative-division code of the registering authority (GB/T 2260), six digits
* 9–17   organisation code (组织机构代码, GB 11714): 8 body characters + 1 check character
* 18     check character (校验码), GB 32100-2015 mod-31

Every character comes from the 31-character set ``0-9`` plus ``ABCDEFGHJKLMNPQRTUWXY`` (the letters
I, O, Z, S and V are never used). The authority and type codes are only checked against that set:
the list of authorities has grown since 2015 and a stricter check would reject real codes.

Pure module: no I/O.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "CHARSET",
    "CreditCodeError",
    "is_valid_uscc",
    "make_uscc",
    "org_code_check_char",
    "uscc_check_char",
    "uscc_division",
    "validate_uscc",
]

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100-2015, in code-value order (index = value in the mod-31 sum)."""

_VALUE = {c: i for i, c in enumerate(CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**(i-1) mod 31
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 values: 0-9 = 0-9, A-Z = 10-35
_DIVISION_RE = re.compile(r"[0-9]{6}")
_LOOKALIKES = {"I": "1", "O": "0", "Z": "2", "S": "5", "V": "U"}

Check = Literal["length", "charset", "division", "org_code_check", "check_char"]


class CreditCodeError(ValueError):
    """A 统一社会信用代码 fails one of the GB 32100-2015 checks.

    ``check`` names the first failing check, in the order they are applied: ``"length"`` (not 18
    characters), ``"charset"`` (a character outside ``0-9ABCDEFGHJKLMNPQRTUWXY``), ``"division"``
    (positions 3–8 are not six digits), ``"org_code_check"`` (positions 9–17 fail the GB 11714 check)
    and ``"check_char"`` (position 18 is not the mod-31 check character).
    """

    def __init__(self, message: str, *, check: Check) -> None:
        super().__init__(message)
        self.check: Check = check


def org_code_check_char(body: str) -> str:
    """GB 11714 check character for an 8-character organisation-code body (``0-9A-Z``).

    ``c = 11 - (Σ value×weight mod 11)`` with weights 3,7,9,10,5,8,4,2; 10 -> ``X``, 11 -> ``0``.
    """
    if len(body) != 8 or any(ch not in _ORG_ALPHABET for ch in body):
        raise ValueError(f'organisation-code body "{body}" must be 8 characters from 0-9A-Z')
    total = sum(_ORG_ALPHABET.index(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a credit code.

    ``c = 31 - (Σ value×weight mod 31)`` (31 -> 0) with weights 1,3,9,27,19,26,16,17,20,29,25,13,8,24,
    10,30,28; the character is ``CHARSET[c]``.
    """
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError(f'"{first17}" must be 17 characters from {CHARSET}')
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the normalised code (stripped, upper case) or raise :class:`CreditCodeError`."""
    if not isinstance(code, str):
        raise TypeError(f"credit code {code!r} must be text, not {type(code).__name__}")
    raw = code
    c = code.strip().upper()
    tag = f'credit code "{raw}"'

    if len(c) != 18:
        raise CreditCodeError(
            f"{tag} has {len(c)} characters; a 统一社会信用代码 has exactly 18 (GB 32100-2015); "
            "check for missing, extra or separator characters",
            check="length",
        )

    bad = [(i + 1, ch) for i, ch in enumerate(c) if ch not in _VALUE]
    if bad:
        where = ", ".join(f"'{ch}' at position {pos}" for pos, ch in bad)
        hints = [f"'{ch}' is probably '{_LOOKALIKES[ch]}'" for _, ch in bad if ch in _LOOKALIKES]
        hint = f" ({'; '.join(dict.fromkeys(hints))})" if hints else ""
        raise CreditCodeError(
            f"{tag} contains {where}; only digits and the letters ABCDEFGHJKLMNPQRTUWXY are used "
            f"(never I, O, Z, S, V){hint}; re-type the code from the business licence",
            check="charset",
        )

    division = c[2:8]
    if not _DIVISION_RE.fullmatch(division):
        raise CreditCodeError(
            f"{tag} has '{division}' in positions 3-8; these are the six-digit administrative-division "
            "code (GB/T 2260) and must be digits only; check for a typo",
            check="division",
        )

    org = c[8:17]
    expected_org = org_code_check_char(org[:8])
    if org[8] != expected_org:
        raise CreditCodeError(
            f"{tag} has organisation code '{org}' in positions 9-17, whose check character (position 17) "
            f"should be '{expected_org}', not '{org[8]}' (GB 11714 check); check for a typo",
            check="org_code_check",
        )

    expected = uscc_check_char(c[:17])
    if c[17] != expected:
        raise CreditCodeError(
            f"{tag} fails the final check: the 18th character should be '{expected}', not '{c[17]}' "
            "(GB 32100-2015 mod-31 check); check for a typo",
            check="check_char",
        )
    return c


def is_valid_uscc(code: str) -> bool:
    """True when :func:`validate_uscc` accepts ``code``; never raises."""
    try:
        validate_uscc(code)
    except (CreditCodeError, TypeError):
        return False
    return True


def uscc_division(code: str) -> str:
    """Administrative-division code (positions 3–8) of a valid credit code, e.g. ``"370602"``."""
    return validate_uscc(code)[2:8]


_MAX_SERIAL = len(CHARSET) ** 8


def make_uscc(division: str, serial: int, *, authority: str = "9", org_type: str = "1") -> str:
    """Build a valid synthetic credit code, deterministically, from a serial number.

    The organisation-code body is ``serial`` written in base 31 over :data:`CHARSET` (8 characters,
    zero-padded), so every body character is also a legal USCC character — plain base 36 (0-9A-Z)
    would produce I/O/Z/S/V. The GB 11714 check character (0-9 or X) and the mod-31 character follow.
    Distinct serials in ``0 <= serial < 31**8`` give distinct codes.
    """
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial < _MAX_SERIAL:
        raise ValueError(f"serial {serial!r} must be an int in 0 .. {_MAX_SERIAL - 1}")
    if not _DIVISION_RE.fullmatch(division):
        raise ValueError(f'division "{division}" must be a six-digit GB/T 2260 code, e.g. "370602"')
    for name, ch in (("authority", authority), ("org_type", org_type)):
        if len(ch) != 1 or ch not in _VALUE:
            raise ValueError(f'{name} "{ch}" must be one character from {CHARSET}')
    digits: list[str] = []
    n = serial
    for _ in range(8):
        n, d = divmod(n, len(CHARSET))
        digits.append(CHARSET[d])
    body = "".join(reversed(digits))
    first17 = authority + org_type + division + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)
