"""The audit chain's pure rules: canonical JSON and hash = sha256(previous hash ‖ canonical event)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text kept as is: the same data always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, payload: str) -> str:
    body = canonical_json(
        {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "payload": payload,
         "prev_hash": prev_hash}
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def verify_events(events: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """Walk events in sequence order; return the first that does not verify, or None."""
    prev = GENESIS_HASH
    expected_seq = 1
    for e in events:
        seq = int(e["seq"])
        if seq != expected_seq:
            return ChainBreak(seq, f"sequence gap: expected {expected_seq}, found {seq}")
        if e["prev_hash"] != prev:
            return ChainBreak(seq, "prev_hash does not match the hash of the entry before it")
        h = event_hash(prev, seq, e["at"], e["actor"], e["action"], e["subject"], e["payload"])
        if h != e["hash"]:
            return ChainBreak(seq, "hash does not match the entry's content (the row was changed)")
        prev = h
        expected_seq += 1
    return None
