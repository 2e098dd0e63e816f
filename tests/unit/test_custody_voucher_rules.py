"""The custody voucher's pure rules (rules/schemes/custody_voucher.py): the cover on both sides of each
limit, the voucher's dates (month ends clamped), when it lapses, evidence files, the payee of a mode."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.policy import load_policy
from rules.schemes import custody_voucher as cv

POLICY = load_policy("yantai-2020")
ON = dt.date(2021, 6, 30)


@pytest.mark.parametrize(("face", "contract", "cover"), [
    (500000, 1000000, 500000),   # exactly at the face value: half of ¥10,000
    (500000, 999998, 499999),    # one step below: half
    (500000, 1000002, 500000),   # above: the face value
    (500000, 1, 1),              # half of 1 fen rounds half up to 1 fen
    (500000, 3, 2),              # 1.5 fen rounds half up to 2
    (0, 1000000, 0),             # a voucher of nothing covers nothing
])
def test_the_cover_is_the_smaller_of_half_the_contract_and_the_face_value(face: int, contract: int,
                                                                          cover: int) -> None:
    assert cv.cover_fen(POLICY, ON, face, contract) == cover


def test_the_cover_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        cv.cover_fen(POLICY, ON, 500000, -1)


def test_the_cover_share_is_not_in_force_before_its_first_value() -> None:
    with pytest.raises(LookupError, match="no value before 2020-10-19"):
        cv.cover_fen(POLICY, dt.date(2020, 10, 18), 500000, 1000000)


@pytest.mark.parametrize(("issued", "use_by", "redeem_by"), [
    (dt.date(2021, 3, 10), dt.date(2021, 9, 10), dt.date(2021, 12, 10)),
    (dt.date(2021, 8, 31), dt.date(2022, 2, 28), dt.date(2022, 5, 31)),  # clamped to February's end
    (dt.date(2023, 8, 31), dt.date(2024, 2, 29), dt.date(2024, 5, 31)),  # a leap year
])
def test_a_vouchers_dates_are_months_after_issue(issued: dt.date, use_by: dt.date, redeem_by: dt.date) -> None:
    t = cv.terms(POLICY, issued)
    assert (t.use_by, t.redeem_by, t.settlement_mode) == (use_by, redeem_by, "agency")


def test_a_voucher_lapses_the_day_after_its_date_not_on_it() -> None:
    t = cv.terms(POLICY, dt.date(2021, 3, 10))
    assert not cv.lapses(t, False, dt.date(2021, 9, 10))
    assert cv.lapses(t, False, dt.date(2021, 9, 11))
    assert not cv.lapses(t, True, dt.date(2021, 12, 10))  # contracted: the redeem-by date counts
    assert cv.lapses(t, True, dt.date(2021, 12, 11))


@pytest.mark.parametrize(("kind", "name", "content", "problem"), [
    ("contract", "合同.pdf", b"%PDF-1.7 ...", None),
    ("receipt", "凭证.JPG", b"\xff\xd8\xff\xe0...", None),
    ("contract", "合同.pdf", b"", "is empty (0 bytes)"),
    ("contract", "合同.docx", b"PK\x03\x04", "is of type 'docx'; the policy allows pdf, png, jpg, jpeg"),
    ("contract", "合同", b"%PDF-1.7", "is of type '(none)'"),
    ("receipt", "凭证.png", b"%PDF-1.7", "is named .png but its content is not a PNG file"),
    ("selfie", "me.png", b"\x89PNG\r\n\x1a\n", "evidence kind 'selfie' is not one the policy names"),
])
def test_evidence_files_are_checked_by_kind_emptiness_type_and_content(kind: str, name: str, content: bytes,
                                                                       problem: str | None) -> None:
    found = cv.evidence_problem(POLICY, ON, kind, name, content)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_a_redemption_lacking_a_kind_of_evidence_names_it() -> None:
    assert cv.missing_evidence(POLICY, ON, ["contract", "receipt"]) == ["deliverable"]
    assert cv.missing_evidence(POLICY, ON, ["deliverable", "contract", "receipt", "receipt"]) == []


def test_the_agency_mode_pays_the_agency_and_the_enterprise_mode_the_applicant() -> None:
    assert (cv.payee_kind("agency"), cv.payee_kind("enterprise")) == ("agency", "applicant")
