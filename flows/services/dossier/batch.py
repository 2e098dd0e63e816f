"""Many case dossiers at once, in parallel processes, and the render benchmark."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows.services.dossier.common import ChainStatus, chain_status
from flows.services.dossier.rendering import build_case, build_year, page_count, render
from models.tables import Application


def case_refs(session: Session, year: int, scheme: str | None = None) -> list[str]:
    q = select(Application.ref).where(Application.year == year)
    if scheme:
        q = q.where(Application.scheme == scheme)
    return list(session.exec(q.order_by(col(Application.id))).all())


@dataclass(frozen=True)
class RenderedFile:
    ref: str
    path: str
    number: str
    sha256: str
    data_sha256: str
    created: str
    pages: int
    seconds: float
    manifest: dict[str, str]
    anchor_seq: int | None
    anchor_hash: str | None


_WORKER: dict[str, Any] = {}


def _worker_init(url: str, chain: ChainStatus | None) -> None:
    from models.db import get_engine

    os.environ["IPFUND_DATABASE_URL"] = url
    get_engine.cache_clear()
    _WORKER["engine"] = get_engine(url)
    _WORKER["chain"] = chain


def render_case_file(ref: str, out_dir: str, chain: ChainStatus | None = None, engine: Any = None) -> RenderedFile:
    """Build, render and write one case dossier as ``out_dir/<REF>.pdf`` (written atomically)."""
    from models.uow import read_only

    started = time.perf_counter()
    with read_only(engine or _WORKER.get("engine")) as s:
        d = build_case(s, ref, chain if chain is not None else _WORKER.get("chain"))
    result = render(d)
    path = Path(out_dir) / f"{d.key}.pdf"
    tmp = path.with_suffix(".pdf.tmp")
    tmp.write_bytes(result.pdf)
    tmp.replace(path)
    chain_data = d.data.get("chain") or {}
    return RenderedFile(d.key, str(path), d.number, result.sha256, d.data_sha256, d.created, page_count(result.pdf),
                        time.perf_counter() - started, result.manifest, chain_data.get("seq"), chain_data.get("hash"))


def _render_in_worker(ref: str, out_dir: str) -> RenderedFile:
    return render_case_file(ref, out_dir)


def render_many(url: str, refs: list[str], out_dir: str, jobs: int | None = None, chain: ChainStatus | None = None,
                on_done: Callable[[RenderedFile], None] | None = None) -> list[RenderedFile]:
    """Render case dossiers in parallel, one process per core (ProcessPoolExecutor)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(refs) or 1))
    results: dict[str, RenderedFile] = {}
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                             initargs=(url, chain)) as pool:
        futures = [pool.submit(_render_in_worker, ref, out_dir) for ref in refs]
        for fut in as_completed(futures):
            r = fut.result()
            results[r.ref] = r
            if on_done is not None:
                on_done(r)
    return [results[r] for r in refs]


# Issue 16: a city year's 2,000 case dossiers in <= 10 minutes on this 2-core machine.
PROJECTED_CASES = 2000
TARGET_SECONDS = 600


def benchmark(url: str, refs: list[str], out_dir: str, jobs: int | None = None, sequential: int = 4,
              ) -> dict[str, Any]:
    """Render ``sequential`` dossiers on one core, then all ``refs`` on ``jobs`` cores; return rates."""
    from models.db import get_engine
    from models.uow import read_only

    engine = get_engine(url)
    with read_only(engine) as s:
        chain = chain_status(s)
    jobs = max(1, jobs or os.cpu_count() or 1)
    t0 = time.perf_counter()
    one = [render_case_file(ref, out_dir, chain, engine) for ref in refs[:sequential]]
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    many = render_many(url, refs, out_dir, jobs, chain)
    t_many = time.perf_counter() - t0
    pages_one = sum(r.pages for r in one)
    pages_many = sum(r.pages for r in many)
    projected = PROJECTED_CASES * t_many / len(many) if many and t_many else None
    return {
        "projection": {"cases": PROJECTED_CASES, "target_seconds": TARGET_SECONDS,
                       "seconds": round(projected, 1) if projected is not None else None,
                       "meets_target": projected is not None and projected <= TARGET_SECONDS},
        "cores": jobs,
        "sequential": {"dossiers": len(one), "pages": pages_one, "seconds": round(t_one, 3),
                       "pages_per_second": round(pages_one / t_one, 2) if t_one else None,
                       "dossiers_per_minute": round(len(one) / t_one * 60, 1) if t_one else None},
        "parallel": {"dossiers": len(many), "pages": pages_many, "seconds": round(t_many, 3),
                     "pages_per_second_per_core": round(pages_many / t_many / jobs, 2) if t_many else None,
                     "dossiers_per_minute": round(len(many) / t_many * 60, 1) if t_many else None},
    }


def year_benchmark(url: str, year: int) -> dict[str, Any]:
    """Build and render the year dossier once: its cases (the roster's rows), pages, and the seconds
    spent reading the data (with the chain walk) and laying it out as PDF."""
    from models.db import get_engine
    from models.uow import read_only

    t0 = time.perf_counter()
    with read_only(get_engine(url)) as s:
        d = build_year(s, year)
    t_data = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = render(d)
    t_render = time.perf_counter() - t0
    return {"year": year, "cases": sum(len(r["cases"]) for r in d.data["roster"]), "pages": page_count(result.pdf),
            "data_seconds": round(t_data, 2), "render_seconds": round(t_render, 2),
            "seconds": round(t_data + t_render, 2), "bytes": len(result.pdf)}
