"""`ipfund bench`."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.common import AS_OPTION, handled, print_json


@handled
def bench(applications: int = typer.Option(10_000, "--applications", "-n", help="Applicants and applications"),
          workdir: Path = typer.Option(Path("bench-run"), "--dir", help="Working directory (bench.db is created)"),
          chunk: int = typer.Option(1000, "--chunk", help="Cases per task run"),
          as_json: bool = typer.Option(False, "--json"), actor: str = AS_OPTION) -> None:
    """Run a full certification round of N applications through the real flows and print the figures."""
    from flows.bench import run_bench

    summary = run_bench(applications, workdir, chunk)
    if as_json:
        print_json(summary)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
