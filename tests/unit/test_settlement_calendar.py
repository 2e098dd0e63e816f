"""The settlement calendar (定期兑付, 二(二)5: `custody-voucher.settlement_dates`, 06-30 and 12-20): the cut-off
reached on a day — both sides of each date, the year's turn — the next date, the evidence a redemption carries
in each settlement mode, and a policy whose calendar or evidence-by-mode is malformed refused at load, naming
the key path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rules.calendar import next_settlement, settlement_cutoff, settlement_dates_problems
from rules.policy import PolicyError, load_policy, load_policy_file
from rules.schemes.custody_voucher import missing_evidence, required_evidence
from tests.unit.test_policy import _spoil

DATES = ["06-30", "12-20"]
D = dt.date


@pytest.mark.parametrize(("on", "cutoff", "nxt"), [
    (D(2021, 1, 1), None, D(2021, 6, 30)),
    (D(2021, 6, 29), None, D(2021, 6, 30)),
    (D(2021, 6, 30), D(2021, 6, 30), D(2021, 12, 20)),  # the settlement date itself counts
    (D(2021, 7, 1), D(2021, 6, 30), D(2021, 12, 20)),
    (D(2021, 12, 19), D(2021, 6, 30), D(2021, 12, 20)),
    (D(2021, 12, 20), D(2021, 12, 20), D(2022, 6, 30)),
    (D(2021, 12, 31), D(2021, 12, 20), D(2022, 6, 30)),  # after the year's last: next year's first
])
def test_the_cutoff_is_the_latest_settlement_date_of_the_year_reached(on: dt.date, cutoff: dt.date | None,
                                                                      nxt: dt.date) -> None:
    assert settlement_cutoff(DATES, on) == cutoff
    assert next_settlement(DATES, on) == nxt
    assert settlement_cutoff(list(reversed(DATES)), on) == cutoff  # the policy's order does not matter


@pytest.mark.parametrize(("value", "fragment"), [
    ('["06-30", "02-30"]', '[1]: \'02-30\' is not a day of every year written MM-DD'),
    ('["06-30", "02-29"]', '[1]: \'02-29\' is not a day of every year written MM-DD'),
    ('["6-30"]', "[0]: '6-30' is not a day of every year written MM-DD"),
    ('["06-30", "06-30"]', "[1]: '06-30' is listed twice"),
    ("[]", ": [] must be a non-empty list of days of the year"),
])
def test_a_settlement_calendar_that_is_not_days_of_the_year_is_refused_at_load(tmp_path: Path, value: str,
                                                                               fragment: str) -> None:
    path = _spoil(tmp_path, '      2020-10-19: {value: ["06-30", "12-20"],', f"      2020-10-19: {{value: {value},")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    assert f"parameters.custody-voucher.settlement_dates.values.2020-10-19{fragment}" in str(exc.value), str(exc.value)


def test_the_calendar_problems_accept_a_valid_calendar() -> None:
    assert settlement_dates_problems(DATES, "x") == []
    assert settlement_dates_problems(["01-01", "12-31"], "x") == []


def test_a_settlement_calendar_naming_a_parameter_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    path = _spoil(tmp_path, "settlement_dates: custody-voucher.settlement_dates}",
                  "settlement_dates: custody-voucher.use_by_months}")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    assert ("schemes.custody-voucher.payment.settlement_dates: parameter 'custody-voucher.use_by_months' has unit "
            "'months', this needs unit 'list'") in str(exc.value)


def test_evidence_by_mode_for_a_mode_the_scheme_does_not_offer_is_refused(tmp_path: Path) -> None:
    path = _spoil(tmp_path, "evidence_required_by_mode: {enterprise:", "evidence_required_by_mode: {bank:")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    assert ("schemes.custody-voucher.voucher.evidence_required_by_mode.bank: 'bank' is not a settlement mode of "
            "payment.payee_mode (agency, enterprise)") in str(exc.value)


def test_a_reimbursed_redemption_also_carries_the_agencys_invoice() -> None:
    policy = load_policy("yantai-2020")
    on = D(2021, 5, 10)
    assert required_evidence(policy, on, "agency") == ("custody-voucher.evidence_required",
                                                       ["contract", "receipt", "deliverable"])
    assert required_evidence(policy, on, "enterprise") == ("custody-voucher.evidence_required_reimbursed",
                                                           ["contract", "invoice", "receipt", "deliverable"])
    kinds = ["contract", "receipt", "deliverable"]
    assert missing_evidence(policy, on, kinds, mode="agency") == []
    assert missing_evidence(policy, on, kinds, mode="enterprise") == ["invoice"]
