"""Fault injection for crash-safety tests: IPFUND_FAULT=<point> kills the process at that point
(os._exit, no cleanup, no rollback by Python — the database and the file system see a real crash).
Unset in production; checking it costs one dictionary lookup."""

from __future__ import annotations

import os

POINTS = (
    "pay.after_idempotency_row",
    "pay.after_ledger_posting",
    "pay.after_audit_append",
    "pay.after_commit",
    "pay.after_payment_file",
    "pay.after_confirm_import",
)
EXIT_CODE = 86


def point(name: str) -> None:
    if os.environ.get("IPFUND_FAULT") == name:
        os._exit(EXIT_CODE)
