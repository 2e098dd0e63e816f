"""`ipfund user set-password` and `ipfund desk`: the password is hashed with argon2id and its setting
audited, a bad one refused with nothing written; the desk's code path never imports Prefect."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, Db


def test_set_password_from_stdin_hashes_and_audits(db: Db, cli) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from flows.cli.main import app

    r = CliRunner().invoke(app, ["user", "set-password", "admin", "--password-stdin", "--as", "admin"],
                           input="a long enough secret\n", env={"IPFUND_DATABASE_URL": db.url})
    assert r.exit_code == 0, r.stderr
    assert db.scalar("SELECT hash FROM user_password").startswith("$argon2id$")
    assert "a long enough secret" not in str(db.scalar("SELECT payload FROM audit_event WHERE action = 'user.password'"))


def test_a_short_password_or_a_non_admin_is_refused_with_nothing_written(db: Db, cli) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from flows.cli.main import app

    assert cli("user", "add", "li.review", "--role", "reviewer", "--as", "admin").exit_code == 0
    before = db.snapshot()
    runner = CliRunner()
    r = runner.invoke(app, ["user", "set-password", "admin", "--password-stdin", "--as", "admin"], input="short\n",
                      env={"IPFUND_DATABASE_URL": db.url})
    assert r.exit_code == 1 and "at least 10 characters" in r.stderr
    r = runner.invoke(app, ["user", "set-password", "admin", "--password-stdin", "--as", "li.review"],
                      input="a long enough secret\n", env={"IPFUND_DATABASE_URL": db.url})
    assert r.exit_code == 1 and "may not user.add" in r.stderr
    assert db.snapshot() == before


def test_the_desk_never_imports_prefect() -> None:
    code = ("import sys; from flows.desk.web import create_app; import flows.desk.serve; "
            "create_app('sqlite://'); import flows.cli.app; "
            "assert 'prefect' not in sys.modules, sorted(m for m in sys.modules if m.startswith('prefect'))[:5]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    out = subprocess.run([sys.executable, "-m", "flows.cli.main", "desk", "--help"], check=True, cwd=ROOT,
                         capture_output=True, text=True).stdout
    assert "--port" in out
