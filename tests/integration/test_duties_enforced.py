"""不相容岗位相互分离 that cannot be bypassed: affiliations however typed, acts written around the
services (caught by `ipfund check`), and existing rows normalised by migration 0008."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flows.services import checker, evaluation, payments, review, rounds, users
from flows.services.context import get_user
from models.db import make_engine
from models.migrate import upgrade
from rules.errors import FourEyesViolation, PermissionDenied, ValidationFailed
from tests.conftest import PG_URL, _pg_admin_url, recreate_pg_database
from tests.support import (
    SCHEME,
    applicants_and_applications,
    approve_all,
    score_all,
    scored_round,
    set_clock,
    staff_and_plan,
)


def _messy(code: str) -> str:
    """The applicant's credit code as someone might type it: lower case, spaces, a trailing blank."""
    return f" {code[:6].lower()} {code[6:].lower()}  "


def _duty_check(db: Any) -> dict[str, Any]:
    with db.session() as s:
        report = checker.run(s)
    return next(c for c in report["checks"] if c["check"].startswith("duties"))


def test_an_affiliation_typed_in_lower_case_with_spaces_is_stored_normalised_by_user_add(cli: Any, db: Any) -> None:
    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=1)
    code = r.pool[0].uscc
    assert cli("user", "add", "insider", "--role", "reviewer", "--affiliation", _messy(code), "--as", "admin").exit_code == 0
    with db.session() as s:
        assert get_user(s, "insider").affiliation == code


def test_an_affiliation_that_is_a_wrong_credit_code_is_refused_and_nothing_is_written(cli: Any, db: Any) -> None:
    before = db.snapshot()
    r = cli("user", "add", "insider", "--role", "reviewer", "--affiliation", "91370602MA3C2XXXX0", "--as", "admin")
    assert r.exit_code == 1 and "--affiliation: credit code" in " ".join(r.stderr.split())
    assert db.snapshot() == before


def test_an_auditor_is_never_given_another_role(cli: Any, db: Any) -> None:
    before = db.snapshot()
    r = cli("user", "add", "sun2", "--role", "auditor", "--role", "finance", "--as", "admin")
    assert r.exit_code == 1 and "an auditor holds no other role" in " ".join(r.stderr.split())
    assert db.snapshot() == before


def test_no_messily_typed_affiliation_defeats_the_reviewer_evaluator_approver_or_payer_check(db: Any) -> None:
    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=6)
    ref = r.refs[0]
    with r.ro() as s:
        from flows.services import applications

        code = applications.show(s, "admin", ref)["applicant"]["uscc"]
    with r.uow() as s:
        for name, role in (("in.review", "reviewer"), ("in.approve", "approver"), ("in.finance", "finance")):
            users.create_user(s, "admin", name, [role], name, _messy(code))
    r.advance()
    before = db.snapshot()
    with pytest.raises(FourEyesViolation, match="belongs to the applicant"), r.uow() as s:
        review.decide(s, "in.review", ref, "approve", "材料齐全")
    assert db.snapshot() == before
    with r.ro() as s:
        assert ref not in [q["ref"] for q in review.queue(s, "in.review", limit=100)]
    approve_all(r)
    score_all(r)
    set_clock("2021-05-10T01:00:00Z")
    before = db.snapshot()
    with pytest.raises(FourEyesViolation, match=r"in\.approve belongs to the applicant"), r.uow() as s:
        rounds.finalize(s, "in.approve", SCHEME, 2021)
    assert db.snapshot() == before
    r.finalize_and_end_notice()
    r.advance()
    before = db.snapshot()
    with pytest.raises(FourEyesViolation, match=r"in\.finance belongs to the applicant"), r.uow() as s:
        payments.release(s, "in.finance", SCHEME)
    assert db.snapshot() == before
    assert _duty_check(db)["ok"]


def test_an_evaluator_of_the_applicants_organisation_however_typed_is_never_assigned_its_case(db: Any) -> None:
    from flows.services import applications

    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=4)
    with r.ro() as s:
        code = applications.show(s, "admin", r.refs[0])["applicant"]["uscc"]
    with r.uow() as s:
        users.create_user(s, "admin", "in.eval", ["evaluator"], "in.eval", _messy(code))
    approve_all(r)
    assigned = {ref: {x["evaluator"] for x in r.show(ref)["assignments"]} for ref in r.refs}
    assert len(assigned[r.refs[0]]) == 3 and "in.eval" not in assigned[r.refs[0]]
    assert any("in.eval" in names for names in assigned.values())  # assigned where it has no relationship
    assert _duty_check(db)["ok"]


def test_an_evaluator_uploading_for_a_case_of_its_own_organisation_is_refused_by_line(db: Any) -> None:
    r = scored_round(db.engine, n_apps=3)
    with r.ro() as s:
        from flows.services import applications

        case = applications.show(s, "admin", r.refs[0])
    # An evaluator of the applicant's organisation, assigned around the services (as bad data would be).
    with r.uow() as s:
        users.create_user(s, "admin", "own.eval", ["evaluator"], "own.eval", case["applicant"]["uscc"].lower())
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO assignment (application_id, evaluator, evaluator_org, at) "
                       "SELECT id, 'own.eval', 'x', '2021-04-01T00:00:00.000000Z' FROM application WHERE ref = :r"),
                  {"r": r.refs[0]})
        c.execute(text("UPDATE application SET status = 'evaluation' WHERE ref = :r"), {"r": r.refs[0]})
    rows = "".join(f"{r.refs[0]},{c},80,\n" for c in ("system_operation", "ip_output_quality", "ip_utilisation",
                                                        "innovation_capacity"))
    before = db.snapshot()
    with pytest.raises(ValidationFailed, match=r"line 2: own\.eval belongs to the applicant"), r.uow() as s:
        evaluation.upload(s, "own.eval", ("application_id,criterion,score,comment\n" + rows).encode(), "s.csv")
    assert db.snapshot() == before
    check = _duty_check(db)
    assert not check["ok"] and "evaluation.assign on " + r.refs[0] in check["detail"]


def test_the_checker_finds_a_review_decision_written_around_the_services_by_a_member_of_the_applicant(
        db: Any) -> None:
    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=2)
    r.advance()
    assert _duty_check(db)["ok"]
    with r.ro() as s:
        from flows.services import applications

        code = applications.show(s, "admin", r.refs[1])["applicant"]["uscc"]
    with r.uow() as s:
        users.create_user(s, "admin", "mole", ["reviewer"], "mole", code)
    with db.engine.begin() as c:  # around the services: no duty was asked
        c.execute(text("INSERT INTO review_decision (application_id, stage, reviewer, decision, reason, at) "
                       "SELECT id, 'formal_review', 'mole', 'approve', 'ok', '2021-03-02T00:00:00.000000Z' "
                       "FROM application WHERE ref = :r"), {"r": r.refs[1]})
    check = _duty_check(db)
    assert not check["ok"]
    assert f"review.decide on {r.refs[1]}: mole belongs to the applicant" in check["detail"]


def test_the_checker_finds_a_payment_whose_payer_approved_the_round(db: Any, tmp_path: Path) -> None:
    r = scored_round(db.engine, n_apps=3)
    r.finalize_and_end_notice()
    r.advance(payer="chen.finance", out_dir=str(tmp_path))
    assert _duty_check(db)["ok"]
    with db.engine.begin() as c:
        c.execute(text("UPDATE payment SET payer = 'wang.approve'"))
    check = _duty_check(db)
    assert not check["ok"] and "wang.approve (roles: approver) may not release the payment" in check["detail"]


def test_migration_0008_normalises_the_affiliations_already_stored(tmp_path: Path) -> None:
    from sqlmodel import Session

    from flows.services.users import create_user

    url = (recreate_pg_database(f"{_pg_admin_url(PG_URL)[1]}_ipfund_mig") if PG_URL
           else f"sqlite:///{tmp_path / 'old.db'}")
    engine = make_engine(url)
    upgrade(engine, "0007_exact_scores")
    with engine.begin() as c:
        c.execute(text("INSERT INTO app_user (name, display_name, roles, affiliation, created_at) VALUES "
                       "('a', 'a', 'reviewer', ' 91370602ma3c2l5x1q ', 'x'), "
                       "('b', 'b', 'reviewer', '烟台市  财政局 ', 'x'), ('c', 'c', 'reviewer', NULL, 'x')"))
    upgrade(engine)
    with engine.connect() as c:
        got = dict(c.execute(text("SELECT name, affiliation FROM app_user ORDER BY name")).all())
    assert got == {"a": "91370602MA3C2L5X1Q", "b": "烟台市 财政局", "c": None}
    with Session(engine) as s:  # and the new column set works at head
        create_user(s, "a0", "d", ["reviewer"], None, None)
    engine.dispose()


def test_a_finance_officer_cannot_pay_what_an_approver_must_not(db: Any, tmp_path: Path) -> None:
    r = scored_round(db.engine, n_apps=3)
    r.finalize_and_end_notice()
    r.advance()
    before = db.snapshot()
    with pytest.raises(PermissionDenied, match=r"wang\.approve .* may not pay\.batch"), r.uow() as s:
        payments.release(s, "wang.approve", SCHEME)
    assert db.snapshot() == before
