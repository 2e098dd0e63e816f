"""CLI conventions: exit 0 on success, 1 when a rule or validation refuses (message on stderr, never a
traceback), 2 on usage errors; the sample plan's status; an uninitialised database; a second city's
policy end to end; and the installed `ipfund` console script in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT, CliResult

PLAN = str(EXAMPLES / "plan-2021.toml")


def _refused(r: CliResult) -> str:
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("error:"), r.stderr
    return " ".join(r.stderr.split())


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run `ipfund ...` in-process against a new, empty (uninitialised) SQLite file."""
    from typer.testing import CliRunner

    from flows.cli.main import app
    from models.db import get_engine

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("IPFUND_DATABASE_URL", url)
    monkeypatch.delenv("IPFUND_USER", raising=False)
    get_engine.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> CliResult:
        r = runner.invoke(app, list(args), env={"IPFUND_DATABASE_URL": url}, catch_exceptions=False)
        return CliResult(r.exit_code, r.stdout, r.stderr)

    yield run
    get_engine.cache_clear()


# --- exit codes ------------------------------------------------------------------------------------------

def test_a_successful_command_exits_0_and_writes_nothing_to_stderr(cli: Any) -> None:
    r = cli("budget", "plan", PLAN, "--as", "admin")
    assert (r.exit_code, r.stderr) == (0, "")
    assert "loaded plan 2021: 3 receipt(s), 8 line(s); all 三(二) fund rules pass" in r.stdout


def test_a_refusal_by_a_rule_exits_1_with_its_message_on_stderr(cli: Any, db: Any) -> None:
    assert cli("budget", "plan", PLAN, "--as", "admin").exit_code == 0
    before = db.snapshot()
    r = cli("budget", "plan", PLAN, "--as", "admin")
    err = _refused(r)
    assert "fiscal year 2021 already has a plan; change it with `ipfund budget adjust`" in err
    assert r.stdout == ""
    assert db.snapshot() == before


def test_a_file_that_is_not_toml_exits_1_naming_the_file(cli: Any, db: Any, tmp_path: Path) -> None:
    bad = tmp_path / "plan.toml"
    bad.write_text('year = 2021\n[[receipt]\nsource = "central"\n', encoding="utf-8")
    before = db.snapshot()
    err = _refused(cli("budget", "plan", str(bad), "--as", "admin"))
    assert f"{bad}: 1 problem(s), nothing was written" in err
    assert "not valid TOML" in err
    assert db.snapshot() == before


def test_a_status_with_no_plan_loaded_exits_1_saying_how_to_load_one(cli: Any) -> None:
    err = _refused(cli("budget", "status"))
    assert "no budget plan is loaded; load one with `ipfund budget plan FILE`" in err


def test_an_unknown_budget_line_is_named_with_the_lines_there_are(cli: Any) -> None:
    assert cli("budget", "plan", PLAN, "--as", "admin").exit_code == 0
    err = _refused(cli("budget", "adjust", "--year", "2021", "--line", "no-such-line", "--source", "central",
                       "--delta-yuan", "1.00", "--reason", "测试", "--as", "admin"))
    assert "budget line 'no-such-line' does not exist in 2021" in err
    assert "(lines: cluster-zone-build, operation-centres," in err


@pytest.mark.parametrize("args", [
    ("budget", "status", "--no-such-option"),
    ("budget", "adjust", "--year", "2021"),  # required options missing
    ("budget", "plan", "does-not-exist.toml"),
    ("budget", "status", "--year", "twenty-twenty-one"),
    ("no-such-command",),
], ids=["unknown option", "missing options", "missing file", "not a number", "unknown command"])
def test_a_usage_error_exits_2_without_a_traceback(cli: Any, db: Any, args: tuple[str, ...]) -> None:
    before = db.snapshot()
    r = cli(*args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert "Usage:" in r.stderr
    assert db.snapshot() == before


# --- the sample plan ------------------------------------------------------------------------------------

def test_the_sample_plan_status_shows_the_three_fund_rules_passing(cli: Any) -> None:
    assert cli("budget", "plan", PLAN, "--as", "admin").exit_code == 0
    r = cli("budget", "status", "--json")
    assert r.exit_code == 0, r.stderr
    st = json.loads(r.stdout)
    planned = {row["rule"]: row["planned"] for row in st["rules"]}
    assert {k: (v["passed"], v["ratio"], v["threshold"], v["shortfall_fen"]) for k, v in planned.items()} == {
        "match": (True, "1.2", "1.2", 0),
        "cluster_floor": (True, "0.48", "0.4", 0),
        "market_floor": (True, "0.5", "0.4", 0),
    }
    assert st["all_planned_pass"] is True
    assert (st["year"], st["policy"]) == (2021, "yantai-2020")
    # Nothing is paid yet, so the year-end (actual) check fails every rule by the full requirement.
    actual = {row["rule"]: row["actual"] for row in st["rules"]}
    assert actual["match"]["shortfall_fen"] == 6_000_000_000
    assert st["sources"]["central"]["received"] == st["sources"]["central"]["allocated"] == 5_000_000_000


# --- an uninitialised database ------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("budget", "status"),
    ("audit", "verify"),
    ("user", "add", "cai", "--role", "finance", "--as", "admin"),
    ("applicant", "list"),
], ids=["budget status", "audit verify", "user add", "applicant list"])
def test_an_uninitialised_database_gives_a_clear_message(fresh: Any, args: tuple[str, ...]) -> None:
    err = _refused(fresh(*args))
    assert "the database is not initialised; run `ipfund init --admin NAME` first" in err


def test_init_twice_is_refused_and_changes_nothing(fresh: Any) -> None:
    r = fresh("init", "--admin", "admin")
    assert r.exit_code == 0, r.stderr
    assert "with policy yantai-2020; admin admin" in " ".join(r.stdout.split())
    err = _refused(fresh("init", "--admin", "root"))
    assert "the database is already initialised (it has users); nothing was changed" in err
    users = json.loads(fresh("user", "list", "--json").stdout)
    assert [u["name"] for u in users] == ["admin"]


# --- a second city's policy, end to end ---------------------------------------------------------------

WEIHAI_PLAN = """year = 2021
[[receipt]]
source = "central"
amount_yuan = "10,000,000.00"
reference = "中央资金"
[[receipt]]
source = "municipal"
amount_yuan = "{municipal}"
reference = "市级配套"
[[line]]
code = "cluster"
name = "集聚区建设"
tags = ["cluster_zone"]
central_yuan = "3,000,000.00"
[[line]]
code = "market"
name = "风险补偿资金池"
tags = ["market_oriented"]
central_yuan = "3,500,000.00"
[[line]]
code = "other"
name = "专利导航"
central_yuan = "3,500,000.00"
municipal_yuan = "{municipal}"
"""


@pytest.mark.parametrize("municipal, loads", [("15,000,000.00", True), ("14,999,999.99", False)],
                         ids=["exactly 1.5 times", "one fen short"])
def test_a_second_citys_policy_file_runs_the_fund_rules_with_its_own_ratios(
        fresh: Any, tmp_path: Path, municipal: str, loads: bool) -> None:
    policy = tmp_path / "weihai-2021.yaml"
    policy.write_bytes((ROOT / "tests" / "data" / "weihai-2021.yaml").read_bytes())
    r = fresh("init", "--admin", "admin", "--policy", str(policy))
    assert r.exit_code == 0, r.stderr
    plan = tmp_path / "plan.toml"
    # 30 % cluster and 35 % market would fail Yantai's 40 % floors; Weihai's floors are 30 % and 35 %.
    plan.write_text(WEIHAI_PLAN.format(municipal=municipal), encoding="utf-8")
    r = fresh("budget", "plan", str(plan), "--as", "admin")
    if loads:
        assert r.exit_code == 0, r.stderr
        st = json.loads(fresh("budget", "status", "--json").stdout)
        assert st["policy"] == "weihai-2021"
        assert {row["rule"]: row["planned"]["threshold"] for row in st["rules"]} == {
            "match": "1.5", "cluster_floor": "0.3", "market_floor": "0.35"}
    else:
        err = _refused(r)
        assert "1:1.5 地方配套 local match (三(一))" in err
        assert "shortfall ¥0.01" in err
        assert "cluster-zone floor" not in err and "market-oriented floor" not in err


# --- the installed console script ---------------------------------------------------------------------

def test_the_installed_ipfund_command_initialises_loads_a_plan_and_reports_status(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "ipfund"
    assert exe.exists(), f"console script not installed at {exe}"
    env = {k: v for k, v in os.environ.items() if k not in ("IPFUND_DATABASE_URL", "IPFUND_USER")}
    env["IPFUND_HOME"] = str(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(exe), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    r = run("init", "--admin", "admin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ipfund.db").exists()
    r = run("budget", "plan", PLAN, "--as", "admin")
    assert r.returncode == 0, r.stderr
    r = run("budget", "status", "--json")
    assert r.returncode == 0, r.stderr
    ratios = {row["rule"]: row["planned"]["ratio"] for row in json.loads(r.stdout)["rules"]}
    assert ratios == {"match": "1.2", "cluster_floor": "0.48", "market_floor": "0.5"}
