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

POLICY_DIR = Path(__file__).parent / "policies"

Unit = Literal["ratio", "fen", "days", "months", "count", "score", "rounding", "pattern", "date", "rubric", "list"]


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
    _in_force: dict[dt.date, dt.date | None] = PrivateAttr(default_factory=dict)  # as_of -> date in force

    @model_validator(mode="after")
    def _values_match_unit(self) -> Parameter:
        for when, value in self.values.items():
            if value is None:
                continue  # a repeal
            _check_value(self.unit, value, f"values.{when.isoformat()}")
        return self

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
    elif unit == "list" and not isinstance(value, list):
        raise ValueError(f"{where}: {value!r} must be a list")


class StateDef(_Strict):
    name: str
    terminal: bool = False


class TransitionDef(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    action: str
    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    by: Literal["system", "applicant", "reviewer", "evaluator", "approver", "finance", "any"]
    reason_required: bool = False


class SchemeDef(_Strict):
    name: str
    name_en: str
    clause: str
    principles: str | None = None
    stages: list[str]
    intake_checks: list[str] = []
    outcomes: dict[str, str] = {}
    states: dict[str, StateDef]
    initial: str
    transitions: list[TransitionDef]

    @model_validator(mode="after")
    def _states_known(self) -> SchemeDef:
        from rules.workflow import STATE_VOCABULARY

        for st in self.states:
            if st not in STATE_VOCABULARY:
                raise ValueError(f"state {st!r} is not in the engine's vocabulary ({', '.join(STATE_VOCABULARY)})")
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
        return self


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
    schemes: dict[str, SchemeDef] = {}

    @model_validator(mode="after")
    def _required(self) -> Policy:
        for src in ("central", "municipal", "district", "social"):
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


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("function-after", "function-before")) or "(top level)"


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate policy YAML; raise :class:`PolicyError` listing every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
        raise PolicyError(source, [f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    if not isinstance(raw, dict):
        raise PolicyError(source, ["(top level): a policy file is a mapping of keys"])
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_format_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
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
