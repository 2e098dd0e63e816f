"""Thin Prefect flows: they only sequence tasks; tasks call the plain stage functions.

Imported lazily (never by CLI commands that run no flow): `import prefect` costs ~2 s.
"""

from __future__ import annotations

import os
from typing import Any

# Defaults for every entry point that runs a flow (CLI advance, demo, bench), set before Prefect reads
# its settings: no telemetry (machines here have no internet) and time for the ephemeral API to start
# on a slow machine (measured 15-25 s; Prefect's own default gives up sooner). Explicit settings win.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prefect import flow, task

from flows.services import advance as svc
from rules.errors import InvariantsBroken, RuleViolation


def is_refusal(exc: BaseException) -> bool:
    """A refusal (a rule, permission or validation said no; nothing was written), or broken invariants after
    the stages committed: the CLI prints either itself, once; only a bug needs Prefect's traceback."""
    return isinstance(exc, RuleViolation | InvariantsBroken)


class _RefusalFilter(logging.Filter):
    """Drops Prefect's console records about a refusal: the task/flow-run "failed with exception" records
    (with their tracebacks) and the "Finished in state Failed(... <the refusal>)" lines that follow them.
    Records about anything else, a bug above all, pass untouched."""

    def __init__(self, refusal: Callable[[BaseException], bool]) -> None:
        super().__init__("ipfund-refusals")
        self.refusal = refusal
        self.seen: list[str] = []  # "Type: message" of each refusal dropped so far

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("prefect.task_runs", "prefect.flow_runs")) or record.levelno < logging.ERROR:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            if not self.refusal(exc):
                return True
            self.seen.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            return False
        message = record.getMessage()
        if any(s in message for s in self.seen):
            return False
        # "Finished in state Failed('... RuleViolation: ...')" may come before the record with the
        # exception itself (a task with a retry condition): a refusal class named in it is enough.
        return not any(f"{name}: " in message for name in _refusal_names())


def _refusal_names() -> set[str]:
    names, todo = {InvariantsBroken.__name__}, [RuleViolation]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


@contextmanager
def quiet_refusals(refusal: Callable[[BaseException], bool] = is_refusal) -> Iterator[None]:
    """Run flows without Prefect printing tracebacks for refusals: the caller (the CLI) prints the
    refusal's own message once. Only the console handlers are filtered (the Prefect API still gets
    every log record), and a bug still shows its traceback."""
    quiet = _RefusalFilter(refusal)
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    for h in handlers:
        h.addFilter(quiet)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(quiet)


def transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only on a transient database error: a serialization failure or deadlock on
    PostgreSQL (40001/40P01), a locked SQLite file. A refusal or a bug is never retried."""
    try:
        state.result()
    except Exception as exc:  # the task's own exception, re-raised by its final state
        orig = getattr(exc, "orig", None)
        code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
        return code in ("40001", "40P01") or "database is locked" in str(exc)
    return False


def _step_task(step: str) -> Any:
    fn = svc.STAGES[step]

    @task(name=step, retries=2, retry_delay_seconds=1, retry_condition_fn=transient)
    def run(scheme: str, chunk: int, after_id: int = 0) -> tuple[int, int]:
        return svc.run_stage(step, scheme, chunk, after_id)

    run.__doc__ = fn.__doc__
    return run


# One named task per system step, so the Prefect UI shows "intake", "assignment", ... not one generic task.
STEP_TASKS: dict[str, Any] = {step: _step_task(step) for step in svc.STAGES}


def stage_task(stage: str, scheme: str, chunk: int, after_id: int = 0) -> tuple[int, int]:
    """The named task of ``stage`` (what drive() calls)."""
    result: tuple[int, int] = STEP_TASKS[stage](scheme, chunk, after_id)
    return result


@task(name="payment", retries=0)
def payment_task(scheme: str, out_dir: str) -> dict[str, Any]:
    """Pays only what finance officers released (`pay release` / `pay batch`), as the releasing officer."""
    return svc.run_payment_stage(scheme, out_dir)


@task(name="invariant-check")
def check_task(audit_from_seq: int) -> dict[str, Any]:
    return svc.run_check(audit_from_seq)


@flow(name="noop")
def noop_flow() -> None:
    """Starts the ephemeral API on first use (the benchmark reports that one-off cost on its own)."""


def _publish(totals: dict[str, Any], scheme: str | None) -> None:
    """The run's business result as a Prefect table artifact: per scheme and action, the cases moved,
    refused and why (read back from the audit events the run appended)."""
    from prefect.artifacts import create_table_artifact

    rows = totals.get("events") or [{"scheme": scheme or "all", "action": "(nothing to do)", "cases": 0, "why": ""}]
    key = f"advance-{scheme}" if scheme else "advance-all"
    check = totals["check"]
    create_table_artifact(key=key, table=rows, description=(
        f"ipfund advance ({scheme or 'every scheme'}): what each stage moved or refused and why; invariant check "
        f"{'ok' if check['ok'] else 'FAILED'}"))


@flow(name="advance", log_prints=False)
def advance_flow(scheme: str | None = None, chunk: int = 1000, out_dir: str = "payments") -> dict[str, Any]:
    """Advance every ready case of a scheme (or, with none, of every scheme the policy runs) through the
    system steps of its declared stages, pay what finance officers released, then check invariants.

    Idempotent: running it twice in a row does nothing the second time. Human acts (decisions, scores,
    finalize, payment releases) are never awaited here; they are rows the next run picks up."""
    if scheme:
        totals = svc.drive(scheme, chunk, out_dir, stage=stage_task, pay=payment_task, check=check_task)
    else:
        totals = svc.drive_all(chunk, out_dir, stage=stage_task, pay=payment_task, check=check_task)
    _publish(totals, scheme)
    report = totals["check"]
    if not report["ok"]:
        raise InvariantsBroken("advance", [c for c in report["checks"] if not c["ok"]])
    return totals
