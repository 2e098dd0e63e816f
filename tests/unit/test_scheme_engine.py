"""The generic scheme engine's pure parts: loading a policy names the key path of anything unregistered;
dated rule variants; the policy's working-day calendar; the allocation modes; tranche amounts; what-if
diffs. No database."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from rules.allocation import allocate
from rules.policy import Policy, PolicyError, parse_policy
from rules.schemes import Candidate, SchemeRules

POLICY_FILE = Path(__file__).resolve().parents[2] / "rules" / "policies" / "yantai-2020.yaml"
CERT, PILOT = "certification-award", "patent-intensive-product"


@cache
def _raw() -> dict[str, Any]:
    return dict(yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8")))


def variant(change: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_raw())
    change(raw)
    return raw


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        parse_policy(yaml.safe_dump(raw, allow_unicode=True), "variant.yaml")
    return list(exc.value.problems)


def loaded(raw: dict[str, Any]) -> Policy:
    return parse_policy(yaml.safe_dump(raw, allow_unicode=True), "variant.yaml")


# --- loading refuses what nothing registers, naming the key path ------------------------------------------

def test_an_unregistered_check_is_refused_with_its_key_path_and_the_registered_names() -> None:
    found = problems_of(variant(lambda r: r["schemes"][CERT]["intake_checks"].insert(2, "certificate_is_real")))
    assert len(found) == 1
    assert found[0].startswith("schemes.certification-award.intake_checks[2]: check 'certificate_is_real' is "
                               "registered neither by certification-award")
    assert "certification_window" in found[0] and "applicant_registered" in found[0]


def test_every_unregistered_name_of_a_section_is_listed_at_once() -> None:
    def change(r: dict[str, Any]) -> None:
        sc = r["schemes"][PILOT]
        sc["allocation"]["rank_key"] = "score_upside_down"
        sc["outcomes"]["gilded"] = "no function produces it"
        sc["review"]["tiers"][1]["deadline_days"] = "patent-intensive-product.no_such_days"

    found = problems_of(variant(change))
    assert sorted(p.split(":")[0] for p in found) == sorted([
        "schemes.patent-intensive-product.allocation.rank_key",
        "schemes.patent-intensive-product.outcomes.gilded",
        "schemes.patent-intensive-product.review.tiers[1].deadline_days",
    ])


def test_a_tag_the_engine_does_not_read_is_refused() -> None:
    found = problems_of(variant(lambda r: r["schemes"][PILOT]["states"]["scored"]["tags"].append("shiny")))
    assert len(found) == 1 and "schemes.patent-intensive-product.states.scored.tags" in found[0]
    assert "shiny" in found[0]


def test_a_scheme_without_a_rules_module_is_refused() -> None:
    def change(r: dict[str, Any]) -> None:
        r["schemes"][PILOT]["module"] = "no_such_module"

    found = problems_of(variant(change))
    assert found == ["schemes.patent-intensive-product.module: no rules module rules/schemes/no_such_module.py for "
                     "scheme 'patent-intensive-product'"]


def test_tranche_shares_must_sum_to_exactly_one() -> None:
    def change(r: dict[str, Any]) -> None:
        r["schemes"][CERT]["payment"]["tranches"] = [
            {"purpose": "first", "share": "0.3", "state": "payable"},
            {"purpose": "rest", "share": "0.6", "state": "payable"}]

    assert any(p.startswith("schemes.certification-award.payment.tranches: the shares sum to 0.9")
               for p in problems_of(variant(change)))


def test_the_bundled_policy_loads_both_schemes() -> None:
    p = loaded(copy.deepcopy(_raw()))
    assert {CERT, PILOT} <= set(p.schemes)
    assert [t.state for t in p.scheme(PILOT).review.tiers] == ["district_review", "municipal_review"]
    assert p.scheme(PILOT).review.tiers[1].approvals == 2 and not p.scheme(PILOT).pays
    assert p.scheme(CERT).pays and p.scheme(CERT).states_tagged("payable") == ("payable",)


# --- dated variants ------------------------------------------------------------------------------------

def test_a_rule_that_changes_on_a_date_is_a_dated_variant() -> None:
    r = SchemeRules("x")

    @r.check("floor")
    def before(policy: Any, facts: Any) -> str:
        return "old"

    @r.check("floor", since="2022-01-01")
    def after(policy: Any, facts: Any) -> str:
        return "new"

    assert r.get_check("floor", dt.date(2021, 12, 31))(None, None) == "old"
    assert r.get_check("floor", dt.date(2022, 1, 1))(None, None) == "new"
    with pytest.raises(ValueError, match="two variants"):
        r.check("floor", since="2022-01-01")(after)


# --- the policy's working-day calendar -------------------------------------------------------------------

def test_working_days_skip_weekends_and_holidays_and_count_the_make_up_days() -> None:
    cal = loaded(copy.deepcopy(_raw())).calendar.work_calendar()
    # Friday 5 Feb 2021 + 1 working day: Sunday 7 Feb is a make-up working day (调休上班)
    assert cal.add_working_days(dt.date(2021, 2, 5), 1) == dt.date(2021, 2, 7)
    # Wednesday 10 Feb + 1: 11–17 Feb is the Spring Festival holiday; 18 Feb is the next working day
    assert cal.add_working_days(dt.date(2021, 2, 10), 1) == dt.date(2021, 2, 18)
    assert not cal.is_working_day(dt.date(2021, 4, 5)) and cal.is_working_day(dt.date(2021, 4, 25))
    assert cal.add_working_days(dt.date(2021, 3, 1), 5) == dt.date(2021, 3, 8)
    assert cal.working_days_between(dt.date(2021, 3, 1), dt.date(2021, 3, 8)) == 5


# --- allocation modes ---------------------------------------------------------------------------------

def cand(i: int, kind: str, score: int | None, submitted: str) -> Candidate:
    return Candidate(application_id=i, ref=f"R{i}", applicant_id=i, kind=kind, sme=False, submitted_at=submitted,
                     final_score=None if score is None else Fraction(score), status="scored")


def test_first_come_first_served_funds_in_submission_order_and_a_later_cheaper_case_never_overtakes() -> None:
    def change(r: dict[str, Any]) -> None:
        r["schemes"][CERT]["allocation"] = {"mode": "fcfs", "amount": "award_by_kind",
                                            "min_score": "certification-award.min_score"}

    p = loaded(variant(change))
    as_of = dt.date(2021, 5, 10)
    big = p.fen("certification-award.award_fen", as_of, "enterprise")
    cs = [cand(1, "university", 95, "2021-03-02"), cand(2, "enterprise", 99, "2021-03-01"),
          cand(3, "enterprise", 90, "2021-03-03"), cand(4, "enterprise", 50, "2021-02-28")]
    out = {o.ref: o for o in allocate(p, CERT, cs, big * 2, as_of)}
    assert out["R2"].outcome == "funded" and out["R2"].award_fen == big  # first submitted
    assert out["R1"].outcome == "budget_exhausted"  # the university's larger award no longer fits
    assert out["R3"].outcome == "budget_exhausted"  # later and cheaper: it would fit, yet it never overtakes
    assert out["R4"].outcome == "below_min_score"  # the minimum still holds
    assert [out[r].rank for r in ("R4", "R2", "R1", "R3")] == [1, 2, 3, 4]  # by submission, not by score


def test_mode_none_recognises_every_case_reaching_the_minimum_and_pays_nothing() -> None:
    p = loaded(copy.deepcopy(_raw()))
    cs = [cand(1, "enterprise", 85, "2021-03-01"), cand(2, "enterprise", 70, "2021-03-01"),
          cand(3, "enterprise", 69, "2021-03-01")]
    out = {o.ref: o for o in allocate(p, PILOT, cs, None, dt.date(2021, 5, 10))}
    assert [out[r].outcome for r in ("R1", "R2", "R3")] == ["recognised", "recognised", "below_min_score"]
    assert [out[r].rank for r in ("R1", "R2", "R3")] == [1, 2, 3]
    assert all(o.award_fen == 0 for o in out.values())


# --- tranches ------------------------------------------------------------------------------------------

def test_tranches_split_the_award_by_largest_remainder_and_always_sum_to_it() -> None:
    from flows.services.payments import due

    pay = SimpleNamespace(purpose="award", tranches=[
        SimpleNamespace(purpose="agreement", share="0.3", state="payable"),
        SimpleNamespace(purpose="midterm", share="0.3", state="midterm_payable"),
        SimpleNamespace(purpose="acceptance", share="0.4", state="final_payable")])
    for award in (1, 2, 100_001, 5_000_000, 3_333_333):
        parts = [due(pay, SimpleNamespace(award_fen=award, status=s, year=2021, ref="X"))
                 for s in ("payable", "midterm_payable", "final_payable")]
        assert [p[0] for p in parts] == ["agreement", "midterm", "acceptance"]
        assert sum(p[1] for p in parts) == award
        assert all(abs(Decimal(p[1]) - Decimal(award) * Decimal(t.share)) < 1 for p, t in zip(parts, pay.tranches,
                                                                                               strict=True))
    assert due(SimpleNamespace(purpose="award", tranches=[]), SimpleNamespace(award_fen=7, status="payable")) == (
        "award", 7)


# --- what-if ------------------------------------------------------------------------------------------

def test_a_what_if_diff_lists_each_case_whose_outcome_or_amount_changes() -> None:
    from flows.services.rounds import diff_reports

    def report(cases: list[tuple[str, str, int]]) -> dict[str, Any]:
        return {"cases": [{"ref": r, "outcome": o, "award_fen": a, "rank": i + 1} for i, (r, o, a) in enumerate(cases)],
                "funded": sum(o == "funded" for _, o, _ in cases), "total_fen": sum(a for _, _, a in cases)}

    before = report([("A", "funded", 500), ("B", "funded", 300), ("C", "budget_exhausted", 0)])
    after = report([("A", "funded", 400), ("B", "funded", 300), ("C", "funded", 300)])
    d = diff_reports(before, after)
    assert {c["ref"] for c in d["changes"]} == {"A", "C"}
    assert d["difference_fen"] == 200 and d["funded_before"] == 2 and d["funded_after"] == 3
    assert diff_reports(before, before)["changes"] == []
