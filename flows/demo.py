"""`ipfund demo`: a full certification-award round (二(二)4) on a fresh embedded database.

Every step goes through the same services, files and flows a real round uses: applicant and
application imports, the `advance` Prefect flow, reviewers' decisions, evaluators' score files
(one with errors, reported and fixed), trial, finalize, public notice with objections, payment
batches, the bank's confirmation file, and the final checks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.progress import track
from rich.rule import Rule
from rich.table import Table

from flows import synthetic
from flows.cli.budget_cmd import render_status
from flows.cli.common import console, yuan
from flows.cli.kpi_cmd import render as render_kpis
from flows.cli.money_cmd import render_report
from flows.services import (
    agencies as agencies_svc,
)
from flows.services import (
    applicants as applicants_svc,
)
from flows.services import (
    applications,
    audit_log,
    budget,
    evaluation,
    kpis,
    notice,
    payees,
    payments,
    review,
    rounds,
    users,
    vouchers,
)
from flows.services import fraud as fraud_svc
from flows.services import notifications as notifications_svc
from flows.services.advance import run_check, write_file_atomically
from flows.services.setup import init, is_initialised
from models.db import database_url, get_engine
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation, ValidationFailed
from rules.money import fen_to_yuan_str

SCHEME = "certification-award"
PILOT = "patent-intensive-product"
YEAR = 2021
PLAN = Path(__file__).resolve().parents[1] / "examples" / "plan-2021.toml"

STAFF = [
    ("admin", ["admin"], "系统管理员", "烟台市市场监管局"),
    ("li.review", ["reviewer"], "李审核", "烟台市市场监管局（市知识产权局）"),
    ("zhao.review", ["reviewer"], "赵审核", "烟台市财政局"),
    ("zhou.review", ["reviewer"], "周审核", "烟台市科学技术局"),
    ("wang.approve", ["approver"], "王审批", "烟台市财政局"),
    ("chen.finance", ["finance"], "陈财务", "烟台市财政局国库科"),
    ("sun.audit", ["auditor"], "孙审计", "烟台市审计局"),
]
DESK_PASSWORD = "demo-ipfund-2021"  # the demo's staff passwords for the desk (a demo database only)
FIRMS = ["烟台正信知识产权评估事务所", "山东知衡认证评价中心", "青岛华智第三方评价有限公司"]


def step(title: str) -> None:
    console.print(Rule(f"[bold]{title}"))


def set_clock(iso: str) -> None:
    from models.clock import pin

    pin(iso)


def advance(out_dir: str = "payments", scheme: str = SCHEME) -> dict[str, Any]:
    from flows.prefect_flows import advance_flow

    t0 = time.perf_counter()
    totals: dict[str, Any] = advance_flow(scheme=scheme, chunk=500, out_dir=out_dir)
    moved = ", ".join(f"{k} {v}" for k, v in totals.items() if k not in ("check", "payment", "events") and v)
    console.print(f"  advance flow: {moved or 'nothing to do'}; invariants "
                  f"{'[green]ok[/]' if totals['check']['ok'] else '[red]FAILED[/]'} ({time.perf_counter() - t0:.1f} s)")
    p = totals.get("payment") or {}
    for batch_id, path in zip(p.get("batches", []), p.get("files", []), strict=True):
        console.print(f"  payment batch {batch_id} (released by the finance officer): {p['count']} payment(s), "
                      f"{yuan(p['total_fen'])} → {path}")
    return totals


def run_demo(n_applicants: int = 300, n_applications: int = 120, seed: int = 2021) -> None:
    started = time.perf_counter()
    work = Path(os.environ.get("IPFUND_HOME", ".")).resolve()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    engine = get_engine()
    if is_initialised(engine):
        raise RuleViolation(f"{database_url()} already holds data; the demo needs a fresh database: run it in an "
                            "empty directory (or set IPFUND_HOME / IPFUND_DATABASE_URL to a new one)")

    set_clock(f"{YEAR}-03-01T01:00:00Z")
    step("1. Set-up: policy 烟政字〔2020〕47号, staff, the 2021 budget plan")
    audit_key(work)
    with unit_of_work(engine) as s:
        init(engine, s, "admin", "yantai-2020")
        for name, roles, display, org in STAFF[1:]:
            users.create_user(s, "admin", name, roles, display, org)
        for i, firm in enumerate(FIRMS):
            for j in (1, 2):
                users.create_user(s, "admin", f"eval{i + 1}.{j}", ["evaluator"], f"{firm} 评价专家{j}", firm)
    import tomllib

    with unit_of_work(engine) as s:
        budget.load_plan(s, "chen.finance", tomllib.loads(PLAN.read_text(encoding="utf-8")), str(PLAN.name))
    console.print(f"  database {database_url()}; {len(STAFF) + 6} users; plan {PLAN.name} loaded "
                  "(1:1.2 match and both 40 % floors pass)")

    step(f"2. Applicants: {n_applicants} enterprises, universities and institutes across Yantai")
    pool = synthetic.applicants(n_applicants, seed)
    quality = {a.uscc: a.quality_permille for a in pool}
    (work / "applicants.csv").write_bytes(synthetic.applicants_csv(pool))
    with unit_of_work(engine) as s:
        n = applicants_svc.import_applicants(s, "admin", (work / "applicants.csv").read_bytes(), "applicants.csv")
    kinds = Counter(a.kind for a in pool)
    console.print(f"  imported {n} applicants ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}) — every "
                  "credit code passes GB 32100-2015")

    step(f"3. Applications (申报): {n_applications} for {SCHEME} (二(二)4)")
    rows = synthetic.applications(pool, n_applications - 2, seed)
    (work / "applications.csv").write_bytes(synthetic.applications_csv(rows))
    with unit_of_work(engine) as s:
        apps = applications.import_applications(s, "admin", SCHEME, (work / "applications.csv").read_bytes(),
                                                "applications.csv")
        # One applicant applies itself, through its own user account.
        own = next(a for a in pool if a.uscc not in {r["applicant_uscc"] for r in rows})
        users.create_user(s, "admin", "applicant.demo", ["applicant"], f"{own.name} 申报专员", own.uscc)
        mine = applications.apply(s, "applicant.demo", SCHEME, {
            "certificate_no": synthetic.certificate_no(9999, YEAR), "certification_date": f"{YEAR}-01-08",
            "certification_body": synthetic.BODIES[0]})
        # Another firm claims a certificate that is already in this round (不重复奖励).
        other = next(a for a in pool if a.uscc not in {r["applicant_uscc"] for r in rows} and a.uscc != own.uscc)
        dup = applications.apply(s, "admin", SCHEME, {k: rows[3][k] for k in (
            "certificate_no", "certification_date", "certification_body")}, other.uscc)
    console.print(f"  bulk import: {len(apps)} ({apps[0].ref} … {apps[-1].ref}); applied by applicant.demo: {mine.ref};"
                  f" {dup.ref} (by admin) re-claims the certificate of {apps[3].ref}")
    advance()
    with read_only(engine) as s:
        rejected = applications.list_apps(s, "admin", SCHEME, "rejected")
    for r in rejected:
        with read_only(engine) as s:
            c = applications.show(s, "admin", r["ref"])
        failed = "; ".join(f"{k['check']} ({k['clause']})" for k in c["checks"] if not k["passed"])
        console.print(f"  [yellow]ineligible[/] {r['ref']} {r['applicant']}: {failed}")

    step("4. Formal review (形式审查): two reviewers step through their queues")
    set_clock(f"{YEAR}-03-10T01:00:00Z")
    rng = random.Random(seed)
    decided: Counter[str] = Counter()
    returned: list[str] = []
    reviewers = ["li.review", "zhao.review", "zhou.review"]
    with read_only(engine) as s:
        total = len(review.queue(s, "li.review", limit=100000))
    for i in track(range(total), description="  reviewing", console=console):
        who = reviewers[i % 3]
        with unit_of_work(engine) as s:
            case = review.next_case(s, who)
            if case is None:
                break
            draw = rng.randrange(100)
            if draw < 3:
                d, reason = "reject", "认证范围与申报主体不一致，不符合二(二)4 奖励对象"
            elif draw < 7:
                d, reason = "return", "认证证书复印件不清晰，请补正后重新提交"
            else:
                d, reason = "approve", "材料齐全，形式审查通过"
            review.decide(s, who, case["ref"], d, reason)
            decided[d] += 1
            if d == "return":
                returned.append(case["ref"])
    console.print(f"  decisions recorded: {dict(decided)}")
    advance()
    for ref in returned:
        with unit_of_work(engine) as s:
            applications.resubmit(s, "admin", ref, {}, "已补正清晰的证书扫描件")
    if returned:
        console.print(f"  {len(returned)} returned case(s) corrected and resubmitted: {', '.join(returned)}")
        advance()
        for ref in returned:
            with unit_of_work(engine) as s:
                review.decide(s, "zhao.review", ref, "approve", "补正材料齐全")
        advance()

    step("5. Third-party evaluation (贯标有效性评价): three firms upload their scores")
    set_clock(f"{YEAR}-04-15T01:00:00Z")
    with unit_of_work(engine) as s:
        conflicted = pool[0]
        evaluation.declare_conflict(s, "eval1.1", conflicted.uscc, "曾为该企业提供贯标咨询服务")
    console.print(f"  eval1.1 declares a conflict of interest with {conflicted.name}")
    advance()
    evaluators = [f"eval{i + 1}.{j}" for i in range(len(FIRMS)) for j in (1, 2)]
    ref_quality = {}
    with read_only(engine) as s:
        for r in applications.list_apps(s, "admin", SCHEME, "evaluation", limit=100000):
            ref_quality[r["ref"]] = quality.get(r["uscc"], 500)
    score_dir = work / "scores"
    score_dir.mkdir(exist_ok=True)
    for k, ev in enumerate(track(evaluators, description="  uploading", console=console)):
        fmt = "xlsx" if k == 2 else "csv"
        with read_only(engine) as s:
            tpl = evaluation.template(s, ev, fmt)
        (score_dir / f"template-{ev}.{fmt}").write_bytes(tpl)
        tpl_rows, _ = parse_template(tpl, f"template.{fmt}")
        filled = synthetic.fill_scores(tpl_rows, ref_quality, ev)
        encoding = "gbk" if k == 1 else "utf-8-sig"
        if k == 0 and filled:
            # The first upload carries three mistakes; the whole file is refused and nothing is written.
            bad = list(filled)
            bad[0] = (bad[0][0], bad[0][1], "105", bad[0][3])
            bad[1] = (bad[1][0], bad[1][1], bad[1][2], "=HYPERLINK(\"http://x\")")
            bad = bad[:2] + bad[3:]
            path = score_dir / f"scores-{ev}-draft.csv"
            path.write_bytes(synthetic.scores_csv(bad))
            try:
                with unit_of_work(engine) as s:
                    evaluation.upload(s, ev, path.read_bytes(), path.name)
            except ValidationFailed as exc:
                console.print(f"  [yellow]{ev} upload refused[/] ({len(exc.problems)} problems, nothing written):")
                for p in exc.problems:
                    console.print(f"    - {p}", highlight=False)
        path = score_dir / f"scores-{ev}.csv"
        path.write_bytes(synthetic.scores_csv(filled, encoding))
        with unit_of_work(engine) as s:
            res = evaluation.upload(s, ev, path.read_bytes(), path.name)
        with unit_of_work(engine) as s:
            repeat = evaluation.upload(s, ev, path.read_bytes(), path.name)
        console.print(f"  {ev}: {res.rows} rows, {len(res.changed_cases)} cases"
                      f"{' (GBK CSV)' if k == 1 else ' (from the XLSX template)' if k == 2 else ''}"
                      f"; re-upload of the same file changes {'nothing' if repeat.unchanged else 'something?!'}")
    advance()

    step("6. Ranking and allocation (择优、不超额): trial, then finalize by the approver")
    set_clock(f"{YEAR}-05-10T01:00:00Z")
    with read_only(engine) as s:
        report = rounds.trial(s, "wang.approve", SCHEME, YEAR)
    render_report(report, f"Trial {SCHEME} {YEAR} (nothing written)")
    what_if(engine, work, report)
    try:
        with unit_of_work(engine) as s:
            rounds.finalize(s, "li.review", SCHEME, YEAR)
    except RuleViolation as exc:
        console.print(f"  [yellow]refused[/]: a reviewer cannot finalize — {str(exc).splitlines()[0]}")
    with unit_of_work(engine) as s:
        final = rounds.finalize(s, "wang.approve", SCHEME, YEAR, allow_pending=True)
    same = [c["outcome"] for c in final["cases"]] == [c["outcome"] for c in report["cases"]] and \
        final["total_fen"] == report["total_fen"]
    console.print(f"  finalized round {final['round_id']} by wang.approve: {final['funded']} awards, "
                  f"{yuan(final['total_fen'])}; same allocation as the trial: {'yes' if same else 'NO'}")

    step("7. Public notice (公示) and objections")
    funded = [c["ref"] for c in final["cases"] if c["outcome"] == "funded"]
    try:
        with unit_of_work(engine) as s:
            notice.object_to(s, "sun.audit", funded[0], "审计人员试图暂停该奖励")
    except RuleViolation as exc:
        console.print(f"  [yellow]refused[/]: an auditor changes nothing — {str(exc).splitlines()[0]}",
                      highlight=False)
    with unit_of_work(engine) as s:
        notice.object_to(s, "applicant.demo", funded[0], "举报：该企业贯标认证证书已被认证机构暂停")
        notice.object_to(s, "li.review", funded[1], "公示名称与营业执照名称不一致")
    with unit_of_work(engine) as s:
        notice.resolve(s, "wang.approve", funded[0], True, "经核实证书已暂停，撤销奖励")
        notice.resolve(s, "wang.approve", funded[1], False, "名称差异系简称，异议不成立")
    console.print(f"  objection to {funded[0]} upheld (award withdrawn, commitment released); "
                  f"objection to {funded[1]} dismissed (back in notice)")

    step("8. Notice period ends; the finance officer releases the payments (拨付), the flow pays them")
    set_clock(f"{YEAR}-05-25T01:00:00Z")
    out_dir = str(work / "payments")
    advance(out_dir=out_dir)  # notice expiry: the awards become payable; nothing is paid unreleased
    try:
        with unit_of_work(engine) as s:
            payments.release(s, "wang.approve", SCHEME)
    except RuleViolation as exc:
        console.print(f"  [yellow]refused[/]: the approver cannot release payments — {str(exc).splitlines()[0]}",
                      highlight=False)
    with unit_of_work(engine) as s:
        rel = payments.release(s, "chen.finance", SCHEME)
    console.print(f"  chen.finance releases {len(rel.released)} payable award(s)"
                  + (f"; held (no bank account): {len(rel.held)}" if rel.held else ""))
    totals = advance(out_dir=out_dir)
    batch_file = Path(totals["payment"]["files"][0])
    sent = list(csv.DictReader(io.StringIO(batch_file.read_bytes().decode("utf-8-sig"))))
    bank = io.StringIO()
    w = csv.writer(bank, lineterminator="\n")
    w.writerow(payments.CONFIRM_COLUMNS)
    failed_key = sent[2]["idempotency_key"]
    for i, row in enumerate(sent):
        status, ref, why = ("failed", "", "收款账户信息有误") if i == 2 else ("paid", f"BOC{YEAR}0526{i:05d}", "")
        w.writerow([row["idempotency_key"], status, ref, why, row["amount_fen"], row["payee"], row["bank_account"]])
    ack = work / "payments" / "bank-ack-1.csv"
    ack.write_text(bank.getvalue(), encoding="utf-8")
    with unit_of_work(engine) as s:
        counts = payments.confirm(s, "chen.finance", ack.read_bytes(), ack.name)
    with unit_of_work(engine) as s:
        again = payments.confirm(s, "chen.finance", ack.read_bytes(), ack.name)
    console.print(f"  bank acknowledgement: {counts['paid']} paid, {counts['failed']} failed; importing it again: "
                  f"{again['unchanged']} already recorded, {again['paid'] + again['failed']} changed")
    set_clock(f"{YEAR}-05-28T01:00:00Z")
    failed_ref = failed_key.split(":")[0]
    with read_only(engine) as s:
        uscc = applications.show(s, "admin", failed_ref)["applicant"]["uscc"]
    with unit_of_work(engine) as s:
        payees.set_bank(s, "li.review", uscc, "中国银行烟台分行", "6216 6100 0001 2345 678", "申请人提交更正后的开户许可证")
    with unit_of_work(engine) as s:
        payments.release(s, "chen.finance", SCHEME)
    totals = advance(out_dir=out_dir)
    if totals["payment"].get("files"):
        resent = list(csv.DictReader(io.StringIO(Path(totals["payment"]["files"][0]).read_bytes().decode("utf-8-sig"))))
        ack2 = work / "payments" / "bank-ack-2.csv"
        ack2.write_text(",".join(payments.CONFIRM_COLUMNS) + "\n" + "".join(
            f"{r['idempotency_key']},paid,BOC{YEAR}0528{i:05d},,{r['amount_fen']},{r['payee']},{r['bank_account']}\n"
            for i, r in enumerate(resent)), encoding="utf-8")
        with unit_of_work(engine) as s:
            payments.confirm(s, "chen.finance", ack2.read_bytes(), ack2.name)
        console.print(f"  the payee's account corrected by li.review (audited), the payment released again and paid "
                      f"under a new idempotency key ({', '.join(r['idempotency_key'] for r in resent)})")
    with unit_of_work(engine) as s:
        second = payments.batch(s, "chen.finance", SCHEME)
    console.print(f"  a second `pay batch`: {'nothing new to pay, no file written' if second.batch is None else 'PAID AGAIN?!'}")

    step(f"9. A second scheme from its policy section alone: {PILOT} (专利密集型产品认定试点, 二(一)3)")
    pilot_step(engine, pool)

    step("10. Service-agency registry (服务机构库, 二(四)10 / 二(四)13): admission, monitoring, exit")
    agency_step(engine)

    step("11. Custody service vouchers (托管服务券, 二(二)5): issue, contract, redeem, confirm, settle, expire")
    custody_step(engine, work, pool)

    step("12. IP-pledge financing (知识产权质押融资, 二(三)7–8): loans, interest receipts, interest-subsidy claims (贴息)")
    from flows.demo_pledge import pledge_year_step

    pledge_year_step(engine, work / "pledge", flow=lambda: advance(scheme="pledge-interest-subsidy"))

    step("13. IP-pledge risk-compensation pool (风险补偿资金池, 二(三)7): contributions, filings, defaults, settlement")
    from flows.demo_pool import pool_step

    pool_step(engine, work / "pool")

    step("14. Project grants (专利导航、运营中心, 二(一)1 / 二(四)12 / 三(三)): agreements, reports, graded tranches, "
         "rectification, clawback")
    from flows.demo_projects import project_step

    project_step(engine, work / "projects", advance)

    step("15. Auditor: reproducible dossiers (审计档案), issued and verified")
    auditor_step(engine, work, funded[2])

    step("16. Summary")
    summary(engine)
    with read_only(engine) as s:
        render_status(budget.status(s, YEAR))
        figures = PLAN.parent / "kpi-figures-2021.csv"
    with unit_of_work(engine) as s:  # figures measured outside ipfund, each with its source (examples/)
        kpis.import_figures(s, "admin", figures.read_bytes(), figures.name)
    with read_only(engine) as s:
        console.print(Rule("the programme's KPIs against the plan's targets (一(二)), as of the demo's clock"))
        render_kpis(kpis.report(s))
    chk = run_check()
    t = Table("invariant", "result")
    for c in chk["checks"]:
        t.add_row(c["check"], "[green]√ ok[/]" if c["ok"] else f"[red]× {c['detail']}[/]")
    console.print(t)
    with read_only(engine) as s:
        v = audit_log.verify(s)
    console.print(f"audit verify: {'[green]chain verifies[/]' if v['ok'] else '[red]BROKEN[/]'} — {v['events']} events,"
                  f" head #{v['head_seq']} {v['head_hash']}")
    console.print(f"  checkpoints: {v['checkpoints']['summary']}", highlight=False, markup=False, soft_wrap=True)
    from flows.services import desk_auth

    with unit_of_work(engine) as s:
        for name, *_ in STAFF:
            desk_auth.set_password(s, "admin", name, DESK_PASSWORD)
    console.print(f"desk: `ipfund desk` (in {work}) serves this database at http://127.0.0.1:8080/ — sign in as "
                  f"{', '.join(n for n, *_ in STAFF)} with the demo password {DESK_PASSWORD}", highlight=False)
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s; files in {work}")
    if not (chk["ok"] and v["ok"]):
        raise RuleViolation("the demo ended with a failed invariant check")


def what_if(engine: Any, work: Path, current: dict[str, Any]) -> None:
    """What-if: the same round under an alternative policy file (an enterprise award of ¥40,000 instead of
    ¥50,000), ranked and allocated in memory — nothing written; `ipfund round trial --policy ALT --diff`."""
    from rules.policy import load_policy_file

    src = Path(__file__).resolve().parents[1] / "rules" / "policies" / "yantai-2020.yaml"
    line = "2020-10-19: {enterprise: 5000000, university: 8000000, institute: 8000000}"
    text = src.read_text(encoding="utf-8")
    if line not in text:
        raise RuleViolation(f"the what-if step expects {line!r} in {src.name}")
    alt = work / "what-if-enterprise-40000.yaml"
    alt.write_text(text.replace(line, line.replace("5000000", "4000000")), encoding="utf-8")
    with read_only(engine) as s:
        r = rounds.trial(s, "wang.approve", SCHEME, YEAR, load_policy_file(alt))
    d = rounds.diff_reports(current, r)
    console.print(f"  what-if ({alt.name}, nothing written): {d['funded_before']} → {d['funded_after']} awards, "
                  f"{yuan(d['total_before_fen'])} → {yuan(d['total_after_fen'])}; {len(d['changes'])} case(s) change",
                  highlight=False)


def pilot_step(engine: Any, pool: list[synthetic.SynthApplicant]) -> None:
    """专利密集型产品认定: two review tiers (one approval at the district, two at the city, never by the
    district's reviewer), working-day deadlines with escalation, evaluation by its own rubric, a
    recognition without money — no service, table or flow knows this scheme by name."""
    set_clock(f"{YEAR}-06-01T01:00:00Z")  # Tuesday
    firms = [a for a in pool if a.kind == "enterprise"][10:16]
    patents = (9, 7, 3, 6, 12, 5)
    with unit_of_work(engine) as s:
        refs = [applications.apply(s, "admin", PILOT, {
            "product_name": f"{a.name[:8]}智能装备{i + 1}型", "product_category": "C35 专用设备制造业",
            "invention_patents": str(n), "patent_licences": str(i % 3), "patent_transfers": str(i % 2),
            "pledge_financing": f"{(i + 1) * 500000}.00", "product_revenue": f"{(i + 2) * 13000000}.00"},
            a.uscc).ref for i, (a, n) in enumerate(zip(firms, patents, strict=True))]
    console.print(f"  {len(refs)} products applied ({refs[0]} … {refs[-1]}), the form declared by the policy section")
    advance(scheme=PILOT)
    with read_only(engine) as s:
        cases = {r: applications.show(s, "admin", r) for r in refs}
    for r, c in cases.items():
        for k in c["checks"]:
            if not k["passed"]:
                console.print(f"  [yellow]ineligible[/] {r}: {k['check']} ({k['clause']}) — {k['detail']}",
                              highlight=False)
    waiting = [r for r, c in cases.items() if c["status"] == "district_review"]
    with read_only(engine) as s:
        due = {q["ref"]: q.get("due") for q in review.queue(s, "li.review", stage="district_review", scheme=PILOT)}
    with unit_of_work(engine) as s:
        for r in waiting[:-1]:
            review.decide(s, "li.review", r, "approve", "区市初审：指标材料齐全")
    late = waiting[-1]
    console.print(f"  district review (1 approval, due {due.get(late)}): li.review approves {len(waiting) - 1}; "
                  f"{late} is left waiting")
    set_clock(f"{YEAR}-06-10T01:00:00Z")  # the district tier's five working days ended on 8 June
    advance(scheme=PILOT)
    with read_only(engine) as s:
        up = [e for e in review.escalated(s, "sun.audit", PILOT) if e["still_waiting"]]
    for e in up:
        console.print(f"  [yellow]escalated[/] {e['ref']}: {e['tier']} was due {e['due']} (working days of the "
                      f"policy calendar) → {e['to']}", highlight=False)
    with unit_of_work(engine) as s:
        review.decide(s, "li.review", late, "approve", "逾期后完成初审")
    try:
        with unit_of_work(engine) as s:
            review.decide(s, "li.review", waiting[0], "approve", "复审")
    except RuleViolation as exc:
        console.print(f"  [yellow]refused[/]: {str(exc).splitlines()[0]}", highlight=False)
    with unit_of_work(engine) as s:
        for who in ("zhao.review", "zhou.review"):
            for r in waiting:
                review.decide(s, who, r, "approve", "市级复审通过")
    console.print(f"  municipal review (2 approvals): zhao.review and zhou.review approve {len(waiting)}")
    advance(scheme=PILOT)
    set_clock(f"{YEAR}-06-21T01:00:00Z")
    rng = random.Random(YEAR)
    for ev in [f"eval{i + 1}.{j}" for i in range(len(FIRMS)) for j in (1, 2)]:
        with read_only(engine) as s:
            rows, _ = parse_template(evaluation.template(s, ev, "csv"), "template.csv")
        rows = [(ref, crit) for ref, crit in rows if ref in refs]
        if rows:
            scores = [(ref, crit, f"{55 + (refs.index(ref) * 7) % 40 + rng.randrange(5)}.0", "评价意见")
                      for ref, crit in rows]
            with unit_of_work(engine) as s:
                evaluation.upload(s, ev, synthetic.scores_csv(scores), f"pip-scores-{ev}.csv")
    advance(scheme=PILOT)
    set_clock(f"{YEAR}-06-28T01:00:00Z")
    with unit_of_work(engine) as s:
        final = rounds.finalize(s, "wang.approve", PILOT, YEAR, allow_pending=True)
    console.print(f"  finalized by wang.approve: {final['funded']} product(s) recognised, "
                  f"{sum(1 for c in final['cases'] if c['outcome'] == 'below_min_score')} below the minimum score; "
                  f"no budget line, no money ({yuan(final['total_fen'])})")
    set_clock(f"{YEAR}-07-05T01:00:00Z")
    advance(scheme=PILOT)
    with read_only(engine) as s:
        got = Counter(r["status"] for r in applications.list_apps(s, "admin", PILOT, limit=100))
    console.print(f"  after the notice: {dict(sorted(got.items()))}")


AGENCY_SERVICES = ("consulting", "training", "information", "application", "maintenance", "operation",
                   "protection")


def agency_step(engine: Any, n: int = 12) -> list[str]:
    """Agencies apply, are accredited for custody services at their own prices (one refused for too few
    staff, then admitted on its corrected facts); complaints and spot checks through the year; the
    monitoring warns one and suspends one; the public list as of a date; notifications in the outbox.
    Returns the credit codes on the list at the end."""
    set_clock(f"{YEAR}-07-06T01:00:00Z")
    pool = synthetic.agencies(n, YEAR)
    short = pool[2]
    with unit_of_work(engine) as s:
        for a in pool:
            agencies_svc.apply(s, "admin", a.uscc, a.name, a.office, 2 if a is short else a.staff, True)
    accredited = 0
    for i, a in enumerate(pool):
        services = [f"{svc}={2000 + 500 * ((i + k) % 7)}" for k, svc in enumerate(AGENCY_SERVICES) if (i + k) % 3]
        try:
            with unit_of_work(engine) as s:
                agencies_svc.accredit(s, "li.review", a.uscc, services, "材料齐全，现场核查通过")
            accredited += 1
        except RuleViolation as exc:
            failed = [ln.strip(" -") for ln in str(exc).splitlines() if ln.strip().startswith("- check")]
            console.print(f"  [yellow]refused[/] {a.name}: {'; '.join(failed)}", highlight=False)
            with unit_of_work(engine) as s:
                agencies_svc.apply(s, "admin", a.uscc, a.name, a.office, a.staff, True)
                agencies_svc.accredit(s, "li.review", a.uscc, services, "补充专职人员后复核通过")
            console.print(f"  {a.name} applied again with {a.staff} staff and was accredited", highlight=False)
            accredited += 1
    console.print(f"  {len(pool)} agencies applied; {accredited} accredited by li.review, each with its price "
                  "schedule per custody service (咨询、培训、信息、申请、维护、运营、保护)")
    complained, failing = pool[4], pool[7]
    set_clock(f"{YEAR}-07-20T01:00:00Z")
    with unit_of_work(engine) as s:
        for k, (what, who) in enumerate((("服务响应拖延", "烟台某科技有限公司"), ("收费与合同不符", "烟台某材料有限公司"),
                                         ("交付文件缺页", "烟台某装备有限公司"))):
            agencies_svc.record_complaint(s, "zhao.review", complained.uscc, what, who, f"{YEAR}-07-{8 + k:02d}")
        for k in range(2):
            agencies_svc.record_spot_check(s, "eval1.1", failing.uscc, "fail", "托管台账缺失", "52.0",
                                           f"{YEAR}-07-{12 + k:02d}")
        for a in pool[:3]:
            agencies_svc.record_spot_check(s, "eval3.1", a.uscc, "pass", "服务记录完整", "88.5", f"{YEAR}-07-16")
    with unit_of_work(engine) as s:
        run = agencies_svc.monitor(s, "admin", YEAR)
    for r in run["agencies"]:
        if r["act"]:
            console.print(f"  monitoring {YEAR}: [yellow]{r['act']}[/] {r['name']} — {'; '.join(r['reasons'])} "
                          f"({r['clause']})", highlight=False)
    try:
        with unit_of_work(engine) as s:
            agencies_svc.change(s, "sun.audit", complained.uscc, "suspend", "审计认为应暂停")
    except RuleViolation as exc:
        console.print(f"  [yellow]refused[/]: {str(exc).splitlines()[0]}", highlight=False)
    day = f"{YEAR}-07-21"
    with read_only(engine) as s:
        listed = agencies_svc.accredited_on(s, dt.date.fromisoformat(day))
        unsent = notifications_svc.list_notifications(s, "admin", unsent=True)
    console.print(f"  public list on {day} (信息公示): {len(listed)} agencies (the warned one stays, the suspended one is "
                  f"off it); {len(unsent)} notification(s) in the outbox for the agencies")
    return [a["uscc"] for a in listed]


CUSTODY = "custody-voucher"
PDF = b"%PDF-1.4\n"
PNG = b"\x89PNG\r\n\x1a\n"


def custody_step(engine: Any, work: Path, pool: list[synthetic.SynthApplicant], n: int = 220) -> None:
    """托管服务券: SMEs apply for a voucher for one custody service, issued first come first served within
    the line (each commits its face value) in a round settling to the agencies (通兑), and a second, smaller
    round reimbursing the SMEs (通用); each SME contracts an agency on the public list at its price; the
    agency redeems with evidence (stored by sha256), the SME confirms (one disputes, the reviewer dismisses
    it); a reviewer checks each redemption (one refused), two third-party evaluators grade each service
    (one below the pass grade: no settlement); a fraud found on a spot check expels an agency and voids its
    open vouchers; on the settlement date the finance officer settles the graded vouchers — to the agencies
    in the first round, to the SMEs in the second; a fraud found after settlement claws two vouchers back
    as receivables, recovered in part then in full; an unused voucher lapses after its use-by date — the
    line's identity holds to the fen."""
    set_clock(f"{YEAR}-07-22T01:00:00Z")
    extra = [a for a in synthetic.applicants(300, YEAR + 100) if a.sme]
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(extra), "custody-smes.csv")
    smes = ([a for a in pool if a.sme] + extra)[:n + 12]
    services = list(AGENCY_SERVICES)
    with read_only(engine) as s:
        listed = agencies_svc.accredited_on(s, dt.date(YEAR, 7, 22))
    with unit_of_work(engine) as s:
        for i, a in enumerate(smes):
            users.create_user(s, "admin", f"sme{i + 1}", ["applicant"], a.name, a.uscc)
        for i, ag in enumerate(listed):
            users.create_user(s, "admin", f"agency{i + 1}", ["agency"], f"{ag['name']} 经办人", ag["uscc"])
            payees.set_agency_bank(s, "li.review", ag["uscc"], synthetic.BANKS[i % len(synthetic.BANKS)],
                                   synthetic.bank_of(ag["uscc"], i)[1], "服务机构提交开户许可证")
        for i, a in enumerate(smes[n:]):  # the 通用 round's SMEs are paid themselves: their accounts
            payees.set_bank(s, "li.review", a.uscc, synthetic.BANKS[i % len(synthetic.BANKS)],
                            synthetic.bank_of(a.uscc, 500 + i)[1], "企业提交开户许可证")
    staff = {ag["uscc"]: f"agency{i + 1}" for i, ag in enumerate(listed)}
    with unit_of_work(engine) as s:
        rounds.open_round(s, "wang.approve", CUSTODY, YEAR, "agency")
        for i in range(n):
            svc = services[i % len(services)]
            if not any(svc in ag["services"] for ag in listed):
                svc = "consulting"
            applications.apply(s, f"sme{i + 1}", CUSTODY, {"service": svc})
    console.print(f"  {n} SMEs (中小微企业) applied for a voucher, one custody service each; wang.approve opened the "
                  "round settling to the agencies (通兑)")
    advance(scheme=CUSTODY)
    set_clock(f"{YEAR}-07-26T01:00:00Z")
    with unit_of_work(engine) as s:
        final = rounds.finalize(s, "wang.approve", CUSTODY, YEAR, allow_pending=True)
    console.print(f"  issued first come first served within the line by wang.approve: {final['funded']} voucher(s), "
                  f"{yuan(final['total_fen'])} face value committed on line {CUSTODY}")
    set_clock(f"{YEAR}-08-02T00:30:00Z")
    with unit_of_work(engine) as s:
        rounds.open_round(s, "wang.approve", CUSTODY, YEAR, "enterprise")
        for i in range(n, len(smes)):
            applications.apply(s, f"sme{i + 1}", CUSTODY, {"service": "consulting"})
    advance(scheme=CUSTODY)
    with unit_of_work(engine) as s:
        final2 = rounds.finalize(s, "wang.approve", CUSTODY, YEAR, allow_pending=True)
    console.print(f"  a second round reimbursing the SMEs (通用, the SME pays the agency in full): "
                  f"{final2['funded']} consulting voucher(s)")
    with read_only(engine) as s:
        held = [v for v in vouchers.list_vouchers(s, "admin", CUSTODY) if v["status"] == "issued"]
    by_user = {f"sme{i + 1}": a.uscc for i, a in enumerate(smes)}
    holder = {v["ref"]: next(u for u, code in by_user.items() if code == v["uscc"]) for v in held}
    mode = {v["ref"]: v["settlement_mode"] for v in held}
    fraud, colluder = listed[1], listed[2]
    set_clock(f"{YEAR}-08-02T01:00:00Z")
    contracted: list[tuple[str, str]] = []
    unused = {v["ref"] for v in held if v["settlement_mode"] == "agency"}
    unused = set(sorted(unused)[-3:])  # three vouchers are never used
    with unit_of_work(engine) as s:
        for k, v in enumerate(held):
            if v["ref"] in unused:
                continue
            svc = v["service"]
            offering = [ag for ag in listed if svc in ag["services"]]
            ag = offering[k % len(offering)]
            vouchers.contract(s, holder[v["ref"]], v["ref"], ag["uscc"], fen_to_yuan_str(ag['services'][svc]))
            contracted.append((v["ref"], ag["uscc"]))
    console.print(f"  {len(contracted)} contracted with an accredited agency at its scheduled price (服务定价机制); "
                  f"each voucher covers at most the cover share of the contract and at most its face value")
    set_clock(f"{YEAR}-09-06T01:00:00Z")
    redeemed = []
    with unit_of_work(engine) as s:
        for ref, code in contracted:
            if code == fraud["uscc"]:
                continue  # its services are still open when the fraud is found
            files = [("contract", f"{ref}-合同.pdf", PDF + f"% 托管服务合同 {ref}\n".encode()),
                     ("receipt", f"{ref}-付款凭证.png", PNG + ref.encode()),
                     ("deliverable", f"{ref}-托管报告.pdf", PDF + f"% 托管服务报告 {ref}\n".encode())]
            if mode[ref] == "enterprise":  # 通用: the SME proves it paid the agency in full
                files.append(("invoice", f"{ref}-发票.pdf", PDF + f"% 服务机构发票 {ref}\n".encode()))
            vouchers.redeem(s, staff[code], ref, files)
            redeemed.append(ref)
    disputed = redeemed[0]
    with unit_of_work(engine) as s:
        vouchers.dispute(s, holder[disputed], disputed, "托管报告未按合同交付")
        for ref in redeemed[1:]:
            vouchers.confirm(s, holder[ref], ref)
    console.print(f"  {len(redeemed)} redeemed by the agencies with evidence (contract, the SME's receipt, the "
                  f"deliverable, in 通用 the agency's invoice; stored by sha256); {len(redeemed) - 1} confirmed by the "
                  f"SMEs, {disputed} disputed")
    set_clock(f"{YEAR}-09-08T01:00:00Z")
    with unit_of_work(engine) as s:
        vouchers.resolve(s, "zhao.review", disputed, "dismiss", "托管报告已按合同交付（有企业签收记录）")
    refused_ref, low = redeemed[1], redeemed[2]
    with unit_of_work(engine) as s:
        for ref in redeemed:
            if ref == refused_ref:
                review.decide(s, "li.review", ref, "reject", "服务成果与合同约定不符")
            else:
                review.decide(s, "li.review", ref, "approve", None)
    console.print(f"  zhao.review dismissed the dispute on {disputed}; li.review checked every redemption: "
                  f"{len(redeemed) - 1} to the third-party evaluation, {refused_ref} refused (no settlement, its "
                  "commitment back on the line, agency and SME told)")
    advance(scheme=CUSTODY)  # assignment: two evaluators per voucher, never of the SME's or the agency's organisation
    graded = set(redeemed) - {refused_ref}
    for ev in [f"eval{i + 1}.{j}" for i in range(len(FIRMS)) for j in (1, 2)]:
        with read_only(engine) as s:
            tpl_rows, _ = parse_template(evaluation.template(s, ev, "csv"), "template.csv")
        rows = [(ref, crit, "50" if ref == low else "85", "托管项目绩效评价") for ref, crit in tpl_rows if ref in graded]
        if rows:
            with unit_of_work(engine) as s:
                evaluation.upload(s, ev, synthetic.scores_csv(rows), f"custody-scores-{ev}.csv")
    advance(scheme=CUSTODY)  # aggregation and grading
    with read_only(engine) as s:
        states = Counter(v["status"] for v in vouchers.list_vouchers(s, "admin", CUSTODY))
    console.print(f"  third-party evaluation (托管项目绩效评价): {states.get('evaluated', 0)} graded at or above the pass "
                  f"grade, payable; {states.get('not_settled', 0)} below it ({low}: no settlement, "
                  "custody-voucher.below_pass)")
    with unit_of_work(engine) as s:
        agencies_svc.record_spot_check(s, "eval2.1", fraud["uscc"], "fraud", "伪造企业确认书", None, f"{YEAR}-09-06")
    with unit_of_work(engine) as s:
        run = agencies_svc.monitor(s, "admin", YEAR)
    for r in run["agencies"]:
        if r["act"] == "expel":
            console.print(f"  monitoring {YEAR}: [yellow]expel[/] {r['name']} — {'; '.join(r['reasons'])} "
                          f"({r['clause']})", highlight=False)
    with read_only(engine) as s:
        voided = [v for v in vouchers.list_vouchers(s, "admin", CUSTODY) if v["status"] == "voided"]
        told = [m for m in notifications_svc.list_notifications(s, "admin")
                if m["subject"].startswith("托管服务券") and "服务机构" in m["subject"]]
    console.print(f"  its {len(voided)} open voucher(s) are void (agency.open_vouchers_on_expulsion), their face value "
                  f"back on the line; {len(told)} holder(s) told in the outbox")
    set_clock(f"{YEAR}-12-20T01:00:00Z")  # a settlement date (custody-voucher.settlement_dates: 06-30, 12-20)
    out_dir = str(work / "payments")
    with unit_of_work(engine) as s:
        rel = payments.release(s, "chen.finance", CUSTODY)
    totals = advance(scheme=CUSTODY, out_dir=out_dir)
    sent = [r for f in totals["payment"]["files"]
            for r in csv.DictReader(io.StringIO(Path(f).read_bytes().decode("utf-8-sig")))]
    ack = work / "payments" / "bank-ack-custody.csv"
    ack.write_text(",".join(payments.CONFIRM_COLUMNS) + "\n" + "".join(
        f"{r['idempotency_key']},paid,BOC{YEAR}1221{i:05d},,{r['amount_fen']},{r['payee']},{r['bank_account']}\n"
        for i, r in enumerate(sent)), encoding="utf-8")
    with unit_of_work(engine) as s:
        c = payments.confirm(s, "chen.finance", ack.read_bytes(), ack.name)
    agency_names = {ag["name"] for ag in listed}
    to_agencies = [r for r in sent if r["payee"] in agency_names]
    to_smes = [r for r in sent if r["payee"] not in agency_names]
    console.print(f"  settlement on {YEAR}-12-20 (定期兑付): chen.finance releases {len(rel.released)}, the flow pays "
                  f"{len(to_agencies)} to {len({r['payee'] for r in to_agencies})} agencies (通兑, "
                  f"{yuan(sum(int(r['amount_fen']) for r in to_agencies))}) and reimburses {len(to_smes)} SMEs (通用, "
                  f"{yuan(sum(int(r['amount_fen']) for r in to_smes))}); the bank confirms {c['paid']}")
    with read_only(engine) as s:
        theirs = sorted(v["ref"] for v in vouchers.list_vouchers(s, "admin", CUSTODY, status="settled")
                        if v["agency"] == colluder["uscc"])
    if len(theirs) >= 2:
        first, second = theirs[0], theirs[1]
        set_clock(f"{YEAR}-12-22T01:00:00Z")
        with unit_of_work(engine) as s:
            found = fraud_svc.record_finding(s, "li.review", colluder["uscc"], "抽查发现恶意串通、伪造服务成果",
                                             voucher_specs=[first, f"{second}=1000.00"])
        set_clock(f"{YEAR}-12-28T01:00:00Z")
        with unit_of_work(engine) as s:
            fraud_svc.recover(s, "chen.finance", first, "1000.00", f"BOC{YEAR}1228R001", f"{YEAR}-12-28")
        set_clock(f"{YEAR}-12-30T01:00:00Z")
        with unit_of_work(engine) as s:
            rest = fraud_svc.clawback_of(s, vouchers.get_voucher(s, first).id or 0)
            left = (rest.amount_fen - rest.recovered_fen) if rest is not None else 0
            fraud_svc.recover(s, "chen.finance", first, fen_to_yuan_str(left), f"BOC{YEAR}1230R002", f"{YEAR}-12-30")
        console.print(f"  fraud found after settlement (二(四)13): li.review records a finding against {colluder['name']} "
                      f"— expelled, {len(found.clawbacks)} settled voucher(s) clawed back as receivables on the line "
                      f"(never an edited posting); chen.finance records ¥1,000.00 then the rest recovered on {first}")
    set_clock(f"{YEAR + 1}-01-27T01:00:00Z")  # the use-by date (6 months after issue) has passed
    totals = advance(scheme=CUSTODY)
    with read_only(engine) as s:
        ident = vouchers.ledger_identity(s, CUSTODY, YEAR)
    for line, f in ident.items():
        holds = f["committed"] == f["settled"] + f["released"] + f["open"] and \
            f["clawed_back"] == f["recovered"] + f["outstanding"]
        console.print(f"  line {line}: committed {yuan(f['committed'])} = settled {yuan(f['settled'])} + released "
                      f"{yuan(f['released'])} + open {yuan(f['open'])}; clawed back {yuan(f['clawed_back'])} = "
                      f"recovered {yuan(f['recovered'])} + outstanding {yuan(f['outstanding'])} "
                      f"({'[green]holds[/]' if holds else '[red]BROKEN[/]'})", highlight=False)


def audit_key(work: Path) -> None:
    """The demo's own audit key in its working directory (`ipfund audit keygen`), so every commit that
    appends audit events writes a signed checkpoint and the final `audit verify` checks real ones."""
    from models import checkpoints

    os.environ[checkpoints.ENV_KEY] = str(work / checkpoints.DEFAULT_KEY_FILE)
    os.environ.pop(checkpoints.ENV_PUBLIC_KEY, None)
    loc = checkpoints.location()
    if checkpoints.read(loc)[0]:
        raise RuleViolation(f"{loc} already holds checkpoints of an earlier database; the demo needs a fresh "
                            "directory (remove them, or run it in an empty directory)")
    made = not checkpoints.key_path().exists()
    if made:
        checkpoints.generate_key()
    from rules.checkpoints import key_fingerprint

    public = checkpoints.trusted_public_key()
    console.print(f"  audit key {checkpoints.key_path().name} {'created' if made else 'reused'} (fingerprint "
                  f"{key_fingerprint(public)[:16] if public else 'NO PUBLIC KEY'}): every commit that appends audit "
                  f"events writes a signed checkpoint to {loc}", highlight=False, soft_wrap=True)


def auditor_step(engine: Any, work: Path, ref: str) -> None:
    """The auditor renders and issues a case dossier of an award, of a settled custody voucher (its
    contract, evidence hashes, confirmation and settlement) and of a paid interest-subsidy claim (its
    computation traced), a pool claim's dossier and the fund-year dossier, then verifies each."""
    from flows.services import dossier, pool

    out = work / "dossiers"
    with read_only(engine) as s:
        voucher = next(v["ref"] for v in vouchers.list_vouchers(s, "sun.audit", CUSTODY) if v["status"] == "settled")
        subsidy = next(a["ref"] for a in applications.list_apps(s, "sun.audit", "pledge-interest-subsidy", "paid",
                                                                limit=1))
        claim = next(c["ref"] for c in pool.status(s, "sun.audit")["claims"] if c["status"] == "settled")
    for kind, key in (("case", ref), ("case", voucher), ("case", subsidy), ("pool_claim", claim),
                      ("year", str(YEAR))):
        t0 = time.perf_counter()
        with read_only(engine) as s:
            d = dossier.build(s, kind, key)
        result = dossier.render(d)
        path = out / d.file_name
        write_file_atomically(path, result.pdf)
        with unit_of_work(engine) as s:
            ev = dossier.issue(s, "sun.audit", d, result)
        with read_only(engine) as s:
            report = dossier.verify(s, path.read_bytes())
        console.print(f"  {kind.replace('_', ' ')} dossier {d.number}: {dossier.page_count(result.pdf)} page(s) → {path.name} "
                      f"({time.perf_counter() - t0:.1f} s); issued as audit #{ev.seq}; verify: {report.verdict}",
                      highlight=False)
    try:
        with unit_of_work(engine) as s:
            budget.adjust_line(s, "sun.audit", YEAR, "patent-navigation", "central", "-1.00", "审计人员试图调整")
    except RuleViolation as exc:
        console.print(f"  an auditor cannot change anything: {str(exc).splitlines()[0]}", highlight=False)


def parse_template(content: bytes, name: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Read (application_id, criterion) back from a template the evaluator downloaded."""
    if name.endswith(".xlsx"):
        import openpyxl

        from flows.services.score_files import column_name

        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        it = wb.worksheets[0].iter_rows(values_only=True)
        header = [column_name(c) for c in next(it)]  # "申报编号 (application_id)" -> application_id
        ia, ic = header.index("application_id"), header.index("criterion")
        return [(str(r[ia]), str(r[ic])) for r in it if r and r[ia]], []
    text = content.decode("utf-8-sig")
    return [(r["application_id"], r["criterion"]) for r in csv.DictReader(io.StringIO(text))], []


def summary(engine: Any) -> None:
    with read_only(engine) as s:
        rows = applications.list_apps(s, "sun.audit", SCHEME, limit=100000)
    by_status = Counter(r["status"] for r in rows)
    by_outcome = Counter(r["outcome"] or "-" for r in rows)
    paid = sum(r["award_fen"] or 0 for r in rows if r["status"] == "paid")
    t = Table(title=f"{SCHEME} {YEAR}: {len(rows)} applications")
    t.add_column("status")
    t.add_column("cases", justify="right")
    for k, v in sorted(by_status.items()):
        t.add_row(k, str(v))
    console.print(t)
    t2 = Table("outcome", "cases")
    for k, v in sorted(by_outcome.items()):
        t2.add_row(k, str(v))
    console.print(t2)
    console.print(f"awards paid: {sum(1 for r in rows if r['status'] == 'paid')} cases, {yuan(paid)}")
