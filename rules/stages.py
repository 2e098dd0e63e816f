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
    "grading": "a voucher's evaluation grade decides what it settles for: all, a reduced share or nothing (system)",
    "expiry": "vouchers past their use-by or redeem-by date lapse and their commitment is released (system)",
    "reporting": "a project's progress reports by their due dates: overdue reports flagged (system), reports, "
                 "extensions, evaluations and tranche releases (people)",
    "rectification": "a project graded at the bottom band rectifies by its due date, or its remaining tranches "
                     "are cancelled and what was paid is clawed back (system)",
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
    "grading": ("grading",),
    "expiry": ("expiry",),
    "reporting": ("report_due",),
    "rectification": ("rectification_expiry",),
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
    "clawback": "paid, then clawed back after a fraud finding (追回, 二(四)13): owed to the line as a receivable",
    "void": "ended without an award: rejected, withdrawn, not awarded",
    "terminal": "no transition leaves it",
}

# The sections a case dossier can print (templates/case/_<name>.html), in their default order. A scheme lists
# the ones its dossier prints, in order, as ``dossier_sections`` (an empty list: all of them, in this order).
DOSSIER_SECTIONS: dict[str, str] = {
    "applicant": "the applicant: name, credit code, district, kind, SME, whitelist",
    "application": "the application as submitted, and every resubmission",
    "checks": "the automatic intake checks, run by run",
    "review": "the review decisions of every tier",
    "evaluation": "third-party evaluation: rubric, evaluators, scores, score files",
    "allocation": "rank and outcome, the award, its budget line and the fund rules at finalize",
    "voucher": "a custody voucher: service, face value, dates, contracts, redemption with evidence hashes, "
               "the SME's confirmation or dispute, the settlement payee (only a scheme with a voucher: key)",
    "notice": "public notice and objections",
    "project": "a funded project: the agreement (KPI targets, deliverables, tranche plan), every progress report "
               "with its evidence hashes, extensions, evaluations with their trace, tranches, rectification, "
               "clawback (only a scheme with a project: key)",
    "payments": "payments and bank confirmations",
    "ledger": "the case's ledger postings (under the award when allocation is printed too)",
    "history": "the people in the dossier and the audit events of the case",
}

assert set(SYSTEM_STEPS) == set(STAGES)
