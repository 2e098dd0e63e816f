"""rules/funds.py: the ledger's pure rules and the 三(二) fund rules, both sides of every boundary
(OpenFisca style; written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rules.errors import (
    ClusterFloorViolation,
    FundRuleViolation,
    MarketFloorViolation,
    MatchRatioViolation,
    NegativeBalance,
    UnbalancedPosting,
)
from rules.funds import (
    FundFigures,
    FundRuleThresholds,
    RuleResult,
    _dec,
    _pct,
    apply_entries,
    check_balanced,
    evaluate_fund_rules,
    external_account,
    is_external,
    line_account,
    move_entries,
    raise_if_violated,
    required_fen,
)

YUAN = 100
CENTRAL = 50_000_000 * YUAN  # ¥50,000,000.00 of central funds received
YANTAI = FundRuleThresholds(Fraction(6, 5), Fraction(2, 5), Fraction(2, 5))


def _rules(local: int, cluster: int, market: int, central: int = CENTRAL,
           t: FundRuleThresholds = YANTAI) -> dict[str, RuleResult]:
    return {r.rule: r for r in evaluate_fund_rules(FundFigures(central, local, cluster, market), t)}


# --- double entry ---------------------------------------------------------------------------------

def test_a_posting_of_two_entries_summing_to_zero_balances() -> None:
    check_balanced([("source:central", 1), ("external:central", -1)])


def test_a_posting_with_no_entries_is_refused() -> None:
    with pytest.raises(UnbalancedPosting, match=r"^a posting needs at least two entries$"):
        check_balanced([])


def test_a_posting_whose_entries_sum_to_one_fen_is_refused_naming_the_sum() -> None:
    with pytest.raises(UnbalancedPosting) as exc:
        check_balanced([("source:central", 2), ("external:central", -1)])
    assert str(exc.value) == "posting does not balance: entries sum to 1 fen, they must sum to 0"


def test_a_zero_entry_is_refused_even_in_a_balanced_posting() -> None:
    with pytest.raises(UnbalancedPosting) as exc:
        check_balanced([("source:central", 1), ("line:a:central:available", 0), ("external:central", -1)])
    assert str(exc.value) == "entry on line:a:central:available is zero fen; leave it out"


@pytest.mark.parametrize("amount", [1.0, True, "1"])
def test_an_entry_that_is_not_integer_fen_is_refused(amount: object) -> None:
    with pytest.raises(UnbalancedPosting) as exc:
        check_balanced([("source:central", amount), ("external:central", -1)])  # type: ignore[list-item]
    assert str(exc.value) == f"entry on source:central: amount {amount!r} is not integer fen"


def test_only_external_accounts_are_external() -> None:
    assert is_external(external_account("central"))
    assert not is_external("source:central")
    assert not is_external("line:external:central:available")


def test_a_line_account_names_line_source_and_bucket_and_refuses_an_unknown_bucket() -> None:
    assert line_account("cluster-zone-build", "central", "paid") == "line:cluster-zone-build:central:paid"
    with pytest.raises(AssertionError):
        line_account("cluster-zone-build", "central", "spent")


def test_a_posting_may_empty_a_line_to_exactly_zero_but_not_one_fen_below() -> None:
    balances = {"line:a:central:available": 100, "line:a:central:committed": 0}
    emptied = apply_entries(balances, move_entries("a", "central", "available", "committed", 100))
    assert emptied == {"line:a:central:available": 0, "line:a:central:committed": 100}
    assert balances == {"line:a:central:available": 100, "line:a:central:committed": 0}  # not changed
    with pytest.raises(NegativeBalance) as exc:
        apply_entries(balances, move_entries("a", "central", "available", "committed", 101))
    assert str(exc.value) == (
        "line:a:central:available would be -¥0.01: balances of a line or source never go negative "
        "(it holds ¥1.00); post less or move funds first")


def test_an_external_account_may_go_below_zero() -> None:
    after = apply_entries({}, [("source:central", 5), ("external:central", -5)])
    assert after == {"source:central": 5, "external:central": -5}


def test_entries_on_one_account_in_one_posting_add_up() -> None:
    after = apply_entries({"source:central": 10}, [("source:central", -4), ("source:central", -6),
                                                   ("line:a:central:available", 10)])
    assert after == {"source:central": 0, "line:a:central:available": 10}


def test_an_unbalanced_posting_is_refused_before_any_balance_is_looked_at() -> None:
    with pytest.raises(UnbalancedPosting):
        apply_entries({"source:central": 10}, [("source:central", -1)])


# --- the 三(二) rules -------------------------------------------------------------------------------

def test_the_fen_a_threshold_requires_is_rounded_up_to_the_next_whole_fen() -> None:
    assert required_fen(Fraction(2, 5), CENTRAL) == 20_000_000 * YUAN
    assert required_fen(Fraction(2, 5), 1) == 1  # 0.4 fen needs one whole fen
    assert required_fen(Fraction(2, 5), 5) == 2
    assert required_fen(Fraction(2, 5), 6) == 3  # 2.4 fen needs 3
    assert required_fen(Fraction(6, 5), 0) == 0


def test_with_central_funds_of_50m_local_funds_of_60m_meet_the_1_to_1_2_match_one_fen_lower_fails() -> None:
    at = _rules(60_000_000 * YUAN, 0, 0)["match"]
    assert (at.passed, at.required_fen, at.shortfall_fen) == (True, 60_000_000 * YUAN, 0)
    below = _rules(60_000_000 * YUAN - 1, 0, 0)["match"]
    assert (below.passed, below.shortfall_fen) == (False, 1)


def test_with_central_funds_of_50m_a_cluster_zone_allocation_of_20m_meets_the_40_percent_floor_one_fen_lower_fails(
) -> None:
    at = _rules(0, 20_000_000 * YUAN, 0)["cluster_floor"]
    assert (at.passed, at.required_fen, at.shortfall_fen) == (True, 20_000_000 * YUAN, 0)
    below = _rules(0, 20_000_000 * YUAN - 1, 0)["cluster_floor"]
    assert (below.passed, below.shortfall_fen) == (False, 1)


def test_with_central_funds_of_50m_a_market_oriented_allocation_of_20m_meets_the_40_percent_floor_one_fen_lower_fails(
) -> None:
    at = _rules(0, 0, 20_000_000 * YUAN)["market_floor"]
    assert (at.passed, at.required_fen, at.shortfall_fen) == (True, 20_000_000 * YUAN, 0)
    below = _rules(0, 0, 20_000_000 * YUAN - 1)["market_floor"]
    assert (below.passed, below.shortfall_fen) == (False, 1)


def test_more_than_the_threshold_passes_with_no_shortfall() -> None:
    over = _rules(70_000_000 * YUAN, 30_000_000 * YUAN, 30_000_000 * YUAN)
    assert all(r.passed and r.shortfall_fen == 0 for r in over.values())


def test_each_rule_reads_its_own_figure_and_its_own_threshold() -> None:
    t = FundRuleThresholds(Fraction(1), Fraction(1, 10), Fraction(1, 5), clause="三(二)x")
    got = _rules(local=100, cluster=10, market=20, central=100, t=t)
    assert [(r.rule, r.threshold, r.base_fen, r.value_fen, r.required_fen, r.clause) for r in got.values()] == [
        ("match", Fraction(1), 100, 100, 100, "三(二)x"),
        ("cluster_floor", Fraction(1, 10), 100, 10, 10, "三(二)x"),
        ("market_floor", Fraction(1, 5), 100, 20, 20, "三(二)x"),
    ]
    assert [r.title for r in got.values()] == ["1:1 地方配套 local match", "集聚区 cluster-zone floor",
                                               "市场化 market-oriented floor"]
    assert _rules(0, 0, 0)["match"].title == "1:1.2 地方配套 local match"


def test_with_no_central_funds_every_rule_passes_and_has_no_ratio() -> None:
    for r in _rules(0, 0, 0, central=0).values():
        assert r.passed and r.required_fen == 0 and r.ratio is None
        assert r.as_dict()["ratio"] is None


def test_the_ratio_is_the_exact_fraction_of_central_funds() -> None:
    r = _rules(60_000_000 * YUAN - 1, 0, 0)["match"]
    assert r.ratio == Fraction(60_000_000 * YUAN - 1, CENTRAL)


def test_the_status_of_a_rule_shows_threshold_figures_ratio_and_shortfall() -> None:
    r = _rules(0, 20_000_000 * YUAN - 1, 0)["cluster_floor"]
    assert r.as_dict() == {
        "rule": "cluster_floor", "title": "集聚区 cluster-zone floor", "clause": "三(二)", "threshold": "0.4",
        "base_fen": CENTRAL, "value_fen": 20_000_000 * YUAN - 1, "required_fen": 20_000_000 * YUAN,
        "ratio": "0.4", "passed": False, "shortfall_fen": 1,
    }
    m = _rules(10_000_000 * YUAN, 0, 0)["match"].as_dict()
    assert (m["threshold"], m["ratio"]) == ("1.2", "0.2")


def test_the_ratio_in_the_status_is_shown_to_six_places() -> None:
    r = _rules(1, 1, 1, central=3)["cluster_floor"]
    assert r.as_dict()["ratio"] == "0.333333"
    assert r.as_dict()["threshold"] == "0.4"


def test_a_broken_floor_says_what_is_required_as_a_percentage_and_how_to_fix_it() -> None:
    r = _rules(0, 20_000_000 * YUAN - 1, 0)["cluster_floor"]
    assert r.message() == (
        "集聚区 cluster-zone floor (三(二)): ¥19,999,999.99 is below the required ¥20,000,000.00 (40 % of "
        "central funds ¥50,000,000.00); shortfall ¥0.01 — move central money to lines tagged cluster_zone")
    m = _rules(0, 0, 19_000_000 * YUAN)["market_floor"]
    assert m.message().endswith("shortfall ¥1000000.00 — move central money to lines tagged market_oriented")


def test_a_broken_match_says_the_ratio_as_a_multiple_of_central_funds() -> None:
    r = _rules(60_000_000 * YUAN - 1, 0, 0)["match"]
    assert r.message() == (
        "1:1.2 地方配套 local match (三(二)): ¥59,999,999.99 is below the required ¥60,000,000.00 (1.2 x of "
        "central funds ¥50,000,000.00); shortfall ¥0.01 — raise municipal/district money on the plan's lines "
        "or lower the central receipt")


@pytest.mark.parametrize(("value", "shown"), [
    (Fraction(6, 5), "1.2"), (Fraction(1), "1"), (Fraction(0), "0"), (Fraction(2, 5), "0.4"),
    (Fraction(1, 3), "0.3333"), (Fraction(2, 3), "0.6667"), (Fraction(-1, 3), "-0.3333"),
    (Fraction(10), "10"), (Fraction(101, 100), "1.01"), (Fraction(12345, 10000), "1.2345"),
])
def test_a_threshold_or_ratio_is_shown_to_four_places_without_trailing_zeros(value: Fraction, shown: str) -> None:
    assert _dec(value) == shown


def test_a_ratio_is_shown_to_six_places_when_asked() -> None:
    assert _dec(Fraction(1, 3), places=6) == "0.333333"
    assert _dec(Fraction(-1, 200), places=6) == "-0.005"


def test_a_floor_is_shown_as_a_percentage() -> None:
    assert _pct(Fraction(2, 5)) == "40 %"
    assert _pct(Fraction(1, 3)) == "33.3333 %"


def test_plans_meeting_every_rule_raise_nothing() -> None:
    raise_if_violated(list(_rules(60_000_000 * YUAN, 20_000_000 * YUAN, 20_000_000 * YUAN).values()), "plan")


@pytest.mark.parametrize(("figures", "cls"), [
    ((60_000_000 * YUAN - 1, 20_000_000 * YUAN, 20_000_000 * YUAN), MatchRatioViolation),
    ((60_000_000 * YUAN, 20_000_000 * YUAN - 1, 20_000_000 * YUAN), ClusterFloorViolation),
    ((60_000_000 * YUAN, 20_000_000 * YUAN, 20_000_000 * YUAN - 1), MarketFloorViolation),
])
def test_one_broken_rule_raises_its_own_violation_listing_it(figures: tuple[int, int, int],
                                                             cls: type[FundRuleViolation]) -> None:
    results = list(_rules(*figures).values())
    with pytest.raises(cls) as exc:
        raise_if_violated(results, "budget plan 2021")
    broken = [r for r in results if not r.passed]
    assert exc.value.violations == [broken[0].message()]
    assert str(exc.value) == (f"budget plan 2021: refused, 1 fund rule(s) broken, nothing was written:\n"
                              f"  - {broken[0].message()}")


def test_two_broken_rules_raise_the_combined_violation_listing_both_in_rule_order() -> None:
    results = list(_rules(60_000_000 * YUAN, 20_000_000 * YUAN - 1, 20_000_000 * YUAN - 1).values())
    with pytest.raises(FundRuleViolation) as exc:
        raise_if_violated(results, "adjustment")
    assert type(exc.value) is FundRuleViolation
    assert exc.value.violations == [results[1].message(), results[2].message()]
    assert str(exc.value) == ("adjustment: refused, 2 fund rule(s) broken, nothing was written:\n"
                              f"  - {results[1].message()}\n  - {results[2].message()}")


def test_a_receipt_moves_money_from_the_sources_external_account_to_the_source() -> None:
    from rules.funds import receipt_entries

    assert receipt_entries("central", 5) == [("source:central", 5), ("external:central", -5)]


def test_a_posting_on_an_account_never_used_says_it_holds_nothing() -> None:
    with pytest.raises(NegativeBalance) as exc:
        apply_entries({}, [("source:central", -1), ("line:a:central:available", 1)])
    assert str(exc.value) == ("source:central would be -¥0.01: balances of a line or source never go negative "
                              "(it holds ¥0.00); post less or move funds first")
