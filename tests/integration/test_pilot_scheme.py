"""The pilot that proves the engine generic: 专利密集型产品认定 (二(一)3) runs end to end from its policy
section and ``rules/schemes/patent_intensive_product.py`` alone — two review tiers (one approval at the
district, two at the city, a reviewer of the first tier barred from the second), working-day deadlines
on the policy's calendar with escalation, third-party evaluation by its own rubric, a recognition
without money, public notice — through the same services, stages and checker as certification awards.
"""

from __future__ import annotations

from typing import Any

import pytest

from flows import synthetic
from flows.services import (
    applicants as applicants_svc,
)
from flows.services import (
    applications,
    checker,
    evaluation,
    review,
    rounds,
    users,
)
from flows.services.advance import advance_plain
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from tests.support import set_clock, staff_and_plan

PILOT = "patent-intensive-product"


def product(name: str, patents: int) -> dict[str, str]:
    return {"product_name": name, "product_category": "C3562 半导体器件专用设备制造", "invention_patents": str(patents),
            "patent_licences": "2", "patent_transfers": "1", "pledge_financing": "1500000.00",
            "product_revenue": "82000000.00"}


def table_rows(engine: Any, table: str) -> int:
    from sqlalchemy import text

    with engine.connect() as c:
        return int(c.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


@pytest.fixture
def pilot(db: Any) -> dict[str, Any]:
    """Staff (a third reviewer for the city tier's two approvals), applicants and four products submitted
    on Monday 1 March 2021: three on at least five invention patents, one on three."""
    staff_and_plan(db.engine)
    pool = [a for a in synthetic.applicants(40, 11) if a.kind == "enterprise"][:4]
    with unit_of_work(db.engine) as s:
        users.create_user(s, "admin", "zhou.review", ["reviewer"], "周审核", "烟台市科学技术局")
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(pool), "applicants.csv")
        refs = [applications.apply(s, "admin", PILOT, product(f"产品{i}", n), a.uscc).ref
                for i, (a, n) in enumerate(zip(pool, (8, 3, 6, 5), strict=True))]
    return {"db": db, "refs": refs}


def status(db: Any, ref: str) -> str:
    with read_only(db.engine) as s:
        return str(applications.show(s, "admin", ref)["status"])


def test_a_product_is_recognised_through_two_tiers_evaluation_and_notice_with_no_money(pilot: dict[str, Any]) -> None:
    db, (good, few, weak, late) = pilot["db"], pilot["refs"]
    assert good.startswith("PIP-2021-")  # the scheme's own reference prefix
    advance_plain(PILOT)
    assert status(db, few) == "rejected"  # the scheme's own check: 3 < 5 invention patents
    with read_only(db.engine) as s:
        failed = [c for c in applications.show(s, "admin", few)["checks"] if not c["passed"]]
    assert [c["check"] for c in failed] == ["invention_patents_floor"]
    assert "at least 5 needed" in failed[0]["detail"] and failed[0]["clause"] == "二(一)3"
    assert {status(db, r) for r in (good, weak, late)} == {"district_review"}

    # District tier: one approval moves the case. The queue without --stage holds every scheme's review states.
    with unit_of_work(db.engine) as s:
        queued = {q["ref"]: q for q in review.queue(s, "li.review", limit=100)}
        assert {good, weak, late} <= set(queued) and queued[good]["stage"] == "district_review"
        assert queued[good]["due"] == "2021-03-08"  # five working days from Monday 1 March
        for ref in (good, weak):
            review.decide(s, "li.review", ref, "approve", "区市初审通过")
    assert status(db, good) == "municipal_review"

    # City tier: two approvals, and never by the district reviewer (one person, one tier).
    with unit_of_work(db.engine) as s:
        assert good not in {q["ref"] for q in review.queue(s, "li.review", stage="municipal_review")}
    with pytest.raises(RuleViolation, match="already decided another review tier"), unit_of_work(db.engine) as s:
        review.decide(s, "li.review", good, "approve", "复审通过")
    with unit_of_work(db.engine) as s:
        for ref in (good, weak):
            review.decide(s, "zhao.review", ref, "approve", "复审通过")
    assert status(db, good) == "municipal_review"  # one of two
    with unit_of_work(db.engine) as s:
        assert {q["ref"]: q for q in review.queue(s, "zhou.review")}[good]["approvals"] == 1
        for ref in (good, weak):
            review.decide(s, "zhou.review", ref, "approve", "复审通过")
    assert status(db, good) == "evaluation"

    # Evaluation by the pilot's own rubric (四 criteria), three evaluators per product.
    advance_plain(PILOT)
    with read_only(db.engine) as s:
        template = evaluation.template(s, "eval1", "csv").decode("utf-8-sig")
    assert {"patent_stock", "licensing_transfer", "pledge_financing", "patent_contribution"} <= {
        line.split(",")[1] for line in template.splitlines()[1:]}
    for ev in ("eval1", "eval2", "eval3", "eval4"):
        with read_only(db.engine) as s:
            lines = evaluation.template(s, ev, "csv").decode("utf-8-sig").splitlines()[1:]
        rows = [(ln.split(",")[0], ln.split(",")[1], "85.0" if ln.startswith(good) else "60.0", "评价意见")
                for ln in lines]
        if rows:
            with unit_of_work(db.engine) as s:
                evaluation.upload(s, ev, synthetic.scores_csv(rows), f"{ev}.csv")
    advance_plain(PILOT)
    assert status(db, good) == status(db, weak) == "scored"

    # Allocation "none": every product reaching the minimum score is recognised; no budget line, no money.
    ledger_before = table_rows(db.engine, "posting_entry")
    set_clock("2021-05-10T01:00:00Z")
    with unit_of_work(db.engine) as s:
        final = rounds.finalize(s, "wang.approve", PILOT, 2021, allow_pending=True)
    outcomes = {c["ref"]: c["outcome"] for c in final["cases"]}
    assert outcomes[good] == "recognised" and outcomes[weak] == "below_min_score"
    assert final["total_fen"] == 0 and status(db, good) == "in_notice" and status(db, weak) == "not_recognised"
    set_clock("2021-05-17T01:00:00Z")
    totals = advance_plain(PILOT)
    assert totals["notice_expiry"] == 1 and status(db, good) == "recognised"
    assert "payment" not in totals or not totals["payment"].get("count")
    assert table_rows(db.engine, "posting_entry") == ledger_before and table_rows(db.engine, "payment") == 0
    with read_only(db.engine) as s:
        result = checker.run(s)
    assert result["ok"], [c for c in result["checks"] if not c["ok"]]


def test_an_overdue_tier_is_escalated_once_by_working_days_of_the_policy_calendar(pilot: dict[str, Any]) -> None:
    db, late = pilot["db"], pilot["refs"][3]
    advance_plain(PILOT)
    set_clock("2021-03-08T12:00:00Z")  # the due day itself: not overdue
    advance_plain(PILOT)
    with read_only(db.engine) as s:
        assert review.escalated(s, "sun.audit", PILOT) == []
    set_clock("2021-03-09T01:00:00Z")
    advance_plain(PILOT)
    advance_plain(PILOT)  # once per tier entry, however often the stage runs
    with read_only(db.engine) as s:
        up = review.escalated(s, "sun.audit", PILOT)
        queued = {q["ref"]: q for q in review.queue(s, "li.review")}
    assert [(e["ref"], e["tier"], e["to"], e["still_waiting"]) for e in up if e["ref"] == late] == [
        (late, "district_review", "approver", True)]
    assert queued[late]["overdue"] and queued[late]["escalated_to"] == "approver"
    assert status(db, late) == "district_review"  # escalation is not a state change
    with unit_of_work(db.engine) as s:
        review.decide(s, "li.review", late, "approve", "逾期后完成初审")
    with read_only(db.engine) as s:
        assert [e["still_waiting"] for e in review.escalated(s, "sun.audit", PILOT) if e["ref"] == late] == [False]
        # the city tier's deadline counts from its own entry, over the Qingming-free March calendar
        assert {q["ref"]: q for q in review.queue(s, "zhao.review")}[late]["due"] == "2021-03-23"


def test_a_state_the_scheme_does_not_declare_is_refused_by_the_database(pilot: dict[str, Any]) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    db, good = pilot["db"], pilot["refs"][0]
    with pytest.raises(IntegrityError), db.engine.begin() as c:
        # "payable" is a state of certification awards, not of the pilot
        c.execute(text("UPDATE application SET status = 'payable' WHERE ref = :r"), {"r": good})
    with db.engine.begin() as c:
        c.execute(text("UPDATE application SET status = 'municipal_review' WHERE ref = :r"), {"r": good})


def test_a_return_at_the_city_tier_keeps_the_earlier_approvals_marked_superseded(pilot: dict[str, Any]) -> None:
    from sqlmodel import select

    from models.tables import Application, ReviewDecision

    db, good = pilot["db"], pilot["refs"][0]
    advance_plain(PILOT)
    with unit_of_work(db.engine) as s:
        review.decide(s, "li.review", good, "approve", "区市初审通过")
        review.decide(s, "zhao.review", good, "approve", "复审通过")
        review.decide(s, "zhou.review", good, "return", "专利对产品收入贡献的测算依据不足，请补充")
    assert status(db, good) == "returned"
    with read_only(db.engine) as s:
        app_id = s.exec(select(Application.id).where(Application.ref == good)).one()
        rows = s.exec(select(ReviewDecision).where(ReviewDecision.application_id == app_id)
                      .order_by(ReviewDecision.id)).all()
        kept = [(d.stage, d.reviewer, d.decision, d.superseded_at is not None) for d in rows]
    assert kept == [("district_review", "li.review", "approve", True),
                    ("municipal_review", "zhao.review", "approve", True),
                    ("municipal_review", "zhou.review", "return", False)]
    with unit_of_work(db.engine) as s:
        applications.resubmit(s, "admin", good, {"product_revenue": "90000000.00"}, "补充测算依据")
    advance_plain(PILOT)
    with unit_of_work(db.engine) as s:  # a fresh pass: the earlier approvals no longer count
        review.decide(s, "li.review", good, "approve", "补正后初审通过")
        review.decide(s, "zhao.review", good, "approve", "复审通过")
    assert status(db, good) == "municipal_review"
