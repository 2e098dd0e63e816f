"""The IP-pledge loan registry (二(三)7) in tests: two banks with their staff, borrowers, loans through the CLI."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rules.uscc import make_uscc
from tests.conftest import CliResult
from tests.support import set_clock

BANK_A = make_uscc("370602", 9101)  # 中国银行烟台分行
BANK_B = make_uscc("370611", 9102)  # 烟台农村商业银行
SME1 = make_uscc("370602", 8201)
SME2 = make_uscc("370613", 8202)
SME3 = make_uscc("370611", 8203)
STAFF = [("zhao", "bank", BANK_A), ("qian", "bank", BANK_B), ("li", "reviewer", "烟台市市场监管局"),
         ("sun", "auditor", "烟台市审计局")]
LOAN_HEADER = ["bank", "ref", "borrower", "principal", "rate", "drawdown", "maturity", "pledged_ip", "pledge_reg_no",
               "pledge_reg_date", "ip_share", "cover_kind", "cover_party", "cover_share", "first_loan"]
RECEIPT_HEADER = ["bank", "loan_ref", "receipt", "kind", "from", "to", "amount"]


def refused(r: CliResult) -> str:
    assert r.exit_code == 1, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.startswith("error:"), r.stderr
    return " ".join(r.stderr.split())


def ok(r: CliResult) -> str:
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r.stdout


def applicants_csv(extra: list[tuple[str, str]] | None = None) -> bytes:
    rows = [("烟台海拓机械有限公司", SME1), ("莱山云帆软件有限公司", SME2), ("福山鲁东食品有限公司", SME3), *(extra or [])]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "uscc", "kind", "district", "sme", "whitelist", "bank_name", "bank_account"])
    for name, code in rows:
        w.writerow([name, code, "enterprise", code[2:8], "true", "false", "", ""])
    return out.getvalue().encode("utf-8")


def setup_registry(cli: Any, tmp_path: Path, borrowers: list[tuple[str, str]] | None = None) -> Any:
    """Two banks (A standard, B assessed), a staff member of each, three SMEs; the clock at 1 June 2021."""
    set_clock("2021-06-01T01:00:00Z")
    ok(cli("bank", "add", BANK_A, "--name", "中国银行烟台分行", "--as", "admin"))
    ok(cli("bank", "add", BANK_B, "--name", "烟台农村商业银行", "--tier", "assessed", "--as", "admin"))
    for name, role, org in STAFF:
        ok(cli("user", "add", name, "--role", role, "--affiliation", org, "--as", "admin"))
    (tmp_path / "applicants.csv").write_bytes(applicants_csv(borrowers))
    ok(cli("applicant", "import", str(tmp_path / "applicants.csv"), "--as", "admin"))
    return cli


def loan_args(ref: str, borrower: str = SME1, principal: str = "1,000,000", rate: str = "3.65%",
              drawdown: str = "2021-01-10", maturity: str = "2022-01-10", pledge_date: str = "2021-01-05",
              **extra: str) -> list[str]:
    args = ["loan", "register", ref, "--borrower", borrower, "--principal", principal, "--rate", rate,
            "--drawdown", drawdown, "--maturity", maturity, "--ip", "ZL202010123456.7", "--pledge-no",
            f"Y2021370000{ref[-3:]}", "--pledge-date", pledge_date]
    for k, val in extra.items():
        args += [f"--{k.replace('_', '-')}", val]
    return args


def loan_row(ref: str, bank: str = BANK_A, borrower: str = SME1, principal: str = "1000000", rate: str = "3.65%",
             drawdown: str = "2021-01-10", maturity: str = "2022-01-10", pledge_date: str = "2021-01-05",
             ip_share: str = "", first_loan: str = "") -> list[str]:
    return [bank, ref, borrower, principal, rate, drawdown, maturity, "ZL202010123456.7", f"Y2021370000{ref[-3:]}",
            pledge_date, ip_share, "", "", "", first_loan]


def csv_bytes(header: list[str], rows: list[list[str]], bom: bool = False) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")
