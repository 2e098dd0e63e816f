"""The generic, policy-configured state machine every scheme shares.

A scheme's states and transitions live in the policy file; this module only enforces them: an
action is legal from the states the policy lists, by the role it names, with a reason where the
policy requires one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.errors import IllegalTransition, PermissionDenied, ReasonRequired
from rules.policy import SchemeDef, TransitionDef

# The engine's state vocabulary. Schemes choose among these in their policy file; the database's
# CHECK constraint on application.status accepts exactly these.
STATE_VOCABULARY = (
    "submitted", "formal_review", "substantive_review", "returned", "evaluation", "scored", "ranked", "awarded",
    "not_awarded", "approved", "in_notice", "on_hold", "payable", "payment_pending", "paid", "rejected",
    "withdrawn", "performance_review", "closed",
)


@dataclass(frozen=True)
class Move:
    action: str
    from_state: str
    to_state: str


class Workflow:
    def __init__(self, scheme_id: str, scheme: SchemeDef) -> None:
        self.scheme_id = scheme_id
        self.scheme = scheme
        self._by_key: dict[tuple[str, str], TransitionDef] = {}
        for t in scheme.transitions:
            for s in t.from_:
                self._by_key[(s, t.action)] = t

    @property
    def initial(self) -> str:
        return self.scheme.initial

    def state_name(self, state: str) -> str:
        return self.scheme.states[state].name

    def is_terminal(self, state: str) -> bool:
        return self.scheme.states[state].terminal

    def actions_from(self, state: str) -> list[str]:
        return sorted(a for (s, a) in self._by_key if s == state)

    def check(self, state: str, action: str, roles: set[str], reason: str | None = None) -> Move:
        """Validate one transition; raise the named error that says what is allowed instead."""
        t = self._by_key.get((state, action))
        if t is None:
            allowed = ", ".join(self.actions_from(state)) or "none (final state)"
            raise IllegalTransition(
                f"{self.scheme_id}: cannot {action!r} an application that is {state!r} "
                f"({self.state_name(state) if state in self.scheme.states else '?'}); allowed from there: {allowed}"
            )
        if t.by != "any" and t.by not in roles and not (t.by == "system" and "system" in roles):
            raise PermissionDenied(f"{self.scheme_id}: {action!r} is done by the {t.by} role, not by {sorted(roles)}")
        if t.reason_required and not (reason and reason.strip()):
            raise ReasonRequired(f"{self.scheme_id}: {action!r} needs a reason (--reason TEXT); it is kept in the "
                                 "case history and shown to the applicant")
        return Move(action, state, t.to)
