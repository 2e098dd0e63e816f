"""Text that people type or import, checked before it is stored: the same refusal on every database.

PostgreSQL refuses a value longer than its column with a raw DataError; SQLite stores it. Both would
be wrong answers to a user, so every service checks the text it stores first and names the field, row
or line: too long for its column (counted in characters, as both databases count), control characters
(NUL, escape, ... — never legitimate in a name, a reason or a reference), and, for text that is written
into a CSV for another system (payee names, references, bank data), a leading character a spreadsheet
would run as a formula (= + - @, tab, carriage return: OWASP "CSV injection").
"""

from __future__ import annotations

import re
from typing import Any

from rules.errors import ValidationFailed

# C0 controls except tab/newline/carriage return, DEL, C1 controls, and the bidirectional overrides
# and isolates that make a name display as something it is not.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def limit(model: Any, column: str) -> int:
    """The declared length of ``model``'s string column (the one place lengths are written down)."""
    length = model.__table__.c[column].type.length
    assert isinstance(length, int), f"{model.__name__}.{column} has no declared length"
    return length


def _describe(ch: str) -> str:
    names = {"\x00": "a NUL byte", "\t": "a tab", "\n": "a line break", "\r": "a carriage return",
             "\x1b": "an escape character", "\x7f": "a DEL character"}
    return names.get(ch, f"the control character U+{ord(ch):04X}")


def text_problem(value: str, *, field: str, max_len: int, multiline: bool = False,
                 formula: bool = False) -> str | None:
    """What is wrong with ``value`` for ``field``, or None. ``multiline`` text (reasons, comments) may
    hold tabs and line breaks; other text may not. ``formula`` text goes into files for other systems
    and may not start like a spreadsheet formula."""
    bad = _CONTROL.search(value)
    if bad is not None:
        return (f"{field} contains {_describe(bad.group())} at character {bad.start() + 1}; remove it "
                "(control characters are never stored)")
    if not multiline:
        brk = _LINE_BREAKS.search(value)
        if brk is not None:
            return f"{field} contains {_describe(brk.group())} at character {brk.start() + 1}; it must be one line"
    if len(value) > max_len:
        return f"{field} is {len(value)} characters long; at most {max_len} are stored (shorten it)"
    if formula and value.startswith(FORMULA_PREFIXES):
        return (f"{field} {value[:20]!r} starts with {value[0]!r}, which a spreadsheet runs as a formula "
                "(CSV injection); remove the leading character")
    return None


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


def shown(value: str, width: int = 40) -> str:
    """``value`` quoted for a message, cut to ``width`` characters (a 10,000-character cell is named by
    its length, not echoed whole)."""
    return repr(value if len(value) <= width else value[: width - 1] + "…")


def neutralise_cell(value: str) -> str:
    """A cell for a CSV another system opens: text that would start a formula gets a leading apostrophe
    (the spreadsheet convention for "this is text"), so an export can never run anything."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
