"""Users and roles through the real CLI: who may add users, load plans and adjust budget lines.

不相容岗位相互分离 starts here: each action names the roles that may take it (rules/roles.py), the
service layer checks them, and a refusal writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import EXAMPLES


def _refused(r: Any) -> str:
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return " ".join(r.stderr.split())


def _users(cli: Any) -> dict[str, list[str]]:
    r = cli("user", "list", "--json")
    assert r.exit_code == 0, r.stderr
    return {u["name"]: u["roles"] for u in json.loads(r.stdout)}


def test_an_admin_adds_a_finance_officer_and_the_addition_is_audited(cli: Any) -> None:
    r = cli("user", "add", "cai", "--role", "finance", "--as", "admin")
    assert r.exit_code == 0, r.stderr
    assert "added user cai (finance)" in r.stdout
    assert _users(cli) == {"admin": ["admin"], "cai": ["finance"]}
    events = json.loads(cli("audit", "log", "--json", "--subject", "user:cai").stdout)
    got = [(e["actor"], e["action"], e["payload"]["roles"]) for e in events]
    assert got == [("admin", "user.add", "finance")]


def test_an_admin_gives_one_user_several_roles(cli: Any) -> None:
    r = cli("user", "add", "wang", "--role", "reviewer", "--role", "approver", "--as", "admin")
    assert r.exit_code == 0, r.stderr
    assert _users(cli)["wang"] == ["approver", "reviewer"]


def test_a_finance_officer_cannot_add_users_and_nothing_is_written(cli: Any, db: Any) -> None:
    assert cli("user", "add", "cai", "--role", "finance", "--as", "admin").exit_code == 0
    before = db.snapshot()
    err = _refused(cli("user", "add", "eve", "--role", "admin", "--as", "cai"))
    assert "cai (roles: finance) may not user.add" in err
    assert "needs one of the roles admin" in err
    assert db.snapshot() == before


@pytest.mark.parametrize("args, action, needed", [
    (("budget", "plan", str(EXAMPLES / "plan-2021.toml")), "budget.plan", "admin, finance"),
    (("budget", "adjust", "--year", "2021", "--line", "cluster-zone-build", "--source", "central",
      "--delta-yuan", "-1.00", "--reason", "审计调整"), "budget.adjust", "admin, approver"),
], ids=["load a plan", "adjust a line"])
def test_an_auditor_reads_everything_but_changes_nothing(
        cli: Any, db: Any, args: tuple[str, ...], action: str, needed: str) -> None:
    if action == "budget.adjust":
        assert cli("budget", "plan", str(EXAMPLES / "plan-2021.toml"), "--as", "admin").exit_code == 0
    assert cli("user", "add", "shen", "--role", "auditor", "--as", "admin").exit_code == 0
    before = db.snapshot()
    err = _refused(cli(*args, "--as", "shen"))
    assert f"shen (roles: auditor) may not {action}; this needs one of the roles {needed}" in err
    assert db.snapshot() == before


def test_a_finance_officer_may_load_a_plan_but_an_approver_may_not(cli: Any) -> None:
    assert cli("user", "add", "cai", "--role", "finance", "--as", "admin").exit_code == 0
    assert cli("user", "add", "wang", "--role", "approver", "--as", "admin").exit_code == 0
    plan = str(EXAMPLES / "plan-2021.toml")
    assert "may not budget.plan" in _refused(cli("budget", "plan", plan, "--as", "wang"))
    r = cli("budget", "plan", plan, "--as", "cai")
    assert r.exit_code == 0, r.stderr


def test_an_unknown_acting_user_is_refused_by_name_and_nothing_is_written(cli: Any, db: Any) -> None:
    before = db.snapshot()
    err = _refused(cli("user", "add", "eve", "--role", "reviewer", "--as", "mallory"))
    assert "user 'mallory' does not exist" in err
    assert "ipfund user add" in err
    assert db.snapshot() == before


def test_without_an_acting_user_a_change_is_refused(cli: Any, db: Any) -> None:
    before = db.snapshot()
    err = _refused(cli("user", "add", "eve", "--role", "reviewer"))
    assert "no acting user: pass --as USER or set IPFUND_USER" in err
    assert db.snapshot() == before


def test_the_acting_user_may_come_from_IPFUND_USER(cli: Any) -> None:
    r = cli("user", "add", "cai", "--role", "finance", env={"IPFUND_USER": "admin"})
    assert r.exit_code == 0, r.stderr
    assert "cai" in _users(cli)
    # ... and a non-admin named there is refused just the same.
    r = cli("user", "add", "eve", "--role", "admin", env={"IPFUND_USER": "cai"})
    assert "may not user.add" in _refused(r)


def test_an_unknown_role_is_refused_naming_the_roles_there_are(cli: Any, db: Any) -> None:
    before = db.snapshot()
    err = _refused(cli("user", "add", "eve", "--role", "superuser", "--as", "admin"))
    assert "'superuser' is not a role (applicant, reviewer, approver, evaluator, finance, auditor, admin, agency, bank)" \
        in err
    assert db.snapshot() == before


def test_a_user_name_is_added_only_once(cli: Any, db: Any) -> None:
    assert cli("user", "add", "cai", "--role", "finance", "--as", "admin").exit_code == 0
    before = db.snapshot()
    err = _refused(cli("user", "add", "cai", "--role", "reviewer", "--as", "admin"))
    assert "user 'cai' already exists" in err
    assert db.snapshot() == before
