"""File-format layer for third-party evaluators' score uploads (CSV or XLSX).

Pure functions, no database: ``parse_score_file`` turns an uploaded file into well-formed
``ScoreRow`` values plus a list of human-readable problems (each starting with ``line N: `` or
``file: ``); ``write_template_csv`` / ``write_template_xlsx`` produce the blank sheet evaluators fill
in.  Whether an application or criterion exists, and whether the evaluator may score it, is decided
by the caller.

Scores are kept as integer tenths (85.5 -> 855) and parsed with ``Decimal`` only.  Cells that a
spreadsheet would run as a formula (leading ``= + - @``, tab or carriage return, unless the cell is
a plain number) are refused, so that nothing we store can later be replayed as a formula when
exported (OWASP "CSV injection"). Text longer than its column (the lengths are the models' own),
control characters and a CSV cell over the csv module's field limit are refused by line too; two rows
for the same case and criterion are duplicates even when the ids differ only in case (the upload
looks ids up in upper case), so nothing the database would refuse reaches it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from flows.services.csv_input import describe_csv_error
from flows.services.text_input import limit, text_problem
from models.tables import Application, Score

COLUMNS: tuple[str, ...] = ("application_id", "criterion", "score", "comment")
REQUIRED: tuple[str, ...] = ("application_id", "criterion", "score")
HEADER_LINE = ",".join(COLUMNS)
# Columns the XLSX template adds for the evaluator to read (who applied, the criterion's name, weight and
# maximum): allowed in an upload and never read back, so editing them changes nothing.
INFO_COLUMNS: tuple[str, ...] = ("applicant", "criterion_name", "weight", "max_score")
# The template's bilingual headers, "中文 (column)"; an upload may name a column either way.
LABELS: dict[str, str] = {"application_id": "申报编号", "applicant": "申报单位", "criterion": "评价指标",
                          "criterion_name": "指标名称", "weight": "权重 %", "max_score": "满分", "score": "得分",
                          "comment": "评语"}
XLSX_COLUMNS: tuple[str, ...] = ("application_id", "applicant", "criterion", "criterion_name", "weight",
                                 "max_score", "score", "comment")
INSTRUCTIONS_SHEET = "说明 instructions"  # the template's instructions sheet: never read as data
_LABELLED = re.compile(r".*\(\s*([a-z_]+)\s*\)")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other OLE2 documents)
_INJECTION_CHARS = ("=", "+", "-", "@")
_CONTROL_CHARS = {"\t": "a tab character", "\r": "a carriage return"}
# A "plain number" is exempt from the injection rule (Excel reads "-5" as minus five, not a formula).
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_SCORE = Decimal(100)
_FIXED_TIME = dt.datetime(2020, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_INJECTION_HINT = "cells beginning with = + - @ are refused (spreadsheet formula injection)"
# The longest text each column stores (the columns' own lengths): a longer cell is refused by line,
# identically on SQLite (which would store it) and PostgreSQL (which would raise a DataError).
MAX_LEN: dict[str, int] = {"application_id": limit(Application, "ref"), "criterion": limit(Score, "criterion"),
                           "comment": limit(Score, "comment")}
_MAX_ID, _MAX_CRITERION, _MAX_COMMENT = MAX_LEN["application_id"], MAX_LEN["criterion"], MAX_LEN["comment"]


class TemplateRow(NamedTuple):
    """One row of the sheet an evaluator fills in: the case and criterion, and what the XLSX template shows
    beside them (the criterion's name, the applicant, the weight; the evaluator's current score and comment
    when the case was scored before)."""
    application_id: str
    criterion: str
    name: str = ""
    applicant: str = ""
    weight: str = ""
    score: str = ""
    comment: str = ""


class ScoreRow(NamedTuple):  # immutable; a NamedTuple is built 4x faster than a frozen dataclass
    line: int  # 1-based line as the user sees it (header = line 1; XLSX: spreadsheet row number)
    application_id: str
    criterion: str
    score_tenths: int
    comment: str


def tenths_text(tenths: int) -> str:
    """A score held in tenths as the evaluator writes it: 855 -> ``85.5``, 900 -> ``90.0``."""
    return f"{tenths // 10}.{tenths % 10}"


def file_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --------------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------------


def parse_score_file(content: bytes, filename: str) -> tuple[list[ScoreRow], list[str]]:
    """Parse an uploaded score file; return every well-formed row and every problem found.

    A row with any problem is left out of the returned rows.  The caller should refuse the upload
    as a whole when the problem list is not empty.
    """
    if content.startswith(_ZIP_MAGIC) or filename.lower().strip().endswith(".xlsx"):
        try:
            raw_rows = _xlsx_rows(content)
        except _MoreThanOneSheet as many:
            sheets = ", ".join(f'"{n}"' for n in many.names)
            return [], [f"file: the workbook has data on {len(many.names)} sheets ({sheets}); only one sheet is "
                        "read, so put every score on one sheet (the first) and delete the other sheets or "
                        "their data"]
        except Exception as exc:  # openpyxl raises many kinds for a broken or foreign zip
            return [], [f"file: not a readable .xlsx workbook ({type(exc).__name__}); open it in "
                        "Excel or WPS and save it again as .xlsx, or save it as CSV UTF-8"]
        return _parse_rows(raw_rows)
    if content.startswith(_OLE_MAGIC):
        return [], ["file: this is an old-style .xls workbook, which is not accepted; save it as .xlsx "
                    "or as CSV UTF-8 and upload that"]
    text = _decode(content)
    if text is None:
        return [], ["file: not UTF-8 or GBK text; save the file as CSV UTF-8 (or .xlsx) and upload again"]
    if text.count("\x00") * 8 >= len(text) > 0:  # NUL every other byte: UTF-16; a stray NUL is refused by line
        return [], ["file: contains NUL characters (probably UTF-16 \"Unicode text\"); save the file as "
                    "CSV UTF-8 (or .xlsx) and upload again"]
    return _parse_rows(_csv_rows(text))


def _decode(content: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


class _ReadError:
    """A structural CSV error at a line (e.g. an unclosed quote); yielded in place of a row."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


_RawRow = tuple[int, Sequence[object] | _ReadError]


def _csv_rows(text: str) -> Iterator[_RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, _ReadError(start, f"line {start}: cannot read this line as CSV: {describe_csv_error(exc)}")
            if reader.line_num < start:  # nothing consumed: give up rather than loop
                return
            continue
        yield start, row


class _MoreThanOneSheet(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.names = names


def _xlsx_rows(content: bytes) -> list[_RawRow]:
    """The rows of the workbook's sheet that holds data (the first if none does);
    :class:`_MoreThanOneSheet` if more than one sheet holds data (all but one would be ignored)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    try:
        if not wb.worksheets:
            return []
        with_data = []
        for ws in wb.worksheets:
            if ws.title == INSTRUCTIONS_SHEET:
                continue
            ws.reset_dimensions()  # some writers store a wrong <dimension>; read what is really there
            if any(not _is_blank(v) for cells in ws.iter_rows(values_only=True) for v in cells):
                with_data.append(ws)
        if len(with_data) > 1:
            raise _MoreThanOneSheet([ws.title for ws in with_data])
        ws = with_data[0] if with_data else wb.worksheets[0]
        return [(n, tuple(cells)) for n, cells in enumerate(ws.iter_rows(min_row=1, values_only=True), 1)]
    finally:
        wb.close()


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _show(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _float_text(value: float) -> str:
    d = Decimal(repr(value))
    return str(int(d)) if d == d.to_integral_value() else format(d, "f")


def _cell_text(value: object) -> str:
    """Text of a non-score cell as the user would read it (not stripped)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value) if value == value and value not in (float("inf"), float("-inf")) \
            else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    text = getattr(value, "text", None)  # openpyxl ArrayFormula / DataTableFormula
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    return "=" if text is None else str(text)


def _injection(column: str, value: object) -> str | None:
    """Problem text (without the line prefix) if the cell could run as a formula, else None."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float | Decimal | dt.date | dt.time | dt.timedelta) or value is None:
        return None
    else:  # formula objects from openpyxl
        text = _cell_text(value)
    if text[:1] in _CONTROL_CHARS:
        return (f"{column} starts with {_CONTROL_CHARS[text[:1]]} — cells beginning with a tab or carriage "
                f"return are refused (spreadsheet formula injection); remove the leading character")
    stripped = text.strip()
    if stripped[:1] in _INJECTION_CHARS and not _PLAIN_NUMBER.fullmatch(stripped):
        return f'{column} starts with "{stripped[0]}" — {_INJECTION_HINT}; remove the leading character'
    return None


def _parse_score(value: object) -> tuple[Decimal | None, str | None]:
    """(value, None) for a number, or (None, problem) for a cell that is not a number."""
    hint = "enter a number from 0 to 100 with at most one decimal, e.g. 85 or 85.5"
    if isinstance(value, bool):
        return None, f"score {str(value).upper()} is not a number; {hint}"
    if isinstance(value, int):
        return Decimal(value), None
    if isinstance(value, float):
        d = Decimal(repr(value))  # the shortest decimal that round-trips: 85.55 stays 85.55
        if not d.is_finite():
            return None, f"score {value!r} is not a number; {hint}"
        return d, None
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return None, f"score is a date/time cell, not a number; format the cell as a number and {hint}"
    text = _cell_text(value).strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        return None, f'score "{_show(text)}" is not a number; {hint}'
    try:
        return Decimal(text), None
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return None, f'score "{_show(text)}" is not a number; {hint}'


def _more_than_one_decimal(d: Decimal) -> bool:
    _sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    extra = -exponent - 1  # digits below the tenths place
    if extra <= 0:
        return False
    tail = digits[-extra:] if extra <= len(digits) else digits
    return any(tail)


def _format_decimal(d: Decimal) -> str:
    return _show(format(d, "f"))


def _header_map(cells: Sequence[object], line: int) -> tuple[dict[str, int], list[str], bool]:
    """Column name -> index; file problems; and whether this looks like a header row at all."""
    names = [column_name(c) for c in cells]
    if not any(n in COLUMNS for n in names):
        found = ",".join(_cell_text(c).strip() for c in cells)
        hint = ""
        if len([n for n in names if n]) == 1 and (";" in found or "\t" in found):
            hint = " (columns must be separated by commas, not semicolons or tabs)"
        return {}, [f"file: missing header row{hint}; line {line} must be the column names "
                    f'{HEADER_LINE} but is "{_show(found, 60)}"'], False
    index: dict[str, int] = {}
    problems: list[str] = []
    for i, name in enumerate(names):
        if not name or name in INFO_COLUMNS:
            continue
        if name not in COLUMNS:
            shown = _show(_cell_text(cells[i]).strip())
            problems.append(f'file: unknown column "{shown}"; the allowed columns are {", ".join(COLUMNS)} — '
                            "delete or rename it")
        elif name in index:
            problems.append(f'file: column "{name}" appears more than once in the header; keep only one')
        else:
            index[name] = i
    for name in REQUIRED:
        if name not in index:
            problems.append(f'file: missing required column "{name}"; the header must contain '
                            "application_id, criterion and score (comment is optional)")
    return index, problems, True


def column_name(cell: object) -> str:
    """A header cell's column: ``score`` or, as the template labels it, ``得分 (score)``."""
    text = _cell_text(cell).strip().lower()
    m = _LABELLED.fullmatch(text)
    return m.group(1) if m else text


def _parse_rows(raw_rows: Iterable[_RawRow]) -> tuple[list[ScoreRow], list[str]]:
    rows: list[ScoreRow] = []
    problems: list[str] = []
    index: dict[str, int] | None = None
    named: set[int] = set()
    named_prefix = 0  # positions 0 .. named_prefix-1 all have a name in the header
    unnamed_columns: dict[int, int] = {}  # column position -> first line with a value there
    seen: dict[tuple[str, str], tuple[int, str]] = {}  # (id in upper case, criterion) -> (line, id as written)
    data_lines = 0
    for line, cells in raw_rows:
        if isinstance(cells, _ReadError):
            problems.append(cells.message)
            continue
        first = cells[0] if cells else None
        if not (type(first) is str and first.strip()) and all(_is_blank(c) for c in cells):
            continue
        if index is None:
            index, header_problems, is_header = _header_map(cells, line)
            problems += header_problems
            if not is_header or any(name not in index for name in REQUIRED):
                return [], problems
            named = {pos for pos, c in enumerate(cells) if not _is_blank(c)}
            named_prefix = next((i for i in range(len(cells) + 1) if i not in named), 0)
            pa, pc, ps, pm = index["application_id"], index["criterion"], index["score"], index.get("comment")
            continue
        data_lines += 1
        if len(cells) > named_prefix:  # cells beyond the named columns: look for stray values
            for pos, value in enumerate(cells):
                if pos not in named and not _is_blank(value):
                    unnamed_columns.setdefault(pos, line)
        row = _fast_row_at(line, cells, pa, pc, ps, pm)
        if row is not None:  # the common row: no problems, its key is its id and criterion
            key: tuple[str, str] | None = (row.application_id, row.criterion)
        else:
            row, row_problems, key = _check_row_full(line, cells, index)
            problems += row_problems
        if key is not None:
            # Application ids are compared as the upload looks them up: ignoring case.
            folded = (key[0].upper(), key[1])
            if folded in seen:
                first_line, first_id = seen[folded]
                case = "" if first_id == key[0] else \
                    f", ids compared ignoring case: {first_id!r} and {key[0]!r}"
                problems.append(f"line {line}: duplicate of line {first_line} (same application_id and "
                                f"criterion{case}); keep only one of the two lines")
                row = None
            else:
                seen[folded] = (line, key[0])
        if row is not None:
            rows.append(row)
    if index is None:
        return [], [*problems, f"file: the file is empty; the first line must be the header {HEADER_LINE}"]
    for pos, first_line in sorted(unnamed_columns.items()):
        problems.append(f"file: column {pos + 1} has values (first at line {first_line}) but no name in the "
                        "header; delete those cells or give the column one of the allowed names")
    if data_lines == 0:
        problems.append("file: no score rows below the header; add one line per application_id and criterion")
    return rows, problems


_FAST_SCORE = re.compile(r"([0-9]{1,3})(?:\.([0-9]))?")
_BAD_FIRST = frozenset("".join(_INJECTION_CHARS) + "".join(_CONTROL_CHARS))


def _fast_row(line: int, cells: Sequence[object], index: dict[str, int]) -> ScoreRow | None:
    """The common row (text cells, an ordinary id and criterion, a score like 85 or 85.5, a plain
    comment) parsed without the general checks; None for anything else, which ``_check_row_full``
    then examines. Every row it accepts, ``_check_row_full`` would accept with the same values."""
    return _fast_row_at(line, cells, index["application_id"], index["criterion"], index["score"],
                        index.get("comment"))


_make_row = ScoreRow._make  # tuple.__new__: no Python-level __new__ per row


def _fast_row_at(line: int, cells: Sequence[object], pa: int, pc: int, ps: int, pm: int | None) -> ScoreRow | None:
    """:func:`_fast_row` with the column positions already looked up (the parser's loop)."""
    try:
        a, c, s = cells[pa], cells[pc], cells[ps]
    except IndexError:
        return None
    m = cells[pm] if pm is not None and pm < len(cells) else None
    if type(a) is not str or type(c) is not str or type(s) is not str or (m is not None and type(m) is not str):
        return None
    a_s, c_s = a.strip(), c.strip()
    if not a_s or not c_s or a[0] in _BAD_FIRST or c[0] in _BAD_FIRST or a_s[0] in _BAD_FIRST \
            or c_s[0] in _BAD_FIRST:
        return None
    # Printable (no control character, line break or bidi override) and within its column: anything
    # else is for _check_row_full to name.
    if len(a_s) > _MAX_ID or len(c_s) > _MAX_CRITERION or not (a_s.isprintable() and c_s.isprintable()):
        return None
    if 0 < len(s) <= 3 and s.isascii() and s.isdigit():  # "85": most scores
        tenths = int(s) * 10
    else:
        match = _FAST_SCORE.fullmatch(s)
        if match is None:
            return None
        tenths = int(match[1]) * 10 + int(match[2] or 0)
    if tenths > 1000:
        return None
    comment = ""
    if m:
        comment = m.strip()
        if m[0] in _BAD_FIRST or comment[:1] in _BAD_FIRST or len(comment) > _MAX_COMMENT \
                or not comment.isprintable():
            return None
    return _make_row((line, a_s, c_s, tenths, comment))


def _check_row_full(
    line: int, cells: Sequence[object], index: dict[str, int]
) -> tuple[ScoreRow | None, list[str], tuple[str, str] | None]:
    def cell(name: str) -> object:
        pos = index.get(name)
        return cells[pos] if pos is not None and pos < len(cells) else None

    problems: list[str] = []
    text: dict[str, str] = {}
    for name in ("application_id", "criterion"):
        value = cell(name)
        bad = _injection(name, value)
        if bad:
            problems.append(f"line {line}: {bad}")
        elif _is_blank(value):
            problems.append(f"line {line}: {name} is empty; fill in the {name.replace('_', ' ')}")
        elif (bad := text_problem(_cell_text(value).strip(), field=name, max_len=MAX_LEN[name])) is not None:
            problems.append(f"line {line}: {bad}")
        else:
            text[name] = _cell_text(value).strip()

    score_tenths: int | None = None
    raw_score = cell("score")
    bad = _injection("score", raw_score)
    if bad:
        problems.append(f"line {line}: {bad}")
    elif _is_blank(raw_score):
        problems.append(f"line {line}: score is empty; enter a score from 0 to 100 (at most one decimal)")
    else:
        score, not_number = _parse_score(raw_score)
        if not_number:
            problems.append(f"line {line}: {not_number}")
        elif score is not None:
            ok = True
            shown = _format_decimal(score)
            if not Decimal(0) <= score <= _MAX_SCORE:
                problems.append(f"line {line}: score {shown} is outside 0–100; enter a score from 0 to 100")
                ok = False
            if _more_than_one_decimal(score):
                problems.append(f"line {line}: score {shown} has more than one decimal; round it to one "
                                "decimal place, e.g. 85.5")
                ok = False
            if ok:
                score_tenths = int(score * 10)

    bad = _injection("comment", cell("comment"))
    comment = _cell_text(cell("comment")).strip()
    if bad or (bad := text_problem(comment, field="comment", max_len=MAX_LEN["comment"], multiline=True)):
        problems.append(f"line {line}: {bad}")
    else:
        text["comment"] = comment

    key = None
    if "application_id" in text and "criterion" in text:
        key = (text["application_id"], text["criterion"])
    if problems or score_tenths is None:
        return None, problems, key
    row = ScoreRow(line=line, application_id=text["application_id"], criterion=text["criterion"],
                   score_tenths=score_tenths, comment=text.get("comment", ""))
    return row, problems, key


# --------------------------------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------------------------------


def _check_template_rows(rows: Sequence[Sequence[str]]) -> None:
    """Refuse rows the parser would refuse anyway, so a template never needs hand repair."""
    seen: set[tuple[str, str]] = set()
    for application_id, criterion, *_ in rows:
        for column, value in (("application_id", application_id), ("criterion", criterion)):
            if not value.strip() or value != value.strip():
                raise ValueError(f"template {column} {value!r} is empty or has surrounding spaces")
            if value[0] in _BAD_FIRST and _injection(column, value):
                raise ValueError(f"template {column} {value!r} starts with a formula character")
        if (application_id, criterion) in seen:
            raise ValueError(f"template row ({application_id!r}, {criterion!r}) appears twice")
        seen.add((application_id, criterion))


def write_template_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """Blank score sheet as CSV, UTF-8 with BOM (so Excel shows Chinese correctly), CRLF line ends.

    The criterion name (third element) has no place in a CSV and is not written.
    """
    _check_template_rows(rows)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for application_id, criterion, *_ in rows:
        writer.writerow([application_id, criterion, "", ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_INSTRUCTIONS = (
    ("评分说明", "How to fill in this sheet"),
    ("每行是一个申报编号的一个评价指标：只填写“得分”和“评语”两列，其余列仅供阅读，修改它们不会改变任何数据。",
     "Each row is one criterion of one case: fill in only the score and comment columns; the other columns are "
     "for reading and changing them changes nothing."),
    ("得分为 0 至满分之间的数，最多一位小数（如 85.5）；不能写公式。每个申报编号的每个指标都必须评分。",
     "A score is a number from 0 to the maximum with at most one decimal (e.g. 85.5), never a formula; every "
     "criterion of every case must be scored."),
    ("最终得分按权重加权；已评过的案件预先填入您当前的评分，修改后重新上传即替换，未改动的案件不受影响。",
     "The final score weighs the criteria by their weights. Cases you scored before show your current scores: "
     "change them and upload again to replace them; cases you leave unchanged are not touched."),
    ("上传前先试运行（dry run）：所有有误的行会按行号列出，且不写入任何数据；全部无误才会写入。",
     "Upload with a dry run first: every bad row is listed by line and nothing is written; the scores are "
     "written only when every row is valid."),
    ("如与申报单位存在利益冲突，请不要评分，并在工作台或命令行声明回避。",
     "If you have a conflict of interest with an applicant, do not score it: declare the conflict on the desk "
     "or with `ipfund evaluator declare-conflict`."),
)


def write_template_xlsx(rows: Sequence[Sequence[str]]) -> bytes:
    """The score sheet as XLSX: bilingual frozen header, the applicant, criterion name, weight and maximum
    beside each row (read-only columns, never read back), the evaluator's current score and comment where
    the case was scored before, data validation on the score (0 to the maximum), text-formatted ids, and an
    instructions sheet. Same rows -> same bytes.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.writer.excel import ExcelWriter

    _check_template_rows(rows)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "scores"
    ws.append([f"{LABELS[c]} ({c})" for c in XLSX_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    pos = {c: i for i, c in enumerate(XLSX_COLUMNS, start=1)}
    for n, raw in enumerate(rows, start=2):
        r = TemplateRow(*raw)
        values = {"application_id": r.application_id, "applicant": r.applicant, "criterion": r.criterion,
                  "criterion_name": r.name, "weight": r.weight, "max_score": str(_MAX_SCORE),
                  "score": r.score or None, "comment": r.comment or None}
        for column, value in values.items():
            cell = ws.cell(row=n, column=pos[column], value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, even when an applicant's name begins with "=": never a formula
            if column in ("application_id", "criterion", "comment"):
                cell.number_format = "@"
            if column in INFO_COLUMNS or column in ("application_id", "criterion"):
                cell.fill = grey
        if r.name:
            ws.cell(row=n, column=pos["criterion"]).comment = Comment(r.name, "ipfund")
    score_col = get_column_letter(pos["score"])
    if rows:
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2=str(_MAX_SCORE),
                            allow_blank=True, showErrorMessage=True, errorTitle="得分 score",
                            error="0 – 100, 最多一位小数 / at most one decimal")
        dv.add(f"{score_col}2:{score_col}{len(rows) + 1}")
        ws.add_data_validation(dv)
    widths = {"application_id": 22, "applicant": 30, "criterion": 20, "criterion_name": 24, "weight": 10,
              "max_score": 10, "score": 10, "comment": 60}
    for column, i in pos.items():
        ws.column_dimensions[get_column_letter(i)].width = widths[column]
    ws.freeze_panes = "A2"
    info = wb.create_sheet(INSTRUCTIONS_SHEET)
    for zh, en in _INSTRUCTIONS:
        info.append([zh, en])
    info["A1"].font = info["B1"].font = Font(bold=True)
    info.column_dimensions["A"].width = info.column_dimensions["B"].width = 80
    wb.properties.creator = "ipfund"
    wb.properties.lastModifiedBy = "ipfund"
    wb.properties.created = _FIXED_TIME
    wb.properties.modified = _FIXED_TIME

    # openpyxl's save_workbook() stamps "modified" with the current time, so drive ExcelWriter directly.
    buf = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return _fixed_zip_times(buf.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """Re-zip with a fixed timestamp on every entry (zipfile stamps entries with the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
