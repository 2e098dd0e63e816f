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
         ("big", "applicant", BIG),
         # the finance bureau's second reviewer, and one of agency A (never checks A's redemptions)
         ("zhao", "reviewer", "烟台市财政局"), ("lin", "reviewer", A),
         # third-party evaluators (托管项目绩效评价): two independent ones, one of agency A and one of SME1, whose
         # names sort first so the assignment would pick them if the duties rule let it
         ("ev1", "evaluator", "烟台市知识产权评价中心"), ("ev2", "evaluator", "山东鲁信资产评估有限公司"),
         ("ea", "evaluator", A), ("es", "evaluator", SME1)]
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


def plan_with_custody_line(tmp_path: Path, line_fen: int, year: int = 2021) -> Path:
    """The sample plan for ``year`` with the custody-voucher line cut to ``line_fen`` of central money and no
    local money; the rest goes to the pledge-interest-subsidy line (market-oriented too), so the receipts,
    the 1:1.2 match and both 40 % floors stay exactly as in the sample plan."""
    line_central, line_local, pledge_central, pledge_local = 600_000_000, 800_000_000, 500_000_000, 1_000_000_000
    assert 0 < line_fen <= line_central
    text = (EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8")

    def once(old: str, new: str) -> None:
        nonlocal text
        assert text.count(old) == 1, f"examples/plan-2021.toml changed: {old!r}"
        text = text.replace(old, new)

    once(f'central_yuan = "{_yuan(line_central)}"\nlocal_yuan = "{_yuan(line_local)}"\nscheme = "{SCHEME}"',
         f'central_yuan = "{_yuan(line_fen)}"\nscheme = "{SCHEME}"')
    once(f'central_yuan = "{_yuan(pledge_central)}"\nlocal_yuan = "{_yuan(pledge_local)}"\n'
         'scheme = "pledge-interest-subsidy"',
         f'central_yuan = "{_yuan(pledge_central + line_central - line_fen)}"\n'
         f'local_yuan = "{_yuan(pledge_local + line_local)}"\nscheme = "pledge-interest-subsidy"')
    once("year = 2021\n", f"year = {year}\n")
    path = tmp_path / f"plan-{year}-custody-{line_fen}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def policy_with(tmp_path: Path, db: Db, **values: Any) -> Path:
    """Run the database under a copy of the bundled policy whose named parameters (``issue_order="ranked"``
    for ``custody-voucher.issue_order``) hold one value from their first date; returns the file."""
    import yaml

    from rules.policy import POLICY_DIR, load_policy_file

    raw = yaml.safe_load((POLICY_DIR / "yantai-2020.yaml").read_text(encoding="utf-8"))
    for key, value in values.items():
        param = raw["parameters"][f"{SCHEME}.{key}"]
        first = min(param["values"])
        param["values"] = {first: {"value": value, "reference": "test: a policy choice"}}
    # One file per variant: policies are cached by path for the life of the process.
    path = tmp_path / f"yantai-2020-{'-'.join(f'{k}-{v}' for k, v in sorted(values.items()))}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_policy_file(path)  # valid, or the test stops here
    with db.engine.begin() as c:
        from sqlalchemy import text as sql

        c.execute(sql("UPDATE setting SET value = :v WHERE key = 'policy_id'"), {"v": str(path.resolve())})
    return path


def setup_world(cli: Any, tmp_path: Path, plans: tuple[Path, ...] = (), at: str = "2021-03-01T01:00:00Z") -> Any:
    """Staff and SMEs, the 2021 plan (line custody-voucher; or ``plans``), agency A accredited for consulting
    at ¥8,000 and application at ¥20,000 (with a bank account), agency B for consulting at ¥6,000; the
    clock at 1 March 2021 (or ``at``)."""
    set_clock(at)
    for name, role, org in STAFF:
        ok(cli("user", "add", name, "--role", role, "--affiliation", org, "--as", "admin"))
    (tmp_path / "applicants.csv").write_bytes(applicants_csv())
    ok(cli("applicant", "import", str(tmp_path / "applicants.csv"), "--as", "admin"))
    for plan in plans or (EXAMPLES / "plan-2021.toml",):
        ok(cli("budget", "plan", str(plan), "--as", "admin"))
    ok(cli("agency", "apply", A, "--name", "烟台正道知识产权代理有限公司", "--office", "芝罘区南大街1号", "--staff", "4",
           "--independent-liability", "--as", "wu"))
    ok(cli("agency", "accredit", A, "--service", "consulting=8000", "--service", "application=20000", "--as", "li"))
    ok(cli("agency", "bank", A, "--bank-name", "中国银行烟台分行", "--account", "6216610000000009", "--as", "li"))
    ok(cli("agency", "apply", B, "--name", "福山华知知识产权服务有限公司", "--office", "福山区河滨路8号", "--staff", "3",
           "--independent-liability", "--as", "ma"))
    ok(cli("agency", "accredit", B, "--service", "consulting=6000", "--as", "li"))
    return cli


def apply_all(cli: Any, applications: list[tuple[str, str]]) -> list[str]:
    """Each (user, service) applies, in this order; intake runs."""
    refs = []
    for user, service in applications:
        out = ok(cli("apply", SCHEME, "-f", f"service={service}", "--as", user))
        refs.append(next(w for w in out.replace(";", " ").replace(",", " ").split() if w.startswith("CV-")))
    advance_plain(SCHEME, chunk=100)
    return refs


def issue(cli: Any, applications: list[tuple[str, str]], finalize_at: str = "2021-03-10T01:00:00Z") -> list[str]:
    """Each (user, service) applies on 1–2 March; intake; the round is finalized on 10 March."""
    refs = apply_all(cli, applications)
    set_clock(finalize_at)
    ok(cli("round", "finalize", SCHEME, "--year", finalize_at[:4], "--as", "wang"))
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


IDENTITY = ("committed", "settled", "released", "open")
CLAWBACK_IDENTITY = ("clawed_back", "recovered", "outstanding")


def line_figures(db: Db, keys: tuple[str, ...] = IDENTITY) -> dict[str, int]:
    """The voucher line's identity figures (committed = settled + released + open by default; pass
    CLAWBACK_IDENTITY for clawed back = recovered + outstanding)."""
    with read_only(db.engine) as s:
        f = vouchers.ledger_identity(s, SCHEME, 2021)["custody-voucher"]
    return {k: f[k] for k in keys}


def settle(cli: Any, tmp_path: Path, refs: list[str], holders: list[str], agency: str = "A",
           amount: str = "8000", invoice: bool = False) -> None:
    """Each voucher contracted with agency A (or B) for ``amount``, redeemed with evidence, confirmed by its
    holder, approved by the reviewer, graded 80 by its evaluators, paid in one batch and acknowledged paid
    by the bank."""
    from tests.support import bank_ack

    code, staff = (A, "wu") if agency == "A" else (B, "ma")
    for ref, holder in zip(refs, holders, strict=True):
        ok(cli("voucher", "contract", ref, "--agency", code, "--amount", amount, "--as", holder))
        ok(cli("voucher", "redeem", ref, *evidence(tmp_path, invoice=invoice), "--as", staff))
        ok(cli("voucher", "confirm", ref, "--as", holder))
    for ref in refs:
        ok(review(cli, ref, "approve"))
    advance_plain(SCHEME, chunk=100)
    for ref in refs:
        for ev in assigned(ref):
            ok(score(cli, tmp_path, ref, ev, 80))
    advance_plain(SCHEME, chunk=100)
    to_settlement_day()
    out = tmp_path / "bank"
    ok(cli("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen"))
    (tmp_path / "ack.csv").write_bytes(bank_ack(sorted(out.glob("*.csv"))))
    ok(cli("pay", "confirm", str(tmp_path / "ack.csv"), "--as", "chen"))


def to_settlement_day() -> None:
    """Move the clock on to the next settlement date of custody-voucher.settlement_dates (today, if it is
    one): vouchers settle only on those days (定期兑付, 二(二)5)."""
    import datetime as dt

    from flows.services.context import current_policy

    on = vouchers.today()
    with read_only() as s:
        days = current_policy(s).value("custody-voucher.settlement_dates", on)
    for year in (on.year, on.year + 1):
        for md in sorted(days):
            day = dt.date.fromisoformat(f"{year}-{md}")
            if day >= on:
                if day > on:
                    set_clock(f"{day.isoformat()}T01:00:00Z")
                return


def check_ok(cli: Any) -> list[dict[str, Any]]:
    report = json.loads(ok(cli("check", "--json")))
    bad = [c for c in report["checks"] if not c["ok"]]
    assert not bad, bad
    return list(report["checks"])


def review(cli: Any, ref: str, decision: str = "approve", user: str = "li", reason: str | None = None) -> CliResult:
    """A reviewer's decision on a confirmed voucher's redemption (the engine's review path)."""
    args = ["review", "decide", ref, f"--{decision}", "--as", user]
    if reason is not None:
        args[4:4] = ["--reason", reason]
    return cli(*args)


def score(cli: Any, tmp_path: Path, ref: str, evaluator: str, points: int | dict[str, int]) -> CliResult:
    """An evaluator uploads a score per criterion of the voucher's rubric (the same number on each, or one
    per criterion)."""
    from flows.services.context import current_policy

    with read_only() as s:
        rubric = current_policy(s).value("custody-voucher.rubric", vouchers.today())
    per = points if isinstance(points, dict) else dict.fromkeys(rubric, points)
    path = tmp_path / f"scores-{evaluator}-{ref}.csv"
    path.write_text("application_id,criterion,score\n" + "".join(f"{ref},{c},{n}\n" for c, n in per.items()),
                    encoding="utf-8")
    return cli("scores", "upload", str(path), "--as", evaluator)


def evaluate(cli: Any, tmp_path: Path, ref: str, grade: int | dict[str, int] = 80, reviewer: str = "li") -> None:
    """A confirmed voucher is approved by the reviewer, staffed with evaluators by the advance flow, scored
    by both and graded (the advance flow again): at ``grade`` on every criterion, or per criterion."""
    ok(review(cli, ref, "approve", reviewer))
    advance_plain(SCHEME, chunk=100)
    for ev in assigned(ref):
        ok(score(cli, tmp_path, ref, ev, grade))
    advance_plain(SCHEME, chunk=100)


def assigned(ref: str) -> list[str]:
    """The evaluators the assignment stage gave the voucher, by name."""
    from sqlmodel import col, select

    from models.tables import Application, Assignment

    with read_only() as s:
        return sorted(s.exec(select(Assignment.evaluator).join(
            Application, col(Application.id) == col(Assignment.application_id)).where(Application.ref == ref)).all())
