"""A scheme's application form: the fields it declares in the policy, validated by type (pure).

``parse_form`` turns what an applicant typed (text, from a command line or a CSV cell) into typed
values — text (trimmed, upper case where the field says so), dates, whole numbers, yuan amounts as
integer fen, yes/no, one of a list — and lists every problem naming the field (and the line, given as
``where``). The stored form is canonical JSON of the typed values (dates as ISO text, fen as integers).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from rules.money import MoneyFormatError, parse_yuan
from rules.policy import FieldDef, FormDef
from rules.text import shown, text_problem

_TRUE = {"true": True, "yes": True, "1": True, "是": True, "false": False, "no": False, "0": False, "否": False}


def parse_field(name: str, spec: FieldDef, text: str) -> tuple[Any, str | None]:
    """(typed value, problem) of one field's text (already known not to be empty)."""
    problem = text_problem(text, field=name, max_len=spec.max_length)
    if problem:
        return None, problem
    if spec.type == "text":
        value = text.upper() if spec.upper else text
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            return None, f"{name} {shown(value)} is not of the form {spec.pattern}"
        return value, None
    if spec.type == "date":
        try:
            return dt.date.fromisoformat(text), None
        except ValueError:
            return None, f"{name} {shown(text)} is not a date (YYYY-MM-DD)"
    if spec.type in ("int", "fen"):
        if spec.type == "int":
            if not (text.isascii() and text.lstrip("-").isdigit()):
                return None, f"{name} {shown(text)} is not a whole number"
            number = int(text)
        else:
            try:
                number = parse_yuan(text, field=name)
            except MoneyFormatError as exc:
                return None, str(exc)
        low = spec.min if spec.type == "int" else (None if spec.min is None else spec.min)
        if low is not None and number < low:
            return None, f"{name} {text} is below the minimum {low}"
        if spec.max is not None and number > spec.max:
            return None, f"{name} {text} is above the maximum {spec.max}"
        return number, None
    if spec.type == "bool":
        if text.lower() not in _TRUE:
            return None, f"{name} {shown(text)} must be true or false"
        return _TRUE[text.lower()], None
    if text not in spec.choices:
        return None, f"{name} {shown(text)} must be one of {', '.join(spec.choices)}"
    return text, None


def parse_form(form: FormDef, raw: Mapping[str, str | None], where: str = "", *,
               partial: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Typed values of a submitted form and every problem, each naming its field (prefixed ``where``,
    e.g. "line 3: "). ``partial`` (a resubmission) accepts missing fields, to be filled from before."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key in raw:
        if key not in form.fields:
            known = ", ".join(form.fields) or "none"
            problems.append(f"{where}{key!r} is not a field of this form (the fields are: {known})")
    for name, spec in form.fields.items():
        text = (raw.get(name) or "").strip()
        if not text:
            if spec.required and not partial:
                problems.append(f"{where}{name} is empty")
            continue
        value, problem = parse_field(name, spec, text)
        if problem:
            problems.append(f"{where}{problem}")
        else:
            values[name] = value
    return values, problems


def stored(values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of typed values (what the case's ``data`` holds)."""
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def typed(form: FormDef, data: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values back from a case's stored data (a date the form declares becomes a date again; a
    value that does not parse is left out, so the check that needs it fails and says so)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        spec = form.fields.get(k)
        if spec is not None and spec.type == "date" and isinstance(v, str):
            try:
                out[k] = dt.date.fromisoformat(v)
            except ValueError:
                continue
        else:
            out[k] = v
    return out


def claim_key(form: FormDef, values: Mapping[str, Any], applicant: str = "", year: int | None = None) -> str | None:
    """The value that stops a double claim: the claim-key fields joined, or None when the scheme has none
    (or a field of it is missing). A form whose ``claim_per`` names the applicant or the year claims
    once per applicant (credit code) or per fiscal year: those come first in the key."""
    if not form.claim_key or any(values.get(k) in (None, "") for k in form.claim_key):
        return None
    scope = [applicant if p == "applicant" else str(year) for p in form.claim_per]
    return "|".join([*scope, *(str(stored({k: values[k]})[k]) for k in form.claim_key)])
