"""The trace an auditor reads beside every computed amount: each input, and each parameter with its clause,
the date its value took effect and its reference. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rules.policy import Policy


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the trace: what, its value, and where it comes from (a parameter, its clause, the date
    its value took effect and its reference; or an input)."""

    what: str
    value: str
    parameter: str | None = None
    clause: str | None = None
    in_force: dt.date | None = None
    reference: str | None = None


def parameter_step(policy: Policy, what: str, name: str, on: dt.date, shown: str) -> Step:
    """The trace line of parameter ``name`` as used on ``on``, showing ``shown``."""
    param = policy.parameter(name)
    in_force = max((d for d in param.values if d <= on), default=None)
    return Step(what, shown, name, param.clause, in_force, param.reference_at(on))
