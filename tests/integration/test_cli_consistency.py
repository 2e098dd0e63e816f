"""CLI consistency: every command takes --as in the same place (and `ipfund --as USER ...` before the
command), read commands any role may run ask for no user, and money is never cut off at 80 columns."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import typer

from tests.conftest import EXAMPLES


def _leaves(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for name, cmd in sorted(getattr(group, "commands", {}).items()):
        if getattr(cmd, "commands", None):
            out += _leaves(cmd, (*path, name))
        else:
            out.append(((*path, name), cmd))
    return out


def test_every_command_accepts_as_in_the_same_place() -> None:
    from flows.cli.main import app

    root = typer.main.get_command(app)
    leaves = _leaves(root)
    assert len(leaves) > 30
    missing = [" ".join(p) for p, cmd in leaves if not any("--as" in o.opts for o in cmd.params)]
    assert missing == [], f"commands without --as: {missing}"
    assert any("--as" in o.opts for o in root.params), "ipfund --as USER ... (before the command)"


def test_the_acting_user_may_come_before_the_command(cli: Any) -> None:
    r = cli("--as", "admin", "user", "add", "cai", "--role", "finance")
    assert r.exit_code == 0, r.stderr
    events = json.loads(cli("audit", "log", "--json", "--subject", "user:cai").stdout)
    assert [e["actor"] for e in events] == ["admin"]
    refused = cli("--as", "cai", "user", "add", "eve", "--role", "admin")
    assert refused.exit_code == 1 and "cai (roles: finance) may not user.add" in " ".join(refused.stderr.split())


@pytest.mark.parametrize("args", [
    ("policy", "show"), ("budget", "status"), ("user", "list"), ("applicant", "list"), ("audit", "log"),
    ("audit", "verify"), ("check",), ("agency", "list"), ("agency", "list", "--state", "applied"),
], ids=lambda a: " ".join(a))
def test_read_commands_that_any_role_may_run_ask_for_no_user(cli: Any, args: tuple[str, ...]) -> None:
    assert cli("budget", "plan", str(EXAMPLES / "plan-2021.toml"), "--as", "admin").exit_code == 0
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    assert "acting user" not in r.stderr


def test_money_is_never_cut_off_in_tables_at_80_columns(cli: Any) -> None:
    assert cli("budget", "plan", str(EXAMPLES / "plan-2021.toml"), "--as", "admin").exit_code == 0
    status = json.loads(cli("budget", "status", "--json").stdout)
    amounts = set()
    from rules.money import format_yuan

    for ln in status["lines"]:
        amounts |= {format_yuan(ln[k]) for k in ("allocated_fen", "committed_fen", "paid_fen", "available_fen")}
    for v in status["sources"].values():
        amounts |= {format_yuan(v[k]) for k in ("received", "unallocated", "allocated", "committed", "paid")}
    r = cli("budget", "status", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    shown = set(re.findall(r"¥[\d,]+\.\d\d", r.stdout))
    assert amounts <= shown, sorted(amounts - shown)
    assert "…" not in "".join(line for line in r.stdout.splitlines() if "¥" in line)
