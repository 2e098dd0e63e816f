"""Dossier rendering benchmark: pages per second per core and dossiers per minute.

    .venv/bin/python tests/bench/bench_dossier.py                 # builds a sample round first
    .venv/bin/python tests/bench/bench_dossier.py --applications 60 --jobs 2
    .venv/bin/python tests/bench/bench_dossier.py --db sqlite:////tmp/dx/ipfund.db   # e.g. `ipfund demo`'s

(`ipfund dossier bench` runs the same measurement on the current database.) Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="Database URL to read (default: build a sample round in a temp dir)")
    parser.add_argument("--applications", type=int, default=40, help="Applications in the built sample round")
    parser.add_argument("--cases", type=int, default=None, help="Render only the first N cases")
    parser.add_argument("--jobs", type=int, default=None, help="Worker processes (default: all cores)")
    parser.add_argument("--sequential", type=int, default=4, help="Dossiers rendered on one core first")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON")
    args = parser.parse_args(argv)

    from sqlalchemy import func
    from sqlmodel import select

    from flows.services import dossier
    from models.db import make_engine
    from models.tables import Application
    from models.uow import read_only
    from tests.bench.sample_round import build

    with tempfile.TemporaryDirectory(prefix="ipfund-bench-") as tmp:
        url = args.db
        if url is None:
            started = time.perf_counter()
            url = build(Path(tmp) / "db", n_applicants=max(40, args.applications * 2),
                        n_applications=args.applications).url
            print(f"built a sample round of {args.applications} applications in "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        engine = make_engine(url)
        with read_only(engine) as s:
            year = s.exec(select(func.max(Application.year))).one() or 2021
            refs = dossier.case_refs(s, year)
        engine.dispose()
        refs = refs[: args.cases] if args.cases else refs
        out = Path(tmp) / "pdf"
        out.mkdir()
        result = dossier.benchmark(url, refs, str(out), args.jobs, args.sequential)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    one, many = result["sequential"], result["parallel"]
    print(f"one core : {one['dossiers']} dossiers, {one['pages']} pages in {one['seconds']} s — "
          f"{one['pages_per_second']} pages/s per core, {one['dossiers_per_minute']} dossiers/min")
    print(f"{result['cores']} core(s): {many['dossiers']} dossiers, {many['pages']} pages in {many['seconds']} s — "
          f"{many['pages_per_second_per_core']} pages/s per core, {many['dossiers_per_minute']} dossiers/min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
