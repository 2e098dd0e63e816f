"""Reading CSV files people upload, line by line, with every structural problem named by its line.

The csv module raises ``_csv.Error`` for a field over its size limit or a stray quote; unhandled, that
is a traceback with no line. Here it becomes a :class:`ValidationFailed` naming the line (nothing has
been written yet when it is raised: callers read before they write).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from rules.errors import ValidationFailed

FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters: far beyond any column ipfund stores


def read_rows(text: str, what: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number of the row's first line, cells) for every row of ``text`` (header included:
    line 1). A row the csv module cannot read raises ValidationFailed for ``what`` naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = (f"a cell is longer than {FIELD_LIMIT:,} characters (probably an unclosed double quote "
                          "that swallowed the rest of the file)")
            raise ValidationFailed(what, [f"line {start}: cannot read this line as CSV: {reason}"]) from None
        yield start, row
