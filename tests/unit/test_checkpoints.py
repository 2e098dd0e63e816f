"""The pure part of signed audit checkpoints (rules/checkpoints.py): body, signing, verifying with the
trusted key only, parsing, and comparing a checkpoint with the chain."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rules import checkpoints as cps
from rules.audit_chain import canonical_json

H1 = "a" * 64
H2 = "b" * 64
AT = "2021-03-01T01:00:00.000000Z"


def raw_key() -> tuple[bytes, bytes]:
    k = Ed25519PrivateKey.generate()
    private = k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                              serialization.NoEncryption())
    public = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public


def test_a_checkpoint_signs_format_seq_head_time_and_key_and_verifies_with_the_trusted_key() -> None:
    private, public = raw_key()
    cp = cps.sign(private, 7, H1, AT)
    assert (cp.seq, cp.head_hash, cp.at, cp.key) == (7, H1, AT, cps.key_fingerprint(public))
    assert cp.body() == canonical_json({"format": cps.FORMAT, "seq": 7, "head_hash": H1, "at": AT,
                                        "key": cp.key}).encode()
    assert cps.signature_problem(cp, public) is None
    assert cps.public_key_of(private) == public
    assert cps.sign(private, 7, H1, AT) == cp  # Ed25519 is deterministic: same head, time, key -> same bytes


@pytest.mark.parametrize("change", [{"seq": 8}, {"head_hash": H2}, {"at": "2021-03-01T01:00:00.000001Z"}])
def test_editing_any_signed_field_breaks_the_signature(change: dict[str, object]) -> None:
    private, public = raw_key()
    cp = dataclasses.replace(cps.sign(private, 7, H1, AT), **change)  # type: ignore[arg-type]
    problem = cps.signature_problem(cp, public)
    assert problem is not None and "does not verify with the trusted audit key" in problem


def test_a_checkpoint_signed_with_another_key_fails_even_when_it_names_that_key() -> None:
    _private, trusted = raw_key()
    forger, forger_public = raw_key()
    forged = cps.sign(forger, 7, H1, AT)  # a perfectly valid signature, by the wrong key
    assert cps.signature_problem(forged, forger_public) is None
    problem = cps.signature_problem(forged, trusted)
    assert problem is not None and "not by the trusted audit key" in problem
    # Claiming the trusted key's id does not help: the signature is checked with the trusted key.
    claimed = dataclasses.replace(forged, key=cps.key_fingerprint(trusted))
    problem = cps.signature_problem(claimed, trusted)
    assert problem is not None and "does not verify" in problem


def test_chain_problem_names_truncation_rewriting_and_deletion() -> None:
    private, _public = raw_key()
    cp = cps.sign(private, 10, H1, AT)
    assert cps.chain_problem(cp, H1, 10) is None
    assert cps.chain_problem(cp, H1, 12) is None  # a longer chain still holds the signed head
    truncated = cps.chain_problem(cp, None, 7)
    assert truncated is not None and "truncated (entries #8–#10 are missing)" in truncated
    one = cps.chain_problem(cp, None, 9)
    assert one is not None and "entry #10 is missing" in one
    rewritten = cps.chain_problem(cp, H2, 10)
    assert rewritten is not None and "rewritten at or before entry #10" in rewritten
    deleted = cps.chain_problem(cp, None, 12)
    assert deleted is not None and "missing from the chain" in deleted


def test_parse_round_trips_and_names_the_bad_field() -> None:
    private, _public = raw_key()
    cp = cps.sign(private, 3, H1, AT)
    assert cps.parse(json.loads(cp.line())) == cp
    assert cp.line().endswith("\n") and cp.line().count("\n") == 1
    good = cp.as_dict()
    for change, field in (({"format": "x"}, "format"), ({"seq": 0}, "seq"), ({"seq": True}, "seq"),
                          ({"head_hash": "A" * 64}, "head_hash"), ({"signature": "ab"}, "signature"),
                          ({"key": None}, "key"), ({"at": ""}, "at"), ({"extra": 1}, "extra")):
        with pytest.raises(cps.CheckpointFormatError, match=field):
            cps.parse({**good, **change})


def test_covering_picks_the_earliest_checkpoint_at_or_after_an_entry() -> None:
    private, _public = raw_key()
    a, b, c = (cps.sign(private, s, H1, AT) for s in (4, 9, 12))
    b_later = cps.sign(private, 9, H1, "2021-03-02T00:00:00.000000Z")
    assert cps.covering([c, b_later, b, a], 5) == [b, b_later, c]
    assert cps.covering([c, b, a], 4)[0] == a
    assert cps.covering([a, b], 10) == []


def test_sign_refuses_what_is_not_an_entry_of_the_chain() -> None:
    private, _public = raw_key()
    with pytest.raises(ValueError):
        cps.sign(private, 0, H1, AT)
    with pytest.raises(ValueError):
        cps.sign(private, 1, "xyz", AT)
