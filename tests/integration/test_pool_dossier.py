"""A pool claim's dossier (风险补偿代偿档案, 二(三)7): the loan, the claim, each party's part with the shares of
the filing date and what each bore, the computation's trace with its parameters and clauses, the pool's
postings and every event of the claim — byte-reproducible, verified, and a tampered copy told apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows import demo_pool
from flows.pdf_render import pdf_text_pages
from flows.services import dossier, pool
from models.uow import read_only
from tests.desk.test_desk_http import tamper


@pytest.fixture
def pool_year(db: Any, tmp_path: Path) -> Any:
    demo_pool.pool_step(db.engine, tmp_path / "work")
    return db


def _claim(db: Any, loan: str) -> dict[str, Any]:
    with read_only(db.engine) as s:
        return next(c for c in pool.status(s, "admin")["claims"] if c["loan"] == loan)


def test_the_dossier_shows_the_computation_and_each_partys_part(pool_year: Any, cli: Any, tmp_path: Path) -> None:
    claim = _claim(pool_year, "BOC-2021-001")
    out = tmp_path / "rc.pdf"
    r = cli("dossier", "pool-claim", claim["ref"], "--out", str(out), "--json", "--as", "admin")
    assert r.exit_code == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["kind"] == "pool_claim" and info["document_id"].startswith(f"DOS-{claim['ref']}-")
    text = "".join("".join(pdf_text_pages(out.read_bytes())).split())  # cells wrap: compare without whitespace
    from rules.money import format_yuan

    def bare(x: str) -> str:
        return "".join(x.split())

    for step in claim["trace"]:
        assert bare(step["what"]) in text and bare(step["value"]) in text
        if step["parameter"]:
            assert step["parameter"] in text
    for _party, part in claim["parts"].items():
        assert format_yuan(part) in text
    assert sum(claim["parts"].values()) == claim["loss_fen"]
    assert format_yuan(claim["loss_fen"]) in text and "pool.pay" in text and "pool.settle" in text
    assert claim["ref"] in text
    v = cli("dossier", "verify", str(out), "--as", "admin")
    assert v.exit_code == 0 and "identical" in v.stdout


def test_the_same_claim_gives_the_same_bytes_and_a_tampered_copy_is_told_apart(pool_year: Any) -> None:
    ref = _claim(pool_year, "RCB-2021-001")["ref"]
    with read_only(pool_year.engine) as s:
        first = dossier.render(dossier.build_pool_claim(s, ref)).pdf
        again = dossier.render(dossier.build_pool_claim(s, ref)).pdf
        assert first == again
        report = dossier.verify(s, tamper(first))
    assert not report.identical and report.kind == "pool_claim" and report.key == ref


def test_an_unknown_claim_is_refused_by_name(pool_year: Any, cli: Any) -> None:
    r = cli("dossier", "pool-claim", "RC-9-9", "--as", "admin")
    assert r.exit_code == 1 and "no pool claim 'RC-9-9'" in r.stderr
