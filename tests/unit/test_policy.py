"""The policy loader: parameters as dated, cited data (OpenFisca style), read as of a date.

Every ratio of 烟政字〔2020〕47号 三(二) is an exact Fraction; numbers the policy text does not give are
marked illustrative; a malformed file is refused naming the file, the key path and the problem; and a
second city's policy is a new file, loaded with no code change."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.policy import (
    POLICY_DIR,
    ParameterNotInForce,
    Policy,
    PolicyError,
    load_policy,
    load_policy_file,
    parse_policy,
)
from tests.conftest import ROOT

YANTAI = POLICY_DIR / "yantai-2020.yaml"
WEIHAI = ROOT / "tests" / "data" / "weihai-2021.yaml"
ISSUED = dt.date(2020, 10, 19)


@pytest.fixture(scope="module")
def yantai() -> Policy:
    return load_policy("yantai-2020")


# --- the bundled policy ----------------------------------------------------------------------------

def test_the_bundled_yantai_policy_loads_with_its_document_and_districts(yantai: Policy) -> None:
    assert yantai.id == "yantai-2020"
    assert yantai.document == "烟政字〔2020〕47号"
    assert yantai.issued == ISSUED
    assert yantai.jurisdiction.districts["370602"] == "芝罘区"
    assert "370202" not in yantai.jurisdiction.districts  # 青岛市南区 is not Yantai
    assert yantai.local_sources() == ["municipal", "district"]
    assert "certification-award" in yantai.schemes


def test_the_three_fund_rule_ratios_are_exact_fractions(yantai: Policy) -> None:
    match = yantai.ratio("funds.match_ratio", ISSUED)
    assert isinstance(match, Fraction)
    assert match == Fraction(6, 5) == Fraction("1.2")
    assert match != 1.2  # the float 1.2 is not exactly 6/5; ipfund never compares money with it
    assert yantai.ratio("funds.cluster_floor", ISSUED) == Fraction(2, 5)
    assert yantai.ratio("funds.market_floor", ISSUED) == Fraction(2, 5)


def test_a_parameter_is_in_force_from_its_first_date(yantai: Policy) -> None:
    assert yantai.ratio("funds.match_ratio", ISSUED) == Fraction(6, 5)
    assert yantai.ratio("funds.match_ratio", dt.date(2023, 12, 31)) == Fraction(6, 5)


def test_a_parameter_asked_for_one_day_before_its_first_date_is_not_in_force(yantai: Policy) -> None:
    with pytest.raises(ParameterNotInForce) as exc:
        yantai.value("funds.match_ratio", ISSUED - dt.timedelta(days=1))
    assert str(exc.value) == ("parameter 'funds.match_ratio' of policy yantai-2020: "
                              "no value before 2020-10-19 (asked for 2020-10-18)")


def test_an_unknown_parameter_is_named(yantai: Policy) -> None:
    with pytest.raises(ParameterNotInForce, match=r"policy yantai-2020 has no parameter 'funds\.match'"):
        yantai.value("funds.match", ISSUED)


def test_amounts_and_counts_are_read_in_their_units(yantai: Policy) -> None:
    assert yantai.fen("certification-award.award_fen", ISSUED, "enterprise") == 5_000_000
    assert yantai.integer("certification-award.notice_days", ISSUED) == 7
    with pytest.raises(ParameterNotInForce, match="has no value for 'hospital'"):
        yantai.fen("certification-award.award_fen", ISSUED, "hospital")


# --- dated values and repeals ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def weihai() -> Policy:
    return load_policy_file(WEIHAI)


def test_a_dated_variant_takes_effect_on_its_date_and_not_the_day_before(weihai: Policy) -> None:
    assert weihai.ratio("funds.match_ratio", dt.date(2021, 12, 31)) == Fraction(3, 2)
    assert weihai.ratio("funds.match_ratio", dt.date(2022, 1, 1)) == Fraction(13, 10)


def test_a_dated_null_repeals_a_parameter_from_that_date(weihai: Policy) -> None:
    assert weihai.fen("custody-voucher.price_fen", dt.date(2022, 12, 31)) == 300_000
    with pytest.raises(ParameterNotInForce) as exc:
        weihai.fen("custody-voucher.price_fen", dt.date(2023, 1, 1))
    assert str(exc.value) == ("parameter 'custody-voucher.price_fen' of policy weihai-2021: "
                              "repealed on 2023-01-01 (asked for 2023-01-01)")


# --- malformed policy files --------------------------------------------------------------------------

def _spoil(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    src = YANTAI.read_text(encoding="utf-8")
    assert src.count(old) >= count, f"test setup: {old!r} not in the bundled policy"
    path = tmp_path / "spoiled.yaml"
    path.write_text(src.replace(old, new, count), encoding="utf-8")
    return path


SPOILED = [
    pytest.param('      2020-10-19: "1.2"', "      2020-10-19: 1.2",
                 ["parameters.funds.match_ratio", "values.2020-10-19: 1.2 is a float",
                  'write exact numbers as quoted strings, e.g. "1.2"'], id="an unquoted float ratio"),
    pytest.param('{weight: "20", name: 创新能力与优势}', '{weight: "19", name: 创新能力与优势}',
                 ["parameters.certification-award.rubric",
                  "rubric weights sum to 99 %, they must sum to exactly 100 %"],
                 id="rubric weights summing to 99"),
    pytest.param("    unit: days\n", "    unit: weeks\n",
                 ["parameters.certification-award.notice_days.unit", "Input should be 'ratio'"],
                 id="an unknown unit"),
    pytest.param("    clause: 三(二)\n    reference: 用于支持", "    reference: 用于支持",
                 ["parameters.funds.cluster_floor.clause: Field required"], id="a missing clause"),
    pytest.param("  funds.cluster_floor:\n", "  funds.cluster_floor: [\n",
                 ["line 65, column 9: not valid YAML"], id="a YAML syntax error"),
    pytest.param("  money.rounding:\n", "  funds.match_ratio:\n    unit: ratio\n    clause: 三(二)\n"
                 "    values: {2020-10-19: \"1\"}\n  money.rounding:\n",
                 ["line 77, column 3: not valid YAML (key 'funds.match_ratio' is given twice)"],
                 id="a parameter given twice (YAML alone would keep the second)"),
    pytest.param("      2020-10-19: 7\n", "      2020-10-19: -7\n",
                 ["parameters.certification-award.notice_days", "-7 must be a whole number >= 0"],
                 id="a negative number of days"),
    pytest.param("  money.rounding:\n", "  money.rounding_mode:\n",
                 ["parameters: missing 'money.rounding' (needed by the fund rules)"],
                 id="a required parameter missing"),
    pytest.param('    "370602": 芝罘区\n', '    "37062": 芝罘区\n',
                 ["jurisdiction.districts", "district code '37062' must be 6 digits (GB/T 2260)"],
                 id="a five-digit district code"),
]


@pytest.mark.parametrize("old, new, fragments", SPOILED)
def test_a_malformed_policy_file_is_refused_naming_file_key_and_problem(
        tmp_path: Path, old: str, new: str, fragments: list[str]) -> None:
    path = _spoil(tmp_path, old, new)
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    msg = str(exc.value)
    assert msg.startswith(f"policy file {path} is invalid (1 problem(s)):"), msg
    assert f"  {path}: " in msg  # each problem line starts with the file
    for fragment in fragments:
        assert fragment in msg, msg
    assert "ipfund policy check FILE" in msg  # and says how to check the fix


def test_every_problem_of_a_policy_file_is_listed_at_once(tmp_path: Path) -> None:
    path = _spoil(tmp_path, 'values:\n      2020-10-19: "0.40"', "values:\n      2020-10-19: 0.4", count=2)
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    why = 'Value error, values.2020-10-19: 0.4 is a float; write exact numbers as quoted strings, e.g. "1.2"'
    assert exc.value.problems == [f"parameters.funds.{n}: {why}" for n in ("cluster_floor", "market_floor")]


def test_a_policy_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"x.yaml: \(top level\): a policy file is a mapping of keys"):
        parse_policy("- just\n- a list\n", "x.yaml")


def test_an_unknown_policy_id_names_the_bundled_policies() -> None:
    with pytest.raises(PolicyError, match=r"no such policy file \(bundled policies: .*yantai-2020"):
        load_policy("atlantis-2099")


# --- a second city, with no code change ----------------------------------------------------------------

@pytest.fixture
def weihai_file(tmp_path: Path) -> Path:
    path = tmp_path / "weihai-2021.yaml"
    shutil.copy(WEIHAI, path)
    return path


def test_a_second_citys_policy_loads_from_any_path_with_its_own_ratios_and_districts(
        weihai_file: Path) -> None:
    p = load_policy(str(weihai_file))
    assert p.id == "weihai-2021"
    assert p.ratio("funds.match_ratio", dt.date(2021, 6, 1)) == Fraction(3, 2)
    assert p.ratio("funds.cluster_floor", dt.date(2021, 6, 1)) == Fraction(3, 10)
    assert p.ratio("funds.market_floor", dt.date(2021, 6, 1)) == Fraction(7, 20)
    assert set(p.jurisdiction.districts) == {"371002", "371003", "371082", "371083"}
    assert p.parameter("funds.match_ratio").clause == "三(一)"


def test_policy_check_says_ok_for_a_second_citys_file(cli: Any, weihai_file: Path) -> None:
    r = cli("policy", "check", str(weihai_file))
    assert r.exit_code == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert f"ok {weihai_file}: policy weihai-2021 with 5 parameters and 0 scheme(s)" in out


def test_policy_check_refuses_a_malformed_file_with_exit_1_and_no_traceback(cli: Any, tmp_path: Path) -> None:
    path = _spoil(tmp_path, '      2020-10-19: "1.2"', "      2020-10-19: 1.2")
    r = cli("policy", "check", str(path))
    assert r.exit_code == 1
    assert "Traceback" not in r.stderr
    assert "parameters.funds.match_ratio" in r.stderr and "is a float" in r.stderr


# --- policy show --------------------------------------------------------------------------------------------

@pytest.fixture
def shown(cli: Any) -> Iterator[dict[str, Any]]:
    r = cli("policy", "show", "--json")
    assert r.exit_code == 0, r.stderr
    yield json.loads(r.stdout)


def test_policy_show_lists_every_parameter_of_the_file_with_its_clause(shown: dict[str, Any]) -> None:
    in_file = yaml.safe_load(YANTAI.read_text(encoding="utf-8"))["parameters"]
    rows = {r["name"]: r for r in shown["parameters"]}
    assert shown["id"] == "yantai-2020" and shown["document"] == "烟政字〔2020〕47号"
    assert set(rows) == set(in_file)
    for name, row in rows.items():
        assert row["clause"] == in_file[name]["clause"], name
        assert row["unit"] == in_file[name]["unit"], name
        assert isinstance(row["illustrative"], bool), name
    assert rows["funds.match_ratio"]["values"] == {"2020-10-19": "1.2"}


def test_every_number_the_policy_text_does_not_give_is_marked_illustrative(shown: dict[str, Any]) -> None:
    # The seed gives only the 三(二) fund rules (1:1.2 and the two 40 % floors) and the programme's targets
    # (一(二); the national floors beside them come from the 2020 notice); the market rates (rates.*: the
    # published LPR and PBoC benchmark) and the Ministry of Finance's evaluation grade bands are national facts
    # with their sources; all else is a default.
    given = {r["name"] for r in shown["parameters"] if not r["illustrative"]} - {
        "rates.lpr_1y", "rates.benchmark_1y", "project-grant.grade_bands"}
    rates = {r["name"]: r for r in shown["parameters"] if r["name"].startswith("rates.")}
    assert set(rates) == {"rates.lpr_1y", "rates.benchmark_1y"}
    assert all(not r["illustrative"] for r in rates.values())
    assert given == {"funds.match_ratio", "funds.cluster_floor", "funds.market_floor",
                     "kpi.certified_entities", "kpi.certified_entities_national", "kpi.custody_smes",
                     "kpi.custody_smes_national", "kpi.supported_agencies", "kpi.transfers_licences_growth",
                     "kpi.pledge_financing_growth", "kpi.navigation_demonstration", "kpi.trademark_brands",
                     "kpi.navigation_industry_projects", "kpi.navigation_enterprise_projects",
                     "kpi.patent_contract_value_growth", "kpi.university_patent_smes", "kpi.securitisations",
                     "kpi.cluster_zone_agencies", "kpi.operation_centres", "kpi.operation_centres_national",
                     # a published convention (中国人民银行《人民币利率管理规定》: 日利率 = 年利率 ÷ 360)
                     "loan.interest_day_count_basis"}


def test_policy_show_as_of_a_date_before_the_policy_shows_nothing_in_force(cli: Any) -> None:
    r = cli("policy", "show", "--json", "--policy", "yantai-2020", "--as-of", "2020-10-18")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["parameters"]
    # only the market rates (published before the policy: the LPR since 2019, the benchmark since 2015) are
    assert {row["name"] for row in rows if row["in_force"] is not None} == {"rates.lpr_1y", "rates.benchmark_1y"}
    assert {row["in_force"] for row in rows if not row["name"].startswith("rates.")} == {None}
    r = cli("policy", "show", "--json", "--policy", "yantai-2020", "--as-of", "2020-10-19")
    rows = {row["name"]: row for row in json.loads(r.stdout)["parameters"]}
    assert rows["funds.match_ratio"]["in_force"] == "1.2"
