"""`ipfund bench --applications N`: a full certification round at scale, through the real flows and
services, with per-stage wall time, rows per second, peak memory, Prefect's own overhead, and a
plain SQLAlchemy Core baseline writing the same rows.

Run it in an empty directory (it creates ./bench.db) or pass --dir.
"""

from __future__ import annotations

import gc
import os
import resource
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from flows.cli.common import console

SCHEME = "certification-award"
FIRMS = ["烟台正信知识产权评估事务所", "山东知衡认证评价中心", "青岛华智第三方评价有限公司"]
EVALUATORS_PER_FIRM = 4
UPLOAD_ROWS = 10_000  # evaluators upload their sheets in files of this many rows


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int
    task_seconds: float | None = None  # time spent inside the stage functions (flow stages)
    peak_kib: int = 0  # the kernel's figures are whole KiB
    start_kib: int = 0  # resident memory when the stage began: peak - start is what the stage itself took

    @property
    def growth_kib(self) -> int:
        return max(0, self.peak_kib - self.start_kib)


@dataclass
class Bench:
    n: int
    stages: list[Stage] = field(default_factory=list)
    excluded_seconds: float = 0.0  # wall clock of harness work inside a stage (filling in sheets): not counted
    excluded_total_seconds: float = 0.0  # wall-clock, summed over stages

    def run(self, name: str, fn: Callable[[], int], flow: bool = False) -> int:
        from flows.services import advance

        gc.collect()
        reset_peak()
        start_kib = _status_kib("VmRSS:")
        advance.TASK_SECONDS[0] = 0.0
        self.excluded_seconds = 0.0
        t0 = time.perf_counter()
        rows = fn()
        dt = time.perf_counter() - t0 - self.excluded_seconds
        self.excluded_total_seconds += self.excluded_seconds
        self.stages.append(Stage(name, dt, rows, advance.TASK_SECONDS[0] if flow else None, peak_kib(), start_kib))
        console.print(f"  {name:<34} {dt:8.2f} s  {rows:>9,} rows")
        return rows


def reset_peak() -> None:
    """Start a new peak-memory window (Linux: writing 5 to clear_refs resets the process's VmHWM), so
    each stage reports its own peak rather than the highest of everything before it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_kib() -> int:
    """Peak resident memory (KiB) since the last reset_peak(), or of the whole process where the
    window cannot be reset."""
    return _status_kib("VmHWM:") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _status_kib(field: str) -> int:
    """A memory figure of /proc/self/status in KiB (0 where there is none)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _mib(kib: int) -> str:
    return f"{kib // 1024:,}"


def print_table(stages: list[Stage], title: str, round_seconds: float, written: int,
                extra: list[Stage] | None = None) -> None:
    """The benchmark's table: per stage wall time, rows, rows/s, peak memory and the stage's own growth,
    then the round end to end (and, below it, stages measured on their own)."""
    t = Table(title=title)
    for c in ("stage", "wall s", "rows", "rows/s", "peak MB", "+MB"):
        t.add_column(c, justify="left" if c == "stage" else "right")

    def row(s_: Stage) -> None:
        t.add_row(s_.name, f"{s_.seconds:.2f}", f"{s_.rows:,}", f"{s_.rows / s_.seconds:,.0f}" if s_.seconds else "",
                  _mib(s_.peak_kib), _mib(s_.growth_kib))

    for s_ in stages:
        row(s_)
    t.add_row("[bold]round, end to end[/]", f"[bold]{round_seconds:.2f}[/]", f"{written:,} written",
              f"{written / round_seconds:,.0f}", _mib(max(s_.peak_kib for s_ in stages)),
              _mib(max(s_.growth_kib for s_ in stages)))
    for s_ in extra or []:
        row(s_)
    console.print(t)


def _count_rows(engine: Any) -> dict[str, int]:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    with engine.connect() as c:
        return {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in SQLModel.metadata.tables}


# On PostgreSQL (`ipfund bench --database-url`) the bench makes its own databases on that server, dropped
# and created afresh each run; the URL's own database is never touched.
BENCH_DATABASE = "ipfund_bench"
BASELINE_DATABASE = "ipfund_bench_baseline"


def fresh_pg_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the PostgreSQL server of ``server_url``; the new database's URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from models.db import make_engine

    url = make_url(server_url)
    if not url.get_backend_name().startswith("postgresql"):
        raise ValueError(f"--database-url {server_url!r}: the bench runs on SQLite (the default) or PostgreSQL")
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def database_label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def baseline_seconds(counts: dict[str, int], workdir: Path, database_url: str | None = None) -> float:
    """Time a plain SQLAlchemy Core script inserting the same number of rows into every table (same
    schema, same engine settings, 10,000-row executemany batches) — the floor ipfund is compared to; on
    the same database server as the bench (a database of its own on PostgreSQL)."""
    from sqlalchemy import Integer
    from sqlmodel import SQLModel

    from models.db import make_engine

    path = workdir / "baseline.db"
    path.unlink(missing_ok=True)
    engine = make_engine(fresh_pg_database(database_url, BASELINE_DATABASE) if database_url
                         else f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    tables = SQLModel.metadata.sorted_tables
    seconds = 0.0  # only the database writes are timed; building the rows in Python is not
    with engine.begin() as conn:
        for table in tables:
            n = counts.get(table.name, 0)
            if not n:
                continue
            for start in range(0, n, 10_000):
                rows = []
                for i in range(start, min(n, start + 10_000)):
                    row: dict[str, Any] = {}
                    for c in table.columns:
                        if c.primary_key and isinstance(c.type, Integer) and table.name != "audit_event":
                            continue
                        row[c.name] = _value(table.name, c, i, counts)
                    rows.append(row)
                t0 = time.perf_counter()
                conn.execute(table.insert(), rows)
                seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
    seconds += time.perf_counter() - t0  # the commit
    engine.dispose()
    path.unlink(missing_ok=True)
    return seconds


def _value(table: str, c: Any, i: int, counts: dict[str, int]) -> Any:
    """A value that satisfies the column's constraints (the baseline writes, it does not validate)."""
    from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary

    name = c.name
    if isinstance(c.type, LargeBinary):
        return f"%PDF-1.4 {table}-{name}-{i:012d}".encode()
    if table in ("application", "scheme_state") and name in ("scheme", "status", "state"):
        # application (scheme, status) references scheme_state: every case in one declared state
        if table == "scheme_state":
            return "certification-award" if name == "scheme" else ("submitted" if i == 0 else f"state-{i}")
        return "certification-award" if name == "scheme" else "submitted"
    if c.foreign_keys:
        ref = next(iter(c.foreign_keys)).column.table.name
        return i % max(1, counts.get(ref, 1)) + 1
    if isinstance(c.type, Boolean):
        return name == "active" and False
    if isinstance(c.type, Integer | BigInteger):
        if name.endswith("_fen") or name in ("seq", "rows", "changed", "count", "run", "score_tenths"):
            return i + 1 if name != "score_tenths" else 800
        return i + 1
    special = {"status": {"application": "submitted", "payment": "failed"}.get(table, "x"),
               "kind": "enterprise" if table == "applicant" else "x", "source": "central",
               "decision": "approve", "uscc": f"{i:018d}", "key": f"k{i}", "settlement_mode": "agency"}
    if name in special:
        return special[name]
    if name.endswith("_at") or name == "at":
        return "2021-03-01T01:00:00.000000Z"
    value = f"{name}-{i:012d}"
    length = getattr(c.type, "length", None)  # PostgreSQL enforces VARCHAR(n); SQLite does not
    return value if length is None or len(value) <= length else f"{i:0{length}d}"[-length:]


def fresh_bench_db(workdir: Path, database_url: str | None = None) -> Path:
    """A new, empty bench database — a file in ``workdir`` (its file, WAL and checkpoints removed), or with
    ``database_url`` the database ``ipfund_bench`` made afresh on that PostgreSQL server — made the
    configured database of this process, the clock pinned to the bench's start; the file's path (on
    PostgreSQL the path where the checkpoints go, without its suffix)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["IPFUND_DATABASE_URL"] = (fresh_pg_database(database_url, BENCH_DATABASE) if database_url
                                         else f"sqlite:///{db}")
    # Signed audit checkpoints (when an audit key is configured) of this bench database only, fresh each run.
    os.environ["IPFUND_CHECKPOINTS"] = f"{db}.checkpoints"
    shutil.rmtree(f"{db}.checkpoints", ignore_errors=True)
    os.environ["IPFUND_NOW"] = "2021-03-01T01:00:00Z"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    return db


def run_bench(n: int, workdir: Path, chunk: int = 1000, database_url: str | None = None) -> dict[str, Any]:
    from sqlalchemy import select as sa_select

    db = fresh_bench_db(workdir, database_url)
    label = database_label(os.environ["IPFUND_DATABASE_URL"])
    where = f"{label} {BENCH_DATABASE} on {database_url.rsplit('@', 1)[-1]}" if database_url else f"{label} {db}"
    from flows import synthetic
    from flows.services import applicants as applicants_svc
    from flows.services import applications, budget, evaluation, payments, review, rounds, users
    from flows.services.advance import run_check
    from flows.services.setup import init
    from models.db import get_engine
    from models.tables import Applicant, Application
    from models.uow import read_only, unit_of_work

    get_engine.cache_clear()
    engine = get_engine()
    b = Bench(n)
    console.print(f"[bold]ipfund bench[/]: {n:,} applicants and applications, {where}")
    t_api = time.perf_counter()
    from flows.prefect_flows import advance_flow, noop_flow

    noop_flow()
    api_start = time.perf_counter() - t_api
    console.print(f"  Prefect import + ephemeral API start: {api_start:.1f} s (one-off, not counted)")
    round_t0 = time.perf_counter()

    def setup() -> int:
        with unit_of_work(engine) as s:
            init(engine, s, "admin", "yantai-2020")
            for name, role in (("li.review", "reviewer"), ("zhao.review", "reviewer"), ("wang.approve", "approver"),
                               ("chen.finance", "finance")):
                users.create_user(s, "admin", name, [role], name, "烟台市财政局")
            for i, firm in enumerate(FIRMS):
                for j in range(EVALUATORS_PER_FIRM):
                    users.create_user(s, "admin", f"eval{i + 1}.{j + 1}", ["evaluator"], f"{firm}{j + 1}", firm)
            plan = Path(__file__).resolve().parents[1] / "examples" / "plan-2021.toml"
            budget.load_plan(s, "admin", tomllib.loads(plan.read_text(encoding="utf-8")), plan.name)
        return 1

    b.run("set-up (schema, users, plan)", setup)
    # The harness's synthetic files are made before the stages that read them and dropped after, so
    # each stage's peak memory is ipfund's (plus the file being imported) rather than the generator's.
    pool = synthetic.applicants(n, 2021)
    quality = {a.uscc: a.quality_permille for a in pool}
    files = {"applicants.csv": synthetic.applicants_csv(pool),
             "applications.csv": synthetic.applications_csv(synthetic.applications(pool, n, 2021, flawed=True))}
    del pool
    gc.collect()

    def import_applicants() -> int:
        with unit_of_work(engine) as s:
            return applicants_svc.import_applicants(s, "admin", files.pop("applicants.csv"), "applicants.csv")

    b.run("applicant import", import_applicants)

    def import_apps() -> int:
        with unit_of_work(engine) as s:
            return len(applications.import_applications(s, "admin", SCHEME, files.pop("applications.csv"),
                                                        "applications.csv"))

    b.run("application import", import_apps)
    b.run("advance flow: intake", lambda: advance_flow(scheme=SCHEME, chunk=chunk)["intake"], flow=True)

    def decide() -> int:
        done = 0
        for reviewer in ("li.review", "zhao.review"):
            while True:
                with read_only(engine) as s:
                    q = review.queue(s, reviewer, limit=5000)
                if not q:
                    break
                with unit_of_work(engine) as s:
                    done += review.decide_batch(s, reviewer, [(x["ref"], "approve", "材料齐全") for x in q])
                if reviewer == "li.review" and done >= n // 2:
                    break
        return done

    b.run("review decisions (2 reviewers)", decide)
    b.run("advance flow: assignment", lambda: advance_flow(scheme=SCHEME, chunk=chunk)["assignment"], flow=True)

    def scores() -> int:
        total = 0
        evaluators = [f"eval{i + 1}.{j + 1}" for i in range(len(FIRMS)) for j in range(EVALUATORS_PER_FIRM)]
        g0 = time.perf_counter()
        with read_only(engine) as s:  # the evaluators' view of each case's quality (harness data)
            a, p = Application.__table__, Applicant.__table__  # type: ignore[attr-defined]
            ref_q = {ref: quality.get(uscc, 500) for ref, uscc in s.execute(
                sa_select(a.c.ref, p.c.uscc).join(p, p.c.id == a.c.applicant_id)
                .where(a.c.scheme == SCHEME, a.c.status == "evaluation"))}
        b.excluded_seconds += time.perf_counter() - g0
        for ev in evaluators:
            with read_only(engine) as s:
                tpl = evaluation.template(s, ev, "csv").decode("utf-8-sig").splitlines()[1:]
            g0 = time.perf_counter()  # the evaluator filling in the sheet: not ipfund's time
            pairs = [(line.split(",")[0], line.split(",")[1]) for line in tpl]
            filled = synthetic.fill_scores(pairs, ref_q, ev)
            step = UPLOAD_ROWS - UPLOAD_ROWS % 4  # whole cases per file (4 criteria)
            files = [synthetic.scores_csv(filled[i:i + step]) for i in range(0, len(filled), step)]
            b.excluded_seconds += time.perf_counter() - g0
            for i, content in zip(range(0, len(filled), step), files, strict=True):
                t0 = time.perf_counter()
                with unit_of_work(engine) as s:
                    total += evaluation.upload(s, ev, content, f"{ev}-{i // step}.csv").rows
                UPLOAD_TIMES.append((min(step, len(filled) - i), time.perf_counter() - t0))
        return total

    b.run("score uploads (generated files)", scores)
    b.run("advance flow: aggregation", lambda: advance_flow(scheme=SCHEME, chunk=chunk)["aggregation"], flow=True)
    os.environ["IPFUND_NOW"] = "2021-05-10T01:00:00Z"

    def finalize() -> int:
        with unit_of_work(engine) as s:
            r = rounds.finalize(s, "wang.approve", SCHEME, 2021, allow_pending=True)
        return sum(r["counts"].values())

    b.run("ranking + finalize", finalize)
    os.environ["IPFUND_NOW"] = "2021-05-25T01:00:00Z"
    out = workdir / "payments"
    shutil.rmtree(out, ignore_errors=True)
    paid: dict[str, Any] = {}

    b.run("advance flow: notice expiry", lambda: int(advance_flow(scheme=SCHEME, chunk=chunk)["notice_expiry"]),
          flow=True)

    def release() -> int:
        with unit_of_work(engine) as s:
            return len(payments.release(s, "chen.finance", SCHEME).released)

    b.run("payment release (finance officer)", release)

    def pay() -> int:
        t = advance_flow(scheme=SCHEME, chunk=chunk, out_dir=str(out))
        paid.update(t.get("payment") or {})
        return int(paid.get("count", 0))

    b.run("advance flow: payment", pay, flow=True)

    def confirm() -> int:
        import csv
        import io

        path = Path(paid["files"][0])
        sent = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        ack = ",".join(payments.CONFIRM_COLUMNS) + "\n" + "".join(
            f"{r['idempotency_key']},paid,B{i},,{r['amount_fen']},{r['payee']},{r['bank_account']}\n"
            for i, r in enumerate(sent))
        with unit_of_work(engine) as s:
            c = payments.confirm(s, "chen.finance", ack.encode(), "ack.csv")
        return int(c["paid"])

    b.run("bank confirmation", confirm)
    report: dict[str, Any] = {}
    b.run("invariant check", lambda: len(report.setdefault("check", run_check())["checks"]))
    round_seconds = time.perf_counter() - round_t0 - b.excluded_total_seconds
    counts = _count_rows(engine)
    written = sum(counts.values())
    console.print("  baseline: plain SQLAlchemy Core writing the same rows ...")
    base = baseline_seconds(counts, workdir, database_url)
    flow_wall = sum(s.seconds for s in b.stages if s.task_seconds is not None)
    flow_tasks = sum(s.task_seconds or 0 for s in b.stages)
    prefect_overhead = flow_wall - flow_tasks
    upload_rate = (sum(r for r, _ in UPLOAD_TIMES) / sum(t for _, t in UPLOAD_TIMES)) if UPLOAD_TIMES else 0.0

    print_table(b.stages, f"ipfund bench — {n:,} applications ({label}, {os.cpu_count()} cores)", round_seconds,
                written)
    summary = {
        "applications": n,
        "database": label,
        "round_seconds": round(round_seconds, 2),
        "rows_written": written,
        "baseline_seconds": round(base, 2),
        "ratio_to_baseline": round(round_seconds / base, 2) if base else None,
        "prefect_api_start_seconds": round(api_start, 1),
        "harness_seconds_not_counted": round(b.excluded_total_seconds, 1),
        "prefect_overhead_seconds": round(prefect_overhead, 2),
        "prefect_overhead_share": round(prefect_overhead / round_seconds, 4),
        "peak_memory_mb": max(s_.peak_kib for s_ in b.stages) // 1024,
        "largest_stage_growth_mb": max(s_.growth_kib for s_ in b.stages) // 1024,
        "upload_rows_per_second": round(upload_rate),
        "seconds_per_10k_row_upload": round(10_000 / upload_rate, 2) if upload_rate else None,
        "check_ok": report["check"]["ok"],
    }
    for k, v in summary.items():
        console.print(f"  {k:<28} {v}")
    return summary


UPLOAD_TIMES: list[tuple[int, float]] = []
