"""The records a scheme's form links to (the policy's ``links:``, rules.policy.LINK_KINDS), read for a batch
of cases so the scheme's intake checks and amount function see them (``IntakeFacts.linked``,
``Candidate.linked``). Generic: the declaration names the kind of record and the form fields that name it;
each kind has one reader here, no scheme is named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session

from flows.services.benefits import Claim
from rules.policy import Policy

Reader = Callable[[Session, Policy, str, dict[str, str], Sequence[Claim]], dict[int, Any]]


def _loan(session: Session, policy: Policy, scheme: str, fields: dict[str, str],
          claims: Sequence[Claim]) -> dict[int, Any]:
    from flows.services.loans import linked_loans

    return linked_loans(session, policy, scheme, fields, claims)


READERS: dict[str, Reader] = {"loan": _loan}


def linked_records(session: Session, policy: Policy, scheme: str, claims: Sequence[Claim]
                   ) -> dict[int, dict[str, Any]]:
    """Per case id: {link kind: the record it names} for every link the scheme declares (empty without)."""
    links = policy.scheme(scheme).links
    out: dict[int, dict[str, Any]] = {c.id: {} for c in claims} if links else {}
    for kind, fields in links.items():
        for case_id, record in READERS[kind](session, policy, scheme, fields, claims).items():
            out[case_id][kind] = record
    return out
