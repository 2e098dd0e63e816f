"""Policy test cases (OpenFisca style): YAML files that run one of a policy's rules on given facts, as of
a date, and compare what it decides with what the case expects. No database, no flows.

A test file is a YAML list of cases. Each case names what it runs — exactly one of

* ``check: NAME`` — one intake check of ``scheme`` (a name the scheme lists in ``intake_checks``),
  on the facts in ``input`` (the fields of :class:`rules.schemes.IntakeFacts`; ``form`` typed by the
  scheme's form fields); ``expect: {passed: true|false}``, optionally ``clause`` (exact) and
  ``detail_contains`` (a substring of the check's detail);
* ``amount: NAME`` — a registered amount function of ``scheme`` for one candidate (``kind``, ``sme``,
  ``form``, ``awarded_this_year_fen``, ``final_score``); ``expect: {amount_fen: N}``;
* ``fund_rules: true`` — the 三(二) fund rules on ``central_fen``, ``local_fen``, ``central_cluster_fen``
  and ``central_market_fen``, thresholds from the policy; ``expect: {violated: [rule, ...]}`` (``match``,
  ``cluster_floor``, ``market_floor``; ``[]`` = all pass), optionally ``required_fen`` / ``shortfall_fen``
  per rule;
* ``allocate: true`` — a round of ``scheme`` (``budget_fen``, ``candidates``: each with a ``ref``);
  ``expect: {outcomes: {REF: OUTCOME or {outcome, award_fen, rank, reason_contains}}}``, optionally
  ``order`` (refs in rank order) and ``total_award_fen``

* ``interest_subsidy: true`` — the pledge-loan interest subsidy (二(三)7) of one ``loan`` (``principal_fen``,
  ``rate`` as quoted text such as ``"0.039"``, ``drawdown``, ``maturity``, optionally ``ip_share``,
  ``insured_share`` (quoted decimals), ``whitelisted``, ``extended_to``), its receipted ``payments`` (each
  ``receipt``, ``start``, ``end``, ``amount_fen``, optionally ``kind``), what was ``granted`` before
  (``year_fen``, ``cumulative_fen``, ``loan_years``) and the claim ``window`` (``start``, ``end``
  exclusive); ``expect: {amount_fen: N}``, optionally ``bound`` (formula, interest_paid, year_cap,
  cumulative_cap, max_years), ``formula_fen``, ``interest_paid_fen``, ``days``; ``scheme`` defaults to
  pledge-interest-subsidy (the parameters' prefix);
* ``pool_compensation: true`` — what the risk-compensation pool pays on a loss (``loss_fen``, ``filed_on``,
  ``claimed_on``, ``bank_tier``, ``pool_balance_fen``, optionally ``paid_before_fen``);
  ``expect: {pool_pays_fen: N}``, optionally ``bound`` (share, cap, balance), ``parts`` and ``borne``
  (party -> fen)

— with ``name`` and ``date`` (the submission or as-of date: it picks dated rule variants and parameter
values), optionally ``clause`` (the clause the case cites), ``description`` and ``parameters`` (a mapping
of parameter name -> the value the case runs with instead of the policy's, e.g. a policy choice:
``{custody-voucher.issue_order: ranked}``; checked against the parameter's unit and choices). Any ``expect`` may instead
be ``{error: TEXT}``: the rule must refuse with a message containing TEXT (e.g. a parameter not yet in
force). Dates are YYYY-MM-DD; amounts whole fen; scores exact (``"59.99"``, never a float).

A malformed file (an unknown key, scheme, check or amount, a missing or badly typed value) raises
:class:`CaseFileError` listing every problem with the file, the case number and name and the key. A case
whose rule decides otherwise is a failed :class:`CaseResult`, never an exception.

Cases live beside the policy: ``rules/policies/tests/<policy-id>/*.yaml`` run against that policy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from rules.allocation import allocate
from rules.constants import DEFAULT_POLICY_ID
from rules.funds import FundFigures, FundRuleThresholds, evaluate_fund_rules
from rules.money import format_yuan
from rules.policy import POLICY_DIR, FormDef, Policy, load_policy, with_values
from rules.schemes import BenefitAward, Candidate, IntakeFacts, Resolved
from rules.yaml_text import read_yaml, yaml_problem

TESTS_DIR = POLICY_DIR / "tests"
KINDS = ("check", "amount", "fund_rules", "allocate", "interest_subsidy", "pool_compensation")
SUBSIDY_BOUNDS = ("formula", "interest_paid", "year_cap", "cumulative_cap", "max_years")
POOL_BOUNDS = ("share", "cap", "balance")
FUND_RULES = ("match", "cluster_floor", "market_floor")
_CASE_KEYS = {"name", "description", "clause", "scheme", "date", "input", "expect", "parameters", *KINDS}

__all__ = ["FUND_RULES", "KINDS", "TESTS_DIR", "Case", "CaseFileError", "CaseResult", "Report", "case_files",
           "load_cases", "policy_for", "run_case", "run_cases", "run_path", "thresholds", "uncovered"]


class CaseFileError(ValueError):
    """A test file is malformed: every problem names the file, the case and the key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"test file {source} is invalid ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Case:
    """One parsed case: what it runs (``kind`` and ``target``), on what (``input``), as of ``date``."""

    file: str
    index: int  # 1-based position in its file
    name: str
    kind: str  # check | amount | fund_rules | allocate
    target: str  # the check's or amount's name; "fund rules"; "allocation"
    scheme: str | None
    date: dt.date
    clause: str | None
    input: Any  # IntakeFacts | Candidate | FundFigures | _Round
    expect: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)  # values the case runs with instead

    @property
    def label(self) -> str:
        return f"{self.file}:{self.index} {self.name}"


@dataclass(frozen=True)
class CaseResult:
    """What a case expected, what the rule decided, and whether they agree."""

    file: str
    index: int
    name: str
    kind: str
    target: str
    scheme: str | None
    clause: str | None
    passed: bool
    expected: dict[str, Any]
    actual: dict[str, Any]
    mismatches: tuple[str, ...]  # one line per expectation not met: "passed: expected false, got true"
    detail: str  # the rule's own words: clause and detail of a check, the fund rules' messages ...

    @property
    def label(self) -> str:
        return f"{self.file}:{self.index} {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "index": self.index, "name": self.name, "kind": self.kind,
                "target": self.target, "scheme": self.scheme, "clause": self.clause,
                "result": "ok" if self.passed else "FAIL", "expected": self.expected, "actual": self.actual,
                "mismatches": list(self.mismatches), "detail": self.detail}


@dataclass
class Report:
    """Every case of a run, the problems of malformed files, and what no case covers."""

    results: list[CaseResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "FILE: case N 'name': key: problem"
    files: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": self.files, "cases": len(self.results),
                "passed": len(self.results) - len(self.failed), "failed": len(self.failed),
                "errors": self.errors, "uncovered": self.uncovered,
                "results": [r.as_dict() for r in self.results]}


@dataclass(frozen=True)
class _Round:
    budget_fen: int | None
    candidates: tuple[Candidate, ...]
    ready: frozenset[str]


# --- reading YAML: duplicate keys are an error, not a silent overwrite --------------------------------

def _read_yaml(text: str, source: str) -> Any:
    try:
        return read_yaml(text)
    except yaml.YAMLError as exc:
        raise CaseFileError(source, [yaml_problem(exc)]) from None


# --- typed values ------------------------------------------------------------------------------------

_BAD: Any = object()
Bad = Callable[[str, str], None]


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str | int | Fraction | list | dict | tuple):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return repr(value)
    return f"{value!r} ({type(value).__name__})"


def _text(value: Any, key: str, bad: Bad) -> Any:
    if isinstance(value, str):
        return value
    hint = " (quote it: codes and numbers-as-names are text)" if isinstance(value, int | float) else ""
    bad(key, f"must be text, not {_shown(value)}{hint}")
    return _BAD


def _bool(value: Any, key: str, bad: Bad) -> Any:
    if isinstance(value, bool):
        return value
    bad(key, f"must be true or false, not {_shown(value)}")
    return _BAD


def _int(value: Any, key: str, bad: Bad, minimum: int | None = None, what: str = "a whole number") -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum):
        return value
    if isinstance(value, float):
        bad(key, f"must be {what}, not the float {value!r} (amounts are whole fen: 50000.00 yuan is 5000000)")
    elif isinstance(value, int) and not isinstance(value, bool):
        bad(key, f"must be {what} >= {minimum}, not {value}")
    else:
        bad(key, f"must be {what}{'' if minimum is None else f' >= {minimum}'}, not {_shown(value)}")
    return _BAD


def _fen(value: Any, key: str, bad: Bad) -> Any:
    return _int(value, key, bad, 0, "a whole number of fen")


def _date(value: Any, key: str, bad: Bad) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    bad(key, f"must be a date (YYYY-MM-DD), not {_shown(value)}")
    return _BAD


def _texts(value: Any, key: str, bad: Bad) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    bad(key, f"must be a list of text, not {_shown(value)}")
    return _BAD


def _score(value: Any, key: str, bad: Bad) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        bad(key, f"{value!r} is a float; write an exact score as quoted text, e.g. \"59.99\"")
        return _BAD
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            d = Decimal(str(value).strip())
            if d.is_finite():
                return Fraction(d)
        except InvalidOperation:
            pass
    bad(key, f"must be an exact score (a whole number or quoted decimal such as \"59.99\"), not {_shown(value)}")
    return _BAD


def _scores(value: Any, key: str, bad: Bad) -> Any:
    if not isinstance(value, Mapping):
        bad(key, f"must be a mapping of criterion -> score, not {_shown(value)}")
        return _BAD
    out = {str(k): _score(v, f"{key}.{k}", bad) for k, v in value.items()}
    return _BAD if any(v is _BAD or v is None for v in out.values()) else out


def _optional_text(value: Any, key: str, bad: Bad) -> Any:
    return None if value is None else _text(value, key, bad)


def _optional_fen(value: Any, key: str, bad: Bad) -> Any:
    return None if value is None else _fen(value, key, bad)


def _typed_form(form: FormDef, value: Any, key: str, bad: Bad) -> Any:
    """The form as the case holds it once validated: each value of its field's type (text upper-cased
    where the field says so); a field left out is simply absent (the check that needs it says so)."""
    if not isinstance(value, Mapping):
        bad(key, f"must be a mapping of the scheme's form fields, not {_shown(value)}")
        return _BAD
    out: dict[str, Any] = {}
    for name, v in value.items():
        k = f"{key}.{name}"
        spec = form.fields.get(str(name))
        if spec is None:
            bad(k, f"is not a field of the scheme's form (fields: {', '.join(form.fields) or 'none'})")
            continue
        if v is None:
            continue
        if spec.type == "text":
            t = _text(v, k, bad)
            got = t.upper() if t is not _BAD and spec.upper else t
        elif spec.type == "date":
            got = _date(v, k, bad)
        elif spec.type == "int":
            got = _int(v, k, bad)
        elif spec.type == "fen":
            got = _fen(v, k, bad)
        elif spec.type == "bool":
            got = _bool(v, k, bad)
        else:
            got = _text(v, k, bad)
            if got is not _BAD and got not in spec.choices:
                bad(k, f"{_shown(got)} is not one of {', '.join(spec.choices)}")
                got = _BAD
        if got is not _BAD:
            out[str(name)] = got
    return out


def _amount_form(sc: Any) -> FormDef:
    """The form an amount case may give: the scheme's form, and for a voucher scheme also the contract
    amount its cover is computed from (``contract_fen``, whole fen)."""
    if sc.voucher is None:
        return sc.form  # type: ignore[no-any-return]
    from rules.policy import FieldDef

    return FormDef(fields={**sc.form.fields, "contract_fen": FieldDef(type="fen", required=False)},
                   claim_key=sc.form.claim_key, claim_per=sc.form.claim_per)


Reader = Callable[[Any, str, Bad], Any]
_REQUIRED: Any = object()


def _fields(raw: Any, key: str, spec: Mapping[str, tuple[Reader, Any]], bad: Bad,
            hints: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Read a mapping by ``spec`` (name -> (reader, default or _REQUIRED)); None if anything is wrong."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        bad(key, f"must be a mapping, not {_shown(raw)}")
        return None
    before = _count(bad)
    for k in raw:
        if k not in spec:
            hint = (hints or {}).get(str(k)) or f"the keys are: {', '.join(spec)}"
            bad(f"{key}.{k}", f"unknown key ({hint})")
    out: dict[str, Any] = {}
    for name, (reader, default) in spec.items():
        if name in raw:
            out[name] = reader(raw[name], f"{key}.{name}", bad)
        elif default is _REQUIRED:
            bad(f"{key}.{name}", "missing")
        else:
            out[name] = default() if callable(default) else default
    return out if _count(bad) == before else None


def _count(bad: Bad) -> int:
    return len(getattr(bad, "problems", ()))


class _Problems:
    """Collects problems of one case, each prefixed with the case number and name."""

    def __init__(self, prefix: str, problems: list[str]) -> None:
        self.prefix = prefix
        self.problems = problems

    def __call__(self, key: str, message: str) -> None:
        self.problems.append(f"{self.prefix}{key}: {message}")


# --- the kinds of case ---------------------------------------------------------------------------

def _facts_spec(form: FormDef) -> dict[str, tuple[Reader, Any]]:
    return {
        "applicant_found": (_bool, True),
        "applicant_uscc": (_text, ""),
        "applicant_kind": (_text, ""),
        "applicant_district": (_text, ""),
        "applicant_sme": (_bool, False),
        "applicant_whitelist": (_bool, False),
        "form": (lambda v, k, b: _typed_form(form, v, k, b), dict),
        "earlier_claims": (_texts, ()),
        "awarded_this_year_fen": (_fen, 0),
        "same_benefit_awards": (_benefit_awards, ()),
        "linked": (_linked, dict),
    }


def _benefit_awards(value: Any, key: str, bad: Bad) -> Any:
    """Other schemes' awards of the same benefit: a list of {benefit, scheme, ref, award_fen}."""
    if not isinstance(value, list):
        bad(key, f"must be a list of {{benefit, scheme, ref, award_fen}}, not {_shown(value)}")
        return _BAD
    out = []
    for i, v in enumerate(value):
        got = _fields(v, f"{key}[{i}]", {"benefit": (_text, _REQUIRED), "scheme": (_text, _REQUIRED),
                                         "ref": (_text, _REQUIRED), "award_fen": (_fen, _REQUIRED)}, bad)
        if got is None:
            return _BAD
        out.append(BenefitAward(got["benefit"], got["scheme"], got["ref"], got["award_fen"]))
    return tuple(out)


def _candidate_spec(form: FormDef, allocation: bool) -> dict[str, tuple[Reader, Any]]:
    spec: dict[str, tuple[Reader, Any]] = {
        "kind": (_text, ""),
        "sme": (_bool, False),
        "form": (lambda v, k, b: _typed_form(form, v, k, b), dict),
        "awarded_this_year_fen": (_fen, 0),
        "final_score": (_score, None),
        "linked": (_linked, dict),
    }
    if allocation:
        spec = {"ref": (_text, _REQUIRED), "application_id": (lambda v, k, b: _int(v, k, b, 1), None),
                "applicant_id": (lambda v, k, b: _int(v, k, b, 1), None), **spec,
                "submitted_at": (_text, ""), "criterion_means": (_scores, dict), "status": (_text, "scored"),
                "failed_check": (_optional_text, None),
                "earlier_years_awards": (lambda v, k, b: _int(v, k, b, 0), 0),
                "same_benefit": (_benefit_awards, ())}
    return spec


_FACT_HINTS = {"submitted_on": "the submission date is the case's `date`",
               "scheme": "the scheme is the case's `scheme`"}

_EXPECT: dict[str, dict[str, tuple[Reader, Any]]] = {
    "check": {"passed": (_bool, None), "clause": (_optional_text, None), "detail_contains": (_optional_text, None),
              "error": (_optional_text, None)},
    "amount": {"amount_fen": (_optional_fen, None), "error": (_optional_text, None)},
    "fund_rules": {"violated": (lambda v, k, b: _rule_names(v, k, b), None),
                   "required_fen": (lambda v, k, b: _per_rule(v, k, b), None),
                   "shortfall_fen": (lambda v, k, b: _per_rule(v, k, b), None),
                   "error": (_optional_text, None)},
    "allocate": {"outcomes": (lambda v, k, b: _expected_outcomes(v, k, b), None),
                 "order": (lambda v, k, b: None if v is None else _texts(v, k, b), None),
                 "total_award_fen": (_optional_fen, None), "error": (_optional_text, None)},
}
_MAIN = {"check": "passed", "amount": "amount_fen", "fund_rules": "violated", "allocate": "outcomes",
         "interest_subsidy": "amount_fen", "pool_compensation": "pool_pays_fen"}
_ENOUGH = {"allocate": ("outcomes", "order", "total_award_fen")}  # any one of them; else _MAIN


def _decimal_text(value: Any, key: str, bad: Bad) -> Any:
    if isinstance(value, float):
        bad(key, f"{value!r} is a float; write an exact rate or share as quoted text, e.g. \"0.039\"")
        return _BAD
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            d = Decimal(str(value).strip())
            if d.is_finite() and d >= 0:
                return d
        except InvalidOperation:
            pass
    bad(key, f"must be an exact non-negative decimal as quoted text (e.g. \"0.039\"), not {_shown(value)}")
    return _BAD


def _share(value: Any, key: str, bad: Bad) -> Any:
    d = _decimal_text(value, key, bad)
    if d is _BAD:
        return d
    if d > 1:
        bad(key, f"{d} is a share, at most 1")
        return _BAD
    return Fraction(d)


def _optional_date(value: Any, key: str, bad: Bad) -> Any:
    return None if value is None else _date(value, key, bad)


def _loan(value: Any, key: str, bad: Bad) -> Any:
    from rules.schemes.pledge_interest_subsidy import Loan

    got = _fields(value, key, {"principal_fen": (_fen, _REQUIRED), "rate": (_decimal_text, _REQUIRED),
                               "drawdown": (_date, _REQUIRED), "maturity": (_date, _REQUIRED),
                               "ip_share": (_share, lambda: Fraction(1)), "insured_share": (_share, lambda: Fraction(0)),
                               "whitelisted": (_bool, False), "first_loan": (_bool, False),
                               "extended_to": (_optional_date, None)}, bad)
    return _BAD if got is None else Loan("case", "case", **got)


def _payments(value: Any, key: str, bad: Bad) -> Any:
    from rules.schemes.pledge_interest_subsidy import PAYMENT_KINDS, InterestPayment

    if value is None:
        return ()
    if not isinstance(value, list):
        bad(key, f"must be a list of payments, not {_shown(value)}")
        return _BAD
    out = []
    for i, raw in enumerate(value, 1):
        got = _fields(raw, f"{key}[{i}]", {"receipt": (_text, str(i)), "start": (_date, _REQUIRED),
                                          "end": (_date, _REQUIRED), "amount_fen": (_fen, _REQUIRED),
                                          "kind": (_text, "normal")}, bad)
        if got is None:
            continue
        if got["kind"] not in PAYMENT_KINDS:
            bad(f"{key}[{i}].kind", f"{_shown(got['kind'])} is not one of {', '.join(PAYMENT_KINDS)}")
            continue
        out.append(InterestPayment(**got))
    return tuple(out) if len(out) == len(value) else _BAD


def _granted(value: Any, key: str, bad: Bad) -> Any:
    from rules.schemes.pledge_interest_subsidy import Granted

    got = _fields(value, key, {"year_fen": (_fen, 0), "cumulative_fen": (_fen, 0),
                               "loan_years": (lambda v, k, b: _int(v, k, b, 0), 0)}, bad)
    return _BAD if got is None else Granted(**got)


def _window(value: Any, key: str, bad: Bad) -> Any:
    got = _fields(value, key, {"start": (_date, _REQUIRED), "end": (_date, _REQUIRED)}, bad)
    if got is None:
        return _BAD
    if got["end"] <= got["start"]:
        bad(f"{key}.end", f"{got['end'].isoformat()} is not after the start {got['start'].isoformat()}")
        return _BAD
    return (got["start"], got["end"])


def _prior_claims(value: Any, key: str, bad: Bad) -> Any:
    from rules.schemes.pledge_interest_subsidy import PriorClaim

    if not isinstance(value, list):
        bad(key, f"must be a list of {{ref, year, start, end, award_fen, awarded}}, not {_shown(value)}")
        return _BAD
    out = []
    for i, raw in enumerate(value):
        got = _fields(raw, f"{key}[{i}]", {"ref": (_text, _REQUIRED), "year": (lambda v, k, b: _int(v, k, b, 1900),
                                                                               _REQUIRED),
                                          "start": (_date, _REQUIRED), "end": (_date, _REQUIRED),
                                          "award_fen": (_fen, 0), "awarded": (_bool, False)}, bad)
        if got is None:
            return _BAD
        out.append(PriorClaim(**got))
    return tuple(out)


def _linked_loan(value: Any, key: str, bad: Bad) -> Any:
    """A claim's linked loan (rules.schemes.pledge_interest_subsidy.LinkedLoan): the registry's loan (as in
    interest_subsidy cases, with its borrower), bank standing, pledge date, receipts, prior claims."""
    import dataclasses

    from rules.schemes.pledge_interest_subsidy import LinkedLoan

    got = _fields(value, key, {"found": (_bool, True), "bank": (_text, "BANK"), "ref": (_text, "LOAN"),
                               "borrower": (_text, ""), "loan": (lambda v, k, b: None if v is None else _loan(v, k, b),
                                                                 None),
                               "bank_active": (_bool, True), "pledge_reg_date": (_optional_date, None),
                               "payments": (_payments, tuple), "prior": (_prior_claims, tuple),
                               "cumulative_fen": (_fen, 0), "principal_repaid_fen": (_fen, 0),
                               "repaid_on": (_optional_date, None), "year_by_kind": (_fen_map, dict)}, bad)
    if got is None:
        return _BAD
    borrower = got.pop("borrower")
    if got["loan"] is not None:
        got["loan"] = dataclasses.replace(got["loan"], ref=got["ref"], borrower=borrower)
    return LinkedLoan(**got)


def _linked_bars(value: Any, key: str, bad: Bad) -> Any:
    """The applicant's bars from calls (rules.schemes.project_grant.Bar): a list of {since, until, ref}."""
    from rules.schemes.project_grant import Bar

    if not isinstance(value, list):
        bad(key, f"must be a list of {{since, until, ref}}, not {_shown(value)}")
        return _BAD
    out = []
    for i, raw in enumerate(value):
        got = _fields(raw, f"{key}[{i}]", {"since": (_optional_date, None), "until": (_optional_date, None),
                                           "ref": (_text, "")}, bad)
        if got is None or got["since"] is None or got["until"] is None:
            bad(f"{key}[{i}]", "a bar gives since, until (dates) and ref")
            return _BAD
        out.append(Bar(got["since"], got["until"], got["ref"]))
    return tuple(out)


_LINKED_READERS: dict[str, Reader] = {"loan": _linked_loan, "bar": _linked_bars}


def _linked(value: Any, key: str, bad: Bad) -> Any:
    """``linked``: {kind: record} for a scheme whose form links records (rules.policy.LINK_KINDS)."""
    if not isinstance(value, Mapping):
        bad(key, f"must be a mapping of link kind -> record, not {_shown(value)}")
        return _BAD
    out = {}
    for kind, raw in value.items():
        if kind not in _LINKED_READERS:
            bad(f"{key}.{kind}", f"not a link kind ({', '.join(_LINKED_READERS)})")
            return _BAD
        out[str(kind)] = _LINKED_READERS[kind](raw, f"{key}.{kind}", bad)
    return out


def _one_of(choices: tuple[str, ...]) -> Reader:
    def read(value: Any, key: str, bad: Bad) -> Any:
        if value is None:
            return None
        if value not in choices:
            bad(key, f"{_shown(value)} is not one of {', '.join(choices)}")
            return _BAD
        return value
    return read


def _fen_map(value: Any, key: str, bad: Bad) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        bad(key, f"must be a mapping of party -> fen, not {_shown(value)}")
        return _BAD
    return {str(k): _fen(v, f"{key}.{k}", bad) for k, v in value.items()}


_PLEDGE = {"interest_subsidy": ("pledge-interest-subsidy", "ratio"),
           "pool_compensation": ("risk-compensation", "loss_shares")}
_PLEDGE_INPUT: dict[str, dict[str, tuple[Reader, Any]]] = {
    "interest_subsidy": {"loan": (_loan, _REQUIRED), "payments": (_payments, tuple),
                         "granted": (_granted, lambda: _granted({}, "granted", lambda k, m: None)),
                         "window": (_window, _REQUIRED)},
    "pool_compensation": {"loss_fen": (_fen, _REQUIRED), "filed_on": (_date, _REQUIRED),
                          "claimed_on": (_date, _REQUIRED), "bank_tier": (_text, _REQUIRED),
                          "pool_balance_fen": (_fen, _REQUIRED), "paid_before_fen": (_fen, 0)},
}


_EXPECT["interest_subsidy"] = {"amount_fen": (_optional_fen, None), "bound": (_one_of(SUBSIDY_BOUNDS), None),
                               "formula_fen": (_optional_fen, None), "interest_paid_fen": (_optional_fen, None),
                               "days": (lambda v, k, b: None if v is None else _int(v, k, b, 0), None),
                               "error": (_optional_text, None)}
_EXPECT["pool_compensation"] = {"pool_pays_fen": (_optional_fen, None), "bound": (_one_of(POOL_BOUNDS), None),
                                "parts": (_fen_map, None), "borne": (_fen_map, None),
                                "error": (_optional_text, None)}


def _rule_names(value: Any, key: str, bad: Bad) -> Any:
    names = _texts(value, key, bad) if value is not None else None
    if names is None or names is _BAD:
        return names
    unknown = [n for n in names if n not in FUND_RULES]
    if unknown:
        bad(key, f"unknown fund rule(s) {', '.join(unknown)} (the rules are: {', '.join(FUND_RULES)})")
        return _BAD
    return tuple(sorted(set(names), key=FUND_RULES.index))


def _per_rule(value: Any, key: str, bad: Bad) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        bad(key, f"must be a mapping of fund rule -> fen, not {_shown(value)}")
        return _BAD
    out = {}
    for k, v in value.items():
        if k not in FUND_RULES:
            bad(f"{key}.{k}", f"unknown fund rule (the rules are: {', '.join(FUND_RULES)})")
            continue
        out[str(k)] = _fen(v, f"{key}.{k}", bad)
    return out


_OUTCOME_SPEC: dict[str, tuple[Reader, Any]] = {
    "outcome": (_optional_text, None), "award_fen": (_optional_fen, None),
    "rank": (lambda v, k, b: None if v is None else _int(v, k, b, 1), None),
    "reason_contains": (_optional_text, None)}


def _expected_outcomes(value: Any, key: str, bad: Bad) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        bad(key, f"must be a mapping of ref -> outcome (or {{outcome, award_fen, rank, reason_contains}}), "
                 f"not {_shown(value)}")
        return _BAD
    out: dict[str, dict[str, Any]] = {}
    for ref, v in value.items():
        k = f"{key}.{ref}"
        if isinstance(v, str):
            out[str(ref)] = {"outcome": v}
            continue
        got = _fields(v, k, _OUTCOME_SPEC, bad)
        if got is None:
            continue
        got = {n: x for n, x in got.items() if x is not None}
        if not got:
            bad(k, "expects nothing; give an outcome, award_fen, rank or reason_contains")
            continue
        out[str(ref)] = got
    return out


def _parse_case(policy: Policy, raw: Any, source: str, index: int, problems: list[str]) -> Case | None:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    bad = _Problems(f"case {index}{f' {name!r}' if isinstance(name, str) else ''}: ", problems)
    before = len(problems)
    if not isinstance(raw, Mapping):
        bad("(case)", f"a case is a mapping with name, date, input and expect, not {_shown(raw)}")
        return None
    for k in raw:
        if k not in _CASE_KEYS:
            bad(str(k), f"unknown key (a case has: {', '.join(sorted(_CASE_KEYS))})")
    if not isinstance(name, str) or not name.strip():
        bad("name", "missing" if name is None else f"must be text, not {_shown(name)}")
    clause = _optional_text(raw.get("clause"), "clause", bad)
    if "description" in raw:
        _text(raw["description"], "description", bad)
    when = _date(raw["date"], "date", bad) if "date" in raw else _BAD
    if "date" not in raw:
        bad("date", "missing (the submission / as-of date, YYYY-MM-DD)")
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        bad("/".join(kinds) if kinds else "check", "a case runs exactly one of: check: NAME, amount: NAME, "
            f"fund_rules: true, allocate: true{f' (it gives {len(kinds)})' if kinds else ''}")
        return None
    kind = kinds[0]
    target = raw[kind]
    scheme_id = raw.get("scheme")
    sc = None
    resolved = None
    if kind == "fund_rules":
        if target is not True:
            bad("fund_rules", f"must be true, not {_shown(target)}")
        if scheme_id is not None:
            bad("scheme", "the 三(二) fund rules belong to no scheme; leave scheme out")
        target = "fund rules"
    elif kind in _PLEDGE:
        if target is not True:
            bad(kind, f"must be true, not {_shown(target)}")
        default, probe = _PLEDGE[kind]
        if scheme_id is None:
            scheme_id = default
        if not isinstance(scheme_id, str) or f"{scheme_id}.{probe}" not in policy.parameters:
            bad("scheme", f"policy {policy.id} has no parameter {scheme_id}.{probe}, so no {kind} to run")
        target = str(scheme_id)
    else:
        if kind == "allocate":
            if target is not True:
                bad("allocate", f"must be true, not {_shown(target)}")
            target = "allocation"
        elif not isinstance(target, str) or not target:
            bad(kind, f"must name the {kind} to run, not {_shown(target)}")
            target = _BAD
        if scheme_id is None:
            bad("scheme", f"missing (the scheme whose {kind} this is: {', '.join(sorted(policy.schemes))})")
        elif not isinstance(scheme_id, str) or scheme_id not in policy.schemes:
            bad("scheme", f"policy {policy.id} has no scheme {_shown(scheme_id)} "
                          f"(its schemes: {', '.join(sorted(policy.schemes)) or 'none'})")
        else:
            sc = policy.scheme(scheme_id)
            try:
                resolved = Resolved(scheme_id, sc.module)
            except LookupError as exc:
                bad("scheme", str(exc))
        if sc is not None and resolved is not None and target is not _BAD:
            if kind == "check":
                if target not in sc.intake_checks:
                    bad("check", f"{target!r} is not an intake check of {scheme_id} in policy {policy.id} "
                                 f"(its checks: {', '.join(sc.intake_checks) or 'none'})")
            elif kind == "amount" and not resolved.has("amount", target):
                declared = f"; its allocation.amount is {sc.allocation.amount!r}" if sc.allocation.amount else ""
                bad("amount", f"no amount function {target!r} is registered for {scheme_id}{declared}")
    # input
    inp: Any = None
    if sc is not None:
        if kind == "check":
            got = _fields(raw.get("input"), "input", _facts_spec(sc.form), bad, _FACT_HINTS)
            if got is not None and when is not _BAD:
                inp = IntakeFacts(scheme=str(scheme_id), submitted_on=when, **got)
        elif kind == "amount":
            got = _fields(raw.get("input"), "input", _candidate_spec(_amount_form(sc), False), bad)
            if got is not None:
                inp = Candidate(1, name if isinstance(name, str) else "", 1, got["kind"], got["sme"], "",
                                got["final_score"], awarded_this_year_fen=got["awarded_this_year_fen"],
                                form=got["form"], linked=got["linked"])
        elif kind == "allocate":
            inp = _parse_round(policy, str(scheme_id), raw.get("input"), bad)
    elif kind in _PLEDGE:
        inp = _fields(raw.get("input"), "input", _PLEDGE_INPUT[kind], bad)
    elif kind == "fund_rules":
        got = _fields(raw.get("input"), "input", {n: (_fen, _REQUIRED) for n in
                                                  ("central_fen", "local_fen", "central_cluster_fen",
                                                   "central_market_fen")}, bad)
        if got is not None:
            inp = FundFigures(**got)
    # expect
    expect: dict[str, Any] = {}
    if "expect" not in raw:
        bad("expect", f"missing (e.g. expect: {{{_MAIN[kind]}: ...}} or {{error: TEXT}})")
    else:
        got = _fields(raw["expect"], "expect", _EXPECT[kind], bad)
        if got is not None:
            expect = {k: v for k, v in got.items() if v is not None}
            if not expect:
                bad("expect", f"expects nothing; give {_MAIN[kind]} (or error)")
            elif "error" in expect and len(expect) > 1:
                bad("expect", "expects an error, so it cannot also expect "
                              + ", ".join(k for k in expect if k != "error"))
            elif "error" not in expect and not set(_ENOUGH.get(kind, (_MAIN[kind],))) & set(expect):
                bad(f"expect.{_MAIN[kind]}", "missing" if kind not in _ENOUGH else
                    f"missing (give at least one of {', '.join(_ENOUGH[kind])})")
    if len(problems) > before:
        return None
    assert isinstance(name, str) and isinstance(when, dt.date)
    overrides = _overrides(policy, raw.get("parameters"), bad)
    if len(problems) > before:
        return None
    return Case(source, index, name.strip(), kind, str(target), scheme_id if isinstance(scheme_id, str) else None,
                when, clause, inp, expect, overrides)


def _overrides(policy: Policy, value: Any, bad: Bad) -> dict[str, Any]:
    """A case's ``parameters``: each a parameter of the policy, its value valid for the parameter's unit."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        bad("parameters", f"must be a mapping of parameter name -> value, not {_shown(value)}")
        return {}
    for k, v in value.items():
        try:
            with_values(policy, {str(k): v})
        except (LookupError, ValueError) as exc:
            bad(f"parameters.{k}", str(exc))
    return {str(k): v for k, v in value.items()}


def _parse_round(policy: Policy, scheme_id: str, raw: Any, bad: Bad) -> _Round | None:
    sc = policy.scheme(scheme_id)
    got = _fields(raw, "input", {"budget_fen": (_optional_fen, _REQUIRED), "candidates": (lambda v, k, b: v, _REQUIRED),
                                 "ready": (_texts, None)}, bad)
    if got is None:
        return None
    cands = got["candidates"]
    if not isinstance(cands, list) or not cands:
        bad("input.candidates", f"must be a non-empty list of candidates, not {_shown(cands)}")
        return None
    before = _count(bad)
    out: list[Candidate] = []
    refs: set[str] = set()
    ids: set[int] = set()
    for i, c in enumerate(cands):
        key = f"input.candidates[{i}]"
        v = _fields(c, key, _candidate_spec(sc.form, True), bad)
        if v is None:
            continue
        if v["ref"] in refs:
            bad(f"{key}.ref", f"{v['ref']!r} is given twice")
        refs.add(v["ref"])
        app_id = v["application_id"] or i + 1
        if app_id in ids:
            bad(f"{key}.application_id", f"{app_id} is given twice")
        ids.add(app_id)
        if v["status"] != "rejected" and v["status"] not in sc.states:
            bad(f"{key}.status", f"{v['status']!r} is not a state of {scheme_id} (states: {', '.join(sc.states)})")
        out.append(Candidate(app_id, v["ref"], v["applicant_id"] or app_id, v["kind"], v["sme"], v["submitted_at"],
                             v["final_score"], v["criterion_means"], v["status"], v["failed_check"],
                             v["awarded_this_year_fen"], v["form"], v["earlier_years_awards"], v["same_benefit"],
                             v["linked"]))
    ready = got["ready"] if got["ready"] is not None else sc.states_tagged("ready") or ("scored",)
    for s in ready:
        if s not in sc.states:
            bad("input.ready", f"{s!r} is not a state of {scheme_id}")
    if _count(bad) > before:
        return None
    return _Round(got["budget_fen"], tuple(out), frozenset(ready))


def load_cases(path: Path, policy: Policy) -> list[Case]:
    """The cases of one test file, checked against ``policy``; :class:`CaseFileError` lists every problem."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(source, [f"cannot be read ({exc})"]) from None
    raw = _read_yaml(text, source)
    if not isinstance(raw, list) or not raw:
        raise CaseFileError(source, ["(top level): a test file is a non-empty YAML list of cases (- name: ...)"])
    problems: list[str] = []
    cases = [_parse_case(policy, c, source, i, problems) for i, c in enumerate(raw, 1)]
    names: dict[str, int] = {}
    for c in cases:
        if c is None:
            continue
        if c.name in names:
            problems.append(f"case {c.index} {c.name!r}: name: the same as case {names[c.name]}'s; names say "
                            "what each case shows, so each is different")
        names.setdefault(c.name, c.index)
    if problems:
        raise CaseFileError(source, problems)
    return [c for c in cases if c is not None]


# --- running -----------------------------------------------------------------------------------------

def thresholds(policy: Policy, as_of: dt.date) -> FundRuleThresholds:
    """The 三(二) thresholds in force on ``as_of`` (as flows.services.budget builds them for a year)."""
    return FundRuleThresholds(
        match_ratio=policy.ratio("funds.match_ratio", as_of),
        cluster_floor=policy.ratio("funds.cluster_floor", as_of),
        market_floor=policy.ratio("funds.market_floor", as_of),
        clause=policy.parameter("funds.match_ratio").clause,
    )


def _actual(policy: Policy, case: Case) -> tuple[dict[str, Any], str]:
    """What the rule decides (as the keys ``expect`` uses), and its own words."""
    if case.kind == "check":
        assert case.scheme is not None
        sc = policy.scheme(case.scheme)
        r = Resolved(case.scheme, sc.module).check(case.target, case.date)(policy, case.input)
        return ({"passed": r.passed, "clause": r.clause, "detail": r.detail, "rule": r.rule,
                 "parameter": r.parameter}, f"{r.rule} ({r.clause}): {r.detail}")
    if case.kind == "amount":
        assert case.scheme is not None
        sc = policy.scheme(case.scheme)
        fen = int(Resolved(case.scheme, sc.module).amount(case.target, case.date)(policy, case.input, case.date))
        return {"amount_fen": fen}, f"{case.target} = {format_yuan(fen)}"
    if case.kind == "interest_subsidy":
        from rules.schemes.pledge_interest_subsidy import interest_subsidy

        i = case.input
        r = interest_subsidy(policy, i["loan"], i["payments"], i["granted"], i["window"], case.target)
        return ({"amount_fen": r.amount_fen, "bound": r.bound, "formula_fen": r.formula_fen,
                 "interest_paid_fen": r.interest_paid_fen, "days": r.days},
                f"{format_yuan(r.amount_fen)} bound by {r.bound}: "
                + "; ".join(f"{t.what} {t.value}" for t in r.trace))
    if case.kind == "pool_compensation":
        from rules.schemes.risk_compensation import compensation

        i = case.input
        c = compensation(policy, i["loss_fen"], i["filed_on"], i["claimed_on"], i["bank_tier"],
                         i["pool_balance_fen"], i["paid_before_fen"])
        return ({"pool_pays_fen": c.pool_pays_fen, "bound": c.bound, "parts": c.parts, "borne": c.borne},
                f"the pool pays {format_yuan(c.pool_pays_fen)} bound by {c.bound}: "
                + "; ".join(f"{t.what} {t.value}" for t in c.trace))
    if case.kind == "fund_rules":
        results = evaluate_fund_rules(case.input, thresholds(policy, case.date))
        words = "; ".join(r.message() for r in results if not r.passed) or \
            f"all three fund rules pass ({results[0].clause})"
        return ({"violated": tuple(r.rule for r in results if not r.passed),
                 "required_fen": {r.rule: r.required_fen for r in results},
                 "shortfall_fen": {r.rule: r.shortfall_fen for r in results}}, words)
    assert case.scheme is not None
    rnd: _Round = case.input
    outs = allocate(policy, case.scheme, rnd.candidates, rnd.budget_fen, case.date, ready=rnd.ready)
    got = {o.ref: {"outcome": o.outcome, "award_fen": o.award_fen, "rank": o.rank, "reason": o.reason} for o in outs}
    return ({"outcomes": got, "order": tuple(o.ref for o in outs if o.rank is not None),
             "total_award_fen": sum(o.award_fen for o in outs)},
            "; ".join(f"{o.ref} {o.outcome} ({o.reason})" for o in outs))


def _compare(case: Case, actual: dict[str, Any]) -> list[str]:
    exp = case.expect
    if "error" in actual:
        if "error" in exp:
            return [] if exp["error"] in actual["error"] else [
                f"error: expected a refusal containing {_shown(exp['error'])}, got {_shown(actual['error'])}"]
        return [f"expected {', '.join(f'{k}={_shown(v)}' for k, v in exp.items())}, but the rule raised "
                f"{actual['error']}"]
    if "error" in exp:
        return [f"error: expected a refusal containing {_shown(exp['error'])}, but the rule decided "
                + ", ".join(f"{k}={_shown(_plain(actual.get(k)))}" for k in (_MAIN[case.kind],))]
    out: list[str] = []
    for key, want in exp.items():
        if key == "detail_contains":
            if want not in actual["detail"]:
                out.append(f"detail: expected it to contain {_shown(want)}, got {_shown(actual['detail'])}")
        elif key in ("required_fen", "shortfall_fen"):
            for rule, fen in want.items():
                if actual[key][rule] != fen:
                    out.append(f"{key}.{rule}: expected {fen}, got {actual[key][rule]}")
        elif key == "outcomes":
            for ref, fields in want.items():
                got = actual["outcomes"].get(ref)
                if got is None:
                    out.append(f"outcomes.{ref}: no candidate {ref!r} in the round")
                    continue
                for f, v in fields.items():
                    if f == "reason_contains":
                        if v not in got["reason"]:
                            out.append(f"outcomes.{ref}.reason: expected it to contain {_shown(v)}, "
                                       f"got {_shown(got['reason'])}")
                    elif got[f] != v:
                        out.append(f"outcomes.{ref}.{f}: expected {_shown(v)}, got {_shown(got[f])}")
        elif key == "order":
            if tuple(actual["order"]) != tuple(want):
                out.append(f"order: expected {_shown(list(want))}, got {_shown(list(actual['order']))}")
        elif key == "violated":
            if tuple(actual["violated"]) != tuple(want):
                out.append(f"violated: expected {_shown(list(want))}, got {_shown(list(actual['violated']))}")
        elif actual.get(key) != want:
            out.append(f"{key}: expected {_shown(want)}, got {_shown(actual.get(key))}")
    return out


def _plain(value: Any) -> Any:
    """JSON-friendly (tuples as lists, dates as text, fractions as decimals)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return str(value)
    return value


def run_case(policy: Policy, case: Case) -> CaseResult:
    """Run one case; a rule that decides otherwise (or raises) is a failed result, never an exception."""
    try:
        actual, words = _actual(with_values(policy, case.parameters) if case.parameters else policy, case)
    except Exception as exc:  # a refusal the case may expect, or a bug in a rule: reported either way
        actual, words = {"error": f"{type(exc).__name__}: {exc}"}, f"{type(exc).__name__}: {exc}"
    mismatches = _compare(case, actual)
    shown = {k: actual[k] for k in case.expect if k in actual} if "error" not in actual else actual
    if "detail_contains" in case.expect and "detail" in actual:
        shown["detail"] = actual["detail"]
    if "outcomes" in case.expect and "outcomes" in actual:
        shown["outcomes"] = {ref: actual["outcomes"].get(ref) for ref in case.expect["outcomes"]}
    return CaseResult(case.file, case.index, case.name, case.kind, case.target, case.scheme, case.clause,
                      not mismatches, _plain(dict(case.expect)), _plain(shown), tuple(mismatches), words)


def run_cases(policy: Policy, cases: Sequence[Case]) -> list[CaseResult]:
    return [run_case(policy, c) for c in cases]


def case_files(path: Path) -> list[Path]:
    """``path`` itself, or every ``*.yaml`` / ``*.yml`` under the directory ``path``, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def policy_for(path: Path) -> Policy:
    """The policy a test file belongs to: the bundled policy its folder is named after
    (``rules/policies/tests/<policy-id>/``), else the default policy."""
    for folder in path.resolve().parents:
        if (POLICY_DIR / f"{folder.name}.yaml").is_file():
            return load_policy(folder.name)
    return load_policy(DEFAULT_POLICY_ID)


def run_path(path: Path, policy: Policy | None = None) -> Report:
    """Load and run every case of a file or directory, against ``policy`` (else each file's own, see
    :func:`policy_for`). Malformed files are reported in ``errors``; the others still run."""
    report = Report()
    by_policy: dict[str, tuple[Policy, list[Case]]] = {}
    files = case_files(path)
    if not files:
        report.errors.append(f"{path}: no test files (*.yaml) found")
    for f in files:
        report.files.append(str(f))
        p = policy if policy is not None else policy_for(f)
        try:
            cases = load_cases(f, p)
        except CaseFileError as exc:
            report.errors += [f"{exc.source}: {problem}" for problem in exc.problems]
            continue
        by_policy.setdefault(p.id, (p, []))[1].extend(cases)
        report.results += run_cases(p, cases)
    for pid, (p, cases) in by_policy.items():
        report.uncovered += [f"{pid}: {u}" for u in uncovered(p, cases)]
    return report


def uncovered(policy: Policy, cases: Sequence[Case]) -> list[str]:
    """What the policy decides that no case shows from both sides: every intake check a scheme lists (a
    case that passes and one that fails), every scheme's amount function, every fund rule (kept and
    broken), and every scheme that allocates."""
    out: list[str] = []
    seen: set[tuple[str | None, str, str, object]] = set()
    for c in cases:
        if c.kind == "check" and "passed" in c.expect:
            seen.add((c.scheme, "check", c.target, c.expect["passed"]))
        elif c.kind == "amount":
            seen.add((c.scheme, "amount", c.target, True))
        elif c.kind == "allocate":
            seen.add((c.scheme, "allocate", "", True))
        elif c.kind == "fund_rules" and "violated" in c.expect:
            for rule in FUND_RULES:
                seen.add((None, "fund", rule, rule in c.expect["violated"]))
        elif c.kind in _PLEDGE and "bound" in c.expect:
            seen.add((c.target, c.kind, c.expect["bound"], True))
    for sid, sc in sorted(policy.schemes.items()):
        for check in sc.intake_checks:
            for passed, what in ((True, "passes"), (False, "fails")):
                if (sid, "check", check, passed) not in seen:
                    out.append(f"{sid}: no case where check {check} {what}")
        if sc.allocation.amount and (sid, "amount", sc.allocation.amount, True) not in seen:
            out.append(f"{sid}: no case of amount {sc.allocation.amount}")
        if (sid, "allocate", "", True) not in seen:
            out.append(f"{sid}: no allocation case")
    for kind, (prefix, probe) in _PLEDGE.items():
        if f"{prefix}.{probe}" not in policy.parameters:
            continue
        for bound in SUBSIDY_BOUNDS if kind == "interest_subsidy" else POOL_BOUNDS:
            if (prefix, kind, bound, True) not in seen:
                out.append(f"{prefix}: no {kind} case bound by {bound}")
    for rule in FUND_RULES:
        for broken, what in ((False, "is kept"), (True, "is broken")):
            if (None, "fund", rule, broken) not in seen:
                out.append(f"fund rule {rule}: no case where it {what}")
    return out
