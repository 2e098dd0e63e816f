"""flows/services/duties.py, the services' duty guard: the parties of a case as read from the database,
the refusal a service raises, and the checker that decides every committed act again (written to kill
the mutants `make mutate` found surviving)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import select

from flows.services import duties as guard
from flows.services import users
from models.tables import Applicant, Application, EvaluatorConflict, Objection, ReviewDecision, Score, User
from rules import duties
from rules.errors import FourEyesViolation, PermissionDenied
from tests.support import scored_round

AT = "2021-05-12T01:00:00.000000Z"


def _user(name: str, roles: str, affiliation: str | None = None) -> Any:
    return SimpleNamespace(name=name, affiliation=affiliation, role_set=lambda: set(roles.split(",")))


def _case(ref: str, **kw: Any) -> duties.CaseParties:
    return duties.CaseParties(ref=ref, applicant_code="91370602MA3C00000X", **kw)


def test_the_guard_lets_an_act_through_that_breaks_no_duty() -> None:
    guard.require("pay.batch", _user("chen", "finance"), [_case("CA-1"), _case("CA-2")])


def test_the_guard_refuses_for_want_of_a_role_as_a_permission_not_a_duty() -> None:
    user = _user("li", "reviewer")
    with pytest.raises(PermissionDenied) as exc:
        guard.require("pay.batch", user, [_case("CA-1")])
    assert type(exc.value) is PermissionDenied
    assert str(exc.value) == "li (roles: reviewer) may not release the payment; this needs one of the roles finance"


def test_the_guard_refuses_a_breach_of_duty_as_four_eyes_naming_the_cases() -> None:
    user = _user("chen", "finance")
    with pytest.raises(FourEyesViolation) as exc:
        guard.require("pay.batch", user, [_case("CA-1", approver="chen"), _case("CA-2", approver="chen")])
    assert str(exc.value) == ("chen approved the round of 2 case(s) (CA-1, CA-2), so may not release the payment "
                              "(不相容岗位相互分离); another person must")


@pytest.fixture
def round_of_three(db: Any) -> Any:
    r = scored_round(db.engine, n_apps=3)
    r.finalize_and_end_notice()
    with r.ro() as s:
        apps = {a.ref: SimpleNamespace(id=a.id, ref=a.ref, applicant_id=a.applicant_id, submitted_by=a.submitted_by)
                for a in s.exec(select(Application).where(Application.ref.in_(r.refs))).all()}  # type: ignore[attr-defined]
        ids = [apps[ref].id for ref in r.refs]
        applicant = {a.id: SimpleNamespace(uscc=a.uscc, name=a.name) for a in s.exec(select(Applicant)).all()}
    with r.uow() as s:
        users.create_user(s, "admin", "zhang.review", ["reviewer"], "zhang.review", "烟台市财政局")
        for name in ("old.objector", "later.objector"):
            users.create_user(s, "admin", name, ["applicant"], name, "")
    with r.uow() as s:
        one, two = (apps[ref] for ref in r.refs[:2])
        s.add(EvaluatorConflict(evaluator="eval9", applicant_id=one.applicant_id, reason="亲属", at=AT))
        s.add(EvaluatorConflict(evaluator="eval8", applicant_id=two.applicant_id, reason="亲属", at=AT))
        s.add(ReviewDecision(application_id=one.id, stage="formal_review", reviewer="zhang.review", decision="reject",
                             reason="材料不全", at=AT))
        s.add(Objection(application_id=one.id, raised_by="old.objector", reason="x", at=AT, resolution="dismiss",
                        resolved_by="wang.approve", resolution_reason="无据", resolved_at=AT))
        s.add(Objection(application_id=one.id, raised_by="zhou.citizen", reason="重复申报", at=AT))
        s.add(Objection(application_id=one.id, raised_by="later.objector", reason="又一", at=AT))
    return SimpleNamespace(r=r, ids=ids, apps=apps, applicant=applicant)


def test_the_parties_of_each_case_are_read_whole_from_the_database(round_of_three: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    t = round_of_three
    monkeypatch.setattr(guard, "_IN", 1)  # one id per query: every chunk must be read
    with t.r.ro() as s:
        got = guard.parties(s, [*reversed(t.ids), t.ids[0], 10**9])
    assert sorted(got) == sorted(t.ids)
    expected_conflicts = [frozenset({"eval9"}), frozenset({"eval8"}), frozenset()]
    for i, ref in enumerate(t.r.refs):
        app = t.apps[ref]
        who = t.applicant[app.applicant_id]
        p = got[app.id]
        assert (p.ref, p.applicant_code, p.applicant_name, p.submitted_by, p.reviewers, p.approver, p.conflicted,
                p.objector) == (
            ref, who.uscc, who.name, app.submitted_by,
            frozenset({"li.review", "zhang.review"} if i == 0 else {"li.review"}), "wang.approve",
            expected_conflicts[i], "zhou.citizen" if i == 0 else None)
    assert got[t.ids[0]].submitted_by == "admin"


def test_the_checker_decides_every_committed_act_again_and_names_each_breach(round_of_three: Any) -> None:
    t = round_of_three
    one = t.apps[t.r.refs[0]]
    with t.r.ro() as s:
        clean, problems = guard.audit_acts(s)
        acts = list(guard.committed_acts(s))
    assert problems == []
    kinds = sorted({a for a, _, _ in acts})
    assert kinds == ["evaluation.assign", "notice.object", "review.decide", "round.finalize", "scores.upload"]
    assert ("notice.object", "zhou.citizen", one.id) in acts and ("notice.object", "old.objector", one.id) in acts
    assert [a for a in acts if a[0] == "round.finalize"] == [("round.finalize", "wang.approve", i)
                                                            for i in sorted(t.ids)]
    # 3 review decisions + 1 reject, 3 finalized, 3 x 3 assignments, 3 x 3 uploads, 3 objections, 1 resolution.
    assert len(acts) == 4 + 3 + 9 + 9 + 3
    assert clean == len(acts) + 1  # and the one resolution

    with t.r.uow() as s:
        s.add(Score(application_id=one.id, evaluator="eval4", criterion="system_operation", score_tenths=500,
                    active=False, upload_id=1))  # an inactive score is no act
        s.add(ReviewDecision(application_id=one.id, stage="formal_review", reviewer="ghost", decision="approve",
                             reason="x", at=AT))
        s.add(Objection(application_id=one.id, raised_by="wang.approve", reason="自己", at=AT,
                        resolution="uphold", resolved_by="wang.approve", resolution_reason="x", resolved_at=AT))
        auditor = s.exec(select(User).where(User.name == "sun.audit")).one()
        auditor.roles = "auditor,finance,reviewer"
        s.add(auditor)
    with t.r.ro() as s:
        acts_after = list(guard.committed_acts(s))
        checked, problems = guard.audit_acts(s)
        _, first_two = guard.audit_acts(s, limit=2)
    assert len(acts_after) == len(acts) + 2  # the ghost's decision and the new objection
    assert checked == clean + 3  # those two and the new resolution
    assert f"notice.resolve on {one.ref}: wang.approve raised the objection to {one.ref}, so may not resolve the " \
           "objection (不相容岗位相互分离); another person must" in problems
    assert "user sun.audit holds the auditor role with finance, reviewer: auditors change nothing, so they hold no " \
        "other role" in problems
    assert f"review.decide on {one.ref} by 'ghost', who is not a user" in problems
    assert first_two == [*problems[:2], f"... and {len(problems) - 2} more"]
    with t.r.ro() as s:
        assert guard.audit_acts(s, limit=len(problems))[1] == problems  # all of them, and no "... and 0 more"


def test_the_checker_finds_an_evaluator_who_reviewed_the_case_it_evaluates(round_of_three: Any) -> None:
    from models.tables import Assignment

    t = round_of_three
    three = t.apps[t.r.refs[2]]
    with t.r.ro() as s:
        evaluator = sorted(a.evaluator for a in s.exec(select(Assignment).where(Assignment.application_id == three.id)))[0]
    with t.r.uow() as s:
        s.add(ReviewDecision(application_id=three.id, stage="formal_review", reviewer=evaluator, decision="approve",
                             reason="x", at=AT))
    with t.r.ro() as s:
        _, problems = guard.audit_acts(s, limit=100)
    tail = "(不相容岗位相互分离); another person must"
    assert (f"evaluation.assign on {three.ref}: {evaluator} took a review decision on {three.ref}, so may not be "
            f"assigned as evaluator {tail}") in problems
    assert (f"scores.upload on {three.ref}: {evaluator} took a review decision on {three.ref}, so may not upload "
            f"scores {tail}") in problems


def test_the_checker_judges_each_act_with_the_parties_that_bar_it(db: Any, tmp_path: Any) -> None:
    from sqlalchemy import text

    from flows.services import rounds
    from tests.support import SCHEME, set_clock

    r = scored_round(db.engine, n_apps=3)
    with r.ro() as s:
        apps = {a.ref: (a.id, a.applicant_id) for a in s.exec(select(Application)).all()}
        names = {a.id: a.name for a in s.exec(select(Applicant)).all()}
    (one, applicant_one), (two, _), (three, _) = (apps[ref] for ref in r.refs)
    with r.uow() as s:
        users.create_user(s, "admin", "fa", ["approver", "finance"], "fa", "烟台市财政局")
        users.create_user(s, "admin", "member.review", ["reviewer"], "member.review", names[applicant_one])
        users.create_user(s, "admin", "sub.review", ["reviewer"], "sub.review", "烟台市财政局")
    set_clock("2021-05-10T01:00:00Z")
    with r.uow() as s:
        rounds.finalize(s, "fa", SCHEME, 2021)
    set_clock("2021-05-25T01:00:00Z")
    r.advance(payer="chen.finance", out_dir=str(tmp_path))
    with r.ro() as s:
        assert guard.audit_acts(s)[1] == []
    ref = {i: rf for rf, (i, _) in apps.items()}
    with db.engine.begin() as c:
        c.execute(text("UPDATE payment SET payer = 'fa', confirmed_by = 'fa' WHERE application_id = :i"), {"i": three})
        c.execute(text("UPDATE application SET submitted_by = 'sub.review' WHERE id = :i"), {"i": two})
        for reviewer, app_id in (("member.review", one), ("sub.review", two), ("fa", one)):
            c.execute(text("INSERT INTO review_decision (application_id, stage, reviewer, decision, reason, at) "
                           "VALUES (:i, 'formal_review', :who, 'approve', 'x', :at)"),
                      {"i": app_id, "who": reviewer, "at": AT})
    with r.ro() as s:
        _, problems = guard.audit_acts(s, limit=100)
    tail = "(不相容岗位相互分离); another person must"
    assert f"pay.batch on {ref[three]}: fa approved the round of {ref[three]}, so may not release the payment {tail}" \
        in problems
    assert (f"pay.confirm on {ref[three]}: fa approved the round of {ref[three]}, so may not import the bank's "
            f"acknowledgement {tail}") in problems
    assert (f"review.decide on {ref[one]}: member.review belongs to the applicant of {ref[one]} "
            f"({names[applicant_one]}), so may not take a review decision (approve, return or reject) {tail}") in problems
    assert (f"review.decide on {ref[two]}: sub.review submitted or imported {ref[two]}, so may not take a review "
            f"decision (approve, return or reject) {tail}") in problems
    assert (f"round.finalize on {ref[one]}: fa took a review decision on {ref[one]}, so may not finalize the round "
            f"{tail}") in problems
    assert (f"review.decide on {ref[one]}: fa (roles: approver,finance) may not take a review decision (approve, "
            "return or reject); this needs one of the roles reviewer") in problems
    assert len(problems) == 6, problems



def test_the_checker_finds_an_approver_who_belongs_to_or_submitted_a_case_of_the_round(db: Any) -> None:
    from sqlalchemy import text

    r = scored_round(db.engine, n_apps=2)
    r.finalize_and_end_notice()
    with r.ro() as s:
        apps = {a.ref: (a.id, a.applicant_id) for a in s.exec(select(Application)).all()}
        who = {a.id: (a.uscc, a.name) for a in s.exec(select(Applicant)).all()}
    (_, applicant_one), (two, _) = (apps[ref] for ref in r.refs)
    with r.uow() as s:
        users.create_user(s, "admin", "insider.approve", ["approver"], "insider.approve", who[applicant_one][0])
    with db.engine.begin() as c:  # written around the services, as only the checker can see it
        c.execute(text("UPDATE award_round SET approver = 'insider.approve'"))
        c.execute(text("UPDATE application SET submitted_by = 'insider.approve' WHERE id = :i"), {"i": two})
    with r.ro() as s:
        _, problems = guard.audit_acts(s, limit=100)
    tail = "so may not finalize the round (不相容岗位相互分离); another person must"
    assert sorted(problems) == sorted([
        f"round.finalize on {r.refs[0]}: insider.approve belongs to the applicant of {r.refs[0]} "
        f"({who[applicant_one][1]}), {tail}",
        f"round.finalize on {r.refs[1]}: insider.approve submitted or imported {r.refs[1]}, {tail}",
    ])
