"""Interest-subsidy claims (贴息, 二(三)7) in tests: the loan registry of tests.loan_support, the 2021 budget
plan, an approver, a finance officer and the SMEs' own users; claims through the CLI, the engine's system
steps by advance_plain (no Prefect)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.services.advance import advance_plain
from tests.conftest import EXAMPLES
from tests.loan_support import BANK_A, SME1, SME2, SME3, loan_args, ok, setup_registry
from tests.support import bank_ack, set_clock

SCHEME = "pledge-interest-subsidy"
STAFF = [("wang", "approver", "烟台市财政局"), ("chen", "finance", "烟台市财政局国库科"),
         ("haituo", "applicant", SME1), ("yunfan", "applicant", SME2), ("ludong", "applicant", SME3)]
USER_OF = {SME1: "haituo", SME2: "yunfan", SME3: "ludong"}


def small_line_plan(tmp_path: Path, line_yuan: str) -> Path:
    """The 2021 plan with the pledge-interest-subsidy line holding only ``line_yuan`` (central ¥3,000.00, the
    rest local); what it gives up moves to the risk-compensation line, so the 三(二) rules still hold."""
    from rules.money import fen_to_yuan_str, parse_yuan

    local = parse_yuan(line_yuan) - 300_000
    text = (EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8")
    text = text.replace('central_yuan = "5,000,000.00"\nlocal_yuan = "10,000,000.00"',
                        f'central_yuan = "3,000.00"\nlocal_yuan = "{fen_to_yuan_str(local)}"')
    text = text.replace('central_yuan = "10,000,000.00"\nlocal_yuan = "15,000,000.00"',
                        f'central_yuan = "{fen_to_yuan_str(1_500_000_000 - 300_000)}"\n'
                        f'local_yuan = "{fen_to_yuan_str(2_500_000_000 - local)}"')
    path = tmp_path / "plan-small-line.toml"
    path.write_text(text, encoding="utf-8")
    return path


def setup_claims(cli: Any, tmp_path: Path, plan: Path | None = None) -> Any:
    """The registry (two banks, three SMEs, clock 1 June 2021), the 2021 plan, staff and the SMEs' accounts."""
    setup_registry(cli, tmp_path)
    for name, role, org in STAFF:
        ok(cli("user", "add", name, "--role", role, "--affiliation", org, "--as", "admin"))
    ok(cli("budget", "plan", str(plan or EXAMPLES / "plan-2021.toml"), "--as", "admin"))
    for i, code in enumerate((SME1, SME2, SME3)):
        ok(cli("applicant", "bank", code, "--bank-name", "中国银行烟台分行", "--account", f"62170000000000{i:04d}",
               "--as", "admin"))
    return cli


def register(cli: Any, ref: str, staff: str = "zhao", **terms: str) -> None:
    ok(cli(*loan_args(ref, **terms), "--as", staff))


def interest(cli: Any, ref: str, receipt: str, start: str, end: str, amount: str, kind: str = "normal",
             staff: str = "zhao") -> None:
    ok(cli("loan", "interest", ref, "--receipt", receipt, "--from", start, "--to", end, "--amount", amount,
           "--kind", kind, "--as", staff))


def claim_args(ref: str, start: str, end: str, bank: str = BANK_A, other: str = "no") -> list[str]:
    return ["apply", SCHEME, "-f", f"bank={bank}", "-f", f"loan_ref={ref}", "-f", f"period_from={start}",
            "-f", f"period_to={end}", "-f", f"other_subsidy={other}"]


def advance(scheme: str = SCHEME) -> dict[str, Any]:
    return advance_plain(scheme, chunk=500, out_dir="payments")


def pay_all(cli: Any, tmp_path: Path, scheme: str = SCHEME) -> None:
    """Finance releases every payable claim, the payment stage writes the bank file, the bank confirms."""
    ok(cli("pay", "release", "--scheme", scheme, "--as", "chen"))
    out = tmp_path / "payments"
    advance_plain(scheme, chunk=500, out_dir=str(out))
    ack = tmp_path / "ack.csv"
    ack.write_bytes(bank_ack(sorted(str(p) for p in out.glob("*.csv"))))
    ok(cli("pay", "confirm", str(ack), "--as", "chen"))


def end_notice(day: str = "2021-08-20T01:00:00Z") -> None:
    set_clock(day)
