"""`ipfund policy test`: the policy's YAML cases run against the pure rules (OpenFisca style).

Every bundled case passes and every intake check and fund rule is shown from both sides; a case whose rule
decides otherwise is a failure (not a crash); a malformed file names the file, the case and the key; the
cases notice a changed parameter; the CLI exits 1 on any of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from rules.policy import POLICY_DIR, load_policy
from rules.policy_tests import TESTS_DIR, CaseFileError, case_files, load_cases, run_case, run_path, uncovered

BUNDLED = TESTS_DIR / "yantai-2020"
POLICY = load_policy("yantai-2020")
CASES = [c for f in case_files(BUNDLED) for c in load_cases(f, POLICY)]


@pytest.mark.parametrize("case", CASES, ids=[f"{Path(c.file).stem}:{c.index}" for c in CASES])
def test_every_bundled_case_holds(case: object) -> None:
    result = run_case(POLICY, case)  # type: ignore[arg-type]
    assert result.passed, f"{result.label}: " + "; ".join(result.mismatches) + f" ({result.detail})"


def test_every_check_and_fund_rule_is_shown_from_both_sides() -> None:
    assert len(CASES) >= 60
    assert uncovered(POLICY, CASES) == []
    kinds = {c.kind for c in CASES}
    assert kinds == {"check", "amount", "fund_rules", "allocate", "interest_subsidy", "pool_compensation"}


def test_what_a_policy_without_cases_leaves_uncovered() -> None:
    only = [c for c in CASES if c.kind == "check" and c.target == "applicant_registered"
            and c.scheme == "certification-award" and c.expect.get("passed") is True]
    gaps = uncovered(POLICY, only)
    assert "certification-award: no case where check applicant_registered fails" in gaps
    assert "certification-award: no case where check applicant_registered passes" not in gaps
    assert "fund rule match: no case where it is broken" in gaps
    assert "patent-intensive-product: no allocation case" in gaps
    assert "pledge-interest-subsidy: no interest_subsidy case bound by cumulative_cap" in gaps
    assert "risk-compensation: no pool_compensation case bound by balance" in gaps


PLEDGE_BAD = """\
- name: a float rate and a kind of interest that does not exist
  interest_subsidy: true
  date: 2022-12-01
  input:
    loan: {principal_fen: 300000000, rate: 0.039, drawdown: 2021-12-01, maturity: 2022-12-01}
    payments: [{receipt: R1, start: 2021-12-01, end: 2022-12-01, amount_fen: 11700000, kind: fine}]
    window: {start: 2021-12-01, end: 2021-12-01}
  expect: {amount_fen: 2190000, bound: capped}
- name: a pool share as a float
  pool_compensation: true
  date: 2022-03-01
  input: {loss_fen: 100000.5, filed_on: 2021-06-01, claimed_on: 2022-03-01, bank_tier: standard}
  expect: {pool_pays_fen: 1}
"""


def test_a_malformed_pledge_case_names_each_key(tmp_path: Path) -> None:
    report = run_path(_write(tmp_path, PLEDGE_BAD))
    joined = "\n".join(report.errors)
    assert "case 1 'a float rate and a kind of interest that does not exist': input.loan.rate: 0.039 is a float" in joined
    assert "input.payments[1].kind: \"fine\" is not one of normal, overdue, surcharge, penalty" in joined
    assert "input.window.end: 2021-12-01 is not after the start 2021-12-01" in joined
    assert "expect.bound: \"capped\" is not one of formula, interest_paid" in joined
    assert "case 2 'a pool share as a float': input.loss_fen: must be a whole number of fen, not the float" in joined
    assert "case 2 'a pool share as a float': input.pool_balance_fen: missing" in joined
    assert report.results == []


def test_the_pledge_cases_notice_a_changed_ratio(tmp_path: Path) -> None:
    """A draft policy subsidising 25 % instead of 20 % of the base breaks the formula-bound cases."""
    draft = (POLICY_DIR / "yantai-2020.yaml").read_text(encoding="utf-8")
    old = '{value: "0.20", reference: "illustrative — Fujian 2022: 20 % of the one-year LPR"}'
    assert draft.count(old) == 1
    alt = tmp_path / "draft.yaml"
    alt.write_text(draft.replace(old, old.replace('"0.20"', '"0.25"')), encoding="utf-8")
    report = run_path(BUNDLED / "pledge-interest-subsidy.yaml", load_policy(str(alt)))
    failed = {r.name for r in report.failed}
    assert "先付后贴 — 20 % of the December 2022 LPR (3.65 %) on ¥3,000,000 for 365 days" in failed
    assert "A loan subsidised for 2 years earns nothing more" not in failed


def _write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    folder = tmp_path / "yantai-2020"  # named after the policy: run against it
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


WRONG = """\
- name: exactly 1.2 x central claimed to break the match rule
  fund_rules: true
  date: 2021-12-31
  input: {central_fen: 100000000, local_fen: 120000000, central_cluster_fen: 40000000, central_market_fen: 40000000}
  expect: {violated: [match]}
- name: a seven-digit serial claimed to pass
  scheme: certification-award
  check: certificate_number
  date: 2021-06-30
  input: {form: {certificate_no: 165IP210012345R0M}}
  expect: {passed: true}
"""


def test_a_rule_that_decides_otherwise_is_a_failed_case_with_both_sides_shown(tmp_path: Path) -> None:
    report = run_path(_write(tmp_path, WRONG))
    assert report.errors == []
    assert [r.passed for r in report.results] == [False, False]
    match, serial = report.results
    assert match.mismatches == ('violated: expected ["match"], got []',)
    assert serial.mismatches == ("passed: expected true, got false",)
    assert serial.label.endswith("cases.yaml:2 a seven-digit serial claimed to pass")
    assert not report.ok


def test_a_malformed_file_names_the_file_the_case_and_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
- name: unknown scheme
  scheme: no-such-scheme
  check: applicant_registered
  date: 2021-06-30
  expect: {passed: true}
- name: unknown check
  scheme: certification-award
  check: no_such_check
  date: 2021-06-30
  expect: {passed: true}
- name: money as a float
  scheme: certification-award
  amount: award_by_kind
  date: 2021-06-30
  input: {kind: enterprise, awarded_this_year_fen: 50000.5}
  expect: {amount_fen: 5000000}
- name: no date
  fund_rules: true
  input: {central_fen: 1, local_fen: 2, central_cluster_fen: 1, central_market_fen: 1}
  expect: {violated: [], colour: blue}
""")
    with pytest.raises(CaseFileError) as err:
        load_cases(path, POLICY)
    problems = err.value.problems
    text = str(err.value)
    assert str(path) in text
    assert any(p.startswith("case 1 'unknown scheme': scheme:") and "no-such-scheme" in p for p in problems)
    assert any(p.startswith("case 2 'unknown check': check:") and "no_such_check" in p for p in problems)
    assert any(p.startswith("case 3 'money as a float': input.awarded_this_year_fen:") and "float" in p
               for p in problems)
    assert any(p.startswith("case 4 'no date': date: missing") for p in problems)
    assert any(p.startswith("case 4 'no date': expect.colour: unknown key") for p in problems)


def test_a_key_given_twice_is_refused_by_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "- name: twice\n  date: 2021-01-01\n  date: 2021-02-01\n  fund_rules: true\n")
    with pytest.raises(CaseFileError, match=r"line 3, column 3: not valid YAML \(key 'date' is given twice\)"):
        load_cases(path, POLICY)


def test_the_cases_notice_a_changed_threshold(tmp_path: Path) -> None:
    """A draft policy with a 1:1.1 match instead of 1:1.2 breaks the boundary cases of the match rule."""
    draft = (POLICY_DIR / "yantai-2020.yaml").read_text(encoding="utf-8")
    assert draft.count('2020-10-19: "1.2"') == 1
    alt = tmp_path / "draft.yaml"
    alt.write_text(draft.replace('2020-10-19: "1.2"', '2020-10-19: "1.1"'), encoding="utf-8")
    report = run_path(BUNDLED / "fund-rules.yaml", load_policy(str(alt)))
    failed = {r.name for r in report.failed}
    assert "三(二) 1:1.2 — local match one fen below 1.2 x central is broken" in failed
    assert all("match" in "".join(r.mismatches) for r in report.failed)


runner = CliRunner()


def test_cli_runs_the_bundled_cases_and_exits_0() -> None:
    r = runner.invoke(app, ["policy", "test", str(BUNDLED)], catch_exceptions=False)
    assert r.exit_code == 0, r.stdout
    assert f"{len(CASES)} passed, 0 failed in {len(list(BUNDLED.glob('*.yaml')))} file(s)" in r.stdout
    assert "0 boundary side(s) uncovered" in r.stdout


def test_cli_exits_1_on_a_failed_case_and_shows_it(tmp_path: Path) -> None:
    r = runner.invoke(app, ["policy", "test", str(_write(tmp_path, WRONG))], catch_exceptions=False)
    assert r.exit_code == 1
    assert "FAIL" in r.stdout and "0 passed, 2 failed" in r.stdout
    j = runner.invoke(app, ["policy", "test", str(_write(tmp_path, WRONG)), "--json"], catch_exceptions=False)
    assert j.exit_code == 1
    data = json.loads(j.stdout)
    assert (data["ok"], data["cases"], data["failed"]) == (False, 2, 2)
    assert data["results"][1]["mismatches"] == ["passed: expected true, got false"]


def test_cli_exits_1_on_a_malformed_file_and_on_uncovered_sides(tmp_path: Path) -> None:
    bad = _write(tmp_path, "- name: x\n  fund_rules: yes please\n  date: 2021-01-01\n  expect: {violated: []}\n")
    r = runner.invoke(app, ["policy", "test", str(bad)], catch_exceptions=False)
    assert r.exit_code == 1
    assert "case 1 'x': fund_rules: must be true" in r.stdout
    (tmp_path / "yantai-2020" / "cases.yaml").unlink()
    one = _write(tmp_path, WRONG.split("- name: a seven")[0].replace("[match]", "[]"), "one.yaml")
    r = runner.invoke(app, ["policy", "test", str(one)], catch_exceptions=False)
    assert r.exit_code == 1
    assert "1 passed, 0 failed" in r.stdout and "uncovered" in r.stdout


def test_cli_shows_each_schemes_form() -> None:
    r = runner.invoke(app, ["policy", "show", "--forms", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.stdout
    rows = json.loads(r.stdout)["forms"]
    by = {(f["scheme"], f["field"]): f for f in rows}
    assert by[("certification-award", "certificate_no")]["claim_key"] is True
    assert by[("patent-intensive-product", "invention_patents")]["type"] == "int"
    assert {s for s, _ in by} == set(POLICY.schemes)
    one = runner.invoke(app, ["policy", "show", "--forms", "--scheme", "nope"], catch_exceptions=False)
    assert one.exit_code == 1 and "no scheme 'nope'" in one.stdout + one.stderr
