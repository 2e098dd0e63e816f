"""Signed checkpoints of the audit chain (models/checkpoints.py, `ipfund audit keygen|verify`, `ipfund
check`): the tampering the hash chain alone cannot see — the newest entries deleted, or the log rewritten
from the middle with every later hash recomputed — is found once checkpoints exist, naming the
checkpoint; a checkpoint forged without the key is found too. Each attack is also run against the same
database *without* checkpoints (the control), where it verifies: that is why checkpoints are needed.

Tampering goes around the ORM and every guard, as a DBA could: the append-only triggers are dropped
(models/schema.py SQLITE_UNGUARD / PG_UNGUARD), rows changed with plain SQL, committed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from models import checkpoints
from models.schema import PG_UNGUARD, SQLITE_UNGUARD
from rules import checkpoints as signed
from rules.audit_chain import event_hash
from tests.conftest import EXAMPLES, Db

PLAN = str(EXAMPLES / "plan-2021.toml")
STAFF = (("cai", "finance"), ("li", "reviewer"), ("zhao", "reviewer"), ("wang", "approver"), ("sun", "auditor"))


@pytest.fixture
def signing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> dict[str, Path]:
    """An installation with its own audit key (made by `ipfund audit keygen`) and a checkpoints directory."""
    key = tmp_path / "keys" / "audit-key.pem"
    where = tmp_path / "checkpoints"
    monkeypatch.setenv("IPFUND_AUDIT_KEY", str(key))
    monkeypatch.setenv("IPFUND_CHECKPOINTS", str(where))
    r = cli("audit", "keygen")
    assert r.exit_code == 0, r.stderr
    return {"key": key, "public": key.with_suffix(".pub"), "dir": where, "file": where / "checkpoints.jsonl"}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def head(db: Db) -> tuple[int, str]:
    with db.engine.connect() as c:
        row = c.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")).one()
    return int(row[0]), str(row[1])


def build(cli: Any) -> None:
    """Five commands that each append an event (five checkpoints), then the 2021 plan."""
    for name, role in STAFF:
        r = cli("user", "add", name, "--role", role, "--as", "admin")
        assert r.exit_code == 0, r.stderr
    r = cli("budget", "plan", PLAN, "--as", "cai")
    assert r.exit_code == 0, r.stderr


def unguard(db: Db) -> None:
    with db.engine.begin() as conn:
        for stmt in PG_UNGUARD if db.engine.dialect.name == "postgresql" else SQLITE_UNGUARD:
            conn.execute(text(stmt))


def delete_last(db: Db, n: int) -> None:
    unguard(db)
    top = head(db)[0]
    with db.engine.begin() as conn:
        assert conn.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": top - n}).rowcount == n
    assert head(db)[0] == top - n


def rewrite_from(db: Db, seq: int, old: str, new: str) -> None:
    """Change entry #seq's payload and recompute every later hash, so the chain itself verifies."""
    unguard(db)
    with db.engine.begin() as conn:
        rows = conn.execute(text("SELECT seq, at, actor, action, subject, payload, prev_hash FROM audit_event "
                                 "WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()
        assert old in rows[0][5]
        prev = rows[0][6]
        for s, at, actor, action, subject, payload, _prev in rows:
            payload = payload.replace(old, new) if s == seq else payload
            h = event_hash(prev, s, at, actor, action, subject, payload)
            conn.execute(text("UPDATE audit_event SET payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s"),
                         {"p": payload, "ph": prev, "h": h, "s": s})
            prev = h


def verify(cli: Any, *extra: str) -> tuple[Any, dict[str, Any]]:
    r = cli("audit", "verify", *extra)
    j = cli("audit", "verify", "--json", *extra)
    return r, json.loads(j.stdout)


def flat(s: str) -> str:
    return " ".join(s.split())


def check_line(cli: Any) -> dict[str, Any]:
    r = cli("check", "--json")
    return next(c for c in json.loads(r.stdout)["checks"] if c["check"] == "audit checkpoints match")


# --- the key ------------------------------------------------------------------------------------

def test_keygen_writes_a_0600_private_key_and_its_public_key_and_never_overwrites(
        signing: dict[str, Path], cli: Any, tmp_path: Path) -> None:
    key, pub = signing["key"], signing["public"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = (key.read_bytes(), pub.read_bytes())
    again = cli("audit", "keygen")
    assert again.exit_code == 1 and "Traceback" not in again.stderr
    assert "already exists" in flat(again.stderr) and "never overwritten" in flat(again.stderr)
    assert (key.read_bytes(), pub.read_bytes()) == before
    # --out writes elsewhere, also once only; the public key is written beside it.
    out = tmp_path / "other" / "k.pem"
    assert cli("audit", "keygen", "--out", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.with_suffix(".pub").exists()
    assert cli("audit", "keygen", "--out", str(out)).exit_code == 1


def test_keygen_refuses_when_only_the_public_key_exists(tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "k.pem"
    out.with_suffix(".pub").write_text("mine")
    r = cli("audit", "keygen", "--out", str(out))
    assert r.exit_code == 1 and "already exists" in flat(r.stderr)
    assert not out.exists() and out.with_suffix(".pub").read_text() == "mine"


# --- when checkpoints are written -----------------------------------------------------------------

def test_every_command_that_appends_events_writes_one_checkpoint_of_the_head(
        signing: dict[str, Path], cli: Any, db: Db) -> None:
    build(cli)
    written = lines(signing["file"])
    assert [c["seq"] for c in written] == [3, 4, 5, 6, 7, 8]  # #1-2 were written before the key (template)
    seq, h = head(db)
    assert (written[-1]["seq"], written[-1]["head_hash"]) == (seq, h)
    with db.engine.connect() as c:
        stored = dict(c.execute(text("SELECT seq, hash FROM audit_event")).all())
    assert all(stored[c["seq"]] == c["head_hash"] for c in written)
    trusted = checkpoints.trusted_public_key()
    assert trusted is not None
    assert all(signed.signature_problem(signed.parse(c), trusted) is None for c in written)
    r, out = verify(cli)
    assert r.exit_code == 0, r.stderr
    assert out["ok"] and out["checkpoints"]["checked"] == 6 and out["checkpoints"]["latest_seq"] == seq
    assert "checkpoints verify" in flat(r.stdout) and "all 6 checkpoint(s) match the chain" in flat(r.stdout)
    assert check_line(cli)["ok"]


def test_read_only_and_refused_commands_write_no_checkpoint(signing: dict[str, Path], cli: Any, db: Db) -> None:
    build(cli)
    before = signing["file"].read_bytes()
    for args in (("audit", "verify"), ("audit", "log", "--json"), ("user", "list"), ("check",),
                 ("budget", "status", "--year", "2021"), ("policy", "show")):
        cli(*args)
    refused = cli("budget", "plan", PLAN, "--as", "cai")  # the year already has a plan: refused, nothing written
    assert refused.exit_code == 1
    assert signing["file"].read_bytes() == before


def test_without_a_key_nothing_is_signed_and_verify_says_truncation_cannot_be_detected(
        cli: Any, db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = tmp_path / "checkpoints"
    monkeypatch.setenv("IPFUND_CHECKPOINTS", str(where))  # the conftest's key file does not exist
    build(cli)
    assert not where.exists()
    r, out = verify(cli)
    assert r.exit_code == 0 and out["ok"] and out["checkpoints"]["found"] == 0
    text_ = flat(r.stdout)
    assert "no audit key is configured" in text_ and "ipfund audit keygen" in text_
    assert "truncation and rewriting of the audit log cannot be detected without checkpoints" in text_
    line = check_line(cli)
    assert line["ok"] and "cannot be detected without checkpoints" in line["detail"]


def test_concurrent_writers_append_whole_lines(signing: dict[str, Path], db: Db) -> None:
    """Scale-out workers writing checkpoints at once: each checkpoint is one O_APPEND write, so the
    file holds every line whole."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(db.url, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    found, bad = checkpoints.read(signing["dir"])
    assert bad == [] and len(found) == 4 * 200
    assert sorted(x.checkpoint.seq for x in found) == sorted(w * 1000 + i + 1 for w in range(4) for i in range(200))


def _write_many(url: str, worker: int) -> None:
    for i in range(200):
        assert checkpoints.write(url, worker * 1000 + i + 1, f"{worker:x}" * 64) is not None
    os._exit(0)


# --- tampering: detected with checkpoints, invisible without --------------------------------------

def test_deleting_the_last_three_entries_is_detected_naming_the_checkpoint(
        signing: dict[str, Path], cli: Any, db: Db, tmp_path: Path) -> None:
    build(cli)
    top = head(db)[0]
    delete_last(db, 3)
    r, out = verify(cli)
    assert r.exit_code == 1
    err = flat(r.stderr)
    where = f"{signing['file']}:6"  # the sixth line is the checkpoint of the head
    assert f"checkpoint #{top} at {where}:" in err, err
    assert f"it now ends at #{top - 3}: the audit log was truncated (entries #{top - 2}–#{top} are missing)" in err
    assert out["chain_ok"] is True and out["ok"] is False  # the chain itself still verifies: only a checkpoint sees it
    assert [p["seq"] for p in out["checkpoints"]["problems"]] == [top - 2, top - 1, top]
    assert out["checkpoints"]["problems"][-1]["where"] == where
    line = check_line(cli)
    assert not line["ok"] and f"checkpoint #{top - 2}" in line["detail"]
    assert cli("check").exit_code == 1
    # The control: the same truncated log, checked without checkpoints, verifies.
    empty = tmp_path / "no-checkpoints"
    empty.mkdir()
    r0, out0 = verify(cli, "--checkpoints", str(empty))
    assert r0.exit_code == 0 and out0["ok"] and out0["events"] == top - 3
    assert "cannot be detected without checkpoints" in flat(r0.stdout)


def test_rewriting_from_the_middle_with_recomputed_hashes_is_detected(
        signing: dict[str, Path], cli: Any, db: Db, tmp_path: Path) -> None:
    build(cli)
    top = head(db)[0]
    rewrite_from(db, 4, '"reviewer"', '"admin"')  # entry #4 made li an admin; every later hash recomputed
    r, out = verify(cli)
    assert r.exit_code == 1 and out["chain_ok"] is True
    err = flat(r.stderr)
    assert f"checkpoint #4 at {signing['file']}:2:" in err, err
    assert "entry #4 now has hash" in err and "the audit log was rewritten at or before entry #4" in err
    assert "the chain still matches checkpoint #3 but not #4: entry #4 was changed or removed" in err
    assert [p["seq"] for p in out["checkpoints"]["problems"]] == list(range(4, top + 1))
    assert not check_line(cli)["ok"]
    empty = tmp_path / "no-checkpoints"
    empty.mkdir()
    r0, out0 = verify(cli, "--checkpoints", str(empty))
    assert r0.exit_code == 0 and out0["ok"], r0.stderr  # the control: without checkpoints the rewrite verifies


def test_a_checkpoint_forged_without_the_key_is_detected(signing: dict[str, Path], cli: Any, db: Db,
                                                         tmp_path: Path) -> None:
    """The forger rewrites the log and then makes the checkpoints agree with it: by editing the lines,
    or by signing new ones with a key of their own (naming it in the checkpoint). Both fail: the
    signature is checked with the trusted public key from configuration."""
    build(cli)
    rewrite_from(db, 4, '"reviewer"', '"admin"')
    with db.engine.connect() as c:
        stored = dict(c.execute(text("SELECT seq, hash FROM audit_event")).all())
    # (1) edit every checkpoint line to the rewritten hashes
    edited = [{**c, "head_hash": stored[c["seq"]]} for c in lines(signing["file"])]
    signing["file"].write_text("".join(json.dumps(c) + "\n" for c in edited))
    r, out = verify(cli)
    assert r.exit_code == 1
    err = flat(r.stderr)
    assert f"checkpoint #4 at {signing['file']}:2: its signature does not verify with the trusted audit key" in err
    assert [p["seq"] for p in out["checkpoints"]["problems"]] == [4, 5, 6, 7, 8]
    # (2) replace them with checkpoints signed by the forger's own key
    forger = tmp_path / "forger.pem"
    checkpoints.generate_key(forger)
    forged_key = checkpoints._read_key(forger, "private")
    assert forged_key is not None
    signing["file"].write_text("".join(signed.sign(forged_key, s, stored[s], "2021-12-31T00:00:00.000000Z").line()
                                       for s in range(3, 9)))
    r, out = verify(cli)
    assert r.exit_code == 1
    err = flat(r.stderr)
    assert f"checkpoint #3 at {signing['file']}:1: signed by key" in err
    assert "not by the trusted audit key" in err
    assert len(out["checkpoints"]["problems"]) == 6 and out["checkpoints"]["checked"] == 0
    # (3) a line that is no checkpoint at all hides one: that fails too, naming the line
    signing["file"].write_text('{"seq": 8, "head_hash": "garbled"}\n')
    r, _out = verify(cli)
    assert r.exit_code == 1 and f"{signing['file']}:1: not a checkpoint" in flat(r.stderr)


def test_checkpoints_without_the_trusted_public_key_cannot_pass(signing: dict[str, Path], cli: Any) -> None:
    build(cli)
    signing["public"].unlink()
    r, out = verify(cli)
    assert r.exit_code == 1 and not out["ok"]
    assert "there is no trusted public key at" in flat(r.stderr) and "IPFUND_AUDIT_PUBKEY" in flat(r.stderr)


def test_a_checkpoint_file_with_a_torn_last_line_is_noted_not_failed(signing: dict[str, Path], cli: Any) -> None:
    build(cli)
    with signing["file"].open("a") as f:
        f.write('{"at":"2021')  # a crash in the middle of a write
    r, out = verify(cli)
    assert r.exit_code == 0, r.stderr
    assert any("incomplete last line" in n for n in out["checkpoints"]["notices"])


# --- dossiers -------------------------------------------------------------------------------------

def _dossier(cli: Any, out: Path) -> dict[str, Any]:
    from flows.pdf_render import extract_attachment

    r = cli("dossier", "year", "2021", "--out", str(out), "--as", "sun")
    assert r.exit_code == 0, r.stderr
    raw = extract_attachment(out.read_bytes())
    assert raw is not None
    data: dict[str, Any] = json.loads(raw)
    return data


def test_a_dossier_embeds_the_earliest_covering_checkpoint_and_verify_checks_its_signature(
        signing: dict[str, Path], cli: Any, db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.pdf_render import pdf_text_pages

    build(cli)
    first = tmp_path / "a.pdf"
    data = _dossier(cli, first)
    cp = data["chain"]["checkpoint"]
    assert data["chain"]["seq"] == 8 and cp["seq"] == 8 and cp["matches_chain"] is True
    assert cp == {**lines(signing["file"])[-1], "matches_chain": True}
    page_text = flat(" ".join(pdf_text_pages(first.read_bytes())))
    assert "Signed checkpoint" in page_text and cp["key"][:32] in page_text.replace(" ", "")
    # Later commits write later checkpoints; the dossier keeps the earliest covering its anchor: same bytes.
    assert cli("user", "add", "qian", "--role", "reviewer", "--as", "admin").exit_code == 0
    assert lines(signing["file"])[-1]["seq"] == 9
    second = tmp_path / "b.pdf"
    _dossier(cli, second)
    assert second.read_bytes() == first.read_bytes()
    v = cli("dossier", "verify", str(first))
    assert v.exit_code == 0, v.stderr
    assert "the embedded checkpoint #8" in flat(v.stdout) and "verifies with the trusted key" in flat(v.stdout)
    # Verified with another "trusted" key (a forger's), the embedded checkpoint fails.
    other = tmp_path / "other.pem"
    checkpoints.generate_key(other)
    monkeypatch.setenv("IPFUND_AUDIT_PUBKEY", str(other.with_suffix(".pub")))
    v = cli("dossier", "verify", str(first))
    assert v.exit_code == 1
    assert "× checkpoint" in flat(v.stderr) and "not by the trusted audit key" in flat(v.stderr)


def test_the_year_dossier_names_the_signed_checkpoints_covering_the_year(
        signing: dict[str, Path], cli: Any, db: Db, tmp_path: Path) -> None:
    """From the year's budget plan event through its anchor: how many checkpoints, the first and the last
    (each still matching the chain); a later commit's checkpoint does not change the dossier."""
    from flows.pdf_render import pdf_text_pages

    build(cli)
    first = tmp_path / "a.pdf"
    data = _dossier(cli, first)
    cps = data["checkpoints"]
    assert cps["first_seq"] == data["plan_event"]["seq"] and cps["last_seq"] == data["chain"]["seq"]
    signed = [x for x in lines(signing["file"]) if cps["first_seq"] <= x["seq"] <= cps["last_seq"]]
    assert signed and cps["count"] == len(signed) and cps["all_match_chain"] is True
    assert cps["first"] == {**signed[0], "matches_chain": True} and cps["last"] == {**signed[-1], "matches_chain": True}
    page_text = flat(" ".join(pdf_text_pages(first.read_bytes())))
    assert f"Signed checkpoints covering the year · #{cps['first_seq']} – #{cps['last_seq']}" in page_text
    assert cli("user", "add", "qian", "--role", "reviewer", "--as", "admin").exit_code == 0
    second = tmp_path / "b.pdf"
    assert _dossier(cli, second)["checkpoints"] == cps and second.read_bytes() == first.read_bytes()


def test_a_dossier_no_checkpoint_covers_says_so(cli: Any, db: Db, tmp_path: Path) -> None:
    from flows.pdf_render import pdf_text_pages

    build(cli)  # no key: nothing signed
    out = tmp_path / "a.pdf"
    data = _dossier(cli, out)
    assert data["chain"]["checkpoint"] is None and data["checkpoints"]["count"] == 0
    assert "no signed checkpoint covered the anchor event" in flat(" ".join(pdf_text_pages(out.read_bytes())))
    v = cli("dossier", "verify", str(out))
    assert v.exit_code == 0, v.stderr
    assert "embeds no signed checkpoint" in flat(v.stdout)


def test_a_checkpoint_that_cannot_be_written_warns_and_the_commit_stands(
        signing: dict[str, Path], cli: Any, db: Db, caplog: pytest.LogCaptureFixture) -> None:
    build(cli)
    before = signing["file"].read_bytes()
    signing["key"].write_text("not a key\n")  # damaged after the fact
    with caplog.at_level("WARNING", logger="ipfund.checkpoints"):
        r = cli("user", "add", "qian", "--role", "reviewer", "--as", "admin")
    assert r.exit_code == 0, r.stderr
    assert db.scalar("SELECT COUNT(*) FROM app_user WHERE name = 'qian'") == 1
    assert db.scalar("SELECT MAX(seq) FROM audit_event") == 9
    assert "audit checkpoint for entry #9 was not written" in caplog.text
    assert signing["file"].read_bytes() == before
    r, out = verify(cli)
    assert r.exit_code == 0, r.stderr  # nothing was tampered with: the newest entry is only not covered yet
    assert "note: entry #9 is not covered by a checkpoint yet" in flat(r.stdout)
    assert out["checkpoints"]["checked"] == 6
