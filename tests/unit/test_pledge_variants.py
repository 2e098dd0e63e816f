"""The real measures of research/schemes.md §2.1 and §3.1, each written as policy values only (no code):
a draft of yantai-2020 with the measure's parameters, run on a worked example.

Dates: every draft dates its values from the policy's start (2020-10-19); the loans are 2021–2024 loans,
so the published LPR of their claim year is the one in force.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml

from rules.constants import DEFAULT_POLICY_ID
from rules.money import format_yuan
from rules.policy import POLICY_DIR, Policy, parse_policy
from rules.schemes import pledge_interest_subsidy as pis
from rules.schemes import risk_compensation as pool

START = dt.date(2020, 10, 19)


def draft(**values: Any) -> Policy:
    """yantai-2020 with the given parameters (name -> value from 2020-10-19) replaced."""
    doc = yaml.safe_load((POLICY_DIR / f"{DEFAULT_POLICY_ID}.yaml").read_text(encoding="utf-8"))
    for name, value in values.items():
        assert name in doc["parameters"], name
        doc["parameters"][name]["values"] = {START: value}
    return parse_policy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "draft.yaml")


def one_year(principal_yuan: int, rate: str, start: dt.date, **extra: Any) -> tuple[pis.Loan, list[pis.InterestPayment]]:
    end = dt.date(start.year + 1, start.month, start.day)
    loan = pis.Loan("L", "B", principal_yuan * 100, Decimal(rate), start, end, **extra)
    interest = pis.interest_allowed_fen(loan, start, end, 365)
    return loan, [pis.InterestPayment("R", start, end, interest)]


def subsidy(p: Policy, lp: tuple[pis.Loan, list[pis.InterestPayment]]) -> pis.Subsidy:
    loan, pays = lp
    return pis.interest_subsidy(p, loan, pays, pis.Granted(), (loan.drawdown, loan.maturity))


def test_shandong_2017_sixty_percent_of_the_benchmark_within_200k_a_year() -> None:
    p = draft(**{"pledge-interest-subsidy.base": "benchmark", "pledge-interest-subsidy.ratio": "0.60",
                 "pledge-interest-subsidy.cap_fen_per_enterprise_year": 20_000_000,
                 "pledge-interest-subsidy.max_years_per_loan": 2})
    s = subsidy(p, one_year(1_000_000, "0.05", dt.date(2021, 1, 1)))
    assert (format_yuan(s.amount_fen), s.base_rate) == ("¥26,100.00", Decimal("0.0435"))
    big = subsidy(p, one_year(10_000_000, "0.05", dt.date(2021, 1, 1)))
    assert (format_yuan(big.amount_fen), big.bound) == ("¥200,000.00", "year_cap")


def test_fujian_2022_twenty_percent_of_december_lpr_fifty_on_the_insured_part_200k_cumulative() -> None:
    p = draft(**{"pledge-interest-subsidy.cap_fen_cumulative": 20_000_000,
                 "pledge-interest-subsidy.max_years_per_loan": 1})
    s = subsidy(p, one_year(3_000_000, "0.039", dt.date(2021, 12, 1)))
    assert format_yuan(s.amount_fen) == "¥21,900.00"
    insured = subsidy(p, one_year(2_000_000, "0.0365", dt.date(2022, 1, 1), insured_share=pis.Fraction(1)))
    assert format_yuan(insured.amount_fen) == "¥36,500.00"


def test_beijing_2024_half_the_actual_rate_counted_at_most_at_lpr_plus_40_percent() -> None:
    p = draft(**{"pledge-interest-subsidy.base": "actual_capped", "pledge-interest-subsidy.ratio": "0.50",
                 "pledge-interest-subsidy.lpr_markup_cap": "0.40",
                 "pledge-interest-subsidy.cap_fen_per_enterprise_year": 30_000_000})
    # claim year 2023: the December 2023 LPR is 3.45 %, so at most 4.83 % counts
    s = subsidy(p, one_year(1_000_000, "0.055", dt.date(2023, 1, 1)))
    assert (s.base_rate, format_yuan(s.amount_fen)) == (Decimal("0.0483"), "¥24,150.00")
    # a leap year has 366 interest days on a 365-day basis
    leap = subsidy(p, one_year(1_000_000, "0.055", dt.date(2024, 1, 1)))
    assert (leap.base_rate, leap.days, format_yuan(leap.amount_fen)) == (Decimal("0.0434"), 366, "¥21,759.45")
    cheap = subsidy(p, one_year(1_000_000, "0.04", dt.date(2023, 1, 1)))
    assert (cheap.base_rate, format_yuan(cheap.amount_fen)) == (Decimal("0.04"), "¥20,000.00")


def test_zhongguancun_2021_forty_percent_of_actual_interest_only_at_most_at_lpr_plus_40_percent() -> None:
    p = draft(**{"pledge-interest-subsidy.base": "actual_within_cap", "pledge-interest-subsidy.ratio": "0.40",
                 "pledge-interest-subsidy.cap_fen_per_enterprise_year": 50_000_000})
    # claim year 2022: December 2022 LPR 3.65 % → at most 5.11 %
    within = subsidy(p, one_year(1_000_000, "0.0511", dt.date(2022, 1, 1)))
    assert format_yuan(within.amount_fen) == "¥20,440.00"
    dearer = subsidy(p, one_year(1_000_000, "0.0512", dt.date(2022, 1, 1)))
    assert (format_yuan(dearer.amount_fen), dearer.base_rate) == ("¥0.00", Decimal(0))
    assert any("above it, nothing is subsidised" in t.what for t in dearer.trace)


def test_a_flat_three_percent_of_the_loan_never_above_the_interest_paid() -> None:
    p = draft(**{"pledge-interest-subsidy.base": "fixed", "pledge-interest-subsidy.ratio": "1",
                 "pledge-interest-subsidy.cap_fen_per_enterprise_year": 36_000_000})
    s = subsidy(p, one_year(1_000_000, "0.045", dt.date(2022, 1, 1)))
    assert format_yuan(s.amount_fen) == "¥30,000.00"
    low = subsidy(p, one_year(1_000_000, "0.025", dt.date(2022, 1, 1)))
    assert (format_yuan(low.amount_fen), low.bound) == ("¥25,000.00", "interest_paid")


@pytest.mark.parametrize(("shares", "parties", "loss", "pool_pays"), [
    ({"fund": "54", "bank": "26", "insurer": "16", "evaluator": "4"}, ["fund"], 1_000_000_00, "¥540,000.00"),  # Zhongshan
    ({"fund": "40", "bank": "60"}, ["fund"], 1_000_000_00, "¥400,000.00"),  # Zhuhai
    ({"fund": "50", "bank": "50"}, ["fund"], 1_000_000_00, "¥500,000.00"),  # Shenzhen 1:1
    ({"government": "70", "bank": "30"}, ["government"], 1_000_000_00, "¥700,000.00"),  # Chongqing Beibei 7:3
    ({"province": "40", "city": "20", "bank": "40"}, ["province", "city"], 1_000_000_00, "¥600,000.00"),  # Weihai
])
def test_every_loss_split_found_in_practice_is_policy_data(shares: dict[str, str], parties: list[str], loss: int,
                                                           pool_pays: str) -> None:
    p = draft(**{"risk-compensation.loss_shares": shares, "risk-compensation.pool_parties": parties,
                 "risk-compensation.cap_fen_per_loan": {"standard": 10_000_000_00}})
    c = pool.compensation(p, loss, dt.date(2021, 6, 1), dt.date(2021, 9, 1), "standard", 50_000_000_00)
    assert format_yuan(c.pool_pays_fen) == pool_pays
    assert sum(c.parts.values()) == loss
