"""rules/budget_plan.py: a year's budget plan, parsed and validated whole, and the figures the 三(二)
fund rules compare (written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rules.budget_plan import BudgetPlan, PlanLine, PlanReceipt, _show, parse_plan, plan_figures
from rules.errors import ValidationFailed
from rules.funds import FundFigures

YUAN = 100
M = 1_000_000 * YUAN  # a million yuan in fen

PLAN: dict[str, Any] = {
    "year": 2021,
    "receipt": [
        {"source": "central", "amount_yuan": "50,000,000.00", "reference": " 中央财政资金 "},
        {"source": "municipal", "amount_yuan": "40,000,000.00", "reference": "市级配套"},
        {"source": "district", "amount_yuan": "20,000,000.00", "reference": "区级配套"},
    ],
    "line": [
        {"code": "cluster-zone-build", "name": " 集聚区建设 ", "tags": ["cluster_zone", "cluster_zone"],
         "central_yuan": "20,000,000.00", "local_yuan": "45,000,000.00"},
        {"code": "certification-award", "name": "贯标认证奖励", "tags": ["market_oriented"],
         "central_yuan": "30,000,000.00", "local_yuan": "15,000,000.00", "scheme": "certification-award"},
    ],
}


def plan(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(PLAN)
    raw.update(changes)
    return raw


def with_line(i: int, **changes: Any) -> dict[str, Any]:
    raw = plan()
    raw["line"][i].update(changes)
    return raw


def with_receipt(i: int, **changes: Any) -> dict[str, Any]:
    raw = plan()
    raw["receipt"][i].update(changes)
    return raw


def problems(raw: Any, **kw: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as exc:
        parse_plan(raw, **kw)
    assert exc.value.what == "budget plan"
    return exc.value.problems


# --- a clean plan ------------------------------------------------------------------------------------

def test_a_clean_plan_is_read_with_local_money_drawn_on_municipal_first_then_district_in_plan_order() -> None:
    p = parse_plan(plan(), schemes={"certification-award"})
    assert p.year == 2021
    assert p.receipts == [PlanReceipt("central", 50 * M, "中央财政资金"), PlanReceipt("municipal", 40 * M, "市级配套"),
                          PlanReceipt("district", 20 * M, "区级配套")]
    assert p.lines == [
        PlanLine("cluster-zone-build", "集聚区建设", ("cluster_zone",), None,
                 {"central": 20 * M, "municipal": 40 * M, "district": 5 * M}),
        PlanLine("certification-award", "贯标认证奖励", ("market_oriented",), "certification-award",
                 {"central": 30 * M, "district": 15 * M}),
    ]


def test_a_plan_allocating_exactly_what_was_received_loads_and_one_fen_more_is_refused() -> None:
    parse_plan(plan())  # municipal 40M + district 20M received, 60M allocated
    raw = with_line(1, local_yuan="15,000,000.01")
    assert problems(raw) == ["district: lines allocate ¥20,000,000.01 but only ¥20,000,000.00 is received "
                             "(over by ¥0.01); add a [[receipt]] or lower the lines"]
    raw = with_line(0, central_yuan="20,000,000.01")
    assert problems(raw) == ["central: lines allocate ¥50,000,000.01 but only ¥50,000,000.00 is received "
                             "(over by ¥0.01); add a [[receipt]] or lower the lines"]


def test_local_money_already_given_by_source_is_left_out_of_what_local_yuan_may_draw() -> None:
    raw = plan()
    raw["line"][0] = {"code": "a", "name": "A", "municipal_yuan": "30,000,000.00", "central_yuan": "1.00"}
    raw["line"][1] = {"code": "b", "name": "B", "local_yuan": "30,000,000.00"}
    p = parse_plan(raw)
    assert p.lines[1].amounts_fen == {"municipal": 10 * M, "district": 20 * M}


def test_local_yuan_beyond_every_local_receipt_is_charged_to_district_and_reported_as_over_allocated() -> None:
    raw = plan()
    raw["line"][0] = {"code": "a", "name": "A", "municipal_yuan": "45,000,000.00"}
    raw["line"][1] = {"code": "b", "name": "B", "local_yuan": "25,000,000.00"}
    assert problems(raw) == [
        "municipal: lines allocate ¥45,000,000.00 but only ¥40,000,000.00 is received (over by ¥5,000,000.00); "
        "add a [[receipt]] or lower the lines",
        "district: lines allocate ¥25,000,000.00 but only ¥20,000,000.00 is received (over by ¥5,000,000.00); "
        "add a [[receipt]] or lower the lines",
    ]


def test_local_yuan_with_every_local_receipt_already_given_out_is_charged_to_district_in_full() -> None:
    raw = plan()
    raw["line"][0] = {"code": "a", "name": "A", "municipal_yuan": "40,000,000.00", "district_yuan": "20,000,000.00"}
    raw["line"][1] = {"code": "b", "name": "B", "local_yuan": "1.00"}
    assert problems(raw) == [
        "district: lines allocate ¥20,000,001.00 but only ¥20,000,000.00 is received (over by ¥1.00); "
        "add a [[receipt]] or lower the lines"]


def test_local_money_is_split_deterministically_across_lines() -> None:
    raw = plan()
    raw["line"] = [{"code": f"l{i}", "name": "L", "local_yuan": "15,000,000.00"} for i in range(4)]
    p = parse_plan(raw)
    assert [ln.amounts_fen for ln in p.lines] == [
        {"municipal": 15 * M}, {"municipal": 15 * M}, {"municipal": 10 * M, "district": 5 * M},
        {"district": 15 * M}]


def test_the_fund_rule_figures_are_central_received_local_allocated_and_central_on_tagged_lines() -> None:
    raw = plan()
    raw["receipt"].append({"source": "central", "amount_yuan": "1.00", "reference": "补"})
    raw["receipt"].append({"source": "social", "amount_yuan": "7.00", "reference": "社会资本"})
    raw["line"][1]["tags"] = ["market_oriented", "cluster_zone"]
    raw["line"][1]["social_yuan"] = "7.00"
    raw["line"].append({"code": "untagged", "name": "U", "central_yuan": "1.00"})
    raw["line"][0]["local_yuan"] = "44,999,999.00"
    raw["line"].append({"code": "tagged-local", "name": "T", "tags": ["cluster_zone", "market_oriented"],
                        "local_yuan": "1.00"})
    p = parse_plan(raw)
    assert plan_figures(p) == FundFigures(central_fen=50 * M + 100, local_fen=60 * M,
                                          central_cluster_fen=50 * M, central_market_fen=30 * M)


def test_a_plan_totals_what_each_source_received_and_allocated() -> None:
    p = BudgetPlan(2021, [PlanReceipt("central", 5, "a"), PlanReceipt("central", 7, "b"), PlanReceipt("district", 1, "c")],
                   [PlanLine("a", "A", (), None, {"central": 3}), PlanLine("b", "B", (), None, {"central": 4})])
    assert (p.received("central"), p.received("district"), p.received("social")) == (12, 1, 0)
    assert (p.allocated("central"), p.allocated("district")) == (7, 0)


# --- the year and the plan's keys ------------------------------------------------------------------------

@pytest.mark.parametrize("year", [2000, 2100])
def test_a_fiscal_year_from_2000_to_2100_is_accepted(year: int) -> None:
    assert parse_plan(plan(year=year)).year == year


@pytest.mark.parametrize(("year", "shown"), [(1999, "1999"), (2101, "2101"), (True, "True"), ("2021", "'2021'"),
                                              (None, "None")])
def test_a_year_outside_2000_to_2100_or_not_an_integer_is_refused(year: object, shown: str) -> None:
    raw = plan(year=year)
    if year is None:
        del raw["year"]
    assert problems(raw) == [f"year: {shown} must be a fiscal year such as 2021"]


def test_an_unknown_key_of_the_plan_is_refused_by_name() -> None:
    assert problems(plan(lines=[])) == ["'lines': unknown key (expected year, [[receipt]], [[line]])"]


def test_every_problem_of_a_plan_is_listed_and_the_over_allocation_is_only_checked_on_a_clean_plan() -> None:
    raw = plan(year=1999)
    raw["line"][0]["central_yuan"] = "99,000,000.00"  # over-allocated, but not reported: the plan is not clean
    raw["receipt"][1]["source"] = "provincial"
    assert problems(raw) == [
        "year: 1999 must be a fiscal year such as 2021",
        "receipt[2].source: 'provincial' is not a fund source (central | municipal | district | social)",
    ]


# --- receipts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("receipts", [[], "central", None])
def test_a_plan_without_a_receipt_is_refused(receipts: object) -> None:
    raw = plan(receipt=receipts)
    if receipts is None:
        del raw["receipt"]
    got = problems(raw)
    assert got[0] == "receipt: a plan needs at least one [[receipt]] (central funds received)"


def test_a_receipt_that_is_not_a_table_is_refused_and_the_others_are_still_read() -> None:
    raw = plan()
    raw["receipt"].insert(0, "central")
    assert problems(raw) == ["receipt[1]: must be a table"]
    raw["receipt"][1]["source"] = "provincial"
    assert problems(raw) == ["receipt[1]: must be a table",
                             "receipt[2].source: 'provincial' is not a fund source (central | municipal | district | social)"]


def test_an_unknown_key_of_a_receipt_is_refused_by_name() -> None:
    assert problems(with_receipt(0, date="2021-01-01")) == [
        "receipt[1].'date': unknown key (expected source, amount_yuan, reference)"]


def test_a_receipt_without_an_amount_is_refused_as_missing() -> None:
    raw = plan()
    del raw["receipt"][2]["amount_yuan"]
    assert problems(raw) == ["receipt[3].amount_yuan: missing"]


def test_a_receipt_amount_written_as_a_number_is_refused() -> None:
    assert problems(with_receipt(0, amount_yuan=50_000_000.0)) == [
        'receipt[1].amount_yuan: 50000000.0 must be a quoted yuan string such as "1000000.00" '
        "(numbers are not accepted: floats never touch money)"]


def test_a_receipt_of_one_fen_is_accepted_and_of_zero_is_refused() -> None:
    raw = with_receipt(2, amount_yuan="0.01")
    raw["line"][1]["local_yuan"] = "0.01"
    raw["line"][0]["local_yuan"] = "40,000,000.00"
    assert parse_plan(raw).received("district") == 1
    got = problems(with_receipt(2, amount_yuan="0.00"))
    assert got == ['receipt[3].amount_yuan "0.00" is zero; receipt[3].amount_yuan must be at least 0.01 yuan '
                   '(1 fen), e.g. "0.01"']


@pytest.mark.parametrize("reference", ["", "   ", None, 7])
def test_a_receipt_without_a_reference_is_refused(reference: object) -> None:
    raw = with_receipt(0, reference=reference)
    if reference is None:
        del raw["receipt"][0]["reference"]
    assert problems(raw) == [
        "receipt[1].reference: missing (name the document or transfer the money came with)"]


# --- lines ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lines", [[], {"code": "a"}, None])
def test_a_plan_without_a_line_is_refused(lines: object) -> None:
    raw = plan(line=lines)
    if lines is None:
        del raw["line"]
    assert problems(raw) == ["line: a plan needs at least one [[line]]"]


def test_a_line_that_is_not_a_table_is_refused_and_the_lines_after_it_are_still_read() -> None:
    raw = plan()
    raw["line"].insert(0, ["code", "x"])
    assert problems(raw) == ["line[1]: must be a table"]
    raw["line"][2]["name"] = ""
    assert problems(raw) == ["line[1]: must be a table", "line[3].name: missing"]


def test_an_unknown_key_of_a_line_is_refused_naming_the_keys_a_line_may_have() -> None:
    assert problems(with_line(0, budget="1")) == [
        "line[1].'budget': unknown key (expected one of central_yuan, code, district_yuan, local_yuan, "
        "municipal_yuan, name, scheme, social_yuan, tags)"]


@pytest.mark.parametrize("code", ["a", "0-a", "a" * 64, "cluster-zone-build-2"])
def test_a_line_code_of_lower_case_letters_digits_and_hyphens_up_to_64_characters_is_accepted(code: str) -> None:
    assert parse_plan(with_line(0, code=code)).lines[0].code == code


@pytest.mark.parametrize(("code", "shown"), [("a" * 65, repr("a" * 38)[:39] + "…"), ("-a", "'-a'"),
                                              ("Cluster", "'Cluster'"), ("a_b", "'a_b'"), (7, "7"), ("", "''"),
                                              ("a\n", "'a\\n'")])
def test_a_line_code_of_other_characters_or_too_long_is_refused(code: object, shown: str) -> None:
    assert problems(with_line(0, code=code)) == [
        f"line[1].code: {shown} must be lower-case letters, digits and '-' (e.g. cluster-zone-build)"]


def test_a_line_code_given_twice_is_refused_on_the_second_line() -> None:
    assert problems(with_line(1, code="cluster-zone-build")) == [
        "line[2].code: 'cluster-zone-build' appears twice; line codes are unique within a year"]


def test_two_lines_with_bad_codes_are_each_refused_for_the_code_not_as_duplicates() -> None:
    raw = with_line(0, code="A")
    raw["line"][1]["code"] = "A"
    assert problems(raw) == [
        "line[1].code: 'A' must be lower-case letters, digits and '-' (e.g. cluster-zone-build)",
        "line[2].code: 'A' must be lower-case letters, digits and '-' (e.g. cluster-zone-build)"]


@pytest.mark.parametrize("name", ["", "  ", None, 3])
def test_a_line_without_a_name_is_refused(name: object) -> None:
    raw = with_line(1, name=name)
    if name is None:
        del raw["line"][1]["name"]
    assert problems(raw) == ["line[2].name: missing"]


def test_a_line_without_tags_has_none_and_a_tag_given_twice_is_kept_once_in_order() -> None:
    raw = plan()
    del raw["line"][1]["tags"]
    raw["line"][0]["tags"] = ["market_oriented", "cluster_zone", "market_oriented"]
    p = parse_plan(raw)
    assert (p.lines[0].tags, p.lines[1].tags) == (("market_oriented", "cluster_zone"), ())


@pytest.mark.parametrize(("tags", "shown"), [(["cluster"], "['cluster']"), ("cluster_zone", "'cluster_zone'"),
                                              (["cluster_zone", 1], "['cluster_zone', 1]")])
def test_an_unknown_tag_or_tags_that_are_not_a_list_are_refused(tags: object, shown: str) -> None:
    assert problems(with_line(0, tags=tags)) == [
        f"line[1].tags: {shown} — allowed tags are cluster_zone, market_oriented"]


def test_a_scheme_the_policy_does_not_have_is_refused_naming_the_policy_schemes() -> None:
    raw = with_line(1, scheme="grants")
    assert problems(raw, schemes={"project-grant", "certification-award"}) == [
        "line[2].scheme: 'grants' is not a scheme of the policy (certification-award, project-grant)"]
    assert parse_plan(raw).lines[1].scheme == "grants"  # without the policy's schemes any name is taken
    assert problems(with_line(1, scheme=5)) == ["line[2].scheme: 5 is not a scheme of the policy ()"]


def test_a_line_with_no_money_is_refused_and_zero_amounts_are_no_money() -> None:
    raw = plan()
    raw["line"].append({"code": "empty", "name": "E", "central_yuan": "0.00", "local_yuan": "0"})
    assert problems(raw) == ["line[3]: the line has no money (give central_yuan and/or local_yuan)"]


def test_a_line_of_one_fen_of_social_money_has_money() -> None:
    raw = plan()
    raw["receipt"].append({"source": "social", "amount_yuan": "0.01", "reference": "社会资本"})
    raw["line"].append({"code": "social", "name": "S", "social_yuan": "0.01", "central_yuan": "0"})
    assert parse_plan(raw).lines[2].amounts_fen == {"social": 1}


def test_a_line_amount_may_not_be_negative_nor_a_number() -> None:
    assert problems(with_line(0, central_yuan="-1.00")) == [
        'line[1].central_yuan "-1.00" is negative; line[1].central_yuan must be zero or more, so enter it '
        'without the minus sign, e.g. "12.34", or record a refund/reduction where the workflow provides one']
    assert problems(with_line(0, local_yuan=5)) == [
        'line[1].local_yuan: 5 must be a quoted yuan string such as "1000000.00" (numbers are not accepted: '
        "floats never touch money)"]


@pytest.mark.parametrize("key", ["municipal_yuan", "district_yuan"])
def test_local_yuan_and_municipal_or_district_yuan_on_one_line_are_refused(key: str) -> None:
    assert problems(with_line(0, **{key: "1.00"})) == [
        "line[1].local_yuan: give either local_yuan or municipal_yuan/district_yuan, not both"]


# --- the text check the service passes ----------------------------------------------------------------------

def _no_bang(value: str, where: str) -> str | None:
    return f"{where} has a '!'" if "!" in value else None


def test_the_text_check_is_asked_about_every_text_the_plan_stores_by_key_path() -> None:
    seen: list[tuple[str, str]] = []

    def check(value: str, where: str) -> str | None:
        seen.append((where, value))
        return None

    parse_plan(plan(), check_text=check)
    assert seen[:4] == [("receipt[1].amount_yuan", "50,000,000.00"), ("receipt[1].reference", "中央财政资金"),
                        ("receipt[2].amount_yuan", "40,000,000.00"), ("receipt[2].reference", "市级配套")]
    assert ("line[1].code", "cluster-zone-build") in seen
    assert ("line[1].name", "集聚区建设") in seen
    assert ("line[1].tags[2]", "cluster_zone") in seen
    assert ("line[2].scheme", "certification-award") in seen
    assert ("line[2].central_yuan", "30,000,000.00") in seen
    assert ("line[2].local_yuan", "15,000,000.00") in seen


def test_what_the_text_check_refuses_is_the_only_problem_reported_for_that_field() -> None:
    raw = plan()
    raw["receipt"][0]["reference"] = "中央!"
    raw["receipt"][1]["amount_yuan"] = "40,000,000.00!"
    raw["line"][0].update(code="Bad!", name="名!", tags=["x!", "y!"])
    raw["line"][1].update(code="Bad!", scheme="s!")
    assert problems(raw, check_text=_no_bang) == [
        "receipt[1].reference has a '!'",
        "receipt[2].amount_yuan has a '!'",
        "line[1].code has a '!'",
        "line[1].name has a '!'",
        "line[1].tags[1] has a '!'",
        "line[1].tags[2] has a '!'",
        "line[2].code has a '!'",
        "line[2].scheme has a '!'",
    ]


def test_a_value_in_a_message_is_quoted_and_cut_to_forty_characters() -> None:
    assert _show("a" * 38) == repr("a" * 38)
    assert len(repr("a" * 38)) == 40
    assert _show("a" * 39) == repr("a" * 39)[:39] + "…"
    assert _show("a" * 10, width=5) == "'aaa…"
