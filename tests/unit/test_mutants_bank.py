"""rules/bank.py: the payee's account number and bank name as a bank file needs them, both sides of
every boundary (written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

import pytest

from rules.bank import (
    ACCOUNT_MAX_DIGITS,
    ACCOUNT_MIN_DIGITS,
    BankDetailsError,
    mask_account,
    normalise_account,
    normalise_bank_name,
)


def _refusal(fn: object, text: object) -> str:
    with pytest.raises(BankDetailsError) as exc:
        fn(text)  # type: ignore[operator]
    return str(exc.value)


def test_an_account_typed_in_groups_with_spaces_and_hyphens_is_stored_as_its_digits_only() -> None:
    assert normalise_account(" 6222 0216-0200 1234 ") == "6222021602001234"
    assert normalise_account("6222\t0216\u30000200--1234") == "6222021602001234"


def test_an_account_typed_in_full_width_digits_is_stored_in_ascii_digits() -> None:
    assert normalise_account("６２２２０２１６０２００１２３４") == "6222021602001234"


@pytest.mark.parametrize("text", ["", "   ", " - - ", None])
def test_an_empty_account_is_refused_as_empty_not_as_a_bad_character(text: str | None) -> None:
    message = _refusal(normalise_account, text)
    assert message == "bank_account is empty; give the payee's account number (账号)"


def test_an_account_with_a_letter_is_refused_naming_the_first_character_that_is_not_a_digit() -> None:
    message = _refusal(normalise_account, "6222 0216x0200y1234")
    assert message == ("bank_account '6222 0216x0200y1234' contains 'x'; an account number has digits only "
                       "(spaces and hyphens between groups are fine)")


def test_digits_of_another_script_are_not_ascii_digits_and_are_refused() -> None:
    # Arabic-Indic digits are digits (str.isdigit) but no bank reads them; NFKC leaves them as they are.
    message = _refusal(normalise_account, "62220216\u0663\u0664")
    assert "contains '\u0663'" in message


def test_the_refused_account_is_quoted_cut_to_forty_characters() -> None:
    text = "1234567890" * 4 + "abcdefghij"
    message = _refusal(normalise_account, text)
    assert message.startswith(f"bank_account {text[:40]!r} contains 'a'")


def test_an_account_of_eight_digits_is_accepted_and_one_of_seven_is_refused() -> None:
    assert ACCOUNT_MIN_DIGITS == 8
    assert normalise_account("1234 5678") == "12345678"
    assert _refusal(normalise_account, "1234 567") == (
        "bank_account has 7 digits; an account number has 8–32; check it against the 开户许可证")


def test_an_account_of_thirty_two_digits_is_accepted_and_one_of_thirty_three_is_refused() -> None:
    assert ACCOUNT_MAX_DIGITS == 32
    assert normalise_account("1" * 32) == "1" * 32
    assert _refusal(normalise_account, "1" * 33) == (
        "bank_account has 33 digits; an account number has 8–32; check it against the 开户许可证")


@pytest.mark.parametrize("text", [" 中 ", "", None])
def test_a_bank_name_of_one_character_or_none_is_refused_as_empty(text: str | None) -> None:
    assert _refusal(normalise_bank_name, text) == (
        "bank_name is empty; give the bank and branch of the account (开户银行), e.g. 中国银行烟台分行")


def test_a_bank_name_of_two_characters_is_accepted() -> None:
    assert normalise_bank_name("  中行 ") == "中行"


def test_a_bank_name_of_a_hundred_characters_is_accepted_and_one_of_a_hundred_and_one_is_refused() -> None:
    assert normalise_bank_name("行" * 100) == "行" * 100
    assert _refusal(normalise_bank_name, "行" * 101) == "bank_name has 101 characters; at most 100"


def test_a_bank_name_has_its_inner_whitespace_collapsed_to_one_space() -> None:
    assert normalise_bank_name(" 中国银行 \t 烟台分行\u3000") == "中国银行 烟台分行"


@pytest.mark.parametrize("first", ["=", "+", "-", "@"])
def test_a_bank_name_that_a_spreadsheet_would_run_as_a_formula_is_refused(first: str) -> None:
    assert "CSV injection" in _refusal(normalise_bank_name, f"{first}HYPERLINK(1)")


def test_a_formula_bank_name_is_quoted_cut_to_twenty_characters_naming_its_first_character() -> None:
    assert _refusal(normalise_bank_name, ' =HYPERLINK("http://example/evil")') == (
        "bank_name '=HYPERLINK(\"http://e' starts with '=', which a spreadsheet runs as a formula (CSV injection)")


def test_a_bank_name_with_a_control_character_is_refused_naming_it() -> None:
    assert _refusal(normalise_bank_name, "中国银行\u200b烟台分行") == (
        "bank_name contains the control character U+200B; remove it")


def test_an_account_is_shown_by_its_last_four_digits_only() -> None:
    assert mask_account("6222021602001234") == "************1234"
    assert mask_account("12345") == "*2345"
    assert mask_account("1234") == "1234"
    assert mask_account("123") == "123"
    assert mask_account("") == ""
