"""`ipfund bench --scheme custody-voucher --vouchers N`: a whole custody-voucher round (托管服务券, 二(二)5)
at scale, through the real services, bulk files and the `advance` flow, with the certification bench's
table (flows/bench.py: per-step wall time, rows/s, peak memory and the step's own growth) and its
plain-Core baseline ratio.

The round: N SMEs apply for one custody service each (an application file); the `advance` flow's
intake; the approver's finalize issues every voucher within the line (first come first served); the
platform operator enters the SMEs' signed contracts (contract files of 10,000 lines); each of 10
agencies redeems its contracts with a manifest and three evidence files per voucher; the SMEs'
confirmations (files); the finance officer's release; the `advance` flow's payment stage (bank file);
the bank's acknowledgement; the invariant check. Separately, on a copy of the database taken right after
issue, the `advance` flow's expiry stage over the N vouchers the day after their use-by date.

The steps are a list (:data:`STEPS`) so a step can be put between two others (a reviewer's check, a
third-party evaluation between confirmed and payable) without touching the others. The harness's own
work (generating files, copying the database for the expiry run) is measured and not counted.
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flows.bench import Bench, Stage, print_table
from flows.cli.common import console
from rules.money import fen_to_yuan_str

SCHEME = "custody-voucher"
YEAR = 2021
SERVICES = ("consulting", "training", "information")  # faces ¥5,000 / ¥3,000 / ¥3,000 (yantai-2020, illustrative)
AGENCIES = 10
FILE_LINES = 10_000  # contract and confirmation files of this many lines
ISSUE_DAY = "2021-03-10T01:00:00Z"


@dataclass
class Ctx:
    """What the steps share: the bench, its database, the working folder and the harness's files."""

    bench: Bench
    n: int
    workdir: Path
    chunk: int
    engine: Any = None
    agencies: list[Any] = field(default_factory=list)
    refs: list[tuple[str, int, str]] = field(default_factory=list)  # (voucher, agency index, service)
    paid: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    expiry_db: Path | None = None

    def harness(self, fn: Callable[[], Any]) -> Any:
        """Run harness work inside a step without counting it."""
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.bench.excluded_seconds += time.perf_counter() - t0


@dataclass(frozen=True)
class Step:
    """One timed step of the round: its name in the table, the function (returns rows), and whether it is
    an `advance` flow run (Prefect's overhead is the flow's wall time minus the time inside the stages)."""

    name: str
    run: Callable[[Ctx], int]
    flow: bool = False


def _face_fen(service: str) -> int:
    return {"consulting": 500_000, "training": 300_000, "information": 300_000}[service]


def _plan(n: int) -> dict[str, Any]:
    """A 2021 plan whose custody-voucher line holds every voucher (counting for both 40 % floors, local money
    1.2 × central, 三(二))."""
    total_fen = sum(_face_fen(SERVICES[i % len(SERVICES)]) for i in range(n))
    central = -(-total_fen * 10 // 22) // 100 * 100 + 100_000_00  # ≥ total / 2.2, whole yuan, ¥100,000 spare
    local = central * 12 // 10 + 100
    return {"year": YEAR,
            "receipt": [{"source": "central", "amount_yuan": fen_to_yuan_str(central), "reference": "中央财政（bench）"},
                        {"source": "municipal", "amount_yuan": fen_to_yuan_str(local), "reference": "市级配套（bench）"}],
            "line": [{"code": SCHEME, "name": "中小企业知识产权托管服务券", "tags": ["cluster_zone", "market_oriented"],
                      "central_yuan": fen_to_yuan_str(central), "local_yuan": fen_to_yuan_str(local), "scheme": SCHEME}]}


# --- the steps ------------------------------------------------------------------------------------------

def setup(ctx: Ctx) -> int:
    from flows import synthetic
    from flows.services import agencies, budget, payees, users
    from flows.services.setup import init
    from models.uow import unit_of_work

    with unit_of_work(ctx.engine) as s:
        init(ctx.engine, s, "admin", "yantai-2020")
        for name, role, org in (("li.review", "reviewer", "烟台市市场监管局"), ("wang.approve", "approver", "烟台市财政局"),
                                ("chen.finance", "finance", "烟台市财政局国库科"),
                                *((f"eval{j}", "evaluator", f"第三方评价机构{j}") for j in (1, 2))):
            users.create_user(s, "admin", name, [role], name, org)
        budget.load_plan(s, "admin", _plan(ctx.n), "plan-bench.toml")
        ctx.agencies = synthetic.agencies(AGENCIES)
        prices = [f"{svc}={2 * _face_fen(svc) // 100}" for svc in SERVICES]  # the scheduled price: 2 × face
        for i, ag in enumerate(ctx.agencies):
            users.create_user(s, "admin", f"agency{i}", ["agency"], f"{ag.name} 兑付专员", ag.uscc)
            agencies.apply(s, f"agency{i}", ag.uscc, ag.name, ag.office, ag.staff, True)
            agencies.accredit(s, "li.review", ag.uscc, prices)
            bank, account = synthetic.bank_of(ag.uscc, i)
            payees.set_agency_bank(s, "li.review", ag.uscc, bank, account)
    return 1


def applicant_import(ctx: Ctx) -> int:
    from flows import synthetic
    from flows.services import applicants
    from models.uow import unit_of_work

    content = ctx.harness(lambda: synthetic.applicants_csv(
        [replace(a, kind="enterprise", sme=True) for a in synthetic.applicants(ctx.n, YEAR)]))
    with unit_of_work(ctx.engine) as s:
        return applicants.import_applicants(s, "admin", content, "smes.csv")


def application_import(ctx: Ctx) -> int:
    from sqlalchemy import text

    from flows.services import applications
    from models.uow import unit_of_work

    def make() -> bytes:
        with ctx.engine.connect() as c:
            codes = c.execute(text("SELECT uscc FROM applicant ORDER BY id")).scalars().all()
        return ("applicant_uscc,service\n" + "".join(f"{c},{SERVICES[i % len(SERVICES)]}\n"
                                                     for i, c in enumerate(codes))).encode()

    content = ctx.harness(make)
    with unit_of_work(ctx.engine) as s:
        return len(applications.import_applications(s, "admin", SCHEME, content, "vouchers.csv"))


def intake(ctx: Ctx) -> int:
    from flows.prefect_flows import advance_flow

    return int(advance_flow(scheme=SCHEME, chunk=ctx.chunk)["intake"])


def finalize(ctx: Ctx) -> int:
    from flows.services import rounds
    from models.uow import unit_of_work

    os.environ["IPFUND_NOW"] = ISSUE_DAY
    with unit_of_work(ctx.engine) as s:
        r = rounds.finalize(s, "wang.approve", SCHEME, YEAR)
    ctx.harness(lambda: _after_issue(ctx))
    return int(sum(r["counts"].values()))


def _after_issue(ctx: Ctx) -> None:
    """The harness: the issued vouchers (which agency each goes to), and a copy of the database for the
    separate expiry run."""
    from sqlalchemy import text

    with ctx.engine.connect() as c:
        rows = c.execute(text("SELECT ref, data FROM application WHERE scheme = :s AND status = 'issued' ORDER BY id"),
                         {"s": SCHEME}).all()
    import json

    ctx.refs = [(ref, i % AGENCIES, json.loads(data)["service"]) for i, (ref, data) in enumerate(rows)]
    ctx.expiry_db = ctx.workdir / "expiry.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ctx.expiry_db}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(str(ctx.workdir / "bench.db"))
    dst = sqlite3.connect(str(ctx.expiry_db))
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _contract_fen(i: int, service: str) -> int:
    """Three in four contracts at the scheduled price (2 × face: the voucher covers its face value), one in
    four at 1.6 × face (it covers 0.8 × face, and 0.2 × face goes back to the line on confirmation)."""
    face = _face_fen(service)
    return 2 * face if i % 4 else face * 16 // 10


def contract(ctx: Ctx) -> int:
    from flows.services import voucher_bulk
    from models.uow import unit_of_work

    done = 0
    for start in range(0, len(ctx.refs), FILE_LINES):
        part = ctx.refs[start:start + FILE_LINES]
        content = ctx.harness(lambda part=part, start=start: (  # type: ignore[misc]
            "voucher,agency,amount_yuan\n" + "".join(
                f"{ref},{ctx.agencies[a].uscc},{fen_to_yuan_str(_contract_fen(start + i, svc))}\n"
                for i, (ref, a, svc) in enumerate(part))).encode())
        with unit_of_work(ctx.engine) as s:
            done += voucher_bulk.contract_file(s, "admin", content, f"contracts-{start // FILE_LINES + 1}.csv").vouchers
    return done


def _manifest(ctx: Ctx, agency: int) -> Path:
    """The agency's manifest and, next to it, each voucher's three evidence files (the contract, the SME's
    receipt for its share, the custody report), each its own content."""
    folder = ctx.workdir / "redemptions" / f"agency{agency}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "evidence").mkdir(parents=True)
    lines = ["voucher,amount_yuan,contract,receipt,deliverable"]
    png = b"\x89PNG\r\n\x1a\n"
    for ref, a, _svc in ctx.refs:
        if a != agency:
            continue
        (folder / "evidence" / f"{ref}-contract.pdf").write_bytes(b"%PDF-1.4\n% contract " + ref.encode())
        (folder / "evidence" / f"{ref}-receipt.png").write_bytes(png + b"receipt " + ref.encode())
        (folder / "evidence" / f"{ref}-report.pdf").write_bytes(b"%PDF-1.4\n% custody report " + ref.encode())
        lines.append(f"{ref},,evidence/{ref}-contract.pdf,evidence/{ref}-receipt.png,evidence/{ref}-report.pdf")
    path = folder / "redemptions.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def redeem(ctx: Ctx) -> int:
    from flows.cli.voucher_cmd import evidence_opener
    from flows.services import voucher_bulk
    from models.uow import unit_of_work

    os.environ["IPFUND_NOW"] = "2021-06-01T01:00:00Z"
    done = 0
    for agency in range(AGENCIES):
        path = ctx.harness(lambda agency=agency: _manifest(ctx, agency))  # type: ignore[misc]
        with unit_of_work(ctx.engine) as s:
            done += voucher_bulk.redeem_file(s, f"agency{agency}", path.read_bytes(), evidence_opener(path.parent),
                                             path.name).vouchers
    return done


def confirm(ctx: Ctx) -> int:
    from flows.services import voucher_bulk
    from models.uow import unit_of_work

    os.environ["IPFUND_NOW"] = "2021-06-08T01:00:00Z"
    done = 0
    for start in range(0, len(ctx.refs), FILE_LINES):
        part = ctx.refs[start:start + FILE_LINES]
        content = ctx.harness(lambda part=part: ("voucher\n" + "".join(f"{r}\n" for r, _, _ in part)).encode())  # type: ignore[misc]
        with unit_of_work(ctx.engine) as s:
            done += voucher_bulk.confirm_file(s, "admin", content, f"confirmations-{start // FILE_LINES + 1}.csv").vouchers
    return done


def review_check(ctx: Ctx) -> int:
    """The reviewer's check of each confirmed redemption: the reviewer's decision files (FILE_LINES lines
    each, one approval per voucher) through the real review path (`ipfund review decide-file`)."""
    from flows.services import review
    from models.uow import unit_of_work

    os.environ["IPFUND_NOW"] = "2021-06-10T01:00:00Z"
    done = 0
    for start in range(0, len(ctx.refs), FILE_LINES):
        part = ctx.refs[start:start + FILE_LINES]
        content = ctx.harness(lambda part=part: ("case,decision,reason\n" + "".join(  # type: ignore[misc]
            f"{ref},approve,\n" for ref, _a, _svc in part)).encode())
        with unit_of_work(ctx.engine) as s:
            done += review.decide_file(s, "li.review", content, f"decisions-{start // FILE_LINES + 1}.csv")
    return done


def assignment(ctx: Ctx) -> int:
    from flows.prefect_flows import advance_flow

    t = advance_flow(scheme=SCHEME, chunk=ctx.chunk)
    return int(t.get("assignment", 0) or 0) if isinstance(t.get("assignment"), int) else len(ctx.refs)


def scores(ctx: Ctx) -> int:
    """Both evaluators' score files (one row per voucher and criterion of the voucher's rubric, 10,000-row
    files) through the real upload path."""
    from flows.services import evaluation
    from flows.services.context import current_policy
    from models.uow import read_only, unit_of_work

    os.environ["IPFUND_NOW"] = "2021-06-15T01:00:00Z"
    with read_only(ctx.engine) as s:
        rubric = list(current_policy(s).value(f"{SCHEME}.rubric", __import__("datetime").date(2021, 6, 15)))
    rows = 0
    per_file = max(1, FILE_LINES // len(rubric))
    for ev in ("eval1", "eval2"):
        for start in range(0, len(ctx.refs), per_file):
            part = ctx.refs[start:start + per_file]
            content = ctx.harness(lambda part=part: ("application_id,criterion,score\n" + "".join(  # type: ignore[misc]
                f"{ref},{c},85\n" for ref, _a, _svc in part for c in rubric)).encode())
            with unit_of_work(ctx.engine) as s:
                evaluation.upload(s, ev, content, f"scores-{ev}-{start // per_file + 1}.csv")
            rows += len(part) * len(rubric)
    return rows


def grading(ctx: Ctx) -> int:
    from flows.prefect_flows import advance_flow

    t = advance_flow(scheme=SCHEME, chunk=ctx.chunk)
    return int(t.get("grading", 0) or 0) if isinstance(t.get("grading"), int) else len(ctx.refs)


def release(ctx: Ctx) -> int:
    from flows.services import payments
    from models.uow import unit_of_work

    os.environ["IPFUND_NOW"] = "2021-06-30T01:00:00Z"  # a settlement date (custody-voucher.settlement_dates)
    with unit_of_work(ctx.engine) as s:
        return len(payments.release(s, "chen.finance", SCHEME).released)


def pay(ctx: Ctx) -> int:
    from flows.prefect_flows import advance_flow

    out = ctx.workdir / "payments"
    shutil.rmtree(out, ignore_errors=True)
    t = advance_flow(scheme=SCHEME, chunk=ctx.chunk, out_dir=str(out))
    ctx.paid.update(t.get("payment") or {})
    return int(ctx.paid.get("count", 0))


def bank_ack(ctx: Ctx) -> int:
    import csv
    import io

    from flows.services import payments
    from models.uow import unit_of_work

    def make() -> bytes:
        lines = [",".join(payments.CONFIRM_COLUMNS)]
        k = 0
        for f in ctx.paid.get("files", []):
            for r in csv.DictReader(io.StringIO(Path(f).read_bytes().decode("utf-8-sig"))):
                k += 1
                lines.append(f"{r['idempotency_key']},paid,B{k},,{r['amount_fen']},{r['payee']},{r['bank_account']}")
        return ("\n".join(lines) + "\n").encode()

    content = ctx.harness(make)
    with unit_of_work(ctx.engine) as s:
        return int(payments.confirm(s, "chen.finance", content, "ack.csv")["paid"])


def check(ctx: Ctx) -> int:
    from flows.services.advance import run_check

    ctx.report["check"] = run_check()
    return len(ctx.report["check"]["checks"])


STEPS: list[Step] = [
    Step("set-up (users, plan, 10 agencies)", setup),
    Step("SME import", applicant_import),
    Step("voucher application import", application_import),
    Step("advance flow: intake", intake, flow=True),
    Step("finalize: vouchers issued", finalize),
    Step("contract files (platform operator)", contract),
    Step("redemption manifests (10 agencies)", redeem),
    Step("confirmation files", confirm),
    Step("reviewer's decision files", review_check),
    Step("advance flow: evaluator assignment", assignment, flow=True),
    Step("score files (2 evaluators)", scores),
    Step("advance flow: aggregation and grading", grading, flow=True),
    Step("payment release (finance officer)", release),
    Step("advance flow: payment", pay, flow=True),
    Step("bank acknowledgement", bank_ack),
    Step("invariant check", check),
]
"""The round's steps in order. A step between confirmed and payable (a reviewer's check, the third-party
evaluation) goes in before "payment release"."""


def expiry(ctx: Ctx) -> Stage:
    """The `advance` flow over the copy taken at issue, the day after the vouchers' use-by date: every
    voucher lapses, its commitment released. Measured on its own (not part of the round)."""
    from flows.prefect_flows import advance_flow
    from models.db import get_engine

    assert ctx.expiry_db is not None
    os.environ["IPFUND_DATABASE_URL"] = f"sqlite:///{ctx.expiry_db}"
    os.environ["IPFUND_NOW"] = "2021-09-11T01:00:00Z"  # use-by 2021-09-10 (6 months after 10 March)
    get_engine.cache_clear()
    out: dict[str, int] = {}
    ctx.bench.run("expiry flow (separate: N issued vouchers)",
                  lambda: out.setdefault("n", int(advance_flow(scheme=SCHEME, chunk=ctx.chunk)["expiry"])), flow=True)
    stage = ctx.bench.stages.pop()
    get_engine.cache_clear()
    os.environ["IPFUND_DATABASE_URL"] = f"sqlite:///{ctx.workdir / 'bench.db'}"
    return stage


def baseline_copy_seconds(source: Path, workdir: Path) -> float:
    """Time a plain SQLAlchemy Core script inserting the round's own rows into a fresh schema (same engine
    settings, 10,000-row executemany batches, one transaction), table by table in dependency order — the
    certification bench's baseline, with the real rows rather than generated ones (so every CHECK the
    voucher tables declare holds). Only the inserts and the commit are timed; reading the rows is not."""
    from sqlalchemy import select as sa_select
    from sqlmodel import SQLModel

    from models.db import make_engine

    path = workdir / "baseline.db"
    path.unlink(missing_ok=True)
    src = make_engine(f"sqlite:///{source}")
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    seconds = 0.0
    with src.connect() as read, engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            result = read.execution_options(stream_results=True).execute(sa_select(table))
            while batch := [dict(r._mapping) for r in result.fetchmany(10_000)]:
                t0 = time.perf_counter()
                conn.execute(table.insert(), batch)
                seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
    seconds += time.perf_counter() - t0  # the commit
    engine.dispose()
    src.dispose()
    path.unlink(missing_ok=True)
    return seconds


def run_voucher_bench(n: int, workdir: Path, chunk: int = 1000, steps: list[Step] | None = None,
                      with_expiry: bool = True) -> dict[str, Any]:
    from flows.bench import _count_rows, fresh_bench_db

    db = fresh_bench_db(workdir)
    from models.db import get_engine

    get_engine.cache_clear()
    ctx = Ctx(Bench(n), n, workdir, chunk, engine=get_engine())
    console.print(f"[bold]ipfund bench[/] --scheme {SCHEME}: {n:,} vouchers, SQLite {db}")
    api_start = start_prefect()
    round_t0 = time.perf_counter()
    for step in steps or STEPS:
        ctx.bench.run(step.name, lambda step=step: step.run(ctx), flow=step.flow)  # type: ignore[misc]
    round_seconds = time.perf_counter() - round_t0 - ctx.bench.excluded_total_seconds
    counts = _count_rows(ctx.engine)
    written = sum(counts.values())
    separate = []
    if with_expiry and ctx.expiry_db is not None:
        gc.collect()
        separate.append(expiry(ctx))
        ctx.engine.dispose()
    console.print("  baseline: plain SQLAlchemy Core writing the same rows ...")
    base = baseline_copy_seconds(db, workdir)
    print_table(ctx.bench.stages, f"ipfund bench --scheme {SCHEME} — {n:,} vouchers (SQLite, {os.cpu_count()} cores)",
                round_seconds, written, separate)
    return summarize(ctx, SCHEME, {"vouchers": n}, round_seconds, counts, base, api_start,
                     {"expiry_seconds": round(separate[0].seconds, 2) if separate else None,
                      "expired": separate[0].rows if separate else None, "settled": counts.get("payment", 0)})


def start_prefect() -> float:
    """Import Prefect and start its ephemeral API (one-off, not counted); its seconds."""
    t_api = time.perf_counter()
    from flows.prefect_flows import noop_flow

    noop_flow()
    api_start = time.perf_counter() - t_api
    console.print(f"  Prefect import + ephemeral API start: {api_start:.1f} s (one-off, not counted)")
    return api_start


def summarize(ctx: Ctx, scheme: str, head: dict[str, Any], round_seconds: float, counts: dict[str, int],
              base: float, api_start: float, tail: dict[str, Any]) -> dict[str, Any]:
    """A scheme bench's summary (printed, and returned for --json): the round, the rows, the baseline ratio,
    Prefect's overhead, memory, each step, the scheme's own figures and the check."""
    b = ctx.bench
    flow_wall = sum(s.seconds for s in b.stages if s.task_seconds is not None)
    flow_tasks = sum(s.task_seconds or 0 for s in b.stages)
    written = sum(counts.values())
    summary: dict[str, Any] = {
        "scheme": scheme,
        **head,
        "round_seconds": round(round_seconds, 2),
        "rows_written": written,
        "baseline_seconds": round(base, 2),
        "ratio_to_baseline": round(round_seconds / base, 2) if base else None,
        "prefect_api_start_seconds": round(api_start, 1),
        "harness_seconds_not_counted": round(b.excluded_total_seconds, 1),
        "prefect_overhead_seconds": round(flow_wall - flow_tasks, 2),
        "peak_memory_mb": max(s.peak_kib for s in b.stages) // 1024,
        "largest_stage_growth_mb": max(s.growth_kib for s in b.stages) // 1024,
        "steps": {s.name: {"seconds": round(s.seconds, 2), "rows": s.rows, "growth_mb": s.growth_kib // 1024}
                  for s in b.stages},
        **tail,
        "check_ok": ctx.report.get("check", {}).get("ok"),
    }
    for k, v in summary.items():
        if k != "steps":
            console.print(f"  {k:<28} {v}")
    return summary
