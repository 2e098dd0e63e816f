"""The case dossier of a custody voucher (托管服务券, 二(二)5): the ``voucher`` section prints the service,
face value and dates, every contract (an ended one with why), the cover, the redemption with each evidence
file's sha256, the SME's dispute and confirmation and the settlement payee; the data is embedded, a second
render (and the `--all` batch) gives the same bytes, and `dossier verify` passes. SQLite, and PostgreSQL
with IPFUND_TEST_DATABASE_URL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from flows.pdf_render import extract_attachment, pdf_text_pages
from flows.services import dossier
from models.uow import read_only
from rules.money import format_yuan, to_daxie
from tests.conftest import Db
from tests.support import bank_ack, set_clock
from tests.voucher_support import PDF, PNG, SCHEME, A, B, evaluate, evidence, issue, ok, setup_world, status


@pytest.fixture
def settled(cli: Any, db: Db, tmp_path: Path) -> tuple[Any, str, str]:
    """Voucher ``a`` (sme1): contracted with B, returned when B is suspended, contracted with A for
    ¥8,000 (cover ¥4,000), redeemed with three evidence files, disputed, confirmed, settled to A. Voucher
    ``b`` (sme2): issued only."""
    world = setup_world(cli, tmp_path)
    a, b = issue(world, [("sme1", "consulting"), ("sme2", "consulting")])
    ok(world("voucher", "contract", a, "--agency", B, "--amount", "6000", "--as", "sme1"))
    set_clock("2021-03-15T01:00:00Z")
    ok(world("agency", "suspend", B, "--reason", "抽查不合格", "--as", "li"))
    assert status(world, a) == "issued"
    set_clock("2021-03-20T01:00:00Z")
    ok(world("voucher", "contract", a, "--agency", A, "--amount", "8000", "--as", "sme1"))
    set_clock("2021-04-20T01:00:00Z")
    ok(world("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    set_clock("2021-04-22T01:00:00Z")
    ok(world("voucher", "dispute", a, "--reason", "托管报告缺少第三章", "--as", "sme1"))
    set_clock("2021-04-25T01:00:00Z")
    ok(world("voucher", "confirm", a, "--as", "sme1"))
    set_clock("2021-04-28T01:00:00Z")
    evaluate(world, tmp_path, a, {"deliverables": 90, "quality": 80, "timeliness": 70, "satisfaction": 60})
    set_clock("2021-06-30T01:00:00Z")  # the first settlement date of 2021 (custody-voucher.settlement_dates)
    out = tmp_path / "bank"
    ok(world("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen"))
    (tmp_path / "ack.csv").write_bytes(bank_ack(sorted(out.glob("*.csv"))))
    ok(world("pay", "confirm", str(tmp_path / "ack.csv"), "--as", "chen"))
    assert status(world, a) == "settled"
    return world, a, b


def test_a_settled_voucher_dossier_shows_agency_contract_cover_and_evidence_and_reproduces(
        settled: tuple[Any, str, str], db: Db, tmp_path: Path) -> None:
    world, a, b = settled
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    ok(world("dossier", "case", a, "--out", str(first), "--as", "sun"))
    ok(world("dossier", "case", a, "--out", str(second), "--as", "sun"))
    pdf = first.read_bytes()
    assert pdf == second.read_bytes()  # same data, same bytes

    with read_only(db.engine) as s:
        d = dossier.build_case(s, a)
    assert d.data["sections"] == ["applicant", "application", "checks", "allocation", "voucher", "review",
                                  "evaluation", "payments", "ledger", "history"]
    vo = d.data["voucher"]
    assert json.loads(extract_attachment(pdf))["voucher"] == vo  # the embedded dossier.json carries it
    assert (vo["service"], vo["face_fen"], vo["held_fen"]) == ("consulting", 500000, 400000)
    assert vo["terms"] == {"issued_on": "2021-03-10", "use_by": "2021-09-10", "redeem_by": "2021-12-10",
                           "settlement_mode": "agency"}
    ended, live = vo["contracts"]
    assert (ended["agency"]["uscc"], ended["live"], ended["agency"]["at_contract"]["state"],
            ended["agency"]["as_of_last_event"]["state"]) == (B, False, "accredited", "suspended")
    assert B in ended["ended_reason"] and "returned to the holder" in ended["ended_reason"]
    assert (live["agency"]["uscc"], live["contract_fen"], live["cover_fen"], live["live"]) == (A, 800000, 400000,
                                                                                              True)
    shas = [e["sha256"] for e in vo["redemption"]["evidence"]]
    assert shas == [hashlib.sha256(c).hexdigest() for c in (PDF, PNG, PDF + b"r")]
    assert [h["act"] for h in vo["holder_acts"]] == ["dispute", "confirm"]
    assert vo["payee"] == {"mode": "agency", "kind": "agency", "name": "烟台正道知识产权代理有限公司", "uscc": A}
    # The reviewer's check, the evaluators' per-criterion scores and what the grade decided (二(二)5).
    assert [(h["act"], h["actor"]) for h in vo["reviewer_acts"]] == [("approve", "li")]
    # 90 × 40 % + 80 × 30 % + 70 × 15 % + 60 × 15 % = 79.5, at or above the pass grade 60
    assert {k: vo["grading"][k] for k in ("outcome", "final_score", "pass_grade", "pay_fen", "released_fen")} == {
        "outcome": "passed", "final_score": "79.50", "pass_grade": "60", "pay_fen": 400000, "released_fen": 0}
    ev = d.data["evaluation"]
    assert sorted(x["evaluator"] for x in ev["assignments"]) == ["ev1", "ev2"]

    pages = pdf_text_pages(pdf)
    packed = "".join("".join(pages).split())  # table cells wrap anywhere: compare without whitespace
    for expected in ("托管服务券", "Custody service voucher", "烟台正道知识产权代理有限公司", A,
                     "福山华知知识产权服务有限公司", B, "已终止", ended["ended_reason"], "已暂停",
                     "合同金额", "Contract amount", format_yuan(800000), to_daxie(800000),
                     "券支付上限", "Cover", format_yuan(400000), to_daxie(400000), format_yuan(500000),
                     "2021-09-10", "2021-12-10", "通兑", "托管报告缺少第三章", "确认服务", "提出异议",
                     "合同.pdf", "付款凭证.png", "托管报告.pdf", *shas, "审核通过，送第三方评价", "79.50",
                     "评价合格，按兑付金额结算", "服务成果完成度"):
        assert "".join(expected.split()) in packed, expected

    v = world("dossier", "verify", str(first))
    assert v.exit_code == 0, (v.stdout, v.stderr)
    assert "√ identical" in v.stdout

    # The --all batch renders the same bytes, and the issued-only voucher too.
    batch = tmp_path / "all"
    r = world("dossier", "case", "--all", "--year", "2021", "--scheme", SCHEME, "--out", str(batch), "--jobs", "2",
              "--json", "--as", "sun")
    assert r.exit_code == 0, r.stderr
    assert (batch / f"{a}.pdf").read_bytes() == pdf
    with read_only(db.engine) as s:
        only_issued = dossier.case_data(s, b)["voucher"]
    assert (only_issued["contracts"], only_issued["redemption"], only_issued["holder_acts"]) == ([], None, [])
    b_text = "".join("".join(pdf_text_pages((batch / f"{b}.pdf").read_bytes())).split())
    assert "尚未签约" in b_text and "尚未兑付" in b_text


def test_a_clawed_back_voucher_dossier_shows_the_finding_the_receivable_and_each_recovery(
        settled: tuple[Any, str, str], db: Db, tmp_path: Path) -> None:
    """Fraud found after settlement (二(四)13): the voucher section adds the finding, the amount owed and by
    whom, each recovery with its bank receipt; the ledger section the clawback and recovery postings; the
    dossier reproduces and verifies."""
    world, a, _b = settled
    set_clock("2021-06-01T01:00:00Z")
    ok(world("agency", "fraud", A, "--finding", "伪造托管服务成果报告", "--voucher", a, "--as", "li"))
    set_clock("2021-06-10T01:00:00Z")
    ok(world("voucher", "recover", a, "--amount", "1500", "--receipt", "BOC-2021-R001", "--as", "chen"))
    out = tmp_path / "claw.pdf"
    ok(world("dossier", "case", a, "--out", str(out), "--as", "sun"))
    pdf = out.read_bytes()
    with read_only(db.engine) as s:
        d = dossier.build_case(s, a)
    cb = d.data["voucher"]["clawback"]
    assert json.loads(extract_attachment(pdf))["voucher"]["clawback"] == cb
    assert (cb["amount_fen"], cb["recovered_fen"], cb["outstanding_fen"], cb["debtor_uscc"]) == (400000, 150000,
                                                                                                250000, A)
    assert [(r["receipt"], r["amount_fen"]) for r in cb["recoveries"]] == [("BOC-2021-R001", 150000)]
    packed = "".join("".join(pdf_text_pages(pdf)).split())
    for expected in ("欺诈追回", "伪造托管服务成果报告", "BOC-2021-R001", format_yuan(250000), "clawback", "recovery",
                     "应收追回"):
        assert "".join(expected.split()) in packed, expected
    v = world("dossier", "verify", str(out))
    assert v.exit_code == 0, (v.stdout, v.stderr)
