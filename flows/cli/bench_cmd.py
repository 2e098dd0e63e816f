"""`ipfund bench`."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.common import AS_OPTION, fail, handled, print_json


@handled
def bench(applications: int = typer.Option(10_000, "--applications", "-n", help="Applicants and applications"),
          scheme: str = typer.Option("certification-award", "--scheme",
                                     help="certification-award, custody-voucher (with --vouchers) or "
                                          "pledge-interest-subsidy (with --loans)"),
          vouchers: int = typer.Option(10_000, "--vouchers", help="Vouchers (--scheme custody-voucher)"),
          loans: int = typer.Option(10_000, "--loans", help="Loans (--scheme pledge-interest-subsidy)"),
          workdir: Path = typer.Option(Path("bench-run"), "--dir", help="Working directory (bench.db is created)"),
          database_url: str = typer.Option(None, "--database-url",
                                           help="Run on this PostgreSQL server instead of SQLite: the bench "
                                                "creates (and drops first) its own databases ipfund_bench and "
                                                "ipfund_bench_baseline there (certification-award)"),
          chunk: int = typer.Option(1000, "--chunk", help="Cases per task run"),
          no_expiry: bool = typer.Option(False, "--no-expiry", help="custody-voucher: skip the separate expiry run"),
          desk: bool = typer.Option(False, "--desk", help="The desk under load instead: N applications in review, "
                                                          "--users signed-in reviewers, --rounds each"),
          users: int = typer.Option(20, "--users", help="--desk: concurrent signed-in users"),
          rounds: int = typer.Option(10, "--rounds", help="--desk: queue + case + dashboard requests per user"),
          think: float = typer.Option(1.0, "--think", help="--desk: seconds a user reads a page before the next "
                                                           "request (0.5–1.5 × this; 0: saturation)"),
          as_json: bool = typer.Option(False, "--json"), actor: str = AS_OPTION) -> None:
    """Run a full round (N certification applications, or N custody vouchers) through the real flows and
    print the figures; with --desk, load the desk on N cases instead."""
    if database_url and (desk or scheme != "certification-award"):
        fail("--database-url: the PostgreSQL bench runs the certification-award round (the voucher, pledge and "
             "desk benches run on SQLite)")
    if desk:
        from flows.desk_bench import run_desk_bench

        summary = run_desk_bench(applications, users, rounds, workdir, think)
    elif scheme == "custody-voucher":
        from flows.voucher_bench import run_voucher_bench

        summary = run_voucher_bench(vouchers, workdir, chunk, with_expiry=not no_expiry)
    elif scheme == "pledge-interest-subsidy":
        from flows.pledge_bench import run_pledge_bench

        summary = run_pledge_bench(loans, workdir, chunk)
    elif scheme == "certification-award":
        from flows.bench import run_bench

        summary = run_bench(applications, workdir, chunk, database_url)
    else:
        fail(f"--scheme {scheme!r}: the benchmark runs certification-award, custody-voucher or "
             "pledge-interest-subsidy")
    if as_json:
        print_json(summary)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
