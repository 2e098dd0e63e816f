"""rules/duties.py: who may resolve an objection, and what one refusal over many cases says (written to
kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

import pytest

from rules import duties
from rules.uscc import make_uscc

CODE = make_uscc("370602", 4242)
WANG = duties.Actor("wang", frozenset({"finance"}), None)


def case(i: int, **kw: object) -> duties.CaseParties:
    return duties.CaseParties(ref=f"CA-{i}", applicant_code=CODE, **kw)  # type: ignore[arg-type]


def test_an_approver_may_resolve_an_objection_someone_else_raised_but_not_one_they_raised() -> None:
    approver = duties.Actor("qian", frozenset({"approver"}), "烟台市财政局")
    assert duties.breach("notice.resolve", approver, case(1, objector="zhou.citizen")) is None
    refused = duties.breach("notice.resolve", approver, case(1, objector="qian"))
    assert refused is not None and refused.kind == "objector"


def test_an_unknown_act_is_refused_naming_every_known_act() -> None:
    with pytest.raises(KeyError) as exc:
        duties.breach("pay.everything", WANG, case(1))
    assert exc.value.args[0] == ("unknown act 'pay.everything'; known: review.decide, round.finalize, "
                                 "round.open, evaluation.assign, scores.upload, notice.object, notice.resolve, pay.batch, "
                                 "pay.confirm, agency.apply, agency.accredit, agency.warn, agency.suspend, "
                                 "agency.expel, agency.reinstate, agency.withdraw, agency.complaint, "
                                 "agency.spot_check, agency.monitor, agency.reward, voucher.contract, voucher.redeem, "
                                 "voucher.confirm, voucher.dispute, agency.fraud, voucher.recover, voucher.resolve, "
                                 "project.agree, project.report, project.extend, project.decide_extension, "
                                 "project.evaluate, project.release, project.rectify, project.recover, "
                                 "bank.add, bank.suspend, bank.reinstate, bank.tier, bank.account, loan.register, loan.extend, "
                                 "loan.interest, loan.repay, pool.contribute, pool.file, pool.revoke, pool.claim, "
                                 "pool.decide, pool.pay, pool.settle, loan.claim")


def test_one_act_refused_for_want_of_a_role_on_many_cases_says_so_once() -> None:
    reviewer = duties.Actor("li", frozenset({"reviewer"}), None)
    found = duties.breaches("pay.batch", reviewer, [case(1), case(2)])
    assert [ref for ref, _ in found] == ["CA-1", "CA-2"]
    assert duties.refusal("pay.batch", reviewer, found) == (
        "li (roles: reviewer) may not release the payment; this needs one of the roles finance")


def test_a_refusal_over_many_cases_names_five_of_each_kind_and_counts_the_rest() -> None:
    cases = [case(i, submitted_by="wang") for i in range(1, 7)] + [case(i, reviewers=frozenset({"wang"}))
                                                                    for i in range(7, 12)]
    found = duties.breaches("pay.batch", WANG, cases)
    assert duties.refusal("pay.batch", WANG, found) == (
        "wang submitted or imported 6 case(s) (CA-1, CA-2, CA-3, CA-4, CA-5 and 1 more); took a review decision "
        "on 5 case(s) (CA-7, CA-8, CA-9, CA-10, CA-11), so may not release the payment (不相容岗位相互分离); "
        "another person must")


def test_a_refusal_on_one_case_is_that_cases_own_message() -> None:
    found = duties.breaches("pay.batch", WANG, [case(1, submitted_by="wang"), case(2)])
    assert len(found) == 1
    assert duties.refusal("pay.batch", WANG, found) == found[0][1].message == (
        "wang submitted or imported CA-1, so may not release the payment (不相容岗位相互分离); another person must")


def test_a_breach_names_the_act_it_breaks() -> None:
    assert duties.breach("pay.batch", WANG, case(1, submitted_by="wang")).act == "pay.batch"  # type: ignore[union-attr]
    nobody = duties.Actor("x", frozenset(), None)
    assert duties.breach("pay.batch", nobody, case(1)).act == "pay.batch"  # type: ignore[union-attr]


def test_a_refusal_for_want_of_a_role_lists_the_actors_roles_and_every_role_that_may_act() -> None:
    from rules.roles import roles_for

    two = duties.Actor("li", frozenset({"reviewer", "applicant"}), None)
    assert duties.breach("round.finalize", two, case(1)).message == (  # type: ignore[union-attr]
        "li (roles: applicant,reviewer) may not finalize the round; this needs one of the roles approver")
    none = duties.Actor("x", frozenset(), None)
    assert duties.breach("notice.resolve", none, case(1)).message == (  # type: ignore[union-attr]
        "x (roles: none) may not resolve the objection; this needs one of the roles approver")
    auditor = duties.Actor("sun", frozenset({"auditor"}), None)
    assert len(roles_for("notice.object")) > 1
    assert duties.breach("notice.object", auditor, case(1)).message == (  # type: ignore[union-attr]
        "sun (roles: auditor) may not object to an award in public notice; this needs one of the roles "
        + ", ".join(roles_for("notice.object")))


def test_a_credit_code_as_an_affiliation_is_stored_in_upper_case_without_spaces() -> None:
    assert duties.normalise_org(f" {CODE[:8].lower()} {CODE[8:].lower()} ") == CODE
    assert duties.validate_affiliation(CODE.lower()) == CODE


def test_an_organisation_name_with_a_digit_is_a_name_not_a_credit_code() -> None:
    assert duties.validate_affiliation(" 烟台第1评估所 ") == "烟台第1评估所"
    assert duties.normalise_org("Firm  No 1") == "Firm No 1"


def test_an_empty_affiliation_is_refused() -> None:
    with pytest.raises(ValueError) as exc:
        duties.validate_affiliation("   ")
    assert str(exc.value) == ("affiliation is empty; give the organisation's credit code or its name, or leave it "
                              "out")


def test_an_organisation_name_of_2_to_128_characters_is_accepted_and_of_1_or_129_refused() -> None:
    assert duties.validate_affiliation("财政") == "财政"
    assert duties.validate_affiliation("a" * 128) == "a" * 128
    with pytest.raises(ValueError) as exc:
        duties.validate_affiliation("财")
    assert str(exc.value) == "affiliation '财' has 1 characters; an organisation name has 2–128"
    with pytest.raises(ValueError) as exc:
        duties.validate_affiliation("a" * 129)
    assert str(exc.value) == f"affiliation {'a' * 40!r} has 129 characters; an organisation name has 2–128"


@pytest.mark.parametrize("char", ["\x07", "\u200b", "\ud800", "\ue000", "\u0378"])  # Cc, Cf, Cs, Co, Cn
def test_an_organisation_name_with_a_control_or_unassigned_character_is_refused_naming_it(char: str) -> None:
    with pytest.raises(ValueError) as exc:
        duties.validate_affiliation(f"烟台{char}评估所")
    assert str(exc.value) == f"affiliation contains the control character U+{ord(char):04X}; remove it"
