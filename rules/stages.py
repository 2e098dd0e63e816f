"""The stages the engine knows, and the state tags schemes use instead of a global state vocabulary.

A scheme's policy section lists its stages in order (a subset of :data:`STAGES`); the `advance` flow
runs the system part of each stage the scheme declares, and the human part is a service a person calls.
A scheme names its own states and tags each with what the engine needs to know about it (:data:`TAGS`):
the services and the checker read the tags, never a list of state names.
"""

from __future__ import annotations

STAGES: dict[str, str] = {
    "intake": "automatic intake checks on submitted cases (system)",
    "review": "review by people, tier by tier, with deadlines and escalation (people; escalation: system)",
    "evaluation": "third-party evaluation: assignment and aggregation (system), score uploads (people)",
    "ranking": "ranking and allocation within budget: trial and finalize (people)",
    "approval": "approval of the allocation by an approver (part of finalize)",
    "notice": "public notice (公示): objections (people), expiry (system)",
    "payment": "release by a finance officer (people), payment execution and bank files (system)",
}

# The system work each stage does in the advance flow, in order (names of the flow's stage tasks).
SYSTEM_STEPS: dict[str, tuple[str, ...]] = {
    "intake": ("intake",),
    "review": ("decisions", "escalation"),
    "evaluation": ("assignment", "aggregation"),
    "ranking": (),
    "approval": (),
    "notice": ("notice_expiry",),
    "payment": ("payment",),
}

TAGS: dict[str, str] = {
    "open": "in progress, not yet decided (the case may still be withdrawn)",
    "review": "waiting for a review decision",
    "evaluation": "in third-party evaluation: scores are accepted",
    "ready": "evaluated, ready to be ranked",
    "committed": "money (or a recognition) awarded and held for the case",
    "payable": "may be released for payment",
    "paid": "paid in full",
    "void": "ended without an award: rejected, withdrawn, not awarded",
    "terminal": "no transition leaves it",
}

assert set(SYSTEM_STEPS) == set(STAGES)
