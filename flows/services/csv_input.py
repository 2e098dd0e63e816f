"""Reading CSV files people upload, line by line, with every structural problem named by its line.

The csv module raises ``_csv.Error`` for a field over its size limit or a stray quote; unhandled, that
is a traceback with no line. Here it becomes a :class:`ValidationFailed` naming the line (nothing has
been written yet when it is raised: callers read before they write).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from rules.errors import ValidationFailed

FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters: far beyond any column ipfund stores


def describe_csv_error(exc: csv.Error) -> str:
    """What a ``csv.Error`` means for the person who saved the file (without the line: callers add it)."""
    reason = str(exc)
    if "field larger than field limit" in reason:
        return (f"a cell is longer than {FIELD_LIMIT:,} characters (probably an unclosed double quote that "
                "swallowed the rest of the file); check the quotes on this line")
    return f"{reason}; check for an unclosed or stray double quote"


def read_rows(text: str, what: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, cells)`` for every row of ``text``, the header included (line 1).

    ``line`` is the number of the row's first line as an editor shows it (a quoted cell may span
    lines). ``what`` names the file in the refusal: a row the csv module cannot read (a cell over the
    field size limit, a stray quote) raises :class:`ValidationFailed` for ``what`` with one problem,
    ``"line N: cannot read this line as CSV: …"``. Lazy: the file is never held as a list of rows, and
    callers must read (and validate) every row before they write anything."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationFailed(what, [f"line {start}: cannot read this line as CSV: "
                                          f"{describe_csv_error(exc)}"]) from None
        yield start, row


def read_header(rows: Iterator[tuple[int, list[str]]], what: str, columns: Sequence[str], required: Sequence[str],
                known: str = "expected ") -> tuple[list[str], dict[str, int]]:
    """Read the header (line 1) of ``rows``: (the header, lower-cased; each column's position). Refused,
    naming line 1, when the file is empty, lacks a ``required`` column, has one not in ``columns``
    (``known`` introduces the list of columns in the message) or has one twice."""
    first = next(rows, None)
    if first is None:
        raise ValidationFailed(what, ["line 1: empty file; expected header " + ",".join(columns)])
    header = [h.strip().lower() for h in first[1]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationFailed(what, [f"line 1: header lacks {', '.join(missing)}; expected " + ",".join(columns)])
    unknown = [h for h in header if h and h not in columns]
    if unknown:
        raise ValidationFailed(what, [f"line 1: unknown column(s) {', '.join(repr(u) for u in unknown)}; "
                                      f"{known}" + ",".join(columns)])
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise ValidationFailed(what, [f"line 1: column(s) {', '.join(twice)} given twice"])
    return header, {h: i for i, h in enumerate(header) if h}
