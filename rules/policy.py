"""Policy files: every ratio, cap, price and threshold as dated, cited data.

A policy file (YAML) holds parameters in the OpenFisca style: each has a description, a unit,
the clause of the policy text it comes from, values keyed by the date they take effect, and
``illustrative: true`` where the policy text gives no number. Rules read parameters *as of* a date.

A second city is a second file in ``rules/policies/`` (or any path given to :func:`load_policy`);
nothing here is specific to Yantai.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from rules.constants import DEFAULT_POLICY_ID as DEFAULT_POLICY_ID  # re-exported
from rules.yaml_text import read_yaml, yaml_problem

POLICY_DIR = Path(__file__).parent / "policies"

Unit = Literal["ratio", "fen", "days", "months", "count", "score", "rounding", "pattern", "date", "rubric", "list",
               "choice", "shares", "ratios", "bands", "tranches"]


class PolicyError(ValueError):
    """A policy file is malformed: every problem is reported with file, key path and what is wrong."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(
            f"policy file {source} is invalid ({len(problems)} problem(s)):\n{lines}\n"
            "Fix the listed keys and run `ipfund policy check FILE` again."
        )


class ParameterNotInForce(LookupError):
    """A rule asked for a parameter on a date before its first value, or after its repeal (a dated null)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    description: str = Field(min_length=1)
    unit: Unit
    clause: str = Field(min_length=1, description="clause of the policy text, e.g. 三(二)")
    reference: str | None = None
    illustrative: bool = False
    values: dict[dt.date, Any] = Field(min_length=1)
    choices: list[str] = []  # unit "choice": the values a policy may choose from (e.g. return_to_holder, void)
    value_references: dict[dt.date, str | None] = {}  # filled from {value, reference} entries of values
    _in_force: dict[dt.date, dt.date | None] = PrivateAttr(default_factory=dict)  # as_of -> date in force

    @model_validator(mode="before")
    @classmethod
    def _annotated_values(cls, data: Any) -> Any:
        """A dated value may carry its own reference (OpenFisca style): ``{value: ..., reference: ...}``.
        The value is kept under its date; the reference beside it (see :meth:`reference_at`)."""
        if isinstance(data, Mapping) and isinstance(data.get("values"), Mapping):
            plain: dict[Any, Any] = {}
            refs: dict[Any, Any] = {}
            for when, v in data["values"].items():
                if isinstance(v, Mapping) and set(v) <= {"value", "reference"} and "value" in v:
                    plain[when] = v["value"]
                    refs[when] = v.get("reference")
                else:
                    plain[when] = v
            data = {**data, "values": plain, "value_references": refs}
        return data

    @model_validator(mode="after")
    def _values_match_unit(self) -> Parameter:
        if (self.unit == "choice") != bool(self.choices):
            raise ValueError("choices: a parameter of unit 'choice' lists its choices, and only such a parameter does")
        for when, value in self.values.items():
            if value is None:
                continue  # a repeal
            if self.unit == "choice":
                if value not in self.choices:
                    raise ValueError(f"values.{when.isoformat()}: {value!r} is not one of the choices "
                                     f"({', '.join(self.choices)})")
                continue
            _check_value(self.unit, value, f"values.{when.isoformat()}")
        return self

    def reference_at(self, as_of: dt.date) -> str | None:
        """The reference of the value in force on ``as_of`` (its own, else the parameter's)."""
        when = max((d for d in self.values if d <= as_of), default=None)
        return (self.value_references.get(when) if when is not None else None) or self.reference

    def at(self, as_of: dt.date) -> Any:
        """The value in force on ``as_of``: the latest dated value on or before it (the lookup is
        memoised per date: rules ask for the same parameters for every case of a batch)."""
        memo: dict[dt.date, dt.date | None] = self.__pydantic_private__["_in_force"]  # type: ignore[index]
        try:
            when = memo[as_of]
        except KeyError:
            when = memo[as_of] = max((d for d in self.values if d <= as_of), default=None)
        if when is None:
            first = min(self.values).isoformat()
            raise ParameterNotInForce(f"no value before {first} (asked for {as_of.isoformat()})")
        value = self.values[when]
        if value is None:
            raise ParameterNotInForce(f"repealed on {when.isoformat()} (asked for {as_of.isoformat()})")
        return value


def _exact_decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise ValueError(f"{where}: {value!r} is a float; write exact numbers as quoted strings, e.g. \"1.2\"")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None


def _check_value(unit: str, value: Any, where: str) -> None:
    if unit in ("ratio", "score"):
        d = _exact_decimal(value, where)
        if d < 0:
            raise ValueError(f"{where}: {value!r} must not be negative")
    elif unit == "fen":
        items = value.items() if isinstance(value, Mapping) else [("", value)]
        for k, v in items:
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{where}{'.' + str(k) if k else ''}: {v!r} must be a whole number of fen >= 0")
    elif unit in ("days", "months", "count"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where}: {value!r} must be a whole number >= 0")
    elif unit == "rounding":
        if value not in ("half_up", "half_even", "down", "up"):
            raise ValueError(f"{where}: {value!r} is not a rounding mode (half_up, half_even, down, up)")
    elif unit == "pattern":
        try:
            re.compile(str(value))
        except re.error as exc:
            raise ValueError(f"{where}: {value!r} is not a valid regular expression ({exc})") from None
    elif unit == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    elif unit == "rubric":
        if not isinstance(value, Mapping) or not value:
            raise ValueError(f"{where}: a rubric is a mapping of criterion -> {{weight, name}}")
        total = Decimal(0)
        for k, v in value.items():
            if not isinstance(v, Mapping) or "weight" not in v:
                raise ValueError(f"{where}.{k}: each criterion needs a weight (percent)")
            total += _exact_decimal(v["weight"], f"{where}.{k}.weight")
        if total != 100:
            raise ValueError(f"{where}: rubric weights sum to {total} %, they must sum to exactly 100 %")
    elif unit == "shares":
        if not isinstance(value, Mapping) or not value:
            raise ValueError(f"{where}: shares are a mapping of party -> percent, e.g. {{pool: \"54\", bank: \"46\"}}")
        total = Decimal(0)
        for k, v in value.items():
            d = _exact_decimal(v, f"{where}.{k}")
            if d < 0:
                raise ValueError(f"{where}.{k}: {v!r} must not be negative")
            total += d
        if total != 100:
            raise ValueError(f"{where}: shares sum to {total} %, they must sum to exactly 100 %")
    elif unit == "ratios":
        if not isinstance(value, Mapping) or not value:
            raise ValueError(f"{where}: ratios are a mapping of key -> ratio between 0 and 1")
        for k, v in value.items():
            d = _exact_decimal(v, f"{where}.{k}")
            if not 0 <= d <= 1:
                raise ValueError(f"{where}.{k}: {v!r} must be between 0 and 1")
    elif unit == "bands":
        _check_bands(value, where)
    elif unit == "tranches":
        _check_tranches(value, where)
    elif unit == "list" and not isinstance(value, list):
        raise ValueError(f"{where}: {value!r} must be a list")


def _check_bands(value: Any, where: str) -> None:
    """Grade bands from the best down, each {grade, name, min}: floors strictly falling from at most 100 to
    exactly 0, so the bands partition 0–100 with no gap or overlap; grades unique."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: grade bands are a list of {{grade, name, min}} from the best down")
    floors: list[Decimal] = []
    grades: set[str] = set()
    for i, b in enumerate(value):
        if not isinstance(b, Mapping) or "grade" not in b or "min" not in b:
            raise ValueError(f"{where}[{i}]: each band needs a grade and a min (the floor of its score)")
        if str(b["grade"]) in grades:
            raise ValueError(f"{where}[{i}]: grade {b['grade']!r} is given twice")
        grades.add(str(b["grade"]))
        floors.append(_exact_decimal(b["min"], f"{where}[{i}].min"))
    if floors[0] > 100:
        raise ValueError(f"{where}[0].min: {floors[0]} is above 100")
    for i in range(1, len(floors)):
        if floors[i] >= floors[i - 1]:
            raise ValueError(f"{where}[{i}].min: {floors[i]} must be below the band above it ({floors[i - 1]}); "
                             "bands overlap otherwise")
    if floors[-1] != 0:
        raise ValueError(f"{where}[{len(floors) - 1}].min: the lowest band must start at 0 (it starts at "
                         f"{floors[-1]}: scores below it would have no grade)")


def _check_tranches(value: Any, where: str) -> None:
    """Tranches, each {key, share, due_on, banded}: shares sum to exactly 1; keys unique; due_on is
    agreement, mid_term or final."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: tranches are a list of {{key, share, due_on, banded}}")
    total = Decimal(0)
    keys: set[str] = set()
    for i, t in enumerate(value):
        if not isinstance(t, Mapping) or not {"key", "share", "due_on"} <= set(t):
            raise ValueError(f"{where}[{i}]: each tranche needs a key, a share and due_on (the event it falls due on)")
        if str(t["key"]) in keys:
            raise ValueError(f"{where}[{i}]: key {t['key']!r} is given twice")
        keys.add(str(t["key"]))
        if t["due_on"] not in ("agreement", "mid_term", "final"):
            raise ValueError(f"{where}[{i}].due_on: {t['due_on']!r} is not one of agreement, mid_term, final")
        d = _exact_decimal(t["share"], f"{where}[{i}].share")
        if not 0 < d <= 1:
            raise ValueError(f"{where}[{i}].share: {t['share']!r} must be above 0 and at most 1")
        total += d
    if total != 1:
        raise ValueError(f"{where}: tranche shares sum to {total}, they must sum to exactly 1 (100 %)")


class StateDef(_Strict):
    name: str
    terminal: bool = False
    tags: list[str] = []

    @field_validator("tags")
    @classmethod
    def _tags_known(cls, v: list[str]) -> list[str]:
        from rules.stages import TAGS

        for t in v:
            if t not in TAGS:
                raise ValueError(f"tag {t!r} is not one the engine reads ({', '.join(TAGS)})")
        return v

    def tag_set(self) -> frozenset[str]:
        return frozenset(self.tags) | ({"terminal"} if self.terminal else frozenset())


ACTORS = ("system", "applicant", "reviewer", "evaluator", "approver", "finance", "agency", "bank", "any")


class TransitionDef(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    action: str
    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    by: Literal["system", "applicant", "reviewer", "evaluator", "approver", "finance", "agency", "bank", "any"]
    reason_required: bool = False


class FieldDef(_Strict):
    """One field of a scheme's application form: its type and how it is validated."""

    type: Literal["text", "date", "int", "fen", "bool", "choice"]
    label: str | None = None
    required: bool = True
    max_length: int = Field(default=200, ge=1, le=2000)
    pattern: str | None = None
    upper: bool = False  # stored in upper case (certificate numbers, codes)
    choices: list[str] = []
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _sound(self) -> FieldDef:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field lists its choices")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a regular expression ({exc})") from None
        return self


class FormDef(_Strict):
    """What an applicant submits, and which fields make a claim (the claim key stops a double claim)."""

    fields: dict[str, FieldDef] = {}
    claim_key: list[str] = []
    # The claim key's scope besides the fields: "applicant" (one claim per applicant, not one in all) and
    # "year" (one per fiscal year), e.g. one custody voucher per SME per service per year.
    claim_per: list[Literal["applicant", "year"]] = []
    # A count parameter: how many live claims one claim key may hold (1 when not given), e.g. custody
    # vouchers per SME, service and year "unless the policy says otherwise" (二(二)5).
    claim_limit: str | None = None

    @model_validator(mode="after")
    def _key_is_fields(self) -> FormDef:
        for k in self.claim_key:
            if k not in self.fields:
                raise ValueError(f"claim_key: {k!r} is not a field of the form")
        return self


class AllocationDef(_Strict):
    """How a round decides: merit ranking within budget, first come first served within budget, a
    formula per case, or no money at all (recognition against a minimum score)."""

    mode: Literal["merit", "fcfs", "formula", "none"] = "none"
    amount: str | None = None  # registered amount function (merit, fcfs, formula)
    rank_key: str | None = None  # registered rank key (merit)
    min_score: str | None = None  # parameter: the minimum final score
    cap: str | None = None  # parameter: the most one applicant may receive in a fiscal year
    funded: str = "funded"  # the outcome a case that gets the award (or recognition) receives
    # fcfs only: a choice parameter (ISSUE_ORDERS) read as of the round: "fcfs" issues in order of
    # submission, "ranked" by the rank_key (the scheme's priority when the round is oversubscribed).
    issue_order: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> AllocationDef:
        if self.mode in ("merit", "fcfs", "formula") and not self.amount:
            raise ValueError(f"allocation mode {self.mode!r} needs an amount function")
        if self.mode == "merit" and not self.rank_key:
            raise ValueError("merit allocation needs a rank_key")
        if self.issue_order is not None and self.mode != "fcfs":
            raise ValueError(f"issue_order: only an fcfs allocation chooses its issue order (this one is {self.mode!r})")
        return self


# The issue orders an fcfs allocation may choose from (AllocationDef.issue_order; rules/allocation.py):
# submission order, the rank key, or — when the line cannot hold every eligible claim — every claim cut in
# proportion to its amount (pro_rata, largest remainder, exact to the fen).
ISSUE_ORDERS = ("fcfs", "ranked", "pro_rata")

# The records a scheme's form may link to (SchemeDef.links): kind -> the roles of the form fields naming it.
LINK_KINDS: dict[str, tuple[str, ...]] = {
    "loan": ("bank", "ref"),  # a pledge loan of the registry (models/loans.py): the bank's credit code, its reference
    "bar": (),  # the applicant's bars from calls (org_bar: an unrectified project's organisation, 三(三)); no field
}


class EvaluationDef(_Strict):
    """Third-party evaluation: the parameters holding the rubric, the evaluators per case and the trim."""

    rubric: str
    evaluators_per_case: str
    trim_from: str | None = None
    # What the grade decides: the allocation (cases are ranked on it before the round) or the settlement
    # (a voucher's delivered service is graded after issue, 二(二)5 托管项目绩效评价).
    decides: Literal["allocation", "settlement"] = "allocation"

    @property
    def ranks(self) -> bool:
        return self.decides == "allocation"


class TrancheDef(_Strict):
    """One tranche: its purpose (the idempotency key's middle part), its share of the award (a ratio
    parameter, or an exact decimal), and the payable state in which it falls due."""

    purpose: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    share: str
    state: str

class PaymentDef(_Strict):
    """Who is paid, and in one payment or several (tranches, each with its own idempotency key
    REF:<purpose>:<n>)."""

    payee: Literal["applicant", "agency", "bank", "none"] = "applicant"
    purpose: str = Field(default="award", pattern=r"^[a-z][a-z0-9_-]*$")
    tranches: list[TrancheDef] = []
    # A choice parameter, read as of the day the case's round was finalized, that picks the payee per round:
    # "agency" (the agency the case is contracted with) or "enterprise" / "applicant" (the applicant).
    payee_mode: str | None = None
    # A list parameter of days of the year (MM-DD) on which the scheme settles (定期兑付): a release takes
    # only the cases that became payable on or before the latest one reached (rules.calendar).
    settlement_dates: str | None = None
    # A form field whose value picks the payee of a case (e.g. the fee scheme's ``kind``: ``bank_reward`` is paid
    # to the lending bank, 二(三)7); values not listed are paid to ``payee``. ``bank``: the bank of the loan the
    # form links (``links: loan``), at the account recorded with `ipfund bank account`.
    payee_field: str | None = None
    payees: dict[str, Literal["applicant", "bank"]] = {}

    @model_validator(mode="after")
    def _payees_need_a_field(self) -> PaymentDef:
        if bool(self.payees) != bool(self.payee_field):
            raise ValueError("payee_field and payees go together: the field whose value picks the payee, and "
                             "the payee of each value")
        return self


class VoucherDef(_Strict):
    """A scheme whose cases are service vouchers (e.g. 托管服务券, 二(二)5): the form field naming the
    service, and the parameters of the voucher's face value, cover, dates and redemption evidence."""

    service_field: str
    face_value: str  # fen by service
    cover_share: str  # ratio: the voucher pays at most share × contract amount
    use_by_months: str  # months after issue: contract by then
    redeem_by_months: str  # months after issue: redeem by then
    evidence_types: str  # list: allowed file types
    evidence_required: str  # list: the kinds of evidence a redemption carries
    reminder_days: str | None = None  # list: whole days before the deadline to remind the holder (e.g. [30, 7])
    pass_grade: str | None = None  # score: at or above it the voucher settles for its cover (二(二)5 绩效评价)
    below_pass: str | None = None  # choice none | reduced: what a voucher graded below the pass grade settles for
    reduced_share: str | None = None  # ratio: the share of its redeemed amount a reduced settlement pays
    # settlement mode (a choice of payment.payee_mode) -> list parameter: the evidence a redemption carries
    # in a round of that mode, instead of evidence_required (通用: the SME proves it paid in full)
    evidence_required_by_mode: dict[str, str] = {}


class ProjectDef(_Strict):
    """A scheme whose cases become funded projects (二(一)1, 二(四)12): after the public notice an agreement
    fixes the KPI targets, deliverables and tranche plan; progress reports, mid-term and final evaluations
    on the scheme's own performance rubric, tranches released by grade, rectification and clawback. Each
    value is a parameter name (rules/schemes/project_grant.py reads them)."""

    type_field: str  # the form field naming the project type (its KPI template and grant cap)
    kpi_template: str  # mapping parameter: type -> the KPIs an agreement must carry (code, name, unit, formula)
    performance_rubric: str  # rubric parameter of the mid-term and final evaluations (项目管理)
    report_months: dict[str, str]  # stage (mid_term, final) -> months parameter: months after the agreement it is due
    evidence_types: str  # list parameter: the file types a report's evidence may be
    # The states of the project's life (each a state of ``states``), by role.
    agreement_state: str  # waits for the agreement (after the notice)
    running: dict[str, str]  # stage (mid_term, final) -> the state the project runs in before that evaluation
    evaluated: dict[str, str]  # stage -> the state an evaluated project waits in for the approver's release
    rectifying: dict[str, str]  # stage -> the state of its rectification period (限期整改)


class TierDef(_Strict):
    """One approval tier: the state a case waits in, the role that decides, how many must approve, and
    the deadline in working days after which the case is escalated to ``escalate_to``."""

    state: str
    role: Literal["reviewer", "approver", "finance", "evaluator", "agency", "bank"] = "reviewer"
    approvals: int | Literal["all"] = 1
    deadline_days: str | None = None  # parameter: working days (the policy's calendar) to decide
    escalate_to: Literal["reviewer", "approver", "admin"] | None = None


class ReviewDef(_Strict):
    tiers: list[TierDef] = []


class SchemeDef(_Strict):
    name: str
    name_en: str
    clause: str
    principles: str | None = None
    module: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    stages: list[str]
    intake_checks: list[str] = []
    outcomes: dict[str, str] = {}
    form: FormDef = FormDef()
    allocation: AllocationDef = AllocationDef()
    evaluation: EvaluationDef | None = None
    payment: PaymentDef = PaymentDef(payee="none")
    voucher: VoucherDef | None = None
    project: ProjectDef | None = None
    review: ReviewDef = ReviewDef()
    notice_days: str | None = None  # parameter: days of public notice (公示)
    dossier_sections: list[str] = []
    # Records of the engine the form names (LINK_KINDS): kind -> {role: form field}, e.g. ``loan: {bank: bank,
    # ref: loan_ref}``; the intake and the allocation read each linked record for the scheme's checks and amount.
    links: dict[str, dict[str, str]] = {}
    states: dict[str, StateDef]
    initial: str
    transitions: list[TransitionDef]

    @model_validator(mode="after")
    def _states_known(self) -> SchemeDef:
        from rules.stages import STAGES

        for i, st in enumerate(self.stages):
            if st not in STAGES:
                raise ValueError(f"stages[{i}]: {st!r} is not a stage the engine runs ({', '.join(STAGES)})")
        if self.initial not in self.states:
            raise ValueError(f"initial state {self.initial!r} is not among the states")
        seen: set[tuple[str, str]] = set()
        for i, t in enumerate(self.transitions):
            for s in [*t.from_, t.to]:
                if s not in self.states:
                    raise ValueError(f"transitions[{i}] ({t.action}): unknown state {s!r}")
            for s in t.from_:
                if (s, t.action) in seen:
                    raise ValueError(f"transitions[{i}]: action {t.action!r} from {s!r} is defined twice")
                seen.add((s, t.action))
        for i, tier in enumerate(self.review.tiers):
            if tier.state not in self.states:
                raise ValueError(f"review.tiers[{i}]: state {tier.state!r} is not among the states")
        for kind, roles in self.links.items():
            if kind not in LINK_KINDS:
                raise ValueError(f"links.{kind}: not a record the engine links ({', '.join(LINK_KINDS)})")
            if set(roles) != set(LINK_KINDS[kind]):
                raise ValueError(f"links.{kind}: names the form fields of {', '.join(LINK_KINDS[kind])} "
                                 f"(given: {', '.join(roles) or 'none'})")
            for role, fname in roles.items():
                if fname not in self.form.fields:
                    raise ValueError(f"links.{kind}.{role}: {fname!r} is not a field of the form")
        if self.project is not None:
            pj = self.project
            named = [("agreement_state", pj.agreement_state)] + [
                (f"{k}.{stage}", st) for k, m in (("running", pj.running), ("evaluated", pj.evaluated),
                                                   ("rectifying", pj.rectifying)) for stage, st in m.items()]
            for where_, st in named:
                if st not in self.states:
                    raise ValueError(f"project.{where_}: {st!r} is not among the states")
            if pj.type_field not in self.form.fields:
                raise ValueError(f"project.type_field: {pj.type_field!r} is not a field of the form")
        for i, tranche in enumerate(self.payment.tranches):
            if tranche.state not in self.states or "payable" not in self.states[tranche.state].tag_set():
                raise ValueError(f"payment.tranches[{i}]: state {tranche.state!r} is not a payable state of the scheme")
        return self

    def states_tagged(self, tag: str) -> tuple[str, ...]:
        """The scheme's states carrying ``tag`` (rules.stages.TAGS), in declaration order."""
        return tuple(name for name, st in self.states.items() if tag in st.tag_set())

    @property
    def pays(self) -> bool:
        return self.payment.payee != "none"


class BenefitMemberDef(_Strict):
    """One scheme's claims that fund a benefit: every claim of ``scheme``, or only those whose form fields
    hold one of the values listed under ``where`` (e.g. a custody voucher whose service is consulting)."""

    scheme: str
    where: dict[str, list[str]] = {}


class DuplicateBenefitDef(_Strict):
    """从优从高不重复: claims of different schemes that fund the same support. The same enterprise funded
    twice for it in one fiscal year is refused unless this claim is higher (the higher award is kept;
    see rules.schemes.common.duplicate_benefit)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    rule: str = Field(default="从优从高不重复", min_length=1)
    reference: str | None = None
    illustrative: bool = False
    members: list[BenefitMemberDef] = Field(min_length=2)


class FundSourceDef(_Strict):
    name: str
    local: bool


class Jurisdiction(_Strict):
    name: str
    districts: dict[str, str] = Field(min_length=1)

    @field_validator("districts")
    @classmethod
    def _six_digits(cls, v: dict[str, str]) -> dict[str, str]:
        for code in v:
            if not re.fullmatch(r"\d{6}", code):
                raise ValueError(f"district code {code!r} must be 6 digits (GB/T 2260)")
        return v


class CatalogEntry(_Strict):
    name: str
    clause: str


class CalendarDef(_Strict):
    """The policy's working-day calendar: rest weekdays (Monday = 0), and per year the public holidays
    and the weekend days worked instead (调休), each year with the notice that set it."""

    rest_weekdays: list[int] = [5, 6]
    holidays: dict[int, list[dt.date]] = {}
    workdays: dict[int, list[dt.date]] = {}
    references: dict[int, str] = {}

    def work_calendar(self) -> Any:
        from rules.calendar import calendar_of

        return calendar_of(self.rest_weekdays, [d for ds in self.holidays.values() for d in ds],
                           [d for ds in self.workdays.values() for d in ds])


class AgencyServiceDef(_Strict):
    """One custody service an agency may be accredited for (托管服务内容)."""

    name: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    reference: str | None = None


class AgencyRequirementDef(_Strict):
    """One accreditation check (a function of rules/agencies.py), its clause and the parameter it reads."""

    check: str
    clause: str = Field(min_length=1)
    parameter: str | None = None
    reference: str | None = None


class AgencyMonitoringDef(_Strict):
    """The parameters the yearly monitoring reads (动态监测, 二(四)10)."""

    complaints_warning: str
    spot_check_failures_suspension: str
    min_grade: str
    low_grades_suspension: str


class AgencyRewardDef(_Strict):
    amount: str
    min_grades: str


class AgencyOpenVouchersDef(_Strict):
    """What happens to an agency's open vouchers when it leaves the accredited list (a policy choice)."""

    suspended: str
    expelled: str


class AgencyRegistryDef(_Strict):
    """The accredited service-agency registry (服务机构库, 二(四)10 and 13)."""

    clause: str = Field(min_length=1)
    reference: str | None = None
    illustrative: bool = False
    services: dict[str, AgencyServiceDef] = Field(min_length=1)
    requirements: list[AgencyRequirementDef] = Field(min_length=1)
    monitoring: AgencyMonitoringDef
    reward: AgencyRewardDef
    open_vouchers: AgencyOpenVouchersDef

    @field_validator("services")
    @classmethod
    def _service_codes(cls, v: dict[str, AgencyServiceDef]) -> dict[str, AgencyServiceDef]:
        for code in v:
            if not re.fullmatch(r"[a-z][a-z_]{0,31}", code):
                raise ValueError(f"{code!r}: a service code is 1–32 lower-case letters or '_'")
        return v


class KpiTargetDef(_Strict):
    """One target a KPI is held to: a dated count parameter, and whose target it is (the city's plan, the
    national programme's floor …)."""

    parameter: str
    label: str = Field(min_length=1)


class KpiDef(_Strict):
    """One of the programme's own indicators (绩效考核, 三(二)): what it counts, how, and its targets.

    ``measure`` is one of rules/kpis.py's measures (``pledge_loans``: the loan registry's financing by
    drawdown year against a growth target): ``cases`` (distinct applicants, or cases, of ``scheme``
    whose case is in a state carrying any of ``tags`` or listed in ``states``; ``sme_only`` counts SMEs only;
    ``where`` keeps the cases whose submitted form holds one of the listed values of each field, e.g.
    ``{project_type: [navigation_industry]}``; the scheme may be one of the ``scheme_catalog`` not yet run
    under ``schemes:``, counting zero until it runs), ``accredited_agencies``
    (agencies on the registry's public list at each year's end) or ``outside`` (measured outside ipfund:
    ``source`` says where; its yearly figures are imported with their source, ``ipfund kpi import``, in
    ``unit`` — a count or money in fen; against a count target the programme figure is the ``sum`` of the
    years' figures or the ``latest`` year's, against a growth ratio the figures' 年均增幅)."""

    name: str = Field(min_length=1)
    name_en: str | None = None
    clause: str = Field(min_length=1)
    reference: str | None = None
    measure: str
    scheme: str | None = None
    tags: list[str] = []
    states: list[str] = []
    count: Literal["applicants", "cases"] = "applicants"
    sme_only: bool = False
    where: dict[str, list[str]] = {}
    source: str | None = None
    unit: Literal["count", "fen"] = "count"
    programme_figure: Literal["sum", "latest"] = "sum"
    targets: list[KpiTargetDef] = Field(min_length=1)


class Policy(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    document: str
    issued: dt.date
    valid_from: dt.date
    valid_to: dt.date | None = None
    jurisdiction: Jurisdiction
    fund_sources: dict[str, FundSourceDef]
    budget_tags: dict[str, str]
    scheme_catalog: dict[str, CatalogEntry] = {}
    parameters: dict[str, Parameter]
    calendar: CalendarDef = CalendarDef()
    schemes: dict[str, SchemeDef] = {}
    agency_registry: AgencyRegistryDef | None = None
    kpis: dict[str, KpiDef] = {}
    duplicate_benefits: list[DuplicateBenefitDef] = []

    @model_validator(mode="after")
    def _required(self) -> Policy:
        from rules.funds import SOURCES

        for src in SOURCES:
            if src not in self.fund_sources:
                raise ValueError(f"fund_sources: missing {src!r}")
        for tag in ("cluster_zone", "market_oriented"):
            if tag not in self.budget_tags:
                raise ValueError(f"budget_tags: missing {tag!r}")
        for name in ("funds.match_ratio", "funds.cluster_floor", "funds.market_floor", "money.rounding"):
            if name not in self.parameters:
                raise ValueError(f"parameters: missing {name!r} (needed by the fund rules)")
        for sid in self.schemes:
            if sid not in self.scheme_catalog:
                raise ValueError(f"schemes.{sid}: configured but missing from scheme_catalog")
        problems = [p for sid, sc in self.schemes.items() for p in _scheme_problems(self, sid, sc)]
        if self.agency_registry is not None:
            problems += _registry_problems(self, self.agency_registry)
        problems += [p for kid, k in self.kpis.items() for p in _kpi_problems(self, kid, k)]
        problems += _benefit_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def scheme_ids(self) -> set[str]:
        """Every scheme a budget line may name."""
        return set(self.scheme_catalog) | set(self.schemes)

    # -- parameters as of a date ------------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterNotInForce(f"policy {self.id} has no parameter {name!r}") from None

    def value(self, name: str, as_of: dt.date) -> Any:
        try:
            return self.parameter(name).at(as_of)
        except ParameterNotInForce as exc:
            raise ParameterNotInForce(f"parameter {name!r} of policy {self.id}: {exc}") from None

    def ratio(self, name: str, as_of: dt.date) -> Fraction:
        """An exact ratio (never a float)."""
        return Fraction(Decimal(str(self.value(name, as_of))))

    def decimal(self, name: str, as_of: dt.date) -> Decimal:
        return Decimal(str(self.value(name, as_of)))

    def integer(self, name: str, as_of: dt.date) -> int:
        v = self.value(name, as_of)
        assert isinstance(v, int)
        return v

    def fen(self, name: str, as_of: dt.date, key: str | None = None) -> int:
        v = self.value(name, as_of)
        if key is not None:
            if not isinstance(v, Mapping) or key not in v:
                raise ParameterNotInForce(f"parameter {name!r} has no value for {key!r}")
            v = v[key]
        assert isinstance(v, int)
        return v

    def text(self, name: str, as_of: dt.date) -> str:
        return str(self.value(name, as_of))

    def scheme(self, scheme_id: str) -> SchemeDef:
        try:
            return self.schemes[scheme_id]
        except KeyError:
            known = ", ".join(sorted(self.schemes)) or "none"
            raise LookupError(f"policy {self.id} has no scheme {scheme_id!r} (known: {known})") from None

    def local_sources(self) -> list[str]:
        return [k for k, v in self.fund_sources.items() if v.local]


def _scheme_problems(policy: Policy, sid: str, sc: SchemeDef) -> list[str]:
    """Every name a scheme's section uses that nothing registers: its rules module, checks, amount and
    rank key functions, outcomes, the parameters it reads, and dossier sections no template prints. Each
    problem names its key path."""
    from rules.schemes import Resolved
    from rules.stages import DOSSIER_SECTIONS, TAGS

    where = f"schemes.{sid}"
    try:
        resolved = Resolved(sid, sc.module)
    except LookupError as exc:
        return [f"{where}.module: {exc}"]
    out = []
    for i, name in enumerate(sc.intake_checks):
        if not resolved.has("check", name):
            out.append(f"{where}.intake_checks[{i}]: check {name!r} is registered neither by "
                       f"{resolved.own.name} (rules/schemes/{(sc.module or sid.replace('-', '_'))}.py) nor by common "
                       f"(registered: {', '.join(sorted(set(resolved.own.check_names) | set(resolved.common.check_names)))})")
    alloc = sc.allocation
    if alloc.amount and not resolved.has("amount", alloc.amount):
        out.append(f"{where}.allocation.amount: function {alloc.amount!r} is not registered by {resolved.own.name}")
    if alloc.rank_key and not resolved.has("rank_key", alloc.rank_key):
        out.append(f"{where}.allocation.rank_key: function {alloc.rank_key!r} is not registered by {resolved.own.name}")
    if alloc.issue_order is not None:
        p = policy.parameters.get(alloc.issue_order)
        if p is None:
            out.append(f"{where}.allocation.issue_order: parameter {alloc.issue_order!r} is not in the policy's parameters")
        elif p.unit != "choice":
            out.append(f"{where}.allocation.issue_order: parameter {alloc.issue_order!r} has unit {p.unit!r}, this "
                       f"needs unit 'choice' (of {', '.join(ISSUE_ORDERS)})")
        elif set(p.choices) - set(ISSUE_ORDERS):
            out.append(f"{where}.allocation.issue_order: parameter {alloc.issue_order!r} offers "
                       f"{', '.join(sorted(set(p.choices) - set(ISSUE_ORDERS)))}, which the engine does not know "
                       f"(known: {', '.join(ISSUE_ORDERS)})")
        elif "ranked" in p.choices and not alloc.rank_key:
            out.append(f"{where}.allocation.issue_order: a ranked issue needs the rank_key it ranks by")
    known = {**resolved.outcomes(), alloc.funded: "", "below_min_score": "", "budget_exhausted": ""}
    for name in sc.outcomes:
        if name not in known:
            out.append(f"{where}.outcomes.{name}: no registered function produces this outcome "
                       f"(known: {', '.join(sorted(known))})")
    params: list[tuple[str, str | None]] = [("allocation.min_score", alloc.min_score), ("allocation.cap", alloc.cap),
                                            ("notice_days", sc.notice_days)]
    if sc.evaluation is not None:
        params += [("evaluation.rubric", sc.evaluation.rubric),
                   ("evaluation.evaluators_per_case", sc.evaluation.evaluators_per_case),
                   ("evaluation.trim_from", sc.evaluation.trim_from)]
    params += [(f"review.tiers[{i}].deadline_days", t.deadline_days) for i, t in enumerate(sc.review.tiers)]
    params.append(("payment.payee_mode", sc.payment.payee_mode))
    if sc.form.claim_limit is not None:
        lim = policy.parameters.get(sc.form.claim_limit)
        if lim is None:
            out.append(f"{where}.form.claim_limit: parameter {sc.form.claim_limit!r} is not in the policy's parameters")
        elif lim.unit != "count":
            out.append(f"{where}.form.claim_limit: parameter {sc.form.claim_limit!r} has unit {lim.unit!r}, this "
                       "needs unit 'count'")
        else:
            out += [f"parameters.{sc.form.claim_limit}.values.{when}: {v!r} — a claim key holds at least 1 claim"
                    for when, v in lim.values.items() if v is not None and v < 1]
        if not sc.form.claim_key:
            out.append(f"{where}.form.claim_limit: limits the claims per claim_key, and the form has no claim_key")
    params.append(("payment.settlement_dates", sc.payment.settlement_dates))
    out += _settlement_problems(policy, where, sc)
    if sc.voucher is not None:
        v = sc.voucher
        params += [(f"voucher.{k}", getattr(v, k)) for k in ("face_value", "cover_share", "use_by_months",
                                                              "redeem_by_months", "evidence_types", "evidence_required",
                                                              "reminder_days", "pass_grade", "below_pass",
                                                              "reduced_share")]
        if (v.pass_grade is None) != (v.below_pass is None) or (v.below_pass is not None and v.reduced_share is None):
            out.append(f"{where}.voucher: pass_grade, below_pass and reduced_share are declared together (the grade "
                       "decides the settlement, 二(二)5)")
        if v.pass_grade is not None and sc.evaluation is None:
            out.append(f"{where}.voucher.pass_grade: a grade needs the evaluation: section (its rubric and evaluators)")
        if v.reminder_days is not None and v.reminder_days in policy.parameters:
            from rules.schemes.custody_voucher import reminder_problems

            for when, value in policy.parameters[v.reminder_days].values.items():
                if value is not None:
                    out += reminder_problems(value, f"parameters.{v.reminder_days}.values.{when}")
        by_mode = v.evidence_required_by_mode
        params += [(f"voucher.evidence_required_by_mode.{m}", ev) for m, ev in by_mode.items()]
        modes = policy.parameters[sc.payment.payee_mode].choices if sc.payment.payee_mode in policy.parameters else []
        for m, ev in by_mode.items():
            if m not in modes:
                out.append(f"{where}.voucher.evidence_required_by_mode.{m}: {m!r} is not a settlement mode of "
                           f"payment.payee_mode ({', '.join(modes) or 'the scheme declares no payee_mode'})")
            elif ev in policy.parameters and policy.parameters[ev].unit != "list":
                out.append(f"{where}.voucher.evidence_required_by_mode.{m}: parameter {ev!r} has unit "
                           f"{policy.parameters[ev].unit!r}, this needs unit 'list'")
        if v.service_field not in sc.form.fields:
            out.append(f"{where}.voucher.service_field: {v.service_field!r} is not a field of the form")
        if policy.agency_registry is None:
            out.append(f"{where}.voucher: a voucher scheme needs the agency_registry section (its services)")
    params += [(f"payment.tranches[{i}].share", t.share) for i, t in enumerate(sc.payment.tranches)
               if not _is_decimal(t.share) and t.share != "decided"]
    if sc.project is not None:
        pj = sc.project
        params += [("project.kpi_template", pj.kpi_template), ("project.performance_rubric", pj.performance_rubric),
                   ("project.evidence_types", pj.evidence_types)]
        params += [(f"project.report_months.{k}", v) for k, v in pj.report_months.items()]
        if any(t.share != "decided" for t in sc.payment.tranches):
            out.append(f"{where}.payment.tranches: a project's tranches are decided by its agreement and grades "
                       "(share: decided)")
    elif any(t.share == "decided" for t in sc.payment.tranches):
        out.append(f"{where}.payment.tranches: share: decided needs the project: section (its agreement decides them)")
    for key, pname in params:
        if pname is not None and pname not in policy.parameters:
            out.append(f"{where}.{key}: parameter {pname!r} is not in the policy's parameters")
    if sc.payment.tranches:
        total = sum((Decimal(t.share) if _is_decimal(t.share) else Decimal(0)) for t in sc.payment.tranches)
        if all(_is_decimal(t.share) for t in sc.payment.tranches) and total != 1:
            out.append(f"{where}.payment.tranches: the shares sum to {total}, they must sum to exactly 1")
    for st, sd in sc.states.items():
        for t in sd.tags:
            if t not in TAGS:
                out.append(f"{where}.states.{st}.tags: {t!r} is not a tag the engine reads")
    for i, section in enumerate(sc.dossier_sections):
        if section not in DOSSIER_SECTIONS:
            out.append(f"{where}.dossier_sections[{i}]: {section!r} is not a dossier section "
                       f"(known: {', '.join(DOSSIER_SECTIONS)})")
        elif section in sc.dossier_sections[:i]:
            out.append(f"{where}.dossier_sections[{i}]: {section!r} is listed twice")
        elif section == "voucher" and sc.voucher is None:
            out.append(f"{where}.dossier_sections[{i}]: 'voucher' is printed only for a scheme that issues "
                       "vouchers (a voucher: key), and this one has none")
    return out


def _settlement_problems(policy: Policy, where: str, sc: SchemeDef) -> list[str]:
    """A settlement calendar is declared only by a scheme that pays, names a list parameter, and each of
    its dated values is a list of distinct MM-DD days (rules.calendar)."""
    from rules.calendar import settlement_dates_problems

    pname = sc.payment.settlement_dates
    if pname is None:
        return []
    key = f"{where}.payment.settlement_dates"
    if not sc.pays:
        return [f"{key}: a scheme that pays nobody (payee: none) has no settlement calendar"]
    p = policy.parameters.get(pname)
    if p is None:
        return []  # reported with the other parameter names
    if p.unit != "list":
        return [f"{key}: parameter {pname!r} has unit {p.unit!r}, this needs unit 'list' (days MM-DD)"]
    return [x for when, value in p.values.items() if value is not None
            for x in settlement_dates_problems(value, f"parameters.{pname}.values.{when}")]


_REGISTRY_UNITS = {
    "monitoring.complaints_warning": "count", "monitoring.spot_check_failures_suspension": "count",
    "monitoring.min_grade": "score", "monitoring.low_grades_suspension": "count",
    "reward.amount": "fen", "reward.min_grades": "count",
    "open_vouchers.suspended": "choice", "open_vouchers.expelled": "choice",
}


def _registry_problems(policy: Policy, reg: AgencyRegistryDef) -> list[str]:
    """Every name the agency registry section uses that the policy or rules/agencies.py does not have:
    each problem names its key path (agency_registry.<key>)."""
    from rules.agencies import CHECKS, DISPOSITIONS

    where = "agency_registry"
    out = []
    refs: list[tuple[str, str | None, str]] = []
    for i, req in enumerate(reg.requirements):
        if req.check not in CHECKS:
            out.append(f"{where}.requirements[{i}].check: {req.check!r} is not a check rules/agencies.py defines "
                       f"(known: {', '.join(sorted(CHECKS))})")
        elif CHECKS[req.check] is not None:
            if req.parameter is None:
                out.append(f"{where}.requirements[{i}].parameter: the check {req.check!r} reads a parameter "
                           f"(unit {CHECKS[req.check]}), name it")
            refs.append((f"requirements[{i}].parameter", req.parameter, CHECKS[req.check] or ""))
        if req.check in [r.check for r in reg.requirements[:i]]:
            out.append(f"{where}.requirements[{i}].check: {req.check!r} is listed twice")
    for key, unit in _REGISTRY_UNITS.items():
        group, name = key.split(".")
        refs.append((key, getattr(getattr(reg, group), name), unit))
    for key, pname, unit in refs:
        if pname is None:
            continue
        p = policy.parameters.get(pname)
        if p is None:
            out.append(f"{where}.{key}: parameter {pname!r} is not in the policy's parameters")
        elif p.unit != unit:
            out.append(f"{where}.{key}: parameter {pname!r} has unit {p.unit!r}, this needs unit {unit!r}")
        elif unit == "choice" and set(p.choices) - set(DISPOSITIONS):
            out.append(f"{where}.{key}: parameter {pname!r} offers {', '.join(sorted(set(p.choices) - set(DISPOSITIONS)))}, "
                       f"which the engine does not know (known: {', '.join(DISPOSITIONS)})")
    return out


def _kpi_problems(policy: Policy, kid: str, k: KpiDef) -> list[str]:
    """Every name a KPI uses that the policy or rules/kpis.py does not have, by key path (kpis.<id>.<key>)."""
    from rules.kpis import MEASURES

    where = f"kpis.{kid}"
    out = []
    if k.measure not in MEASURES:
        out.append(f"{where}.measure: {k.measure!r} is not a measure rules/kpis.py defines (known: "
                   f"{', '.join(MEASURES)})")
    if k.measure == "cases":
        sc = policy.schemes.get(k.scheme or "")
        if sc is None and (k.scheme or "") not in policy.scheme_catalog:
            out.append(f"{where}.scheme: {k.scheme!r} is not a scheme of the policy (schemes: "
                       f"{', '.join(sorted(policy.schemes)) or 'none'}) nor of its scheme_catalog; the measure "
                       "'cases' counts one scheme's cases")
        elif not k.tags and not k.states:
            out.append(f"{where}.tags: the measure 'cases' counts cases in states with these tags (or the states "
                       "listed under states); name at least one")
        elif sc is not None:  # (a scheme of the catalog not yet run is checked once it is configured)
            for i, st in enumerate(k.states):
                if st not in sc.states:
                    out.append(f"{where}.states[{i}]: {st!r} is not a state of {k.scheme} (states: "
                               f"{', '.join(sc.states)})")
            used = {t for st in sc.states.values() for t in st.tags}
            for i, t in enumerate(k.tags):
                if t not in used:
                    out.append(f"{where}.tags[{i}]: no state of {k.scheme} carries the tag {t!r} (its tags: "
                               f"{', '.join(sorted(used))})")
            for field_, values in k.where.items():
                fd = sc.form.fields.get(field_)
                if fd is None:
                    out.append(f"{where}.where.{field_}: not a field of {k.scheme}'s form (fields: "
                               f"{', '.join(sc.form.fields) or 'none'})")
                    continue
                for j, v in enumerate(values):
                    if fd.type == "choice" and v not in fd.choices:
                        out.append(f"{where}.where.{field_}[{j}]: {v!r} is not a choice of {k.scheme}'s field "
                                   f"{field_} (choices: {', '.join(fd.choices)})")
        for field_, values in k.where.items():
            if not values:
                out.append(f"{where}.where.{field_}: list at least one value")
    elif k.scheme is not None or k.tags or k.states or k.sme_only or k.where:
        out.append(f"{where}: scheme, tags, states, sme_only and where belong to the measure 'cases', not "
                   f"{k.measure!r}")
    if k.measure != "outside" and (k.unit != "count" or k.programme_figure != "sum"):
        out.append(f"{where}: unit and programme_figure belong to a KPI measured outside ipfund (its imported "
                   f"figures), not {k.measure!r}")
    if k.measure == "accredited_agencies" and policy.agency_registry is None:
        out.append(f"{where}.measure: 'accredited_agencies' needs the policy's agency_registry section")
    if k.measure == "outside" and not k.source:
        out.append(f"{where}.source: a KPI measured outside ipfund says where it is measured")
    for i, tg in enumerate(k.targets):
        p = policy.parameters.get(tg.parameter)
        if p is None:
            out.append(f"{where}.targets[{i}].parameter: parameter {tg.parameter!r} is not in the policy's parameters")
        elif p.unit not in ("count", "ratio"):
            out.append(f"{where}.targets[{i}].parameter: parameter {tg.parameter!r} has unit {p.unit!r}; a target is "
                       "a count, or a ratio (a growth a year, for a KPI measured outside)")
        elif p.unit == "count" and MEASURES.get(k.measure) == "growth":
            out.append(f"{where}.targets[{i}].parameter: the measure {k.measure!r} is a growth a year, its target is a "
                       f"ratio, not the count {tg.parameter!r}")
        elif p.unit == "count" and k.unit == "fen":
            out.append(f"{where}.targets[{i}].parameter: the figures of {kid} are money (fen); a count target "
                       f"({tg.parameter!r}) cannot hold them, give a growth ratio")
        elif p.unit == "ratio" and MEASURES.get(k.measure) not in (None, "growth"):
            out.append(f"{where}.targets[{i}].parameter: a growth ratio ({tg.parameter!r}) is a target only of a KPI "
                       "measured outside ipfund; ipfund counts")
    return out


def _benefit_problems(policy: Policy) -> list[str]:
    """Every scheme, form field or value a duplicate_benefits entry names that the policy does not have,
    and every member scheme that does not run the duplicate_benefit check, by key path."""
    out = []
    for i, b in enumerate(policy.duplicate_benefits):
        where = f"duplicate_benefits[{i}]"
        if b.name in [x.name for x in policy.duplicate_benefits[:i]]:
            out.append(f"{where}.name: {b.name!r} is listed twice")
        for j, m in enumerate(b.members):
            at = f"{where}.members[{j}]"
            sc = policy.schemes.get(m.scheme)
            if sc is None:
                out.append(f"{at}.scheme: {m.scheme!r} is not a scheme of the policy (schemes: "
                           f"{', '.join(sorted(policy.schemes)) or 'none'})")
                continue
            if m.scheme in [x.scheme for x in b.members[:j]]:
                out.append(f"{at}.scheme: {m.scheme!r} is a member twice; one scheme's double claims are "
                           "no_prior_award's, this rule is across schemes")
            if "duplicate_benefit" not in sc.intake_checks:
                out.append(f"{at}.scheme: {m.scheme!r} funds the benefit {b.name!r} but does not list the "
                           f"check duplicate_benefit in schemes.{m.scheme}.intake_checks")
            for field_, values in m.where.items():
                fd = sc.form.fields.get(field_)
                if fd is None:
                    out.append(f"{at}.where.{field_}: not a field of {m.scheme}'s form (fields: "
                               f"{', '.join(sc.form.fields) or 'none'})")
                    continue
                if sc.voucher is not None and field_ == sc.voucher.service_field:
                    known = list(policy.agency_registry.services) if policy.agency_registry else []
                elif fd.type == "choice":
                    known = list(fd.choices)
                else:
                    known = []
                if not values:
                    out.append(f"{at}.where.{field_}: list at least one value")
                for k, v in enumerate(values):
                    if known and v not in known:
                        out.append(f"{at}.where.{field_}[{k}]: {v!r} is not a {'service' if sc.voucher else 'choice'} "
                                   f"of {m.scheme} (known: {', '.join(known)})")
    return out


def _is_decimal(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("function-after", "function-before")) or "(top level)"


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate policy YAML; raise :class:`PolicyError` listing every problem."""
    try:
        raw = read_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyError(source, [yaml_problem(exc)]) from None
    if not isinstance(raw, dict):
        raise PolicyError(source, ["(top level): a policy file is a mapping of keys"])
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg, loc = str(e["msg"]), _format_loc(e["loc"])
            bare = msg.removeprefix("Value error, ")
            if loc == "(top level)" and bare.startswith(("schemes.", "agency_registry.", "kpis.", "duplicate_benefits")):
                problems += bare.split("; ")  # each already names its key path
            else:
                problems.append(f"{loc}: {msg}")
        raise PolicyError(source, problems) from None


def load_policy_file(path: Path) -> Policy:
    return parse_policy(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=8)
def load_policy(policy_id: str = DEFAULT_POLICY_ID) -> Policy:
    """Load a bundled policy by id (``rules/policies/<id>.yaml``) or by path."""
    path = Path(policy_id)
    if not path.suffix:
        path = POLICY_DIR / f"{policy_id}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in POLICY_DIR.glob("*.yaml")))
        raise PolicyError(str(path), [f"no such policy file (bundled policies: {known})"])
    return load_policy_file(path)


def parameter_rows(policy: Policy, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """Flattened view of the parameters for display (`ipfund policy show`)."""
    rows: list[dict[str, Any]] = []
    for name, p in sorted(policy.parameters.items()):
        row: dict[str, Any] = {
            "name": name,
            "unit": p.unit,
            "clause": p.clause,
            "illustrative": p.illustrative,
            "description": p.description,
            "values": {d.isoformat(): v for d, v in sorted(p.values.items())},
        }
        if as_of is not None:
            try:
                row["in_force"] = p.at(as_of)
            except ParameterNotInForce:
                row["in_force"] = None
        rows.append(row)
    return rows


def with_values(policy: Policy, values: Mapping[str, Any]) -> Policy:
    """The policy with each named parameter holding one value from its first date instead (a what-if, or a
    policy test case's ``parameters``); each value checked against the parameter's unit and choices. The
    policy itself is unchanged."""
    if not values:
        return policy
    params = dict(policy.parameters)
    for name, value in values.items():
        p = policy.parameters.get(name)
        if p is None:
            raise LookupError(f"policy {policy.id} has no parameter {name!r}")
        data = p.model_dump()
        data.pop("value_references", None)
        data["values"] = {min(p.values): value}
        try:
            params[name] = Parameter.model_validate(data)
        except ValidationError as exc:
            raise ValueError("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None
    return policy.model_copy(update={"parameters": params})
