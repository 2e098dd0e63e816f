"""The case dossier of a funded project (二(一)1, 二(四)12, 三(三)): the ``project`` section prints the agreement's
KPI table, the mid-term report's evidence sha256, the evaluation's grade and the tranche released and cancelled
with their traces; a second render gives the same bytes. An unrectified project's dossier shows the clawback
and the bar; the year dossier reconciles the project scheme (cancellations are release postings, the clawback a
clawback posting). SQLite, and PostgreSQL with IPFUND_TEST_DATABASE_URL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flows.pdf_render import extract_attachment, pdf_text_pages
from flows.services import dossier, projects
from models.uow import read_only
from rules.money import format_yuan
from tests.conftest import Db
from tests.project_support import EVIDENCE, FULL, agree_all, funded_call, scores
from tests.support import set_clock


def _packed(pdf: bytes) -> str:
    return "".join("".join(pdf_text_pages(pdf)).split())


def test_a_project_dossier_after_a_good_mid_term_and_an_unrectified_one(db: Db, tmp_path: Path) -> None:
    c = funded_call(db.engine, tmp_path)
    agree_all(c)
    c.pay()
    good, bad = c.refs[0], c.refs[1]
    set_clock("2022-05-20T01:00:00Z")
    for ref in (good, bad):
        with c.uow() as s:
            projects.report(s, "admin", ref, "mid_term", FULL[c.types[ref]], EVIDENCE)
    with c.uow() as s:
        projects.evaluate(s, "ma.expert", good, "mid_term", scores(800))  # 良
    with c.uow() as s:
        projects.evaluate(s, "ma.expert", bad, "mid_term", scores(300))  # 差: rectification
    with c.uow() as s:
        projects.release(s, "qian.approve", good)
    c.pay()

    with read_only(db.engine) as s:
        d = dossier.build_case(s, good)
    assert "project" in d.data["sections"]
    pj = d.data["project"]
    first = dossier.render(d).pdf
    with read_only(db.engine) as s:
        second = dossier.render(dossier.build_case(s, good)).pdf
    assert first == second  # same data, same bytes
    embedded = extract_attachment(first)
    assert embedded is not None and json.loads(embedded)["project"] == pj
    sha = hashlib.sha256(EVIDENCE[0][2]).hexdigest()
    assert pj["reports"][0]["evidence"][0]["sha256"] == sha
    mid = next(t for t in pj["tranches"] if t["key"] == "mid_term")
    assert (mid["planned_fen"], mid["released_fen"], mid["cancelled_fen"]) == (16500000, 8250000, 8250000)
    assert pj["totals"]["released_fen"] + pj["totals"]["cancelled_fen"] + pj["totals"]["open_fen"] == \
        pj["totals"]["grant_fen"]
    packed = _packed(first)
    for expected in ("项目任务书与绩效评价", "绩效指标", "KPI targets", "导航分析专利数", "patents_navigated", "2000",
                     sha, "良", "88", "评价后审批核拨", format_yuan(16500000), format_yuan(8250000),
                     "share released for grade B", "project-grant.release_by_grade", "progress.pdf"):
        assert "".join(expected.split()) in packed, expected

    set_clock("2022-09-20T01:00:00Z")  # past the 90-day rectification: closed unrectified
    c.advance()
    with read_only(db.engine) as s:
        d2 = dossier.build_case(s, bad)
        year = dossier.year_data(s, 2021)
    cb = d2.data["project"]["clawback"]
    assert cb is not None and cb["amount_fen"] == 20100000 and cb["outstanding_fen"] == 20100000
    assert d2.data["project"]["bars"][0]["until"] == "2024-12-31"
    packed2 = _packed(dossier.render(d2).pdf)
    for expected in ("未整改追回", "限制申报", "2024-12-31", format_yuan(20100000), "未按期整改", "clawback"):
        assert "".join(expected.split()) in packed2, expected

    recon = next(r for r in year["reconciliation"] if r["scheme"] == c.scheme)
    assert recon["holds"] and recon["awards_match"] and recon["payments"]["paid_matches"]
    kinds = {(x["case"], x["kind"]) for x in recon["differences"]}
    assert {(good, "release"), (bad, "release"), (bad, "clawback")} <= kinds
    roster = {x["ref"]: x for r in year["roster"] if r["scheme"] == c.scheme for x in r["cases"]}
    assert (roster[bad]["awarded_fen"], roster[bad]["released_fen"], roster[bad]["clawed_back_fen"]) == (
        30000000, 9900000, 20100000)
