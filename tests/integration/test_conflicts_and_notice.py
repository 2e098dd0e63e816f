"""Conflicts of interest declared late, objections resolved by an interested approver, and
re-imported bank files (二(二)4, 不相容岗位相互分离)."""

from __future__ import annotations

from typing import Any

import pytest

from flows.services import evaluation, notice, payments, rounds, users
from models.uow import unit_of_work
from rules.errors import FourEyesViolation
from tests.support import SCHEME, bank_ack, scored_round, set_clock


def test_a_conflict_declared_after_scoring_withdraws_the_scores_and_restaffs_the_case(db: Any) -> None:
    r = scored_round(db.engine, n_apps=3)
    case = r.show(r.refs[0])
    assert case["status"] == "scored"
    evaluator = case["assignments"][0]["evaluator"]
    with unit_of_work(db.engine) as s:
        evaluation.declare_conflict(s, evaluator, case["applicant"]["uscc"], "曾为该单位提供贯标咨询")
    after = r.show(r.refs[0])
    assert after["status"] == "evaluation"
    assert evaluator not in [a["evaluator"] for a in after["assignments"]]
    assert all(not s["active"] for s in after["scores"] if s["evaluator"] == evaluator)
    r.advance()  # re-staffed by someone else
    staffed = [a["evaluator"] for a in r.show(r.refs[0])["assignments"]]
    assert len(staffed) == 3 and evaluator not in staffed


def test_an_approver_of_the_applicants_organisation_cannot_resolve_its_objection(db: Any) -> None:
    r = scored_round(db.engine, n_apps=3)
    set_clock("2021-05-10T01:00:00Z")
    with unit_of_work(db.engine) as s:
        final = rounds.finalize(s, "wang.approve", SCHEME, 2021)
    ref = next(c["ref"] for c in final["cases"] if c["outcome"] == "funded")
    uscc = r.show(ref)["applicant"]["uscc"]
    with unit_of_work(db.engine) as s:
        users.create_user(s, "admin", "insider", ["approver"], "insider", uscc)
        notice.object_to(s, "zhou.citizen", ref, "证书状态存疑")
    before = db.snapshot()
    with pytest.raises(FourEyesViolation, match="may not resolve"), unit_of_work(db.engine) as s:
        notice.resolve(s, "insider", ref, False, "异议不成立")
    assert db.snapshot() == before


def test_reimporting_a_bank_acknowledgement_writes_nothing(db: Any, tmp_path: Any) -> None:
    r = scored_round(db.engine, n_apps=3)
    r.finalize_and_end_notice()
    r.advance()
    with unit_of_work(db.engine) as s:
        result = payments.batch(s, "chen.finance", SCHEME)
        keys = [p.idempotency_key for p in result.payments]
    bank_file = tmp_path / "batch.csv"
    bank_file.write_bytes(result.file_content)
    ack = bank_ack([bank_file])
    with unit_of_work(db.engine) as s:
        payments.confirm(s, "chen.finance", ack, "ack.csv")
    before = db.snapshot()
    with unit_of_work(db.engine) as s:
        assert payments.confirm(s, "chen.finance", ack, "ack.csv")["unchanged"] == len(keys)
    assert db.snapshot() == before
