"""Step definitions for features/fund_rules.feature (through the real CLI and database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services.users import create_user
from rules.money import fen_to_yuan_str, parse_yuan
from tests.conftest import EXAMPLES, FEATURES

scenarios("fund_rules.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


def _yuan(fen: int) -> str:
    return fen_to_yuan_str(fen)


def _add_user(db: Any, name: str, role: str) -> None:
    with db.session() as s:
        create_user(s, "admin", name, [role])
        s.commit()


@given(parsers.parse('the finance officer "{name}" may load budget plans'))
def finance_officer(db: Any, name: str) -> None:
    _add_user(db, name, "finance")


@given(parsers.parse('the approver "{name}" may adjust budget lines'))
def approver(db: Any, name: str) -> None:
    _add_user(db, name, "approver")


@given(parsers.parse("a {year:d} plan with central funds of ¥{central} and local funds of ¥{local}"))
def plan_figures(ctx: dict[str, Any], year: int, central: str, local: str) -> None:
    ctx.update(year=year, central=parse_yuan(central), local=parse_yuan(local))


@given(parsers.parse("¥{cluster} of central funds on cluster-zone lines and ¥{market} on market-oriented lines"))
def plan_tags(ctx: dict[str, Any], tmp_path: Path, cluster: str, market: str) -> None:
    c, m = parse_yuan(cluster), parse_yuan(market)
    rest = ctx["central"] - c - m
    assert rest >= 0, "scenario figures: tagged central money exceeds central funds"
    lines = [
        f'[[line]]\ncode = "cluster"\nname = "集聚区建设"\ntags = ["cluster_zone"]\ncentral_yuan = "{_yuan(c)}"\n',
        f'[[line]]\ncode = "market"\nname = "风险补偿资金池"\ntags = ["market_oriented"]\ncentral_yuan = "{_yuan(m)}"\n',
        f'[[line]]\ncode = "other"\nname = "专利导航"\ntags = []\ncentral_yuan = "{_yuan(rest)}"\n'
        f'local_yuan = "{_yuan(ctx["local"])}"\n',
    ]
    text = (f'year = {ctx["year"]}\n'
            f'[[receipt]]\nsource = "central"\namount_yuan = "{_yuan(ctx["central"])}"\nreference = "中央资金"\n'
            f'[[receipt]]\nsource = "municipal"\namount_yuan = "{_yuan(ctx["local"])}"\nreference = "市级配套"\n'
            + "".join(lines))
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    ctx["plan"] = path


@given("the sample 2021 plan is loaded")
def sample_plan(cli: Any) -> None:
    r = cli("budget", "plan", str(EXAMPLES / "plan-2021.toml"), "--as", "admin")
    assert r.exit_code == 0, r.stderr


@when(parsers.parse('"{name}" loads the plan'))
def load(ctx: dict[str, Any], cli: Any, db: Any, name: str) -> None:
    ctx["before"] = db.snapshot()
    ctx["result"] = cli("budget", "plan", str(ctx["plan"]), "--as", name)


@when(parsers.parse('"{name}" moves ¥{amount} of central funds off the line "{line}"'))
def adjust(ctx: dict[str, Any], cli: Any, db: Any, name: str, amount: str, line: str) -> None:
    ctx["before"] = db.snapshot()
    ctx["result"] = cli("budget", "adjust", "--year", "2021", "--line", line, "--source", "central",
                        "--delta-yuan", f"-{amount}", "--reason", "年中调整：集聚区项目延期", "--as", name)


@then("the plan is loaded")
def loaded(ctx: dict[str, Any]) -> None:
    assert ctx["result"].exit_code == 0, ctx["result"].stderr


@then(parsers.parse('the plan is refused naming "{title}" with a shortfall of ¥{shortfall}'))
@then(parsers.parse('the adjustment is refused naming "{title}" with a shortfall of ¥{shortfall}'))
def refused(ctx: dict[str, Any], title: str, shortfall: str) -> None:
    r = ctx["result"]
    assert r.exit_code == 1
    assert "Traceback" not in r.stderr
    err = " ".join(r.stderr.split())
    assert title in err, err
    assert f"shortfall ¥{_yuan(parse_yuan(shortfall))}" in err, err


@then(parsers.parse('the refusal also names "{title}" with a shortfall of ¥{shortfall}'))
def also(ctx: dict[str, Any], title: str, shortfall: str) -> None:
    refused(ctx, title, shortfall)


@then("nothing is written to the database")
def unchanged(ctx: dict[str, Any], db: Any) -> None:
    assert db.snapshot() == ctx["before"]


@then(parsers.parse('the status shows the {rule} rule passing with ratio {ratio}'))
def status_ratio(cli: Any, rule: str, ratio: str) -> None:
    r = cli("budget", "status", "--json")
    assert r.exit_code == 0, r.stderr
    rows = {x["rule"]: x for x in json.loads(r.stdout)["rules"]}
    assert rows[rule]["planned"]["passed"] is True
    assert rows[rule]["planned"]["ratio"] == ratio


@then(parsers.parse('the adjustment is recorded as approved by "{name}"'))
def recorded(ctx: dict[str, Any], cli: Any, name: str) -> None:
    assert ctx["result"].exit_code == 0, ctx["result"].stderr
    st = json.loads(cli("budget", "status", "--json").stdout)
    assert st["adjustments"][-1]["approved_by"] == name
    assert st["adjustments"][-1]["delta_fen"] == -400000000
