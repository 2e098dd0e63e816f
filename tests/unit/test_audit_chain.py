"""The audit chain's event body is written out by hand for speed; it must be exactly the canonical
JSON of the event's fields, for any text (quotes, control characters, 汉字, surrogates excluded)."""

from hypothesis import given
from hypothesis import strategies as st

from rules.audit_chain import GENESIS_HASH, canonical_json, event_body, event_hash, verify_events

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(prev=text, seq=st.integers(min_value=1, max_value=10**12), at=text, actor=text, action=text,
       subject=text, payload=text)
def test_event_body_is_the_canonical_json_of_the_fields(prev: str, seq: int, at: str, actor: str, action: str,
                                                        subject: str, payload: str) -> None:
    expected = canonical_json({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                               "payload": payload, "prev_hash": prev})
    assert event_body(prev, seq, at, actor, action, subject, payload) == expected


def test_a_known_event_hash_does_not_change() -> None:
    # Pinned: changing the hash rule would orphan every chain already written.
    h = event_hash(GENESIS_HASH, 1, "2021-03-01T01:00:00.000000Z", "admin", "case.submit", "app:CA-2021-00001",
                   canonical_json({"to": "submitted", "备注": "材料\"齐全\"\n"}))
    assert h == PINNED


def test_verify_events_finds_a_changed_payload() -> None:
    events = []
    prev = GENESIS_HASH
    for seq in range(1, 4):
        payload = canonical_json({"n": seq})
        h = event_hash(prev, seq, "t", "a", "x", "s", payload)
        events.append({"seq": seq, "at": "t", "actor": "a", "action": "x", "subject": "s", "payload": payload,
                       "prev_hash": prev, "hash": h})
        prev = h
    assert verify_events(events) is None
    events[1]["payload"] = canonical_json({"n": 20})
    brk = verify_events(events)
    assert brk is not None and brk.seq == 2


PINNED = "39b0dc0247c5814e290f25998bb8068dc586ffff7a8d0933efff8db59d96d1f0"
