"""Auditor dossiers (flows/services/dossier/, `ipfund dossier`): content, byte-reproducibility across
processes and time zones, issue, and verify against tampering. Built on one finished round
(tests/bench/sample_round.py); tests that write work on a private copy of its database."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import text
from typer.testing import CliRunner

from flows.pdf_render import (
    MissingGlyphError,
    RenderResult,
    extract_attachment,
    pdf_text_pages,
    read_manifest,
)
from flows.services import budget, dossier
from flows.services.dossier import rendering
from models.db import make_engine
from models.uow import read_only, unit_of_work
from rules.money import format_yuan, to_daxie
from tests.bench.sample_round import SampleRound, database, shared
from tests.conftest import ROOT, CliResult, Db


@pytest.fixture(scope="module")
def sample() -> SampleRound:
    return shared()


@pytest.fixture(scope="module")
def rendered(sample: SampleRound) -> dict[str, tuple[dossier.Dossier, RenderResult]]:
    """The dossiers of a paid case, an upheld objection, a rejection and the year — rendered with
    escaping of missing glyphs switched off, so any .notdef glyph fails the module."""
    out = {}
    with database(sample.url):
        for key in (sample.paid[0], sample.upheld, sample.rejected[0], "year"):
            with read_only() as s:
                d = dossier.build_year(s, 2021) if key == "year" else dossier.build_case(s, key)
            out[key] = (d, dossier.render(d, escape_missing=False))
    return out


@pytest.fixture
def private(sample: SampleRound, tmp_path: Path) -> Iterator[str]:
    """A private copy of the round's database, used as the default database."""
    url = sample.copy_to(tmp_path / "db")
    with database(url):
        yield url


def cli(url: str, *args: str) -> CliResult:
    from flows.cli.main import app

    with database(url):
        r = CliRunner().invoke(app, list(args), env={"IPFUND_DATABASE_URL": url, "IPFUND_USER": None},
                               catch_exceptions=False)
    return CliResult(r.exit_code, r.stdout, r.stderr)


def flat(text_: str) -> str:
    return " ".join(text_.split())


def snapshot(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        snap: dict[str, Any] = Db(url, engine).snapshot()
        with engine.connect() as conn:
            snap["audit_head"] = conn.execute(text("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")).scalar()
            snap["applications"] = conn.execute(text("SELECT group_concat(data || status, '|') FROM application")).scalar()
        return snap
    finally:
        engine.dispose()


# --- content ----------------------------------------------------------------------------------------

def test_a_paid_case_dossier_shows_applicant_award_in_figures_and_daxie_decisions_scores_and_hashes(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound) -> None:
    d, r = rendered[sample.paid[0]]
    pages = pdf_text_pages(r.pdf)
    packed = "".join("".join(pages).split())  # table cells wrap anywhere: compare without whitespace
    data = d.data
    award = data["award"]["award_fen"]
    assert award == 5_000_000
    for expected in (
        "案件审计档案", "Case dossier", d.key, d.number,
        data["applicant"]["name"], data["applicant"]["uscc"], data["applicant"]["district_name"],
        data["application"]["data"]["certificate_no"], data["application"]["data"]["certification_body"],
        format_yuan(award), to_daxie(award), "伍万元整",
        "材料齐全，形式审查通过", data["decisions"][0]["reviewer_name"], "审核人 reviewer",
        "certification_window", "certification-award.certificate_pattern",
        data["evaluation"]["combined"]["score"], "管理体系运行有效性", "30 %",
        data["outcome"]["final_score"], "funded", "予以奖励",
        "certification-award", "知识产权管理规范贯标认证奖励",
        "1:1.2 地方配套", "√ 通过 pass",
        "失败原因", "收款账户信息有误", "已拨付 paid", "bank-ack-2.csv",
        data["chain"]["hash"][:32], data["chain"]["hash"][32:],
    ):
        assert "".join(expected.split()) in packed, expected
    for event in data["events"]:
        assert event["hash"] in packed
    n = len(pages)
    for i, page in enumerate(pages, 1):
        assert f"第 {i} 页 / 共 {n} 页" in page and f"Page {i} of {n}" in page
        assert d.data_sha256 in page and d.number in page
    assert r.warnings == ()


def test_the_pdf_embeds_the_canonical_json_and_the_render_manifest(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound) -> None:
    d, r = rendered[sample.paid[0]]
    assert extract_attachment(r.pdf) == d.data_json
    assert json.loads(d.data_json) == d.data
    assert hashlib.sha256(d.data_json).hexdigest() == d.data_sha256
    assert d.number == f"DOS-{d.key}-{d.data_sha256[:8]}"
    manifest = read_manifest(r.pdf)
    assert manifest == r.manifest
    assert manifest is not None
    assert manifest["data_sha256"] == d.data_sha256
    assert manifest["document_id"] == d.number
    assert manifest["template_sha256"] == dossier.template_sha256("case")
    assert manifest["pdf_variant"] == "pdf/a-3b"
    assert manifest["harfbuzz_subset"] == "yes"
    for key in ("ipfund_version", "weasyprint_version", "pydyf_version", "font_sha256:NotoSansHans-Regular.otf"):
        assert manifest[key]
    reader: Any = PdfReader(BytesIO(r.pdf))
    assert reader.trailer["/ID"][0] == d.data_sha256
    # The document date is the anchor event's date, not today.
    assert d.created == d.data["chain"]["at"][:10] == "2021-05-28"
    assert reader.metadata["/CreationDate"] == "D:20210528"


def test_the_case_dossier_covers_objections_rejections_and_superseded_scores(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound) -> None:
    d, r = rendered[sample.upheld]
    text_ = "".join("".join(pdf_text_pages(r.pdf)).split())
    assert "举报：该企业贯标认证证书已被认证机构暂停" in text_
    assert "异议成立upheld" in text_ and "经核实证书已暂停，撤销奖励" in text_
    assert "已撤销奖励" in text_ and "objection_upheld" in text_
    assert d.data["award"]["withdrawn_fen"] == 5_000_000
    assert any(not s["active"] for s in d.data["evaluation"]["scores"])
    assert "Supersededscores" in text_
    d2, r2 = rendered[sample.rejected[0]]
    text2 = "".join("".join(pdf_text_pages(r2.pdf)).split())
    assert "不予通过reject" in text2 and "认证范围与申报主体不一致" in text2
    assert "rejected_in_review" in text2 and "Thecasedidnotreachthird-partyevaluation" in text2
    assert d2.data["award"]["award_fen"] is None


def test_the_year_dossier_shows_receipts_lines_fund_rules_outcomes_and_adjustments(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]]) -> None:
    d, r = rendered["year"]
    text_ = flat(" ".join(pdf_text_pages(r.pdf)))
    for expected in ("2021 年度资金审计档案", "Fund-year dossier 2021", d.number,
                     "¥50,000,000.00", "¥110,000,000.00", "壹亿壹仟万元整",
                     "cluster-zone-build", "risk-compensation-pool", "集聚区 cluster zone",
                     "1:1.2 地方配套", "集聚区 ≥ 40 %", "市场化 ≥ 40 %", "√ 通过 pass", "× 未通过 fail",
                     "专利导航项目压减，退回中央资金", "王审批", "-¥100,000.00",
                     "予以奖励 funded", "评分低于最低分 below minimum score", "异议成立，撤销奖励"):
        assert expected in text_, expected
    rules = {x["rule"]: x for x in d.data["fund_rules"]["planned"]}
    assert rules["match"]["passed"] and rules["cluster_floor"]["passed"] and rules["market_floor"]["passed"]
    assert d.data["fund_rules"]["all_actual_pass"] is False  # little is paid yet: the actual floors fail
    assert [a["approved_by"] for a in d.data["adjustments"]] == ["wang.approve"]
    assert sum(o["count"] for o in d.data["outcomes"]) == d.data["applications_total"] == 12
    assert r.warnings == ()
    # the programme's KPIs against their targets (一(二)), as of the year's last day
    k = {x["id"]: x for x in d.data["kpis"]["rows"]}
    assert d.data["kpis"]["as_of"] == "2021-12-31" and k["certified_entities"]["as_of"] == "2021-12-31"
    assert set(k["certified_entities"]["by_year"]) == {"2020", "2021"}
    assert k["certified_entities"]["total"] == k["certified_entities"]["by_year"]["2021"] > 0
    for expected in ("九、绩效指标 Programme KPIs against their targets", "贯标认证支持单位", "≥ 240", "≥ 200",
                     "national floor", "年均增幅 ≥ +20.0 %/yr", "产业专利导航项目", "≥ 15", "未导入 no figure imported",
                     "十、相关人员", "十一、审计链", "十二、渲染信息"):
        assert expected in text_, expected


# --- reproducibility --------------------------------------------------------------------------------

_CHILD = """
import sys
from flows.services import dossier
from models.uow import read_only
with read_only() as s:
    case = dossier.build_case(s, sys.argv[1])
    year = dossier.build_year(s, 2021)
print(dossier.render(case).sha256, dossier.render(year).sha256)
"""


def test_two_renders_in_processes_with_other_time_zones_and_hash_seeds_are_byte_identical(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, tmp_path: Path) -> None:
    ref = sample.paid[0]
    runs = (("Asia/Shanghai", "1", "zh_CN.UTF-8"), ("America/Los_Angeles", "4242", "C.UTF-8"))
    procs = []
    for tz, seed, lang in runs:
        env = dict(os.environ, TZ=tz, PYTHONHASHSEED=seed, LANG=lang, LC_ALL=lang, PYTHONPATH=str(ROOT),
                   IPFUND_DATABASE_URL=sample.url)
        env.pop("IPFUND_NOW", None)
        procs.append(subprocess.Popen([sys.executable, "-c", _CHILD, ref], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outputs.append(out.split())
    expected = [rendered[ref][1].sha256, rendered["year"][1].sha256]
    assert outputs == [expected, expected]


def test_rendering_and_verifying_write_nothing_and_repeat_byte_for_byte(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, tmp_path: Path) -> None:
    ref = sample.rejected[0]
    before = snapshot(sample.url)
    out = tmp_path / "a.pdf"
    r = cli(sample.url, "dossier", "case", ref, "--out", str(out), "--as", "sun.audit")
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes() == rendered[ref][1].pdf
    v = cli(sample.url, "dossier", "verify", str(out))
    assert v.exit_code == 0, v.stderr
    assert "√ identical" in v.stdout and rendered[ref][0].number in v.stdout
    assert snapshot(sample.url) == before


def test_later_unrelated_events_and_issuing_do_not_change_a_case_dossier(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, private: str) -> None:
    d, r = rendered[sample.paid[0]]
    year_before = rendered["year"][0]
    with unit_of_work() as s:
        dossier.issue(s, "sun.audit", d, r)
        budget.adjust_line(s, "wang.approve", 2021, "patent-navigation", "central", "-1000.00", "再压减")
    with read_only() as s:
        again = dossier.build_case(s, d.key)
        year_after = dossier.build_year(s, 2021)
        head = s.execute(text("SELECT max(seq) FROM audit_event")).scalar_one()
    assert again.data_json == d.data_json and again.number == d.number
    assert head > d.data["chain"]["seq"] + 1
    # The year dossier does change: the adjustment is part of the year.
    assert year_after.data_sha256 != year_before.data_sha256
    assert [a["delta_fen"] for a in year_after.data["adjustments"]] == [-10_000_000, -100_000]


def test_a_character_the_fonts_lack_is_printed_as_its_code_point(sample: SampleRound, private: str) -> None:
    ref = sample.rejected[0]
    with unit_of_work() as s:
        s.execute(text("UPDATE review_decision SET reason = reason || ' 😀' WHERE application_id = "
                       "(SELECT id FROM application WHERE ref = :r)"), {"r": ref})
    with read_only() as s:
        d = dossier.build_case(s, ref)
    assert "😀" in d.data["decisions"][0]["reason"]
    with pytest.raises(MissingGlyphError):
        dossier.render(d, escape_missing=False)
    result = dossier.render(d)
    assert "[U+1F600]" in flat(" ".join(pdf_text_pages(result.pdf)))
    assert extract_attachment(result.pdf) == d.data_json  # the data keeps the character


# --- issue ----------------------------------------------------------------------------------------

def test_issuing_appends_the_sha256_and_manifest_to_the_audit_chain(
        sample: SampleRound, private: str, tmp_path: Path) -> None:
    ref = sample.rejected[0]
    before = snapshot(private)
    refused = cli(private, "dossier", "case", ref, "--issue", "--as", "li.review", "--out", str(tmp_path / "x.pdf"))
    assert refused.exit_code == 1
    assert "li.review (roles: reviewer) may not dossier.issue" in flat(refused.stderr)
    assert snapshot(private) == before and not (tmp_path / "x.pdf").exists()
    out = tmp_path / "issued.pdf"
    r = cli(private, "dossier", "case", ref, "--issue", "--as", "sun.audit", "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    info = json.loads(r.stdout)
    pdf = out.read_bytes()
    with read_only() as s:
        event = s.execute(text("SELECT seq, actor, action, subject, payload FROM audit_event "
                               "ORDER BY seq DESC LIMIT 1")).one()
    payload = json.loads(event[4])
    assert (event[0], event[1], event[2], event[3]) == (info["issued"]["seq"], "sun.audit", "dossier.issue",
                                                        f"dossier:{ref}")
    assert payload["pdf_sha256"] == hashlib.sha256(pdf).hexdigest() == info["sha256"]
    assert payload["manifest"] == read_manifest(pdf)
    assert payload["anchor_seq"] == info["anchor_seq"] < event[0]
    assert cli(private, "audit", "verify").exit_code == 0
    v = cli(private, "dossier", "verify", str(out))
    assert v.exit_code == 0, v.stderr
    assert "issued by sun.audit" in v.stdout and f"audit event #{event[0]}" in v.stdout


# --- verify ---------------------------------------------------------------------------------------

def _tampered(pdf: bytes, offset: int) -> bytes:
    b = bytearray(pdf)
    b[offset] ^= 0x01
    return bytes(b)


def test_verify_finds_one_changed_byte_in_the_pdf(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, tmp_path: Path) -> None:
    d, r = rendered[sample.rejected[0]]
    offset = len(r.pdf) // 2
    path = tmp_path / "t.pdf"
    path.write_bytes(_tampered(r.pdf, offset))
    v = cli(sample.url, "dossier", "verify", str(path))
    assert v.exit_code == 1
    err = flat(v.stderr)
    assert "× differs" in err and "Traceback" not in err
    assert "the PDF was altered" in err
    j = cli(sample.url, "dossier", "verify", str(path), "--json")
    report = json.loads(j.stdout)
    assert j.exit_code == 1
    assert report["verdict"] == "pdf_altered" and report["data_differences"] == []
    assert report["environment_differences"] == []
    assert report["first_byte_difference"] == offset
    assert report["expected_document_id"] == d.number


def test_verify_of_a_file_damaged_beyond_reading_fails_and_can_be_named(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, tmp_path: Path) -> None:
    d, r = rendered[sample.rejected[0]]
    offset = r.pdf.rindex(b"startxref") + 2
    path = tmp_path / "t.pdf"
    path.write_bytes(_tampered(r.pdf, offset))
    v = cli(sample.url, "dossier", "verify", str(path))
    assert v.exit_code == 1
    assert "cannot tell which dossier this file is" in flat(v.stderr) and "--case REF" in v.stderr
    named = cli(sample.url, "dossier", "verify", str(path), "--case", d.key, "--json")
    assert named.exit_code == 1
    report = json.loads(named.stdout)
    assert report["verdict"] == "unreadable" and report["first_byte_difference"] == offset


def test_verify_names_the_application_field_changed_in_the_database(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, private: str,
        tmp_path: Path) -> None:
    d, r = rendered[sample.rejected[0]]
    path = tmp_path / "issued.pdf"
    path.write_bytes(r.pdf)
    data = dict(d.data["application"]["data"], certification_body="伪造认证有限公司")
    with unit_of_work() as s:
        s.execute(text("UPDATE application SET data = :d WHERE ref = :r"),
                  {"d": json.dumps(data, ensure_ascii=False, sort_keys=True), "r": d.key})
    v = cli(private, "dossier", "verify", str(path), "--json")
    assert v.exit_code == 1
    report = json.loads(v.stdout)
    assert report["verdict"] == "database_changed"
    assert report["data_differences"] == [{"field": "application.data.certification_body",
                                           "in_file": d.data["application"]["data"]["certification_body"],
                                           "in_database": "伪造认证有限公司"}]
    text_ = cli(private, "dossier", "verify", str(path))
    assert "application.data.certification_body" in text_.stderr and "伪造认证有限公司" in text_.stderr
    assert "the database changed after the dossier was rendered" in flat(text_.stderr)


def test_verify_names_a_score_changed_in_the_database(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, private: str,
        tmp_path: Path) -> None:
    d, r = rendered[sample.upheld]
    path = tmp_path / "issued.pdf"
    path.write_bytes(r.pdf)
    first_active = next(i for i, x in enumerate(d.data["evaluation"]["scores"]) if x["active"])
    with unit_of_work() as s:
        s.execute(text("UPDATE score SET score_tenths = 990 WHERE id = (SELECT min(score.id) FROM score "
                       "JOIN application ON application.id = score.application_id "
                       "WHERE application.ref = :r AND score.active)"), {"r": d.key})
    v = cli(private, "dossier", "verify", str(path), "--json")
    assert v.exit_code == 1
    report = json.loads(v.stdout)
    fields = {x["field"]: x for x in report["data_differences"]}
    assert fields[f"evaluation.scores[{first_active}].score"]["in_database"] == "99.0"
    assert fields[f"evaluation.scores[{first_active}].score_tenths"]["in_database"] == 990
    assert fields["evaluation.combined.matches_stored"] == {
        "field": "evaluation.combined.matches_stored", "in_file": True, "in_database": False}
    assert report["verdict"] == "database_changed"


def test_verify_tells_a_changed_render_environment_from_a_tampered_pdf(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    d, _r = rendered[sample.rejected[0]]
    real = rendering.template_sha256
    monkeypatch.setattr(rendering, "template_sha256", lambda kind: "0" * 64)  # the name render() looks up
    older = dossier.render(d)  # as if rendered years ago from other templates
    monkeypatch.setattr(rendering, "template_sha256", real)
    path = tmp_path / "old.pdf"
    path.write_bytes(older.pdf)
    v = cli(sample.url, "dossier", "verify", str(path), "--json")
    assert v.exit_code == 1
    report = json.loads(v.stdout)
    assert report["verdict"] == "environment_changed"
    assert report["data_differences"] == []
    assert [e["key"] for e in report["environment_differences"]] == ["template_sha256"]
    # The page text shows the changed template hash on the last page.
    assert report["page_differences"] and report["page_differences"][-1]["page"] == len(pdf_text_pages(older.pdf))


def test_verify_refuses_a_file_that_is_not_a_dossier(sample: SampleRound, tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF-1.7\nnot really\n")
    v = cli(sample.url, "dossier", "verify", str(path))
    assert v.exit_code == 1
    assert "cannot tell which dossier this file is" in flat(v.stderr)


# --- many at once -----------------------------------------------------------------------------------

def test_all_cases_of_a_year_render_in_parallel_identically_to_one_by_one(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound, tmp_path: Path) -> None:
    out = tmp_path / "all"
    r = cli(sample.url, "dossier", "case", "--all", "--year", "2021", "--out", str(out), "--jobs", "2", "--json")
    assert r.exit_code == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["dossiers"] == len(sample.refs) and info["workers"] == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{ref}.pdf" for ref in sample.refs)
    for ref in (sample.paid[0], sample.upheld, sample.rejected[0]):
        assert (out / f"{ref}.pdf").read_bytes() == rendered[ref][1].pdf
    bad = cli(sample.url, "dossier", "case", "--all", "--out", str(out))
    assert bad.exit_code == 1 and "--year" in bad.stderr


def test_a_case_dossier_is_the_same_whether_its_round_report_was_parsed_for_it_or_for_another_case(
        sample: SampleRound) -> None:
    """`dossier case --all` parses a round's report once per process (16 MB at 100,000 cases) and every
    case reads its own line from that: the data must equal a render whose report was parsed for it alone."""
    ref = sample.upheld
    with database(sample.url), read_only() as s:
        dossier._round_report.cache_clear()
        alone = dossier.case_data(s, ref)
        dossier._round_report.cache_clear()
        dossier.case_data(s, sample.paid[0])  # parses the same round's report first
        shared_report = dossier.case_data(s, ref)
    assert alone["outcome"]["round"]["case_in_report"]["ref"] == ref
    assert shared_report == alone


# --- sections from the scheme -----------------------------------------------------------------------

PILOT = "patent-intensive-product"


def _recognised_pilot_case(db: Db) -> str:
    """A pilot product (专利密集型产品认定) taken through both review tiers, evaluation, recognition and
    notice: a case of a scheme without money."""
    from flows import synthetic
    from flows.services import applicants as applicants_svc
    from flows.services import applications, evaluation, review, rounds, users
    from flows.services.advance import advance_plain
    from tests.support import set_clock, staff_and_plan

    staff_and_plan(db.engine)
    applicant = next(a for a in synthetic.applicants(40, 11) if a.kind == "enterprise")
    with unit_of_work(db.engine) as s:
        users.create_user(s, "admin", "zhou.review", ["reviewer"], "周审核", "烟台市科学技术局")
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv([applicant]), "applicants.csv")
        ref = applications.apply(s, "admin", PILOT, {
            "product_name": "高精度晶圆检测设备", "product_category": "C3562 半导体器件专用设备制造",
            "invention_patents": "8", "patent_licences": "2", "patent_transfers": "1",
            "pledge_financing": "1500000.00", "product_revenue": "82000000.00"}, applicant.uscc).ref
    advance_plain(PILOT)
    with unit_of_work(db.engine) as s:
        review.decide(s, "li.review", ref, "approve", "区市初审通过")
        review.decide(s, "zhao.review", ref, "approve", "复审通过")
        review.decide(s, "zhou.review", ref, "approve", "复审通过")
    advance_plain(PILOT)
    for ev in ("eval1", "eval2", "eval3", "eval4"):
        with read_only(db.engine) as s:
            lines = evaluation.template(s, ev, "csv").decode("utf-8-sig").splitlines()[1:]
        rows = [(ln.split(",")[0], ln.split(",")[1], "85.0", "评价意见") for ln in lines]
        if rows:
            with unit_of_work(db.engine) as s:
                evaluation.upload(s, ev, synthetic.scores_csv(rows), f"{ev}.csv")
    advance_plain(PILOT)
    set_clock("2021-05-10T01:00:00Z")
    with unit_of_work(db.engine) as s:
        rounds.finalize(s, "wang.approve", PILOT, 2021, allow_pending=True)
    set_clock("2021-05-17T01:00:00Z")
    advance_plain(PILOT)
    with read_only(db.engine) as s:
        assert applications.show(s, "admin", ref)["status"] == "recognised"
    return ref


def test_a_pilot_case_dossier_prints_the_sections_its_scheme_declares_without_payments_or_ledger(
        db: Db, rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound) -> None:
    from rules.policy import load_policy

    policy = load_policy("yantai-2020")
    ref = _recognised_pilot_case(db)
    with read_only(db.engine) as s:
        d = dossier.build_case(s, ref)
    r = dossier.render(d, escape_missing=False)
    assert d.data["sections"] == policy.scheme(PILOT).dossier_sections
    assert "payments" not in d.data["sections"] and "ledger" not in d.data["sections"]
    text_ = flat(" ".join(pdf_text_pages(r.pdf)))
    for expected in ("一、申请人 Applicant", "二、申报内容", "三、自动审查", "四、形式审查", "五、第三方评价",
                     "六、排序与结果", "七、奖励、预算科目与资金规则", "八、公示与异议", "九、相关人员",
                     "十、审计事件", "审计链 Audit chain", "十一、渲染信息", "recognised"):
        assert expected in text_, expected
    for absent in ("拨付与银行回单", "Payments and bank confirmations", "本案会计分录", "Ledger postings",
                   "十二、"):
        assert absent not in text_, absent
    assert r.warnings == ()

    # A certification case prints the payments and the ledger, in the declared order.
    cd, cr = rendered[sample.paid[0]]
    assert cd.data["sections"] == policy.scheme("certification-award").dossier_sections
    assert {"payments", "ledger"} <= set(cd.data["sections"])
    ctext = flat(" ".join(pdf_text_pages(cr.pdf)))
    for expected in ("九、拨付与银行回单 Payments and bank confirmations", "本案会计分录 Ledger postings of the case",
                     "十、相关人员", "十一、审计事件", "十二、渲染信息"):
        assert expected in ctext, expected
    assert ctext.index("七、奖励") < ctext.index("本案会计分录") < ctext.index("八、公示与异议")


def test_data_without_sections_renders_every_section_in_the_default_order(
        rendered: dict[str, tuple[dossier.Dossier, RenderResult]], sample: SampleRound) -> None:
    """A dossier rendered before schemes declared sections embeds no ``sections``: it still renders
    (verify re-renders a file from its own embedded data) with every section, as then."""
    from rules.stages import DOSSIER_SECTIONS

    d, _r = rendered[sample.paid[0]]
    assert d.data["sections"] == [s for s in DOSSIER_SECTIONS if s not in ("voucher", "project")]  # all but those two
    legacy = dossier.make_dossier({k: v for k, v in d.data.items() if k != "sections"})
    assert dossier.render_html(legacy).replace(legacy.number, d.number).replace(
        legacy.data_sha256, d.data_sha256) == dossier.render_html(d)


def test_dossier_bench_samples_the_year_and_projects_two_thousand_cases(sample: SampleRound) -> None:
    """`dossier bench --cases N` renders N cases spread over the year (not the first N) and reports
    pages/s per core, dossiers/min and the 2,000-case projection against the 10-minute target."""
    r = cli(sample.url, "dossier", "bench", "--cases", "2", "--sequential", "1", "--jobs", "1", "--json",
            "--as", "sun.audit")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["parallel"]["dossiers"] == 2 and result["sequential"]["dossiers"] == 1
    p = result["projection"]
    assert p["cases"] == 2000 and p["target_seconds"] == 600
    assert p["seconds"] == pytest.approx(2000 * result["parallel"]["seconds"] / 2, rel=0.01)
    assert p["meets_target"] == (p["seconds"] <= 600)
    text_ = cli(sample.url, "dossier", "bench", "--cases", "1", "--sequential", "1", "--jobs", "1",
                "--as", "sun.audit").stdout
    assert "pages/s per core" in text_ and "dossiers/min" in text_ and "projection: 2,000 case dossiers" in text_


def test_dossier_bench_times_the_year_dossier_with_its_roster(sample: SampleRound) -> None:
    """`dossier bench --year-dossier` also reads and renders the year dossier once: the cases in its
    roster (every case of the year), its pages and the seconds for the data and for the PDF."""
    r = cli(sample.url, "dossier", "bench", "--cases", "1", "--sequential", "0", "--jobs", "1", "--year-dossier",
            "--json", "--as", "sun.audit")
    assert r.exit_code == 0, r.stderr
    yd = json.loads(r.stdout)["year_dossier"]
    assert (yd["year"], yd["cases"]) == (2021, len(sample.refs)) and yd["pages"] >= 6
    assert yd["seconds"] == pytest.approx(yd["data_seconds"] + yd["render_seconds"], abs=0.02)
