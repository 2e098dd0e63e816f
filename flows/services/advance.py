"""The stages the `advance` flow runs, as plain functions over one unit of work each.

Every stage is idempotent and advances *every* case that is ready, `chunk` cases per call; the flow
calls a stage again while it keeps returning a full chunk. A stage returns (cases done, last case id
examined) and the next call of the same run starts after that id: cases a call looked at and left
(not ready, or staffed but still in evaluation) are not scanned again, so a run is linear in the
round's size, not quadratic. The next run starts from the beginning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flows.services import applications, checker, evaluation, notice, payments, review
from flows.services.context import SYSTEM_ACTOR
from models import audit, faults
from models.uow import read_only, retrying, unit_of_work

StageFn = Callable[..., tuple[int, int]]

STAGES: dict[str, StageFn] = {
    "intake": applications.intake_stage,
    "decisions": review.apply_decisions_stage,
    "assignment": evaluation.assignment_stage,
    "aggregation": evaluation.aggregation_stage,
    "notice_expiry": notice.expiry_stage,
}


TASK_SECONDS = [0.0]  # time spent inside stage functions (the benchmark subtracts it to get Prefect's overhead)


def _timed(fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        TASK_SECONDS[0] += time.perf_counter() - t0


def run_stage(stage: str, scheme: str, chunk: int = 1000, after_id: int = 0) -> tuple[int, int]:
    done, last_id = _timed(lambda: retrying(lambda s: STAGES[stage](s, scheme, chunk, after_id)))
    return int(done), int(last_id)


def run_payment_stage(scheme: str, out_dir: str) -> dict[str, Any]:
    """The payment stage: pay what finance officers have released (never on the system's own
    authority), then write each new batch's bank file after the commit and record that it was written."""
    return dict(_timed(lambda: _payment_stage(scheme, out_dir)))


def _payment_stage(scheme: str, out_dir: str) -> dict[str, Any]:
    made = retrying(lambda s: [(int(r.batch.id or 0), r.batch.file_name, r.batch.count, r.batch.total_fen,
                                r.file_content) for r in payments.execute_releases(s, scheme) if r.batch is not None])
    faults.point("pay.after_commit")
    files = []
    for batch_id, name, _count, _total, content in made:
        path = Path(out_dir) / name
        write_file_atomically(path, content)
        faults.point("pay.after_payment_file")
        with unit_of_work() as s:
            payments.record_file(s, SYSTEM_ACTOR, batch_id, str(path), copy=False)
        files.append(str(path))
    return {"batches": [m[0] for m in made], "count": sum(m[2] for m in made),
            "total_fen": sum(m[3] for m in made), "files": files}


def write_file_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def run_check(audit_from_seq: int = 0) -> dict[str, Any]:
    def check() -> dict[str, Any]:
        with read_only() as s:
            return checker.run(s, audit_from_seq)

    return dict(_timed(check))


def audit_head_seq() -> int:
    with read_only() as s:
        h = audit.head(s)
        return h.seq if h else 0


def drive(scheme: str, chunk: int, out_dir: str, *,
          stage: Callable[[str, str, int, int], tuple[int, int]],
          pay: Callable[[str, str], dict[str, Any]], check: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """One advance: every stage until it returns less than a full chunk, the payment stage (what
    finance officers released), then the invariant check over what this run appended. The Prefect flow
    passes its tasks here; the plain variant passes the functions themselves."""
    start_seq = audit_head_seq()
    totals: dict[str, Any] = {}
    for name in STAGES:
        totals[name] = 0
        cursor = 0
        while True:
            n, cursor = stage(name, scheme, chunk, cursor)
            totals[name] += n
            if n < chunk:
                break
    totals["payment"] = pay(scheme, out_dir)
    totals["check"] = check(start_seq)
    return totals


def advance_plain(scheme: str, chunk: int = 1000, out_dir: str = "payments") -> dict[str, Any]:
    """The same stages without Prefect (unit tests, tools)."""
    return drive(scheme, chunk, out_dir, stage=run_stage, pay=run_payment_stage, check=run_check)
