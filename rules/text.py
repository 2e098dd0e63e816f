"""Text people type or import, checked before it is stored (pure; the services name the column lengths).

Control characters (NUL, escape, ... — never legitimate in a name, a reason or a reference), line breaks
where one line is expected, more characters than the column holds (counted in characters, as both
databases count), and, for text written into a CSV for another system, a leading character a
spreadsheet would run as a formula (= + - @, tab, carriage return: OWASP "CSV injection").
"""

from __future__ import annotations

import re

# C0 controls except tab/newline/carriage return, DEL, C1 controls, and the bidirectional overrides
# and isolates that make a name display as something it is not.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def shown(value: str, width: int = 40) -> str:
    """``value`` quoted for a message, cut to ``width`` characters (a 10,000-character cell is named by
    its length, not echoed whole)."""
    return repr(value if len(value) <= width else value[: width - 1] + "…")


def neutralise_cell(value: str) -> str:
    """A cell for a CSV another system opens: text that would start a formula gets a leading apostrophe
    (the spreadsheet convention for "this is text"), so an export can never run anything."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
