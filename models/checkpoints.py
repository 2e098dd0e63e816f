"""Signed checkpoints of the audit chain, kept outside the database (see ``rules.checkpoints``).

Configuration (environment):

* ``IPFUND_AUDIT_KEY`` — the Ed25519 private key file (PEM, PKCS#8, mode 0600) that signs
  checkpoints; default ``$IPFUND_HOME/audit-key.pem``. Without the file nothing is signed.
* ``IPFUND_AUDIT_PUBKEY`` — the *trusted* public key verification uses (PEM); default the key file
  with suffix ``.pub`` (``audit-key.pub``). Never the key a checkpoint names.
* ``IPFUND_CHECKPOINTS`` — where checkpoints are kept: a directory (every ``*.jsonl`` file in it is
  read; this installation appends to ``checkpoints.jsonl``) or one ``.jsonl`` file. Default: beside
  the SQLite file (``ipfund.db.checkpoints/``), or ``$IPFUND_HOME/<database>.checkpoints/`` for
  another database.

Writing: after a unit of work that appended audit events commits, ``after_commit`` signs the last
event that session appended and appends one JSON line with a single ``O_APPEND`` write, so several
processes (scale-out workers) can write to one file without interleaving. Checkpoints are written
after the commit: a checkpoint never names an event that was not committed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

from models.clock import stamp
from models.tables import AuditEvent
from rules import checkpoints as rules
from rules.checkpoints import Checkpoint, CheckpointFormatError
from rules.errors import RuleViolation

ENV_KEY = "IPFUND_AUDIT_KEY"
ENV_PUBLIC_KEY = "IPFUND_AUDIT_PUBKEY"
ENV_LOCATION = "IPFUND_CHECKPOINTS"
DEFAULT_KEY_FILE = "audit-key.pem"
FILE_NAME = "checkpoints.jsonl"
HEAD_INFO = "ipfund.audit_head"  # session.info key: (seq, hash) of the last event the session appended

log = logging.getLogger("ipfund.checkpoints")


class KeyExists(RuleViolation):
    """An audit key is never overwritten: checkpoints signed with it could no longer be verified."""


# --- configuration --------------------------------------------------------------------------------

def _home() -> Path:
    return Path(os.environ.get("IPFUND_HOME", "."))


def key_path() -> Path:
    return Path(os.path.abspath(os.environ.get(ENV_KEY) or _home() / DEFAULT_KEY_FILE))


def public_key_path_for(private: Path) -> Path:
    return private.with_name(private.name + ".pub") if private.suffix == ".pub" else private.with_suffix(".pub")


def public_key_path() -> Path:
    configured = os.environ.get(ENV_PUBLIC_KEY)
    return Path(os.path.abspath(configured)) if configured else public_key_path_for(key_path())


def location(url: str | URL | None = None) -> Path | None:
    """Where checkpoints of the database at ``url`` are kept (None: an in-memory SQLite database)."""
    configured = os.environ.get(ENV_LOCATION)
    if configured:
        return Path(os.path.abspath(configured))
    if url is None:
        from models.db import database_url

        url = database_url()
    u = make_url(url) if isinstance(url, str) else url
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
            return None
        return Path(os.path.abspath(u.database + ".checkpoints"))
    return Path(os.path.abspath(_home() / f"{u.database or 'ipfund'}.checkpoints"))


# --- keys ---------------------------------------------------------------------------------------

def generate_key(out: Path | None = None) -> tuple[Path, Path, str]:
    """Create an Ed25519 key pair: the private key at ``out`` (default: the configured key file) with
    mode 0600, the public key beside it (``.pub``). Refuses to overwrite either. Returns (private path,
    public path, fingerprint)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Path(os.path.abspath(out or key_path()))
    public = public_key_path_for(private) if out is not None else public_key_path()
    for p in (private, public):
        if p.exists():
            raise KeyExists(f"{p} already exists: an audit key is never overwritten, because the checkpoints "
                            "it signed could no longer be verified. Keep it, or choose another file with --out")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    private.parent.mkdir(parents=True, exist_ok=True)
    public.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyExists(f"{private} already exists: an audit key is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(private, 0o600)  # whatever the umask
    try:
        fd = os.open(public, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        private.unlink()
        raise KeyExists(f"{public} already exists: an audit key is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pub_pem)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public, rules.key_fingerprint(raw)


_KEY_CACHE: dict[tuple[str, str], tuple[tuple[int, int, int], bytes]] = {}


def _read_key(path: Path, kind: str) -> bytes | None:
    """Raw key bytes from a PEM file (None when there is no file), cached by the file's size and mtime."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    stamp_ = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _KEY_CACHE.get((kind, str(path)))
    if cached is not None and cached[0] == stamp_:
        return cached[1]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    data = path.read_bytes()
    raw: bytes
    if kind == "private":
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    else:
        pub = serialization.load_pem_public_key(data)
        if not isinstance(pub, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    _KEY_CACHE[(kind, str(path))] = (stamp_, raw)
    return raw


def private_key() -> bytes | None:
    return _read_key(key_path(), "private")


def trusted_public_key() -> bytes | None:
    return _read_key(public_key_path(), "public")


# --- writing --------------------------------------------------------------------------------------

def _file_for_writing(loc: Path) -> Path:
    return loc if loc.suffix == ".jsonl" else loc / FILE_NAME


def append_line(path: Path, line: str) -> None:
    """One line, one ``write(2)`` on an ``O_APPEND`` descriptor: concurrent writers never interleave; the
    data is flushed to the disk (``fdatasync``) before this returns, so a checkpoint that was reported as
    written survives a power cut."""
    data = line.encode("utf-8")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        fd = os.open(path, flags, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o644)
    try:
        written = os.write(fd, data)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    if written != len(data):  # pragma: no cover - a full disk
        raise OSError(f"short write to {path}: {written} of {len(data)} bytes")


def write(url: str | URL | None, seq: int, head_hash: str) -> Checkpoint | None:
    """Sign (seq, head_hash) now and append it to the checkpoints of the database at ``url``. Nothing
    happens (None) when no private key is configured."""
    key = private_key()
    if key is None:
        return None
    loc = location(url)
    if loc is None:
        return None
    cp = rules.sign(key, seq, head_hash, stamp())
    append_line(_file_for_writing(loc), cp.line())
    return cp


def _url_of(session: Session) -> URL:
    bind = session.get_bind()
    return bind.engine.url


def note_head(session: Session, seq: int, head_hash: str) -> None:
    """Called by models.audit on every append: the session's newest event (written at commit)."""
    session.info[HEAD_INFO] = (seq, head_hash)


def after_commit(session: Session) -> Checkpoint | None:
    """After a successful commit: the checkpoint of the last event the session appended, if it appended
    any. A failure to sign or write is reported as a warning, never raised: the commit has happened,
    and the missing checkpoint shows in `ipfund audit verify` as entries not yet covered."""
    head = session.info.pop(HEAD_INFO, None)
    if head is None:
        return None
    try:
        return write(_url_of(session), head[0], head[1])
    except Exception as exc:
        log.warning("audit checkpoint for entry #%s was not written (%s: %s); the commit stands, and "
                    "`ipfund audit verify` will show the entry as not covered by a checkpoint",
                    head[0], type(exc).__name__, exc)
        return None


# --- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Located:
    checkpoint: Checkpoint
    where: str  # file:line


@dataclass(frozen=True)
class Unreadable:
    where: str
    problem: str
    incomplete: bool = False  # the file's last line has no newline (a write in progress, or a crash)


_READ_CACHE: dict[str, tuple[tuple[int, int, int], list[Located], list[Unreadable]]] = {}


def files(loc: Path) -> list[Path]:
    if loc.is_dir():
        return sorted(p for p in loc.iterdir() if p.suffix == ".jsonl" and p.is_file())
    return [loc] if loc.is_file() else []


def _read_file(path: Path, cache: bool) -> tuple[list[Located], list[Unreadable]]:
    st = path.stat()
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _READ_CACHE.get(str(path)) if cache else None
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    found: list[Located] = []
    bad: list[Unreadable] = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise CheckpointFormatError("not a JSON object")
            found.append(Located(rules.parse(record), where))
        except (ValueError, CheckpointFormatError) as exc:
            bad.append(Unreadable(where, f"not a checkpoint ({exc})"))
    if tail.strip():
        bad.append(Unreadable(f"{path}:{len(lines) + 1}", "incomplete last line (a write in progress, or torn by a "
                              "crash)", incomplete=True))
    _READ_CACHE[str(path)] = (key, found, bad)
    return found, bad


def read(loc: Path | None, cache: bool = False) -> tuple[list[Located], list[Unreadable]]:
    """Every checkpoint at ``loc`` with where it is, and the lines that are not checkpoints. With
    ``cache`` (rendering many dossiers) a file is parsed again only when its inode, size or mtime
    changed; verification always reads the files afresh."""
    found: list[Located] = []
    bad: list[Unreadable] = []
    if loc is None:
        return found, bad
    for p in files(loc):
        f, b = _read_file(p, cache)
        found += f
        bad += b
    return found, bad


# --- verifying ----------------------------------------------------------------------------------

@dataclass
class Problem:
    seq: int | None
    where: str
    problem: str

    def __str__(self) -> str:
        name = f"checkpoint #{self.seq}" if self.seq is not None else "checkpoints"
        return f"{name} ({self.where}): {self.problem}"


@dataclass
class Report:
    location: str | None
    public_key: str
    trusted_key: str | None  # fingerprint of the trusted public key
    signing: bool  # a private key is configured: commits write checkpoints
    found: int = 0
    checked: int = 0
    latest_seq: int | None = None
    chain_length: int = 0
    from_seq: int = 0
    problems: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return f"{len(self.problems)} problem(s); first: {self.problems[0]}"
        if not self.found:
            why = ("no audit key is configured, so nothing is signed (create one with `ipfund audit keygen`)"
                   if not self.signing else "none has been written yet")
            return (f"no checkpoints in {self.location}: {why}; truncation and rewriting of the audit log "
                    "cannot be detected without checkpoints")
        key = f", signed by the trusted key {self.trusted_key[:16]}…" if self.trusted_key else ""
        scope = (f"all {self.checked} checkpoint(s)" if not self.from_seq else
                 f"the {self.checked} checkpoint(s) after #{self.from_seq} (of {self.found})")
        return f"{scope} match the chain{key} (latest #{self.latest_seq}, chain ends at #{self.chain_length})"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "location": self.location, "public_key": self.public_key,
                "trusted_key": self.trusted_key, "signing": self.signing, "found": self.found,
                "checked": self.checked, "latest_seq": self.latest_seq, "chain_length": self.chain_length,
                "problems": [{"seq": p.seq, "where": p.where, "problem": p.problem} for p in self.problems],
                "notices": self.notices, "summary": self.summary()}


def stored_hashes(session: Session, seqs: Iterable[int]) -> dict[int, str]:
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    wanted = sorted(set(seqs))
    out: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        for seq, h in session.execute(select(t.c.seq, t.c.hash).where(t.c.seq.in_(wanted[i:i + 500]))).all():
            out[int(seq)] = str(h)
    return out


def verify(session: Session, loc: Path | None = None, from_seq: int = 0) -> Report:
    """Check the chain in the database against every checkpoint at ``loc`` (default: the configured
    location of this database): each must be signed by the trusted key, and the chain must hold its
    entry with its hash. ``from_seq`` > 0 checks only checkpoints after that entry (after a flow run)."""
    loc = loc if loc is not None else location(_url_of(session))
    pub_path = public_key_path()
    report = Report(str(loc) if loc else None, str(pub_path), None, signing=key_path().exists(), from_seq=from_seq)
    unreadable_key = False
    try:
        trusted = trusted_public_key()
    except (ValueError, TypeError) as exc:
        trusted, unreadable_key = None, True
        report.problems.append(Problem(None, str(pub_path), f"the trusted public key cannot be read ({exc})"))
    report.trusted_key = rules.key_fingerprint(trusted) if trusted else None
    found, bad = read(loc)
    for u in bad:
        if u.incomplete:
            report.notices.append(f"{u.where}: {u.problem}")
        else:
            report.problems.append(Problem(None, u.where, u.problem + "; a line that was removed or garbled hides "
                                           "a checkpoint, so this counts as tampering until explained"))
    report.found = len(found)
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    report.chain_length = int(session.execute(select(func.coalesce(func.max(t.c.seq), 0))).scalar_one())
    if found:
        report.latest_seq = max(x.checkpoint.seq for x in found)
    selected = [x for x in found if x.checkpoint.seq > from_seq]
    if selected and trusted is None and not unreadable_key:
        report.problems.append(Problem(None, str(pub_path), (
            f"there is no trusted public key at {pub_path}, so {len(selected)} checkpoint(s) cannot be verified: "
            f"copy this installation's public key there or set {ENV_PUBLIC_KEY}")))
    stored = stored_hashes(session, (x.checkpoint.seq for x in selected))
    matched: list[int] = []
    differs: list[int] = []
    for x in sorted(selected, key=lambda x: (x.checkpoint.seq, x.where)):
        cp = x.checkpoint
        problem = rules.signature_problem(cp, trusted) if trusted is not None else None
        if problem is None:
            problem = rules.chain_problem(cp, stored.get(cp.seq), report.chain_length)
            (differs if problem else matched).append(cp.seq)
        if problem:
            report.problems.append(Problem(cp.seq, x.where, problem))
        else:
            report.checked += 1
    if differs:
        good = max((q for q in matched if q < differs[0]), default=None)
        report.notices.append(
            (f"the chain still matches checkpoint #{good} but not #{differs[0]}: " if good else
             f"the chain matches no checkpoint up to #{differs[0]}: ")
            + (f"entry #{differs[0]} was changed or removed" if (good or 0) + 1 == differs[0] else
               f"the change lies in entries #{(good or 0) + 1}–#{differs[0]}"))
    if report.latest_seq is not None and report.latest_seq < report.chain_length and not report.problems:
        first = report.latest_seq + 1
        which = (f"entry #{first} is" if first == report.chain_length else
                 f"entries #{first}–#{report.chain_length} are")
        report.notices.append(f"{which} not covered by a checkpoint yet (appended without an audit key, by a "
                              "process that has not written its checkpoint yet, or its checkpoint could not be "
                              "written)")
    return report


def covering(session: Session, seq: int, loc: Path | None = None) -> dict[str, Any] | None:
    """For a dossier anchored at entry #seq: the earliest checkpoint covering it that is signed by the
    trusted key (forged ones are ignored here and reported by `ipfund audit verify`), with whether the
    chain still holds its head. None when there is none (or no trusted key)."""
    if seq < 1:
        return None
    try:
        trusted = trusted_public_key()
    except (ValueError, TypeError):
        return None
    if trusted is None:
        return None
    loc = loc if loc is not None else location(_url_of(session))
    found, _bad = read(loc, cache=True)
    candidates = rules.covering((x.checkpoint for x in found), seq)
    cp = next((c for c in candidates if rules.signature_problem(c, trusted) is None), None)
    if cp is None:
        return None
    stored = stored_hashes(session, [cp.seq]).get(cp.seq)
    return {**cp.as_dict(), "matches_chain": stored == cp.head_hash}


def between(session: Session, first: int, last: int, loc: Path | None = None) -> dict[str, Any]:
    """The signed checkpoints covering entries #first..#last of the chain (a fund year's events): how
    many there are (signed by the trusted key, each head seq in the range, one per seq), the first and
    the last of them, and whether the chain still holds the head of every one. Checkpoints of entries up
    to #last were all written by the time #last was committed: later ones never change this."""
    out: dict[str, Any] = {"first_seq": first, "last_seq": last, "count": 0, "all_match_chain": True,
                           "first": None, "last": None}
    try:
        trusted = trusted_public_key()
    except (ValueError, TypeError):
        return out
    if trusted is None or last < first:
        return out
    found, _bad = read(loc if loc is not None else location(_url_of(session)), cache=True)
    by_seq: dict[int, Checkpoint] = {}
    for c in rules.covering((x.checkpoint for x in found), first):
        if c.seq <= last and c.seq not in by_seq and rules.signature_problem(c, trusted) is None:
            by_seq[c.seq] = c
    if not by_seq:
        return out
    stored = stored_hashes(session, by_seq)
    seqs = sorted(by_seq)
    out.update(count=len(seqs), all_match_chain=all(stored.get(s) == by_seq[s].head_hash for s in seqs),
               first={**by_seq[seqs[0]].as_dict(), "matches_chain": stored.get(seqs[0]) == by_seq[seqs[0]].head_hash},
               last={**by_seq[seqs[-1]].as_dict(), "matches_chain": stored.get(seqs[-1]) == by_seq[seqs[-1]].head_hash})
    return out
