"""A finished certification-award round (二(二)4) built through the real services, without Prefect,
for the dossier tests and the dossier benchmark.

The round has every kind of case a dossier shows: an intake failure, a return and resubmission, a
rejection in review, a declared conflict of interest, a corrected score upload, funded cases and
cases below the minimum score, an upheld and a dismissed objection, a failed bank transfer paid on
retry, and a budget adjustment approved by an approver.
"""

from __future__ import annotations

import atexit
import csv
import io
import os
import shutil
import sqlite3
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flows import synthetic
from flows.services import applicants as applicants_svc
from flows.services import applications, budget, evaluation, notice, payments, review, rounds, users
from flows.services.advance import advance_plain
from flows.services.setup import init
from models.db import get_engine, make_engine
from models.uow import read_only, unit_of_work
from tests.support import bank_ack

SCHEME = "certification-award"
YEAR = 2021
ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "examples" / "plan-2021.toml"
STAFF = [
    ("li.review", ["reviewer"], "李审核", "烟台市市场监管局（市知识产权局）"),
    ("zhao.review", ["reviewer"], "赵审核", "烟台市财政局"),
    ("wang.approve", ["approver"], "王审批", "烟台市财政局"),
    ("chen.finance", ["finance"], "陈财务", "烟台市财政局国库科"),
    ("sun.audit", ["auditor"], "孙审计", "烟台市审计局"),
    ("eval1.1", ["evaluator"], "烟台正信知识产权评估事务所 评价专家1", "烟台正信知识产权评估事务所"),
    ("eval1.2", ["evaluator"], "烟台正信知识产权评估事务所 评价专家2", "烟台正信知识产权评估事务所"),
    ("eval2.1", ["evaluator"], "山东知衡认证评价中心 评价专家1", "山东知衡认证评价中心"),
    ("eval3.1", ["evaluator"], "青岛华智第三方评价有限公司 评价专家1", "青岛华智第三方评价有限公司"),
    ("zhou.citizen", ["applicant"], "周市民", ""),
]


@dataclass
class SampleRound:
    """Where the round's database is, and which case is which."""

    home: Path
    url: str
    refs: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)  # funded and paid, first one after a failed transfer
    upheld: str = ""  # objection upheld, award withdrawn
    dismissed: str = ""  # objection dismissed, then paid
    below_min: list[str] = field(default_factory=list)
    ineligible: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)

    @property
    def db_file(self) -> Path:
        return self.home / "ipfund.db"

    def copy_to(self, directory: Path) -> str:
        """A private copy of the database (for tests that write); returns its URL."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "ipfund.db"
        src, dst = sqlite3.connect(self.db_file), sqlite3.connect(target)
        try:
            src.backup(dst)  # consistent whatever is still in the write-ahead log
        finally:
            src.close()
            dst.close()
        return f"sqlite:///{target}"


@contextmanager
def database(url: str) -> Iterator[None]:
    """Point the services' default engine at ``url`` for the duration (and restore the previous one)."""
    before = os.environ.get("IPFUND_DATABASE_URL")
    os.environ["IPFUND_DATABASE_URL"] = url
    get_engine.cache_clear()
    try:
        yield
    finally:
        if get_engine.cache_info().currsize:
            get_engine().dispose()
        get_engine.cache_clear()
        if before is None:
            os.environ.pop("IPFUND_DATABASE_URL", None)
        else:
            os.environ["IPFUND_DATABASE_URL"] = before


def _clock(iso: str) -> None:
    from models.clock import pin

    pin(iso)


def build(home: Path, n_applicants: int = 40, n_applications: int = 12, seed: int = 2021) -> SampleRound:
    """Build the round in ``home/ipfund.db`` (a new SQLite file)."""
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'ipfund.db'}"
    clock_before = os.environ.get("IPFUND_NOW")
    try:
        with database(url):
            return _build(home, url, n_applicants, n_applications, seed)
    finally:
        if clock_before is None:
            os.environ.pop("IPFUND_NOW", None)
        else:
            os.environ["IPFUND_NOW"] = clock_before


def _build(home: Path, url: str, n_applicants: int, n_applications: int, seed: int) -> SampleRound:
    assert n_applications >= 8, "the sample needs at least 8 applications"
    engine = make_engine(url)
    out = SampleRound(home, url)
    _clock(f"{YEAR}-03-01T01:00:00Z")
    with unit_of_work(engine) as s:
        init(engine, s, "admin", "yantai-2020")
    with unit_of_work(engine) as s:
        for name, roles, display, org in STAFF:
            users.create_user(s, "admin", name, roles, display, org)
        budget.load_plan(s, "chen.finance", tomllib.loads(PLAN.read_text(encoding="utf-8")), PLAN.name)
    pool = synthetic.applicants(n_applicants, seed)
    quality = {a.uscc: a.quality_permille for a in pool}
    rows = synthetic.applications(pool, n_applications, seed, flawed=False)
    rows[1]["certification_date"] = f"{YEAR - 2}-11-20"  # before the window: intake fails
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(pool), "applicants.csv")
        apps = applications.import_applications(s, "admin", SCHEME, synthetic.applications_csv(rows),
                                                "applications.csv")
    out.refs = [a.ref for a in apps]
    advance_plain(SCHEME)

    _clock(f"{YEAR}-03-10T01:00:00Z")
    with read_only(engine) as s:
        queue = [q["ref"] for q in review.queue(s, "li.review", limit=1000)]
    for i, ref in enumerate(queue):
        who = ("li.review", "zhao.review")[i % 2]
        with unit_of_work(engine) as s:
            if i == 2:
                review.decide(s, who, ref, "reject", "认证范围与申报主体不一致，不符合二(二)4 奖励对象")
                out.rejected.append(ref)
            elif i == 3:
                review.decide(s, who, ref, "return", "认证证书复印件不清晰，请补正后重新提交")
                out.returned.append(ref)
            else:
                review.decide(s, who, ref, "approve", "材料齐全，形式审查通过")
    advance_plain(SCHEME)
    for ref in out.returned:
        with unit_of_work(engine) as s:
            applications.resubmit(s, "admin", ref, {}, "已补正清晰的证书扫描件")
    advance_plain(SCHEME)
    for ref in out.returned:
        with unit_of_work(engine) as s:
            review.decide(s, "zhao.review", ref, "approve", "补正材料齐全")
    advance_plain(SCHEME)

    _clock(f"{YEAR}-04-15T01:00:00Z")
    with unit_of_work(engine) as s:
        evaluation.declare_conflict(s, "eval1.1", rows[0]["applicant_uscc"], "曾为该企业提供贯标咨询服务")
    advance_plain(SCHEME)
    with read_only(engine) as s:
        ref_quality = {r["ref"]: quality.get(r["uscc"], 500)
                       for r in applications.list_apps(s, "admin", SCHEME, "evaluation", limit=100000)}
    evaluators = [name for name, roles, _d, _o in STAFF if roles == ["evaluator"]]
    for k, ev in enumerate(evaluators):
        with read_only(engine) as s:
            tpl = evaluation.template(s, ev, "csv")
        tpl_rows = [(r["application_id"], r["criterion"]) for r in csv.DictReader(io.StringIO(tpl.decode("utf-8-sig")))]
        filled = synthetic.fill_scores(tpl_rows, ref_quality, ev)
        if not filled:
            continue
        with unit_of_work(engine) as s:
            evaluation.upload(s, ev, synthetic.scores_csv(filled), f"scores-{ev}.csv")
        if k == 0:  # a corrected upload: the first row's score changes; the old row stays, inactive
            fixed = list(filled)
            score = min(100.0, float(fixed[0][2]) + 2.5)
            fixed[0] = (fixed[0][0], fixed[0][1], f"{score:.1f}", "更正：复核后调整")
            with unit_of_work(engine) as s:
                evaluation.upload(s, ev, synthetic.scores_csv(fixed), f"scores-{ev}-corrected.csv")
    advance_plain(SCHEME)

    _clock(f"{YEAR}-05-08T01:00:00Z")
    with unit_of_work(engine) as s:
        budget.adjust_line(s, "wang.approve", YEAR, "patent-navigation", "central", "-100000.00",
                           "专利导航项目压减，退回中央资金")
    _clock(f"{YEAR}-05-10T01:00:00Z")
    with unit_of_work(engine) as s:
        final = rounds.finalize(s, "wang.approve", SCHEME, YEAR, allow_pending=True)
    funded = [c["ref"] for c in final["cases"] if c["outcome"] == "funded"]
    assert len(funded) >= 3, final["counts"]
    out.below_min = [c["ref"] for c in final["cases"] if c["outcome"] == "below_min_score"]
    out.ineligible = [c["ref"] for c in final["cases"] if c["outcome"] == "ineligible"]
    out.upheld, out.dismissed = funded[0], funded[1]
    with unit_of_work(engine) as s:
        notice.object_to(s, "zhou.citizen", out.upheld, "举报：该企业贯标认证证书已被认证机构暂停")
        notice.object_to(s, "li.review", out.dismissed, "公示名称与营业执照名称不一致")
    with unit_of_work(engine) as s:
        notice.resolve(s, "wang.approve", out.upheld, True, "经核实证书已暂停，撤销奖励")
        notice.resolve(s, "wang.approve", out.dismissed, False, "名称差异系简称，异议不成立")

    _clock(f"{YEAR}-05-25T01:00:00Z")
    pay_dir = home / "payments"
    advance_plain(SCHEME, out_dir=str(pay_dir))  # the notice ends: payable, but nothing paid unreleased
    with unit_of_work(engine) as s:
        payments.release(s, "chen.finance", SCHEME)
    totals = advance_plain(SCHEME, out_dir=str(pay_dir))
    files = totals["payment"]["files"]
    keys = [r["idempotency_key"] for r in csv.DictReader(io.StringIO(Path(files[0]).read_bytes().decode("utf-8-sig")))]
    with unit_of_work(engine) as s:
        payments.confirm(s, "chen.finance", bank_ack(files, failed={keys[0]: "收款账户信息有误"}), "bank-ack-1.csv")
    _clock(f"{YEAR}-05-28T01:00:00Z")
    with unit_of_work(engine) as s:
        payments.release(s, "chen.finance", SCHEME)
    totals = advance_plain(SCHEME, out_dir=str(pay_dir))
    with unit_of_work(engine) as s:
        payments.confirm(s, "chen.finance", bank_ack(totals["payment"]["files"]), "bank-ack-2.csv")
    with read_only(engine) as s:
        rows_now = applications.list_apps(s, "admin", SCHEME, limit=100000)
    first_failed = keys[0].split(":")[0]
    out.paid = [first_failed] + [r["ref"] for r in rows_now if r["status"] == "paid" and r["ref"] != first_failed]
    engine.dispose()
    return out


_CACHE: dict[str, SampleRound] = {}


def shared() -> SampleRound:
    """One sample round per test process (built on first use, removed at exit): the dossier tests
    and the auditor feature read it, and copy it before writing."""
    if "round" not in _CACHE:
        home = Path(tempfile.mkdtemp(prefix="ipfund-dossier-sample-"))
        atexit.register(shutil.rmtree, home, True)
        _CACHE["round"] = build(home)
    return _CACHE["round"]
