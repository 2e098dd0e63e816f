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
from rules.errors import RuleViolation


def is_refusal(exc: BaseException) -> bool:
    """A refusal (a rule, permission or validation said no; nothing was written), not a bug."""
    return isinstance(exc, RuleViolation)


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
        return not any(s in message for s in self.seen)


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


@task(name="advance-stage", retries=0)
def stage_task(stage: str, scheme: str, chunk: int, after_id: int = 0) -> tuple[int, int]:
    return svc.run_stage(stage, scheme, chunk, after_id)


@task(name="payment-stage", retries=0)
def payment_task(scheme: str, out_dir: str) -> dict[str, Any]:
    """Pays only what finance officers released (`pay release` / `pay batch`), as the releasing officer."""
    return svc.run_payment_stage(scheme, out_dir)


@task(name="invariant-check")
def check_task(audit_from_seq: int) -> dict[str, Any]:
    return svc.run_check(audit_from_seq)


@flow(name="noop")
def noop_flow() -> None:
    """Starts the ephemeral API on first use (the benchmark reports that one-off cost on its own)."""


@flow(name="advance", log_prints=False)
def advance_flow(scheme: str = "certification-award", chunk: int = 1000, out_dir: str = "payments") -> dict[str, Any]:
    """Advance every ready case of a scheme through every stage that has work, pay what finance
    officers released, then check invariants.

    Idempotent: running it twice in a row does nothing the second time. Human acts (decisions, scores,
    finalize, payment releases) are never awaited here; they are rows the next run picks up."""
    totals = svc.drive(scheme, chunk, out_dir, stage=stage_task, pay=payment_task, check=check_task)
    report = totals["check"]
    if not report["ok"]:
        bad = [c for c in report["checks"] if not c["ok"]]
        raise RuntimeError(f"invariant check failed after advance: {bad}")
    return totals
