"""Unit and property tests for rules.uscc (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.uscc import (
    CHARSET,
    CreditCodeError,
    is_valid_uscc,
    make_uscc,
    org_code_check_char,
    uscc_check_char,
    uscc_division,
    validate_uscc,
)

# Real codes, each verified by hand:
# 91350100M000100Y43  org body M000100Y: 22·3 + 1·5 + 34·2 = 139, 139 mod 11 = 7, 11-7 = 4 ✓;
#                     mod-31 sum = 1640, 1640 mod 31 = 28, 31-28 = 3 -> '3' ✓
# 91110000600037341L  org body 60003734: 18+15+56+12+8 = 109, 109 mod 11 = 10, 11-10 = 1 ✓;
#                     mod-31 sum = 538, 538 mod 31 = 11, 31-11 = 20 -> CHARSET[20] = 'L' ✓
REAL_CODES = ["91350100M000100Y43", "91110000600037341L"]

# Yantai division codes (rules/policies/yantai-2020.yaml)
DIVISIONS = ["370602", "370611", "370612", "370613", "370614", "370681", "370671", "370672"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)


def test_normalises_case_and_whitespace() -> None:
    assert validate_uscc("  91350100m000100y43\n") == "91350100M000100Y43"


def test_division() -> None:
    assert uscc_division("91110000600037341L") == "110000"
    assert uscc_division(make_uscc("370602", 7)) == "370602"


def test_check_char_helpers() -> None:
    assert org_code_check_char("M000100Y") == "4"
    assert org_code_check_char("60003734") == "1"
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_check_char("91110000600037341") == "L"
    with pytest.raises(ValueError):
        org_code_check_char("1234567")
    with pytest.raises(ValueError):
        uscc_check_char("9135010OM000100Y4")


def test_charset_has_31_characters_without_lookalikes() -> None:
    assert len(CHARSET) == len(set(CHARSET)) == 31
    assert not set("IOZSV") & set(CHARSET)


@pytest.mark.parametrize(
    ("code", "check", "fragment"),
    [
        ("91350100M000100Y4", "length", "has 17 characters"),
        ("91350100M000100Y433", "length", "has 19 characters"),
        ("", "length", "has 0 characters"),
        ("9135 0100M000100Y4", "charset", "' ' at position 5"),
        ("91350100MOOO100Y43", "charset", "'O' is probably '0'"),
        ("913501OOM000100Y43", "charset", "'O' at position 7"),
        ("91350100M000100Z43", "charset", "'Z' at position 16"),
        ("9135010AM000100Y43", "division", "positions 3-8"),
        ("91350100M000100Y53", "org_code_check", "should be '4', not '5'"),
        ("91350100M000100Y42", "check_char", "the 18th character should be '3', not '2'"),
        ("91110000600037341K", "check_char", "the 18th character should be 'L'"),
    ],
)
def test_each_failing_check_is_named(code: str, check: str, fragment: str) -> None:
    with pytest.raises(CreditCodeError) as exc:
        validate_uscc(code)
    assert exc.value.check == check
    assert fragment in str(exc.value)
    assert f'credit code "{code}"' in str(exc.value)
    assert not is_valid_uscc(code)


def test_check_char_message_cites_standard() -> None:
    with pytest.raises(CreditCodeError) as exc:
        validate_uscc("91350100M000100Y42")
    assert str(exc.value) == (
        "credit code \"91350100M000100Y42\" fails the final check: the 18th character should be '3', "
        "not '2' (GB 32100-2015 mod-31 check); check for a typo"
    )


def test_non_text() -> None:
    bad: Any = 913501
    with pytest.raises(TypeError):
        validate_uscc(bad)
    assert not is_valid_uscc(bad)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"division": "37060", "serial": 1}, "six-digit"),
        ({"division": "370602", "serial": -1}, "serial"),
        ({"division": "370602", "serial": 31**8}, "serial"),
        ({"division": "370602", "serial": 1, "authority": "S"}, "authority"),
        ({"division": "370602", "serial": 1, "org_type": "12"}, "org_type"),
    ],
)
def test_make_uscc_rejects_bad_input(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        make_uscc(**kwargs)


def test_make_uscc_is_deterministic() -> None:
    assert make_uscc("370602", 12345) == make_uscc("370602", 12345)
    assert make_uscc("370602", 0) == "9137060200000000" + org_code_check_char("00000000") + uscc_check_char(
        "9137060200000000" + org_code_check_char("00000000")
    )
    assert make_uscc("370602", 1) != make_uscc("370602", 2)


serials = st.integers(min_value=0, max_value=31**8 - 1)
divisions = st.sampled_from(DIVISIONS) | st.from_regex(r"[0-9]{6}", fullmatch=True)
authorities = st.sampled_from(list(CHARSET))


@given(divisions, serials, authorities, authorities)
def test_every_generated_code_validates(division: str, serial: int, authority: str, org_type: str) -> None:
    code = make_uscc(division, serial, authority=authority, org_type=org_type)
    assert validate_uscc(code) == code
    assert uscc_division(code) == division


@given(serials, serials)
def test_distinct_serials_give_distinct_codes(a: int, b: int) -> None:
    assert (make_uscc("370602", a) == make_uscc("370602", b)) == (a == b)


# Mutation test: every single-character substitution of a valid code is rejected. Substitutes are the
# whole charset plus characters outside it (look-alike letters, space, full-width digit). Lower-case
# versions of the same letter are not mutations (validation upper-cases).
SUBSTITUTES = CHARSET + "IOZSV -*０"


def _assert_all_mutants_rejected(code: str) -> None:
    for pos, original in enumerate(code):
        for ch in SUBSTITUTES:
            if ch == original:
                continue
            mutant = code[:pos] + ch + code[pos + 1 :]
            with pytest.raises(CreditCodeError):
                validate_uscc(mutant)


@pytest.mark.parametrize("code", REAL_CODES)
def test_single_character_mutations_of_real_codes_are_rejected(code: str) -> None:
    _assert_all_mutants_rejected(code)


@given(st.sampled_from(DIVISIONS), serials)
def test_single_character_mutations_of_generated_codes_are_rejected(division: str, serial: int) -> None:
    _assert_all_mutants_rejected(make_uscc(division, serial))


@given(st.sampled_from(DIVISIONS), serials, st.integers(min_value=0, max_value=17))
def test_dropping_or_doubling_a_character_is_rejected(division: str, serial: int, pos: int) -> None:
    code = make_uscc(division, serial)
    for mutant in (code[:pos] + code[pos + 1 :], code[:pos] + code[pos] + code[pos:]):
        with pytest.raises(CreditCodeError) as exc:
            validate_uscc(mutant)
        assert exc.value.check == "length"
