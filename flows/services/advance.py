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

from flows.services import applications, checker, evaluation, notice, payments, projects, review, vouchers
from flows.services.context import SYSTEM_ACTOR, current_policy, sync_scheme_states
from models import audit, faults
from models.uow import read_only, retrying, unit_of_work

StageFn = Callable[..., tuple[int, int]]

# The system steps of the engine's stages (rules.stages.SYSTEM_STEPS), by name; "payment" runs on its
# own (run_payment_stage) because its bank files are written after the commit.
STAGES: dict[str, StageFn] = {
    "intake": applications.intake_stage,
    "escalation": review.escalation_stage,
    "assignment": evaluation.assignment_stage,
    "aggregation": evaluation.aggregation_stage,
    "notice_expiry": notice.expiry_stage,
    "grading": vouchers.grading_stage,
    "expiry": vouchers.expiry_stage,
    "report_due": projects.report_due_stage,
    "rectification_expiry": projects.rectification_stage,
}


def steps_of(scheme: str) -> list[str]:
    """The system steps a scheme's declared stages run, in the scheme's order."""
    from rules.stages import SYSTEM_STEPS

    with read_only() as s:
        sc = current_policy(s).scheme(scheme)
    return [step for stage in sc.stages for step in SYSTEM_STEPS[stage] if step in STAGES]


def schemes_run() -> list[str]:
    """Every scheme the policy runs, in its order (an advance without --scheme runs them all)."""
    with read_only() as s:
        return list(current_policy(s).schemes)


def pays(scheme: str) -> bool:
    with read_only() as s:
        sc = current_policy(s).scheme(scheme)
    return sc.pays and "payment" in sc.stages


def sync_states() -> int:
    """The declared-state table in step with the policy before a run moves anything."""
    return int(retrying(lambda s: sync_scheme_states(s)))


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
    sync_states()
    totals = run_scheme(scheme, chunk, out_dir, stage=stage, pay=pay)
    totals["check"] = check(start_seq)
    totals["events"] = event_summary(start_seq)
    return totals


def run_scheme(scheme: str, chunk: int, out_dir: str, *, stage: Callable[[str, str, int, int], tuple[int, int]],
               pay: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    """Every system step of one scheme until it returns less than a full chunk, then its payments."""
    totals: dict[str, Any] = {}
    for name in STAGES:
        totals[name] = 0
    for name in steps_of(scheme):
        cursor = 0
        while True:
            n, cursor = stage(name, scheme, chunk, cursor)
            totals[name] += n
            if n < chunk:
                break
    totals["payment"] = pay(scheme, out_dir) if pays(scheme) else {"batches": [], "count": 0, "total_fen": 0,
                                                                   "files": []}
    return totals


def drive_all(chunk: int, out_dir: str, *, stage: Callable[[str, str, int, int], tuple[int, int]],
              pay: Callable[[str, str], dict[str, Any]], check: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """An advance of every scheme the policy runs: {"schemes": {id: totals}, "check": ..., "events": ...}."""
    start_seq = audit_head_seq()
    sync_states()
    out: dict[str, Any] = {"schemes": {sid: run_scheme(sid, chunk, out_dir, stage=stage, pay=pay)
                                       for sid in schemes_run()}}
    out["check"] = check(start_seq)
    out["events"] = event_summary(start_seq)
    return out


def event_summary(after_seq: int) -> list[dict[str, Any]]:
    """What a run did, read back from the audit events it appended: per scheme and action, how many
    cases moved, and for refusals (failed intake checks, cases no evaluator was free for) why. This is
    the table the flow publishes as its Prefect artifact."""
    import json
    from collections import Counter

    from sqlalchemy import select as sa_select

    from models.tables import AuditEvent

    t = AuditEvent.__table__  # type: ignore[attr-defined]
    by_prefix = {applications.ref_prefix(sid): sid for sid in schemes_run()}
    count: Counter[tuple[str, str]] = Counter()
    why: dict[tuple[str, str], Counter[str]] = {}
    with read_only() as s:
        for action, subject, payload in s.execute(sa_select(t.c.action, t.c.subject, t.c.payload)
                                                  .where(t.c.seq > after_seq, t.c.actor == SYSTEM_ACTOR)):
            ref = subject.split(":", 1)[1] if subject.startswith("app:") else ""
            prefix = ref.split("-", 1)[0] if ref else "-"
            key = (by_prefix.get(prefix, prefix), action)
            count[key] += 1
            body = json.loads(payload)
            reasons = body.get("checks") or ([body["unstaffed"]] if body.get("unstaffed") else [])
            for r in reasons:
                why.setdefault(key, Counter())[str(r)] += 1
    return [{"scheme": prefix, "action": action, "cases": n,
             "why": "; ".join(f"{r} ×{k}" for r, k in why.get((prefix, action), Counter()).most_common(5))}
            for (prefix, action), n in sorted(count.items())]


def advance_plain(scheme: str | None, chunk: int = 1000, out_dir: str = "payments") -> dict[str, Any]:
    """The same stages without Prefect (unit tests, tools); ``None`` advances every scheme."""
    if scheme is None:
        return drive_all(chunk, out_dir, stage=run_stage, pay=run_payment_stage, check=run_check)
    return drive(scheme, chunk, out_dir, stage=run_stage, pay=run_payment_stage, check=run_check)
