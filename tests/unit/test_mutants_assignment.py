"""rules/assignment.py: evaluators are assigned balanced, spread over firms, never against a duty, and
deterministically (written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

from rules import duties
from rules.assignment import Case, Evaluator, assign, may_evaluate
from rules.uscc import make_uscc

CODE = make_uscc("370602", 4242)


def case(i: int, already: tuple[str, ...] = (), **parties: object) -> Case:
    p = duties.CaseParties(ref=f"CA-{i}", applicant_code=CODE, applicant_name="烟台海拓机械有限公司",
                           submitted_by="admin", **parties)  # type: ignore[arg-type]
    return Case(i, p, already)


def ev(name: str, org: str | None = None, actor: duties.Actor | None = None) -> Evaluator:
    return Evaluator(name, org or f"firm-{name}", actor)


def test_an_evaluator_known_only_by_name_and_firm_may_evaluate_an_unrelated_case() -> None:
    assert may_evaluate(ev("e1"), case(1))


def test_an_evaluator_known_only_by_name_and_firm_is_refused_a_case_of_its_own_firm() -> None:
    assert not may_evaluate(ev("e1", org=CODE.lower()), case(1))


def test_an_evaluator_known_only_by_name_is_refused_a_case_it_declared_a_conflict_with() -> None:
    assert not may_evaluate(ev("e1"), case(1, conflicted=frozenset({"e1"})))
    assert may_evaluate(ev("e1"), case(1, conflicted=frozenset({"e2"})))


def test_an_evaluator_as_the_users_table_knows_it_is_judged_by_its_own_roles_and_affiliation() -> None:
    no_role = duties.Actor("e1", frozenset({"reviewer"}), "某评估所")
    assert not may_evaluate(ev("e1", actor=no_role), case(1))
    member = duties.Actor("e1", frozenset({"evaluator"}), CODE)
    assert not may_evaluate(ev("e1", org="firm", actor=member), case(1))


def test_each_case_gets_its_evaluators_from_different_firms_before_a_second_from_one_firm() -> None:
    evaluators = [ev("a1", "A"), ev("a2", "A"), ev("b1", "B")]
    new, short = assign([case(1)], evaluators, 2, {})
    assert (new, short) == ({1: ["a1", "b1"]}, {})
    new, _ = assign([case(1)], evaluators, 3, {})
    assert new == {1: ["a1", "b1", "a2"]}


def test_a_firm_already_on_the_case_counts_for_the_spread() -> None:
    evaluators = [ev("a1", "A"), ev("a2", "A"), ev("b1", "B")]
    new, _ = assign([case(1, already=("a1",))], evaluators, 2, {"b1": 5})
    assert new == {1: ["b1"]}


def test_the_least_loaded_evaluator_is_chosen_and_one_without_load_counts_as_zero() -> None:
    new, _ = assign([case(1)], [ev("a"), ev("b")], 1, {"a": 1})
    assert new == {1: ["b"]}


def test_each_assignment_adds_one_to_the_evaluators_load_in_the_same_run() -> None:
    cases = [case(i) for i in (1, 2, 3)]
    new, _ = assign(cases, [ev("a"), ev("b")], 1, {"b": 1})
    assert new == {1: ["a"], 2: ["a"], 3: ["b"]}
    new, _ = assign(cases[:2], [ev("a"), ev("b")], 1, {"a": 2, "b": 2})
    assert new == {1: ["a"], 2: ["b"]}


def test_a_case_already_fully_staffed_gets_nobody_and_the_cases_after_it_are_still_staffed() -> None:
    new, short = assign([case(1, already=("x", "y")), case(2)], [ev("a"), ev("b"), ev("c")], 2, {})
    assert (new, short) == ({2: ["a", "b"]}, {})


def test_a_case_with_one_evaluator_short_gets_exactly_one_more() -> None:
    new, short = assign([case(1, already=("x",))], [ev("a"), ev("b"), ev("c")], 2, {})
    assert (new, short) == ({1: ["a"]}, {})


def test_an_evaluator_already_on_the_case_is_not_assigned_to_it_again() -> None:
    new, short = assign([case(1, already=("a",))], [ev("a"), ev("b")], 3, {})
    assert new == {1: ["b"]}
    assert short == {1: "only 2 of 3 evaluators are free of conflicts; add evaluators or lift a conflict"}


def test_a_conflicted_evaluator_is_never_assigned_even_when_the_case_stays_short() -> None:
    new, short = assign([case(1, conflicted=frozenset({"a"})), case(2)], [ev("a"), ev("b")], 2, {})
    assert new == {1: ["b"], 2: ["a", "b"]}
    assert short == {1: "only 1 of 2 evaluators are free of conflicts; add evaluators or lift a conflict"}


def test_a_case_nobody_may_evaluate_is_short_with_nobody_and_gets_no_entry() -> None:
    new, short = assign([case(1, conflicted=frozenset({"a"}))], [ev("a")], 3, {})
    assert new == {}
    assert short == {1: "only 0 of 3 evaluators are free of conflicts; add evaluators or lift a conflict"}


def test_a_case_staffed_exactly_is_not_short() -> None:
    new, short = assign([case(1)], [ev("a"), ev("b"), ev("c")], 3, {})
    assert (new, short) == ({1: ["a", "b", "c"]}, {})


def test_the_load_given_is_not_changed() -> None:
    load = {"a": 1}
    assign([case(1)], [ev("a"), ev("b")], 2, load)
    assert load == {"a": 1}
