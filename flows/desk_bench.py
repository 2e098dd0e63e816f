"""`ipfund bench --desk`: the desk under load on a large database. N certification applications are
imported and taken through intake (so every one waits in the reviewers' queue), the desk is served by
uvicorn in its own process on loopback, and U signed-in reviewers request, each in turn, the queue page,
a case page and the dashboard, R times each, pausing a think time between requests (0.5–1.5 × T: people
read a page before the next click; ``--think 0`` is a saturation test). It prints the latency of each page (p50, p95, max) and the
throughput, measured by the clients. A benchmark, not a timed test: these machines are noisy (±30 %)."""

from __future__ import annotations

import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

from rich.table import Table

from flows.cli.common import console

SCHEME = "certification-award"
PASSWORD = "desk-bench-2021"
PAGES = ("queue", "case", "dashboard")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(n: int, users: int, workdir: Path) -> Path:
    """The bench database: N applications in formal review, ``users`` reviewers with desk passwords."""
    from flows import synthetic
    from flows.bench import fresh_bench_db
    from flows.services import applicants as applicants_svc
    from flows.services import applications, budget, desk_auth
    from flows.services import users as users_svc
    from flows.services.advance import run_stage
    from flows.services.setup import init
    from models.db import get_engine
    from models.uow import unit_of_work

    db = fresh_bench_db(workdir)
    get_engine.cache_clear()
    engine = get_engine()
    with unit_of_work(engine) as s:
        init(engine, s, "admin", "yantai-2020")
        plan = Path(__file__).resolve().parents[1] / "examples" / "plan-2021.toml"
        budget.load_plan(s, "admin", tomllib.loads(plan.read_text(encoding="utf-8")), plan.name)
        for i in range(users):
            name = f"rev{i + 1:02d}"
            users_svc.create_user(s, "admin", name, ["reviewer"], name, "烟台市市场监管局")
            desk_auth.set_password(s, "admin", name, PASSWORD)
    pool = synthetic.applicants(n, 2021)
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(pool), "applicants.csv")
    with unit_of_work(engine) as s:
        applications.import_applications(s, "admin", SCHEME, synthetic.applications_csv(
            synthetic.applications(pool, n, 2021)), "applications.csv")
    after = 0
    while True:
        done, after = run_stage("intake", SCHEME, 5000, after)
        if done == 0:
            break
    return db


class _Client(threading.Thread):
    def __init__(self, base: str, name: str, rounds: int, refs: list[str], seed: int, think: float) -> None:
        super().__init__(daemon=True)
        self.base, self.name, self.rounds, self.refs, self.think = base, name, rounds, refs, think
        self.rng = random.Random(seed)
        self.times: dict[str, list[float]] = {p: [] for p in PAGES}
        self.errors: list[str] = []

    def run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, follow_redirects=False, timeout=60) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token is not None
            r = c.post("/login", data={"name": self.name, "password": PASSWORD, "csrf": token.group(1), "next": "/"})
            if r.status_code != 303:
                self.errors.append(f"{self.name}: sign-in {r.status_code}")
                return
            for _ in range(self.rounds):
                for what, path in (("queue", "/review"), ("case", f"/review/case/{self.rng.choice(self.refs)}"),
                                   ("dashboard", "/dashboard")):
                    if self.think:  # a person reads the page before the next click: 0.5–1.5 × the think time
                        threading.Event().wait(self.think * (0.5 + self.rng.random()))
                    t0 = time.perf_counter()
                    r = c.get(path)
                    self.times[what].append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        self.errors.append(f"{self.name} {path}: {r.status_code}")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_desk_bench(n: int, users: int, rounds: int, workdir: Path, think: float = 1.0) -> dict[str, Any]:
    from models.db import get_engine
    from models.uow import read_only

    console.print(f"[bold]ipfund bench --desk[/]: {n:,} applications in review, {users} signed-in reviewers, "
                  f"{rounds} rounds of queue + case + dashboard each, {think:g} s think time between requests")
    t0 = time.perf_counter()
    db = build(n, users, workdir)
    console.print(f"  database built in {time.perf_counter() - t0:.1f} s ({db})")
    from flows.services import review

    with read_only(get_engine()) as s:
        refs = [q["ref"] for q in review.queue(s, "rev01", limit=500)]
    port = _free_port()
    env = {**os.environ, "IPFUND_DATABASE_URL": f"sqlite:///{db}"}
    server = subprocess.Popen([sys.executable, "-c", f"from flows.desk.serve import serve; serve(port={port}, "
                               "log_level='warning')"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/login", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the desk did not start") from None
                threading.Event().wait(0.1)
        clients = [_Client(base, f"rev{i + 1:02d}", rounds, refs, i, think) for i in range(users)]
        t1 = time.perf_counter()
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        wall = time.perf_counter() - t1
    finally:
        server.terminate()
        server.wait(timeout=20)
    errors = [e for c in clients for e in c.errors]
    table = Table(title=f"desk under load: {n:,} cases, {users} users, {think:g} s think time, SQLite, one "
                        "uvicorn worker")
    for col in ("page", "requests", "p50 ms", "p95 ms", "max ms"):
        table.add_column(col, justify="right" if col != "page" else "left")
    pages: dict[str, Any] = {}
    for p in PAGES:
        ts = [t for c in clients for t in c.times[p]]
        pages[p] = {"requests": len(ts), "p50_ms": round(statistics.median(ts) * 1000, 1) if ts else None,
                    "p95_ms": round(_pct(ts, 0.95) * 1000, 1), "max_ms": round(max(ts, default=0) * 1000, 1)}
        table.add_row(p, str(len(ts)), str(pages[p]["p50_ms"]), str(pages[p]["p95_ms"]), str(pages[p]["max_ms"]))
    console.print(table)
    total = sum(v["requests"] for v in pages.values())
    console.print(f"  {total} requests in {wall:.1f} s ({total / wall:.1f} req/s); errors: {len(errors)}")
    for e in errors[:10]:
        console.print(f"  [red]{e}[/]")
    return {"cases": n, "users": users, "rounds": rounds, "think_s": think, "pages": pages, "wall_s": round(wall, 2),
            "requests_per_s": round(total / wall, 1) if wall else None, "errors": errors}
