"""不相容岗位相互分离 as one rule (rules/duties.py): every act × every relationship, both sides.

The expected matrix below is the specification, written out by hand (not derived from the rule's own
tables), so that a change to the rule that lets one person hold two incompatible duties fails here.
"""

from __future__ import annotations

import pytest

from rules import duties
from rules.uscc import CreditCodeError, make_uscc

CODE = make_uscc("370602", 4242)
NAME = "烟台海拓机械有限公司"
AGENCY_CODE = make_uscc("370602", 7777)  # the custody voucher's contracted agency: another party of the case
AGENCY_NAME = "烟台正道知识产权代理有限公司"

ROLE_OF = {"review.decide": "reviewer", "round.finalize": "approver", "round.open": "approver", "evaluation.assign": "evaluator",
           "scores.upload": "evaluator", "notice.object": "applicant", "notice.resolve": "approver",
           "pay.batch": "finance", "pay.confirm": "finance",
           "agency.apply": "admin", "agency.accredit": "reviewer", "agency.warn": "reviewer",
           "agency.suspend": "reviewer", "agency.expel": "approver", "agency.reinstate": "reviewer",
           "agency.withdraw": "admin", "agency.complaint": "reviewer", "agency.spot_check": "evaluator",
           "agency.monitor": "admin", "agency.reward": "approver",
           "voucher.contract": "admin", "voucher.redeem": "admin", "voucher.confirm": "admin",
           "voucher.dispute": "admin", "agency.fraud": "reviewer", "voucher.recover": "finance",
           "voucher.resolve": "reviewer",
           "bank.add": "admin", "bank.suspend": "admin", "bank.reinstate": "admin", "bank.tier": "admin", "bank.account": "admin",
           "loan.register": "admin", "loan.extend": "admin", "loan.interest": "admin", "loan.repay": "admin",
           "pool.contribute": "finance", "pool.file": "admin", "pool.revoke": "admin", "pool.claim": "admin",
           "pool.decide": "reviewer", "pool.pay": "finance", "pool.settle": "finance",
           "loan.claim": "admin",
           "project.agree": "approver", "project.report": "admin", "project.extend": "admin",
           "project.decide_extension": "reviewer", "project.evaluate": "evaluator", "project.release": "approver",
           "project.rectify": "reviewer", "project.recover": "finance"}

RELATIONS = ("none", "member by credit code", "member by name", "member, code typed in lower case with spaces",
             "submitter", "reviewer", "approver", "conflict", "objector", "decided another review tier",
             "recorded the fraud finding", "of the contracted agency by credit code", "of the contracted agency by name")

# R = refused, . = allowed; columns in the order of RELATIONS.
EXPECTED = {
    "review.decide":     ".RRRR....R.RR",
    "round.finalize":    ".RRRRR.....RR",
    "round.open":        ".RRRR........",  # who a round pays is not chosen by one of its applicants
    "evaluation.assign": ".RRRRR.R...RR",
    "scores.upload":     ".RRRRR.R...RR",
    "notice.object":     ".............",
    "notice.resolve":    ".RRRR...R..RR",
    "pay.batch":         ".RRRRRR....RR",
    "pay.confirm":       ".RRR..R....RR",
    # The agency registry: the case is the agency; nobody judges an agency they belong to.
    "agency.apply":      ".............",
    "agency.accredit":   ".RRR.........",
    "agency.warn":       ".RRR.........",
    "agency.suspend":    ".RRR.........",
    "agency.expel":      ".RRR.........",
    "agency.reinstate":  ".RRR.........",
    "agency.withdraw":   ".............",
    "agency.complaint":  ".RRR.........",
    "agency.spot_check": ".RRR.........",
    "agency.monitor":    ".RRR.........",
    "agency.reward":     ".RRR.........",
    # Custody vouchers: the SME's own acts and the agency's redemption (own organisation only, OWN_ONLY).
    "voucher.contract":  ".............",
    "voucher.redeem":    ".............",
    "voucher.confirm":   ".............",
    "voucher.dispute":   ".............",
    # Fraud found after settlement (二(四)13): nobody records a finding against their own agency; the payee
    # clawed back from never records its own recovery, nor does whoever recorded the finding.
    "agency.fraud":      ".RRR.........",
    "voucher.recover":   ".RRR......R..",
    # A reviewer resolves a voucher's dispute: never of the SME or the contracted agency, nor its submitter.
    "voucher.resolve":   ".RRRR......RR",
    # The loan registry: the case is the bank; nobody adds or grades a bank they belong to.
    "bank.add":          ".RRR.........",
    "bank.suspend":      ".RRR.........",
    "bank.reinstate":    ".RRR.........",
    "bank.tier":         ".RRR.........",
    "bank.account":      ".RRR.........",
    "loan.register":     ".............",
    "loan.extend":       ".............",
    "loan.interest":     ".............",
    "loan.repay":        ".............",
    # The pool (二(三)7): the claim's case is the bank; nobody of the bank nor its claimant decides, pays or
    # settles the claim, and whoever decided it does not pay it.
    "pool.contribute":   ".............",
    "pool.file":         ".............",
    "pool.revoke":       ".............",
    "pool.claim":        ".............",
    "pool.decide":       ".RRRR........",
    "pool.pay":          ".RRRRR.......",
    "pool.settle":       ".RRRR........",
    "loan.claim":        ".............",  # a bank files for its borrower: its own bank's loans only (OWN_ONLY)
    # Funded projects (二(一)1, 二(四)12, 三(三)): the case is the project; the project's staff report for it only
    # (OWN_ONLY); nobody signs, evaluates, releases or accepts the rectification of their own project, nor of one
    # they submitted; the evaluator did not review it, approve its round or declare a conflict with it.
    "project.agree":            ".RRRRR.......",
    "project.report":           ".............",
    "project.extend":           ".............",
    "project.decide_extension": ".RRRR........",
    "project.evaluate":         ".RRRRRRR.....",
    "project.release":          ".RRRRR.......",
    "project.rectify":          ".RRRR.R......",
    "project.recover":          ".RRR..R......",
}


def _case(relation: str, me: str) -> tuple[str | None, duties.CaseParties]:
    """(the actor's organisation, the case's parties) for one relationship of ``me`` to the case."""
    org: str | None = "烟台市财政局"
    kw: dict[str, object] = {}
    if relation == "member by credit code":
        org = CODE
    elif relation == "member by name":
        org = NAME
    elif relation == "member, code typed in lower case with spaces":
        org = f" {CODE[:9].lower()} {CODE[9:].lower()} "
    elif relation == "submitter":
        kw["submitted_by"] = me
    elif relation == "reviewer":
        kw["reviewers"] = frozenset({me, "other.review"})
    elif relation == "approver":
        kw["approver"] = me
    elif relation == "conflict":
        kw["conflicted"] = frozenset({me})
    elif relation == "objector":
        kw["objector"] = me
    elif relation == "decided another review tier":
        kw["tier_deciders"] = frozenset({me})
    elif relation == "recorded the fraud finding":
        kw["finder"] = me
    elif relation == "of the contracted agency by credit code":
        org = AGENCY_CODE.lower()
    elif relation == "of the contracted agency by name":
        org = AGENCY_NAME
    base: dict[str, object] = {"ref": "CA-2021-00001", "applicant_code": CODE, "applicant_name": NAME,
                               "submitted_by": "admin", "reviewers": frozenset({"other.review"}),
                               "approver": "other.approve", "others": frozenset({AGENCY_CODE, AGENCY_NAME})}
    return org, duties.CaseParties(**{**base, **kw})  # type: ignore[arg-type]


CASES = [(act, rel, EXPECTED[act][i]) for act in EXPECTED for i, rel in enumerate(RELATIONS)]


@pytest.mark.parametrize(("act", "relation", "expected"), CASES, ids=[f"{a} | {r}" for a, r, _ in CASES])
def test_each_act_is_refused_exactly_where_a_relationship_makes_the_duties_incompatible(
        act: str, relation: str, expected: str) -> None:
    org, case = _case(relation, "xu")
    actor = duties.Actor("xu", frozenset({ROLE_OF[act]}), org)
    found = duties.breach(act, actor, case)
    if expected == "R":
        assert found is not None, f"{act} by a {relation} must be refused"
        assert found.kind != "role" and "不相容岗位相互分离" in found.message and "CA-2021-00001" in found.message
    else:
        assert found is None, found


def test_the_matrix_covers_every_act_of_the_rule() -> None:
    assert set(EXPECTED) == set(duties.ACTS)


@pytest.mark.parametrize("act", sorted(EXPECTED))
def test_an_auditor_takes_no_act_at_all(act: str) -> None:
    _, case = _case("none", "sun")
    found = duties.breach(act, duties.Actor("sun", frozenset({"auditor"}), "烟台市审计局"), case)
    assert found is not None and found.kind == "role", act
    assert "sun (roles: auditor) may not" in found.message


@pytest.mark.parametrize(("act", "wrong_role"), [
    ("review.decide", "approver"), ("round.finalize", "reviewer"), ("evaluation.assign", "reviewer"),
    ("scores.upload", "approver"), ("notice.resolve", "finance"), ("pay.batch", "approver"),
    ("pay.confirm", "reviewer"),
])
def test_an_act_needs_the_role_that_takes_it(act: str, wrong_role: str) -> None:
    _, case = _case("none", "xu")
    found = duties.breach(act, duties.Actor("xu", frozenset({wrong_role}), None), case)
    assert found is not None and found.kind == "role"


def test_a_round_refusal_names_every_case_and_each_kind_of_relationship() -> None:
    actor = duties.Actor("zhou", frozenset({"approver", "reviewer"}), CODE)
    cases = [duties.CaseParties(f"CA-2021-0000{i}", make_uscc("370602", 5000 + i), f"企业{i}",
                                reviewers=frozenset({"zhou"}) if i in (1, 2) else frozenset()) for i in range(1, 5)]
    cases.append(duties.CaseParties("CA-2021-00009", CODE, NAME))
    found = duties.breaches("round.finalize", actor, cases)
    assert [ref for ref, _ in found] == ["CA-2021-00001", "CA-2021-00002", "CA-2021-00009"]
    message = duties.refusal("round.finalize", actor, found)
    assert "took a review decision on 2 case(s) (CA-2021-00001, CA-2021-00002)" in message
    assert "belongs to the applicant of 1 case(s) (CA-2021-00009)" in message


@pytest.mark.parametrize(("typed", "stored"), [
    (CODE.lower(), CODE), (f"{CODE}  ", CODE), (f" {CODE[:6]} {CODE[6:12]} {CODE[6 + 6:]}", CODE),
    ("烟台市  财政局 ", "烟台市 财政局"), ("烟台市市场监管局（市知识产权局）", "烟台市市场监管局(市知识产权局)"),
])
def test_an_affiliation_is_stored_in_its_normal_form(typed: str, stored: str) -> None:
    assert duties.validate_affiliation(typed) == stored


@pytest.mark.parametrize(("typed", "problem"), [
    (CODE[:-1] + ("0" if CODE[-1] != "0" else "1"), "fails the final check"),
    (CODE[:17], "has 17 characters"),
    ("烟", "an organisation name has 2–128"),
    ("烟台\u200b财政局", r"control character U\+200B"),
])
def test_an_affiliation_that_is_not_a_valid_credit_code_or_name_is_refused(typed: str, problem: str) -> None:
    with pytest.raises((ValueError, CreditCodeError), match=problem):
        duties.validate_affiliation(typed)


def test_organisations_compare_without_case_or_spaces_but_never_empty() -> None:
    assert duties.org_key(f" {CODE.lower()} ") == duties.org_key(CODE)
    case = duties.CaseParties("CA-1", CODE, NAME)
    assert not duties.is_member(duties.Actor("x", frozenset(), None), case)
    assert not duties.is_member(duties.Actor("x", frozenset(), ""), case)
    assert duties.is_member(duties.Actor("x", frozenset(), "烟台 海拓机械有限公司"), case)
    unnamed = duties.CaseParties("CA-2", CODE)  # no registered name known: an empty org must not match it
    assert not duties.is_member(duties.Actor("x", frozenset(), None), unnamed)


# --- an agency's own staff act only for their own agency (rules.duties.OWN_ONLY) ---------------------------

@pytest.mark.parametrize("act", ["agency.apply", "agency.withdraw"])
@pytest.mark.parametrize(("org", "roles", "refused"), [
    (CODE, {"agency"}, False),                      # its own staff, by credit code
    (NAME, {"agency"}, False),                      # its own staff, by registered name
    (make_uscc("370602", 4243), {"agency"}, True),  # another agency's staff
    (None, {"agency"}, True),                       # an agency user with no organisation
    (None, {"admin"}, False),                       # an admin acts for any agency
], ids=["own by code", "own by name", "another agency", "no organisation", "admin"])
def test_agency_staff_apply_and_withdraw_only_for_their_own_agency(act: str, org: str | None, roles: set[str],
                                                                    refused: bool) -> None:
    case = duties.CaseParties(f"agency {CODE}", CODE, NAME)
    found = duties.breach(act, duties.Actor("wu", frozenset(roles), org), case)
    if refused:
        assert found is not None and found.kind == "not_member"
        assert f"does not belong to agency {CODE} ({NAME})" in found.message
    else:
        assert found is None, found


@pytest.mark.parametrize("act", ["agency.accredit", "agency.warn", "agency.suspend", "agency.complaint"])
def test_an_agencys_own_staff_never_judge_it(act: str) -> None:
    case = duties.CaseParties(f"agency {CODE}", CODE, NAME)
    found = duties.breach(act, duties.Actor("wu", frozenset({"agency"}), CODE), case)
    assert found is not None and found.kind == "role"  # the agency role takes none of these acts
    found = duties.breach(act, duties.Actor("wu", frozenset({"reviewer", "agency"}), CODE), case)
    assert found is not None and found.kind == "member"
    assert found.message.startswith(f"wu belongs to agency {CODE} ({NAME}), so may not ")
