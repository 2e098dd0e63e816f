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

from prefect import flow, task

from flows.services import advance as svc


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
