"""Concurrency guards, in one place so that tests can switch them off for a control run and show
that the concurrency tests catch the bugs the guards prevent. Production code never changes this.

With the guards on (PostgreSQL):
* ledger postings lock their accounts (SELECT ... FOR UPDATE, in name order: no deadlock cycles);
* finalizing a round locks the scheme's budget line first, so two approvers serialize;
* a score upload locks the evaluator's user row, so two uploads by one evaluator serialize;
* a case moves only from the state it was read in (conditional UPDATE).
"""

from __future__ import annotations

ENABLED = True

_checkpoints: dict[str, object] = {}


def checkpoint(name: str) -> None:
    """A named point on a concurrent path. Tests may hook it (e.g. a barrier) to force two transactions
    to interleave exactly there; in production nothing is hooked and this does nothing."""
    hook = _checkpoints.get(name)
    if hook is not None:
        hook()  # type: ignore[operator]


def hook(name: str, fn: object | None) -> None:
    if fn is None:
        _checkpoints.pop(name, None)
    else:
        _checkpoints[name] = fn
