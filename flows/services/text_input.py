"""Text that people type or import, checked before it is stored: the same refusal on every database.

PostgreSQL refuses a value longer than its column with a raw DataError; SQLite stores it. Both would
be wrong answers to a user, so every service checks the text it stores first and names the field, row
or line: too long for its column (counted in characters, as both databases count), control characters
(NUL, escape, ... — never legitimate in a name, a reason or a reference), and, for text that is written
into a CSV for another system (payee names, references, bank data), a leading character a spreadsheet
would run as a formula (= + - @, tab, carriage return: OWASP "CSV injection").
"""

from __future__ import annotations

from typing import Any

from rules.errors import ValidationFailed
from rules.text import FORMULA_PREFIXES, neutralise_cell, shown, text_problem

__all__ = ["FORMULA_PREFIXES", "clean", "limit", "neutralise_cell", "shown", "text_problem"]


def limit(model: Any, column: str) -> int:
    """The declared length of ``model``'s string column (the one place lengths are written down)."""
    length = model.__table__.c[column].type.length
    assert isinstance(length, int), f"{model.__name__}.{column} has no declared length"
    return length


def clean(value: str | None, *, field: str, max_len: int, what: str, multiline: bool = False,
          formula: bool = False, required: bool = False) -> str:
    """``value`` stripped and checked; raise :class:`ValidationFailed` for ``what`` (the form or command)
    naming ``field`` when it cannot be stored. Nothing has been written when this raises."""
    text = (value or "").replace("\r\n", "\n").strip() if multiline else (value or "").strip()
    if required and not text:
        raise ValidationFailed(what, [f"{field} is empty"])
    problem = text_problem(text, field=field, max_len=max_len, multiline=multiline, formula=formula)
    if problem is not None:
        raise ValidationFailed(what, [problem])
    return text


