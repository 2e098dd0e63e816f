"""Signed checkpoints of the audit chain, in the style of Certificate Transparency's signed tree heads.

The hash chain (``rules.audit_chain``) finds a changed or removed entry *inside* the log, but not the
removal of its last entries, nor a log rewritten from some entry on with every later hash recomputed:
both leave a chain that verifies. A checkpoint closes that gap: after events are appended, the head
of the chain — (sequence number, hash of that entry, time) — is signed with an Ed25519 key that is
not in the database, and kept outside it. A chain that is shorter than a checkpoint, or whose entry
at the checkpoint's sequence number has another hash, has been truncated or rewritten; a checkpoint
whose signature does not verify with the *trusted* public key (from configuration, never from the
checkpoint) was forged or edited.

Pure functions only: the canonical body, signing and verifying with raw key bytes (32 bytes each),
parsing, and comparing a checkpoint with the chain. Files and configuration are in
``models.checkpoints``. ``cryptography`` is imported when a key is used, not when this module is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rules.audit_chain import canonical_json

FORMAT = "ipfund-checkpoint/1"
_HEX = frozenset("0123456789abcdef")


class CheckpointFormatError(ValueError):
    """A record that is not a well-formed checkpoint (the message names the field)."""


def _is_hex(value: Any, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and set(value) <= _HEX


def key_fingerprint(public_key: bytes) -> str:
    """The key id: sha256 (hex) of the raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
    return hashlib.sha256(public_key).hexdigest()


@lru_cache(maxsize=8)
def _signer(private_key: bytes) -> tuple[Any, bytes, str]:
    """(key object, raw public key, fingerprint) of a raw private key, built once per key (memoised:
    a commit signs one checkpoint, and building the key costs as much as signing)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(private_key)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, public, key_fingerprint(public)


@lru_cache(maxsize=8)
def _verifier(public_key: bytes) -> tuple[Any, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(public_key), key_fingerprint(public_key)


def public_key_of(private_key: bytes) -> bytes:
    """The raw public key of a raw 32-byte Ed25519 private key."""
    return _signer(private_key)[1]


def checkpoint_body(seq: int, head_hash: str, at: str, key: str) -> bytes:
    """The bytes that are signed: canonical JSON of format, seq, head hash, time and key id."""
    return canonical_json({"format": FORMAT, "seq": int(seq), "head_hash": head_hash, "at": at,
                           "key": key}).encode("utf-8")


@dataclass(frozen=True)
class Checkpoint:
    seq: int  # the chain holds at least this many events ...
    head_hash: str  # ... and entry #seq has this hash
    at: str  # when it was signed (UTC text, models.clock format)
    key: str  # fingerprint of the signing key (key_fingerprint)
    signature: str  # Ed25519 signature of checkpoint_body, hex

    def body(self) -> bytes:
        return checkpoint_body(self.seq, self.head_hash, self.at, self.key)

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "seq": self.seq, "head_hash": self.head_hash, "at": self.at, "key": self.key,
                "signature": self.signature}

    def line(self) -> str:
        """One JSON line (what a checkpoints file holds)."""
        return canonical_json(self.as_dict()) + "\n"


def sign(private_key: bytes, seq: int, head_hash: str, at: str) -> Checkpoint:
    """Sign the head (seq, head_hash) of the chain at time ``at`` with a raw Ed25519 private key.
    Ed25519 signatures are deterministic: the same head, time and key give the same checkpoint."""
    if seq < 1 or not _is_hex(head_hash, 64):
        raise ValueError(f"a checkpoint signs an entry of the chain: seq {seq!r}, hash {head_hash!r}")
    signer, _public, key = _signer(private_key)
    sig: bytes = signer.sign(checkpoint_body(seq, head_hash, at, key))
    return Checkpoint(int(seq), head_hash, at, key, sig.hex())


def parse(record: Mapping[str, Any]) -> Checkpoint:
    """A checkpoint from its JSON object; CheckpointFormatError naming the first bad field."""
    if record.get("format") != FORMAT:
        raise CheckpointFormatError(f"format is {record.get('format')!r}, not {FORMAT!r}")
    seq = record.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise CheckpointFormatError(f"seq {seq!r} is not a positive integer")
    for name, length in (("head_hash", 64), ("key", 64), ("signature", 128)):
        if not _is_hex(record.get(name), length):
            raise CheckpointFormatError(f"{name} is not {length} lower-case hex digits")
    at = record.get("at")
    if not isinstance(at, str) or not at:
        raise CheckpointFormatError("at (the signing time) is missing")
    extra = sorted(set(record) - {"format", "seq", "head_hash", "at", "key", "signature"})
    if extra:
        raise CheckpointFormatError(f"unknown field(s) {', '.join(extra)}")
    return Checkpoint(seq, str(record["head_hash"]), at, str(record["key"]), str(record["signature"]))


def signature_problem(cp: Checkpoint, trusted_public_key: bytes) -> str | None:
    """None when ``cp`` is signed by the trusted key; else why not. The key id inside the checkpoint
    only names a key: the signature is always checked with ``trusted_public_key``."""
    from cryptography.exceptions import InvalidSignature

    verifier, trusted = _verifier(trusted_public_key)
    if cp.key != trusted:
        return (f"signed by key {cp.key[:16]}…, not by the trusted audit key {trusted[:16]}…: the checkpoint was "
                "forged with another key (or the trusted public key is not this installation's)")
    try:
        verifier.verify(bytes.fromhex(cp.signature), cp.body())
    except InvalidSignature:
        return ("its signature does not verify with the trusted audit key: the checkpoint was edited or forged "
                "after signing")
    return None


def chain_problem(cp: Checkpoint, stored_hash: str | None, chain_length: int) -> str | None:
    """Compare a checkpoint with the chain: ``stored_hash`` is the hash of entry #cp.seq in the database
    (None when there is no such entry), ``chain_length`` the highest sequence number present."""
    if stored_hash is None:
        if chain_length < cp.seq:
            first = chain_length + 1
            missing = f"entry #{first} is" if first == cp.seq else f"entries #{first}–#{cp.seq} are"
            return (f"signed at {cp.at} when the chain held {cp.seq} events, but it now ends at #{chain_length}: "
                    f"the audit log was truncated ({missing} missing)")
        return f"entry #{cp.seq} it signed is missing from the chain: entries were deleted"
    if stored_hash != cp.head_hash:
        return (f"entry #{cp.seq} now has hash {stored_hash[:16]}…, but the checkpoint signed at {cp.at} says "
                f"{cp.head_hash[:16]}…: the audit log was rewritten at or before entry #{cp.seq}")
    return None


def covering(checkpoints: Iterable[Checkpoint], seq: int) -> list[Checkpoint]:
    """The checkpoints that cover entry #seq (their seq >= seq), earliest first (ties by time, then
    signature): the first one is what a dossier anchored at #seq embeds. Deterministic for a given set
    of checkpoints; checkpoints signed later cover later entries, so they do not change the choice."""
    return sorted((c for c in checkpoints if c.seq >= seq), key=lambda c: (c.seq, c.at, c.signature))
