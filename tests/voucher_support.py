"""Custody vouchers (托管服务券, 二(二)5) in tests: staff, SMEs, agencies and the 2021 plan, issued through
the CLI; evidence files; the ledger identity of the voucher line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from flows.services import vouchers
from flows.services.advance import advance_plain
from models.uow import read_only
from rules.uscc import make_uscc
from tests.conftest import EXAMPLES, CliResult, Db
from tests.support import set_clock

SCHEME = "custody-voucher"
A = make_uscc("370602", 7101)  # 烟台正道知识产权代理有限公司
B = make_uscc("370611", 7102)  # 福山华知知识产权服务有限公司
SME1 = make_uscc("370602", 8101)
SME2 = make_uscc("370613", 8102)
SME3 = make_uscc("370611", 8103)
BIG = make_uscc("370602", 8104)  # not an SME
STAFF = [("li", "reviewer", "烟台市市场监管局"), ("wang", "approver", "烟台市财政局"),
         ("chen", "finance", "烟台市财政局国库科"), ("sun", "auditor", "烟台市审计局"),
         ("wu", "agency", A), ("ma", "agency", B),
         ("sme1", "applicant", SME1), ("sme2", "applicant", SME2), ("sme3", "applicant", SME3),
         ("big", "applicant", BIG)]
PDF = b"%PDF-1.4\n% contract\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def refused(r: CliResult) -> str:
    assert r.exit_code == 1, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.startswith("error:"), r.stderr
    return " ".join(r.stderr.split())


def ok(r: CliResult) -> str:
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r.stdout


def applicants_csv() -> bytes:
    rows = [("烟台海拓机械有限公司", SME1, "enterprise", "370602", "true", "false", "中国工商银行烟台分行", "6222020000000001"),
            ("莱山云帆软件有限公司", SME2, "enterprise", "370613", "true", "false", "中国建设银行烟台分行", "6227000000000002"),
            ("福山鲁东食品有限公司", SME3, "enterprise", "370611", "true", "false", "", ""),
            ("烟台万华大型集团有限公司", BIG, "enterprise", "370602", "false", "false", "", "")]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "uscc", "kind", "district", "sme", "whitelist", "bank_name", "bank_account"])
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def setup_world(cli: Any, tmp_path: Path) -> Any:
    """Staff and SMEs, the 2021 plan (line custody-voucher), agency A accredited for consulting at
    ¥8,000 and application at ¥20,000 (with a bank account), agency B for consulting at ¥6,000; the
    clock at 1 March 2021."""
    set_clock("2021-03-01T01:00:00Z")
    for name, role, org in STAFF:
        ok(cli("user", "add", name, "--role", role, "--affiliation", org, "--as", "admin"))
    (tmp_path / "applicants.csv").write_bytes(applicants_csv())
    ok(cli("applicant", "import", str(tmp_path / "applicants.csv"), "--as", "admin"))
    ok(cli("budget", "plan", str(EXAMPLES / "plan-2021.toml"), "--as", "admin"))
    ok(cli("agency", "apply", A, "--name", "烟台正道知识产权代理有限公司", "--office", "芝罘区南大街1号", "--staff", "4",
           "--independent-liability", "--as", "wu"))
    ok(cli("agency", "accredit", A, "--service", "consulting=8000", "--service", "application=20000", "--as", "li"))
    ok(cli("agency", "bank", A, "--bank-name", "中国银行烟台分行", "--account", "6216610000000009", "--as", "li"))
    ok(cli("agency", "apply", B, "--name", "福山华知知识产权服务有限公司", "--office", "福山区河滨路8号", "--staff", "3",
           "--independent-liability", "--as", "ma"))
    ok(cli("agency", "accredit", B, "--service", "consulting=6000", "--as", "li"))
    return cli


def issue(cli: Any, applications: list[tuple[str, str]]) -> list[str]:
    """Each (user, service) applies on 1–2 March; intake; the round is finalized on 10 March."""
    refs = []
    for user, service in applications:
        out = ok(cli("apply", SCHEME, "-f", f"service={service}", "--as", user))
        refs.append(next(w for w in out.replace(";", " ").replace(",", " ").split() if w.startswith("CV-")))
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-10T01:00:00Z")
    ok(cli("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    return refs


def status(cli: Any, ref: str) -> str:
    return str(json.loads(ok(cli("voucher", "show", ref, "--json", "--as", "admin")))["status"])


def evidence(tmp_path: Path, invoice: bool = False, **extra: bytes) -> list[str]:
    """--evidence arguments: the contract, the SME's receipt and the custody report; with ``invoice`` also
    the agency's invoice for the full contract amount (a 通用 round's redemption carries it)."""
    files = {"contract": ("合同.pdf", PDF), "receipt": ("付款凭证.png", PNG), "deliverable": ("托管报告.pdf", PDF + b"r")}
    if invoice:
        files["invoice"] = ("发票.pdf", PDF + b"i")
    args = []
    for kind, (name, content) in files.items():
        p = tmp_path / name
        p.write_bytes(extra.get(kind, content))
        args += ["--evidence", f"{kind}={p}"]
    return args


def line_figures(db: Db) -> dict[str, int]:
    with read_only(db.engine) as s:
        return vouchers.ledger_identity(s, SCHEME, 2021)["custody-voucher"]


def check_ok(cli: Any) -> list[dict[str, Any]]:
    report = json.loads(ok(cli("check", "--json")))
    bad = [c for c in report["checks"] if not c["ok"]]
    assert not bad, bad
    return list(report["checks"])
