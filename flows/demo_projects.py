"""The demo's project grants (二(一)1, 二(四)12, 三(三)): two calls — industry and enterprise patent-navigation
projects, and industry IP operation centres — from application to acceptance, on the services and flows a real
call uses.

``project_step(engine, work, advance)`` applies, reviews, has experts score, finalizes both rounds within their
budget lines, ends the notice, signs the agreements (KPI targets, deliverables, tranche plan) and pays the
advances; a year on the projects report (one late, flagged by the report-due stage; one granted an extension),
the third-party evaluator grades them (优 / 良 / 中 / 差 / 差), the approver releases the banded tranche (half for
良), one 差 project is rectified and evaluated again, the other is left unrectified — its tranches cancelled, what
was paid clawed back and recovered in two receipts, the organisation barred, so its application to the next call
fails intake; two projects pass their final acceptance.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table

from flows import synthetic
from flows.cli.common import console, yuan
from flows.services import applicants as applicants_svc
from flows.services import applications, evaluation, payments, projects, review, rounds, users
from models.clock import pin
from models.uow import read_only, unit_of_work

NAV, CENTRE = "project-navigation", "project-operation-centre"
EXPERTS = [("expert.shu", "山东大学知识产权研究院"), ("expert.hai", "中国海洋大学法学院"),
           ("expert.yan", "烟台大学知识产权学院")]
PERF = ("perf.eval", "北京中誉诚绩效评价咨询有限公司")  # the third-party performance evaluator (第三方绩效评价)
EVIDENCE = {"mid_term": "中期进展报告.pdf", "final": "结项验收报告.pdf"}

KPIS = {
    "navigation_industry": [("patents_navigated", "0", "3000", "40"), ("reports", "0", "1", "30"),
                            ("smes_served", "0", "60", "30")],
    "navigation_enterprise": [("patents_navigated", "0", "800", "40"), ("reports", "0", "1", "30"),
                              ("filings", "12", "40", "30")],
    "operation_centre": [("transfers_licences", "0", "150", "40"), ("pledge_financing", "0", "80000000", "30"),
                         ("smes_served", "0", "300", "30")],
}
# (type, name, requested yuan, mid-term attainment of each KPI in percent, mid-term rubric score)
NAV_PROJECTS = [
    ("navigation_industry", "高端装备产业专利导航", "800,000.00", 100, "95"),
    ("navigation_industry", "海洋生物医药产业专利导航", "700,000.00", 90, "82"),
    ("navigation_enterprise", "新能源汽车零部件企业专利导航", "300,000.00", 80, "70"),
    ("navigation_enterprise", "智能制造装备企业专利导航", "300,000.00", 30, "40"),
    ("navigation_enterprise", "功能材料企业专利导航", "250,000.00", 20, "30"),
    ("navigation_industry", "葡萄酒产业专利导航", "600,000.00", 100, "92"),
]
CENTRE_PROJECTS = [
    ("operation_centre", "烟台高端装备产业知识产权运营中心", "3,000,000.00", 100, "93"),
    ("operation_centre", "烟台生物医药产业知识产权运营中心", "2,500,000.00", 85, "84"),
]


def _agreement(kind: str) -> bytes:
    rows = "".join(f'[[kpi]]\ncode = "{c}"\nbaseline = "{b}"\ntarget = "{t}"\nweight = "{w}"\ndue = "2023-05-31"\n'
                   for c, b, t, w in KPIS[kind])
    return (rows + '[[deliverable]]\ncode = "report"\nname = "专利导航/运营分析报告 (GB/T 39551-2020)"\n'
                   'due = "2023-05-31"\n').encode()


def _actuals(kind: str, percent: int) -> dict[str, str]:
    """Each KPI's actual at ``percent`` of the way from its baseline to its target (whole units, rounded down);
    the report is delivered from half way."""
    out = {}
    for code, base, target, _w in KPIS[kind]:
        if code == "reports":
            out[code] = "1" if percent >= 50 else "0"
        else:
            b, t = int(base), int(target)
            out[code] = str(b + (t - b) * percent // 100)
    return out


def _scores(score: str) -> dict[str, str]:
    return {c: score for c in ("organisation", "funds_use", "deliverables")}


def _ack(files: list[str], tag: str) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(payments.CONFIRM_COLUMNS)
    n = 0
    for f in files:
        for row in csv.DictReader(io.StringIO(Path(f).read_bytes().decode("utf-8-sig"))):
            w.writerow([row["idempotency_key"], "paid", f"ICBC{tag}{n:05d}", "", row["amount_fen"], row["payee"],
                        row["bank_account"]])
            n += 1
    return out.getvalue().encode()


def project_step(engine: Any, work: Path, advance: Callable[..., dict[str, Any]]) -> None:
    out_dir = str(work / "payments")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    pin("2021-03-01T01:00:00Z")
    with unit_of_work(engine) as s:
        for name, org in EXPERTS:
            users.create_user(s, "admin", name, ["evaluator"], name, org)
        users.create_user(s, "admin", "qian.approve", ["approver"], "钱审批", "烟台市财政局")
    pool = synthetic.applicants(len(NAV_PROJECTS) + len(CENTRE_PROJECTS), 4747)
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(pool), "project-applicants.csv")
    refs: dict[str, list[str]] = {NAV: [], CENTRE: []}
    kinds: dict[str, tuple[str, int, str]] = {}
    with unit_of_work(engine) as s:
        for scheme, rows, firms in ((NAV, NAV_PROJECTS, pool[:len(NAV_PROJECTS)]),
                                    (CENTRE, CENTRE_PROJECTS, pool[len(NAV_PROJECTS):])):
            for (kind, name, asked, attained, rubric), a in zip(rows, firms, strict=True):
                app = applications.apply(s, "admin", scheme, {"project_type": kind, "project_name": name,
                                                              "industry": name[:4], "requested": asked}, a.uscc)
                refs[scheme].append(app.ref)
                kinds[app.ref] = (kind, attained, rubric)
    console.print(f"  two calls: {len(refs[NAV])} navigation projects ({refs[NAV][0]} …), {len(refs[CENTRE])} "
                  f"operation centres ({refs[CENTRE][0]} …), each form and rubric from its policy section")
    for scheme in (NAV, CENTRE):
        advance(scheme=scheme)
    with unit_of_work(engine) as s:
        for scheme in (NAV, CENTRE):
            for item in review.queue(s, "zhou.review", scheme=scheme, limit=100):
                review.decide(s, "zhou.review", item["ref"], "approve", "立项申报材料齐全")
    for scheme in (NAV, CENTRE):
        advance(scheme=scheme)  # assignment: three experts per project, never of the applicant's organisation
    pin("2021-04-12T01:00:00Z")
    for name in _evaluators(engine):
        with read_only(engine) as s:
            lines = evaluation.template(s, name, "csv").decode("utf-8-sig").splitlines()[1:]
        rows_ = [(ln.split(",")[0], ln.split(",")[1], "85.0", "专家评审意见") for ln in lines]
        if rows_:
            with unit_of_work(engine) as s:
                evaluation.upload(s, name, synthetic.scores_csv(rows_), f"{name}.csv")
    for scheme in (NAV, CENTRE):
        advance(scheme=scheme)
    pin("2021-05-10T01:00:00Z")
    with unit_of_work(engine) as s:  # the third-party performance evaluator, engaged after the expert review
        users.create_user(s, "admin", PERF[0], ["evaluator"], PERF[0], PERF[1])
    with unit_of_work(engine) as s:
        for scheme in (NAV, CENTRE):
            final = rounds.finalize(s, "wang.approve", scheme, 2021)
            funded = [c for c in final["cases"] if c["outcome"] == "funded"]
            console.print(f"  {scheme}: {len(funded)} of {len(final['cases'])} funded in rank order within line "
                          f"{final['line']} ({yuan(sum(c['award_fen'] for c in funded))})", highlight=False)
    pin("2021-05-25T01:00:00Z")
    for scheme in (NAV, CENTRE):
        advance(scheme=scheme)  # notice ends: each project waits for its agreement
    pin("2021-06-01T01:00:00Z")
    live = {}
    with unit_of_work(engine) as s:
        for scheme in (NAV, CENTRE):
            for ref in refs[scheme]:
                if applications.show(s, "admin", ref)["status"] == "agreement_pending":
                    projects.agree(s, "qian.approve", ref, _agreement(kinds[ref][0]), f"{ref}-任务书.toml")
                    live[ref] = scheme
    console.print(f"  {len(live)} agreements signed by qian.approve (KPI targets, deliverables, 67 % advance + 33 % "
                  "banded by the mid-term grade); reports due 2022-06-01 (mid-term) and 2023-06-01 (final)")
    _pay(engine, advance, out_dir, "20210602", "advances")

    order = list(live)
    late, extended = order[2], order[5] if len(order) > 5 else order[-1]
    pin("2022-05-10T01:00:00Z")
    with unit_of_work(engine) as s:
        e = projects.extend(s, "admin", extended, "mid_term", "2022-07-15", "产业调研延期（疫情）")
    with unit_of_work(engine) as s:
        projects.decide_extension(s, "li.review", e.id or 0, True, "理由充分，同意延期")
    console.print(f"  {extended} asked on 2022-05-10 for its mid-term report to move to 2022-07-15; li.review granted it")
    pin("2022-05-20T01:00:00Z")
    with unit_of_work(engine) as s:
        for ref in order:
            if ref not in (late, extended):
                kind, attained, _ = kinds[ref]
                projects.report(s, "admin", ref, "mid_term", _actuals(kind, attained),
                                [("report", EVIDENCE["mid_term"], f"%PDF-1.7 {ref} mid-term\n".encode())])
    pin("2022-06-05T01:00:00Z")
    for scheme in (NAV, CENTRE):
        advance(scheme=scheme)  # report due stage: the missing mid-term report is flagged
    with read_only(engine) as s:
        flagged = [n for n in projects_notifications(s) if n.startswith("项目报告逾期")]
    console.print(f"  report-due stage on 2022-06-05: {len(flagged)} overdue report flagged ({late}, due 2022-06-01)")
    pin("2022-06-08T01:00:00Z")
    with unit_of_work(engine) as s:
        kind, attained, _ = kinds[late]
        r = projects.report(s, "admin", late, "mid_term", _actuals(kind, attained),
                            [("report", EVIDENCE["mid_term"], f"%PDF-1.7 {late} mid-term\n".encode())])
        kind, attained, _ = kinds[extended]
        projects.report(s, "admin", extended, "mid_term", _actuals(kind, attained),
                        [("report", EVIDENCE["mid_term"], f"%PDF-1.7 {extended} mid-term\n".encode())])
    console.print(f"  {late} filed on 2022-06-08: marked late = {r.late}; {extended} within its extension")
    pin("2022-06-10T01:00:00Z")
    t = Table("project", "type", "rubric", "KPIs", "score", "grade", title="mid-term evaluation (中期绩效评价, 二(四)12)")
    graded = {}
    with unit_of_work(engine) as s:
        for ref in order:
            ev = projects.evaluate(s, PERF[0], ref, "mid_term", _scores(kinds[ref][2]))
            graded[ref] = ev.grade_name
            t.add_row(ref, kinds[ref][0], ev.rubric_score, ev.kpi_score, ev.score, ev.grade_name)
    console.print(t)
    poor = [r for r, g in graded.items() if g == "差"]
    with unit_of_work(engine) as s:
        for ref in order:
            if ref not in poor:
                projects.release(s, "wang.approve", ref)
    with read_only(engine) as s:
        shown = {ref_: projects.show(s, "admin", ref_) for ref_ in order if ref_ not in poor}
    for ref_, p in shown.items():
        m = next(t for t in p["tranches"] if t["tranche"] == "mid_term")
        console.print(f"  {ref_} ({graded[ref_]}): mid-term tranche {yuan(m['planned_fen'])} → released "
                      f"{yuan(m['released_fen'])}, cancelled back to the line {yuan(m['cancelled_fen'])}", highlight=False)
    _pay(engine, advance, out_dir, "20220612", "mid-term tranches")

    fixed, left = poor[0], poor[-1]
    pin("2022-07-20T01:00:00Z")
    with unit_of_work(engine) as s:
        projects.rectify(s, "li.review", fixed, "整改报告及补充材料已核实，整改到位")
    with unit_of_work(engine) as s:
        kind, _, _ = kinds[fixed]
        projects.report(s, "admin", fixed, "mid_term", _actuals(kind, 70),
                        [("report", "整改报告.pdf", f"%PDF-1.7 {fixed} rectification\n".encode())])
        ev = projects.evaluate(s, PERF[0], fixed, "mid_term", _scores("72"))
        projects.release(s, "wang.approve", fixed)
    console.print(f"  {fixed} (差) rectified by 2022-07-20 (li.review), evaluated again: {ev.grade_name} {ev.score} — "
                  "its banded tranche released by that grade (中: nothing)", highlight=False)
    pin("2022-09-10T01:00:00Z")  # the mid-term evaluation was on 2022-06-10: 90 days to rectify
    for scheme in (NAV, CENTRE):
        advance(scheme=scheme)  # rectification stage: the other 差 project is past its due date
    with read_only(engine) as s:
        p = projects.show(s, "admin", left)
    console.print(f"  {left} not rectified by {p['rectifications'][-1]['due_on']}: {yuan(p['cancelled_fen'])} cancelled "
                  f"back to the line, {yuan(p['clawback_fen'])} clawed back (a receivable), barred until "
                  f"{p['bars'][0]['until']}", highlight=False)
    owed = p["clawback_fen"]
    half = owed // 2
    with unit_of_work(engine) as s:
        projects.recover(s, "chen.finance", left, f"{half // 100}.{half % 100:02d}", "GK-2022-0915-01", "2022-09-15")
    pin("2022-10-10T01:00:00Z")
    with unit_of_work(engine) as s:
        rest = owed - half
        projects.recover(s, "chen.finance", left, f"{rest // 100}.{rest % 100:02d}", "GK-2022-1010-02", "2022-10-10")
        status = applications.show(s, "admin", left)["status"]
    console.print(f"  recovered in two receipts (GK-2022-0915-01, GK-2022-1010-02): {left} is {status}")
    barred_uscc = next(a.uscc for a, r in zip(pool, refs[NAV] + refs[CENTRE], strict=False) if r == left)
    pin("2022-11-01T01:00:00Z")
    with unit_of_work(engine) as s:
        again = applications.apply(s, "admin", NAV, {"project_type": kinds[left][0], "project_name": "功能材料专利导航二期",
                                                     "industry": "功能材料", "requested": "200,000.00"}, barred_uscc)
    advance(scheme=NAV)
    with read_only(engine) as s:
        shown2 = applications.show(s, "admin", again.ref)
    failed = [c for c in shown2["checks"] if not c["passed"]]
    console.print(f"  the barred organisation applies to the 2022 call ({again.ref}): {shown2['status']} — "
                  + "; ".join(f"{c['check']} ({c['clause']}): {c['detail']}" for c in failed), highlight=False)

    pin("2023-05-20T01:00:00Z")
    done = [r for r in order if graded[r] == "优"][:2]
    with unit_of_work(engine) as s:
        for ref in done:
            projects.report(s, "admin", ref, "final", _actuals(kinds[ref][0], 100),
                            [("report", EVIDENCE["final"], f"%PDF-1.7 {ref} final\n".encode())])
            projects.evaluate(s, PERF[0], ref, "final", _scores("94"))
            projects.release(s, "wang.approve", ref)
    with read_only(engine) as s:
        listed = projects.list_projects(s, "sun.audit")
    console.print("  funded projects of the 2021 calls:")
    for row in listed:
        claw = (f", clawed back {yuan(row['clawback_fen'])} (recovered {yuan(row['recovered_fen'])})"
                if row["clawback_fen"] else "")
        console.print(f"    {row['ref']} {row['status']}: grant {yuan(row['grant_fen'] or 0)}, released "
                      f"{yuan(row['released_fen'])}, paid {yuan(row['paid_fen'])}, cancelled {yuan(row['cancelled_fen'])}"
                      f"{claw}", highlight=False)
    console.print(f"  final acceptance (结项验收) of {', '.join(done)} on 2023-05-20: completed")


def _evaluators(engine: Any) -> list[str]:
    """Every evaluator the assignment stage may have drawn (the demo's certification firms too)."""
    from sqlmodel import select

    from models.tables import User

    with read_only(engine) as s:
        return sorted(u.name for u in s.exec(select(User)).all() if "evaluator" in u.role_set())


def projects_notifications(s: Any) -> list[str]:
    from sqlmodel import select

    from models.tables import Notification

    return [n.subject for n in s.exec(select(Notification).where(Notification.subject.like("项目%"))).all()]  # type: ignore[attr-defined]


def _pay(engine: Any, advance: Callable[..., dict[str, Any]], out_dir: str, tag: str, what: str) -> None:
    with unit_of_work(engine) as s:
        released = sum(len(payments.release(s, "chen.finance", scheme).released) for scheme in (NAV, CENTRE))
    files: list[str] = []
    for scheme in (NAV, CENTRE):
        files += (advance(out_dir=out_dir, scheme=scheme).get("payment") or {}).get("files", [])
    if files:
        with unit_of_work(engine) as s:
            counts = payments.confirm(s, "chen.finance", _ack(files, tag), f"bank-ack-projects-{tag}.csv")
        console.print(f"  {what}: {released} released by chen.finance, paid by the payment stage, "
                      f"{counts['paid']} acknowledged paid by the bank")
