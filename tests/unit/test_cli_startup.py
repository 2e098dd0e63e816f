"""Starting the CLI stays cheap: building the Typer app (every `ipfund ...` does) imports no ORM,
no Prefect, no WeasyPrint and no pydantic policy model; commands import what they need when run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("prefect", "weasyprint", "sqlmodel", "sqlalchemy", "pydantic", "yaml", "psycopg", "alembic")


def _imported(code: str) -> set[str]:
    """Top-level package names imported by ``python -X importtime -c CODE`` (parsed from stderr)."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    names = set()
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or line.rstrip().endswith("| imported package"):
            continue
        module = line.rsplit("|", 1)[1].strip()
        names.add(module.split(".", 1)[0])
    assert "flows" in names, "importtime output was not parsed"
    return names


def test_importing_the_cli_loads_no_heavy_package() -> None:
    loaded = _imported("import flows.cli.main")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_building_every_command_group_loads_no_heavy_package() -> None:
    """The full command tree (late groups included), as `ipfund --help` renders it. The late groups
    are loaded with importlib.import_module, which -X importtime does not list itself, so sys.modules
    is checked as well."""
    code = ("import sys, typer.main, flows.cli.main as m; typer.main.get_command(m.app); "
            "print('\\n'.join(sorted(sys.modules)))")
    loaded = _imported(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       check=True)
    modules = {m.split(".", 1)[0] for m in r.stdout.split()}
    assert {"flows", "typer"} <= modules
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert "flows.cli.workflow_cmd" in r.stdout.split()


# --- `review queue|next` skip Typer's parameter processing (pydantic) when the line is plain ----------

def test_plain_reviewer_command_lines_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.cli.review_view import parse_fast_review

    monkeypatch.delenv("IPFUND_USER", raising=False)
    q = {"stage": None, "scheme": None, "limit": 50, "actor": None, "as_json": False}
    assert parse_fast_review(["review", "queue"]) == ("queue", q)
    assert parse_fast_review(["review", "queue", "--as", "li", "--json", "--limit=7", "--scheme", "x",
                              "--stage", "returned", "--as", "zhao"]) == (
        "queue", {**q, "actor": "zhao", "as_json": True, "limit": 7, "scheme": "x", "stage": "returned"})
    assert parse_fast_review(["review", "next", "--stage=returned"]) == (
        "next", {"stage": "returned", "scheme": None, "actor": None, "as_json": False})
    monkeypatch.setenv("IPFUND_USER", "li")
    assert parse_fast_review(["review", "next", "--scheme", "x"]) == (
        "next", {"stage": None, "scheme": "x", "actor": "li", "as_json": False})
    assert parse_fast_review(["review", "next", "--as", "zhao"])[1]["actor"] == "zhao"  # type: ignore[index]


@pytest.mark.parametrize("argv", [
    [], ["review"], ["review", "decide", "X"], ["application", "queue"], ["review", "queue", "--help"],
    ["review", "queue", "-h"], ["review", "next", "--limit", "3"], ["review", "queue", "--limit", "x"],
    ["review", "queue", "--limit", "-1"], ["review", "queue", "--limit", "²"], ["review", "queue", "--as"],
    ["review", "queue", "--as", "--json"], ["review", "queue", "--as="], ["review", "queue", "--json=1"],
    ["review", "queue", "extra"], ["review", "queue", "--"], ["review", "queue", "--stag", "x"],
])
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    from flows.cli.review_view import parse_fast_review
    from flows.cli.review_view import run_fast_review as fast_review

    assert parse_fast_review(argv) is None
    assert fast_review(argv) is None


def test_the_reviewers_fast_path_imports_no_typer() -> None:
    """`review queue|next` run all day: main() and the fast path load Rich and the lean DB-API reader,
    not Typer/Click (the whole command tree is built only for other command lines)."""
    loaded = _imported("import flows.cli.main, flows.cli.review_view, flows.services.review_read")
    assert not loaded & {"typer", "click", *HEAVY}, sorted(loaded & {"typer", "click", *HEAVY})
