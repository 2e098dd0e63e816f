"""Unit tests for flows.services.score_files (evaluator score uploads: CSV / XLSX format layer)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from flows.services.score_files import (
    ScoreRow,
    TemplateRow,
    file_sha256,
    parse_score_file,
    write_template_csv,
    write_template_xlsx,
)

HEADER = "application_id,criterion,score,comment"
DECIMALS = "has more than one decimal; round it to one decimal place, e.g. 85.5"
UNKNOWN = "the allowed columns are application_id, criterion, score, comment — delete or rename it"


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return newline.join(lines).encode(encoding)


def parse_csv(*lines: str) -> tuple[list[ScoreRow], list[str]]:
    return parse_score_file(csv_bytes(*lines), "scores.csv")


def xlsx_bytes(*rows: list[Any] | None) -> bytes:
    """Rows written from spreadsheet row 1; None leaves a fully empty row."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for n, row in enumerate(rows, start=1):
        for col, value in enumerate(row or [], start=1):
            if value is not None:
                ws.cell(row=n, column=col, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parse_xlsx(*rows: list[Any] | None, filename: str = "scores.xlsx") -> tuple[list[ScoreRow], list[str]]:
    return parse_score_file(xlsx_bytes(*rows), filename)


def one_problem(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------------------------------
# happy paths
# --------------------------------------------------------------------------------------------------


def test_csv_well_formed_rows() -> None:
    rows, problems = parse_csv(HEADER, "A-001,C1,85.5,good", "A-001,C2,100.0,", "A-002,C1,0,  padded  ", "")
    assert problems == []
    assert rows == [
        ScoreRow(2, "A-001", "C1", 855, "good"),
        ScoreRow(3, "A-001", "C2", 1000, ""),
        ScoreRow(4, "A-002", "C1", 0, "padded"),
    ]


def test_header_any_order_case_insensitive_trimmed_comment_optional() -> None:
    rows, problems = parse_csv("  Score , CRITERION,Application_ID ", "85,C1,A1")
    assert problems == []
    assert rows == [ScoreRow(2, "A1", "C1", 850, "")]


@pytest.mark.parametrize(("text", "tenths"), [("0", 0), ("100", 1000), ("100.0", 1000), ("85.5", 855),
                                              ("85.50", 855), ("+85", 850), ("7.", 70), (".5", 5),
                                              (" 60 ", 600), ("-0", 0)])
def test_score_values_accepted(text: str, tenths: int) -> None:
    rows, problems = parse_csv(HEADER, f"A1,C1,{text},")
    assert problems == []
    assert rows[0].score_tenths == tenths


def test_crlf_and_bare_cr_line_ends() -> None:
    for newline in ("\r\n", "\r"):
        content = csv_bytes(HEADER, "A1,C1,80,", "A2,C1,=x,", newline=newline)
        rows, problems = parse_score_file(content, "s.csv")
        assert [r.line for r in rows] == [2]
        assert one_problem(problems).startswith('line 3: score starts with "="')


def test_multiline_quoted_cell_keeps_later_line_numbers_true() -> None:
    rows, problems = parse_csv(HEADER, 'A1,C1,80,"first\nsecond"', "A2,C1,101,")
    assert rows == [ScoreRow(2, "A1", "C1", 800, "first\nsecond")]
    assert one_problem(problems).startswith("line 4: score 101 is outside 0–100")


def test_blank_lines_skipped_but_counted() -> None:
    rows, problems = parse_csv("", HEADER, "", "  ,  ,,", "A1,C1,90,", "", "A2,C1,abc,", "")
    assert [r.line for r in rows] == [5]
    assert one_problem(problems).startswith('line 7: score "abc" is not a number')


# --------------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_comments_decode(encoding: str) -> None:
    content = csv_bytes(HEADER, "A1,创新,88,评审意见：技术先进", encoding=encoding)
    rows, problems = parse_score_file(content, "评分.csv")
    assert problems == []
    assert rows == [ScoreRow(2, "A1", "创新", 880, "评审意见：技术先进")]


def test_bom_does_not_pollute_first_header_name() -> None:
    rows, problems = parse_score_file(b"\xef\xbb\xbf" + csv_bytes(HEADER, "A1,C1,1,"), "s.csv")
    assert problems == []
    assert rows[0].application_id == "A1"


def test_undecodable_bytes() -> None:
    rows, problems = parse_score_file(HEADER.encode() + b"\nA1,C1,1,\xff\xfe\xff", "s.csv")
    assert rows == []
    assert problems == ["file: not UTF-8 or GBK text; save the file as CSV UTF-8 (or .xlsx) and upload again"]
    assert problems[0].startswith("file: not UTF-8 or GBK text")


def test_utf16_file_refused() -> None:
    rows, problems = parse_score_file(f"{HEADER}\nA1,C1,1,\n".encode("utf-16"), "s.csv")
    assert rows == []
    assert one_problem(problems).startswith("file: ")


def test_legacy_xls_refused() -> None:
    rows, problems = parse_score_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "s.xls")
    assert rows == []
    assert ".xls" in one_problem(problems)


# --------------------------------------------------------------------------------------------------
# row-level problems (CSV)
# --------------------------------------------------------------------------------------------------


def test_every_bad_row_reported_with_its_line() -> None:
    rows, problems = parse_csv(
        HEADER,
        "A1,C1,85,ok",  # 2
        ",C1,85,",  # 3
        "A3,,85,",  # 4
        "A4,C1,,",  # 5
        "A5,C1,eighty,",  # 6
        "A6,C1,100.1,",  # 7
        "A7,C1,85.55,",  # 8
        "A8,C1,-5,",  # 9
        "A1,C1,70,",  # 10 duplicate of 2
    )
    assert [r.line for r in rows] == [2]
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(3, 11)]
    assert "application_id is empty" in problems[0]
    assert "criterion is empty" in problems[1]
    assert "score is empty" in problems[2]
    assert 'score "eighty" is not a number' in problems[3]
    assert "score 100.1 is outside 0–100" in problems[4]
    assert "score 85.55 has more than one decimal" in problems[5]
    assert "score -5 is outside 0–100" in problems[6]
    assert problems[7] == ("line 10: duplicate of line 2 (same application_id and criterion); "
                           "keep only one of the two lines")


def test_several_problems_in_one_row_all_reported() -> None:
    rows, problems = parse_csv(HEADER, ",,-5.55,=HYPERLINK()")
    assert rows == []
    assert problems == [
        "line 2: application_id is empty; fill in the application id",
        "line 2: criterion is empty; fill in the criterion",
        "line 2: score -5.55 is outside 0–100; enter a score from 0 to 100",
        "line 2: score -5.55 has more than one decimal; round it to one decimal place, e.g. 85.5",
        'line 2: comment starts with "=" — cells beginning with = + - @ are refused (spreadsheet formula '
        "injection); remove the leading character",
    ]


@pytest.mark.parametrize("text", ["abc", "85,5", "1e2", "NaN", "Infinity", "8_5", "８５", "85.5.1", "85 5",
                                  "0x10"])
def test_score_not_a_number(text: str) -> None:
    rows, problems = parse_score_file(f'{HEADER}\nA1,C1,"{text}",\n'.encode(), "s.csv")
    assert rows == []
    assert one_problem(problems).startswith("line 2: score ")
    assert "is not a number" in problems[0]


@pytest.mark.parametrize("text", ["100.1", "101", "-0.1", "-5", "1000000000000000000000000000000000"])
def test_score_out_of_range(text: str) -> None:
    rows, problems = parse_csv(HEADER, f"A1,C1,{text},")
    assert rows == []
    assert "is outside 0–100" in one_problem(problems)
    assert "formula injection" not in problems[0]


@pytest.mark.parametrize("text", ["85.55", "0.01", "99.99", "0.05", "50.000001"])
def test_score_more_than_one_decimal(text: str) -> None:
    rows, problems = parse_csv(HEADER, f"A1,C1,{text},")
    assert rows == []
    assert one_problem(problems) == f"line 2: score {text} {DECIMALS}"


def test_huge_out_of_range_with_decimals_reports_both() -> None:
    _, problems = parse_csv(HEADER, "A1,C1,123456789012345678901234567890123.55,")
    assert len(problems) == 2
    assert "outside 0–100" in problems[0]
    assert "more than one decimal" in problems[1]


# --------------------------------------------------------------------------------------------------
# formula / CSV injection
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["=", "+", "-", "@"])
@pytest.mark.parametrize("column", ["application_id", "criterion", "score", "comment"])
def test_injection_refused_in_every_column(char: str, column: str) -> None:
    values = {"application_id": "A1", "criterion": "C1", "score": "80", "comment": "ok"}
    values[column] = f"{char}cmd|'/c calc'!A0"
    buf = io.StringIO()
    csv.writer(buf).writerows([list(values), list(values.values())])
    rows, problems = parse_score_file(buf.getvalue().encode(), "s.csv")
    assert rows == []
    assert one_problem(problems) == (
        f'line 2: {column} starts with "{char}" — cells beginning with = + - @ are refused '
        "(spreadsheet formula injection); remove the leading character")


@pytest.mark.parametrize(("prefix", "what"), [("\t", "a tab character"), ("\r", "a carriage return")])
def test_tab_and_carriage_return_prefix_refused(prefix: str, what: str) -> None:
    rows, problems = parse_score_file(f'{HEADER}\nA1,C1,80,"{prefix}=1+1"\n'.encode(), "s.csv")
    assert rows == []
    assert one_problem(problems).startswith(f"line 2: comment starts with {what}")
    assert "formula injection" in problems[0]


def test_tab_before_a_number_is_refused_too() -> None:
    _, problems = parse_score_file(f'{HEADER}\nA1,C1,"\t85",\n'.encode(), "s.csv")
    assert one_problem(problems).startswith("line 2: score starts with a tab character")


def test_leading_space_does_not_hide_injection() -> None:
    _, problems = parse_csv(HEADER, "A1,C1,80,  =1+1")
    assert one_problem(problems).startswith('line 2: comment starts with "="')


def test_plain_numbers_are_not_injection() -> None:
    rows, problems = parse_csv(HEADER, "A1,C1,+90,-5", "A2,C1,90,+3.5")
    assert problems == []
    assert [(r.score_tenths, r.comment) for r in rows] == [(900, "-5"), (900, "+3.5")]


def test_negative_score_is_range_error_not_injection() -> None:
    _, problems = parse_csv(HEADER, "A1,C1,-5,")
    assert one_problem(problems) == "line 2: score -5 is outside 0–100; enter a score from 0 to 100"


@pytest.mark.parametrize("text", ["=1+1", "@SUM(A1)", "-1+1", "+A1", "-"])
def test_formula_like_score_is_injection(text: str) -> None:
    _, problems = parse_csv(HEADER, f"A1,C1,{text},")
    assert one_problem(problems).startswith(f'line 2: score starts with "{text[0]}"')


def test_injected_key_is_not_used_for_duplicates() -> None:
    _, problems = parse_csv(HEADER, "=A1,C1,80,", "=A1,C1,80,")
    assert [p[:7] for p in problems] == ["line 2:", "line 3:"]
    assert all("formula injection" in p for p in problems)


# --------------------------------------------------------------------------------------------------
# file-level problems
# --------------------------------------------------------------------------------------------------


def test_unknown_columns_reported_and_rows_still_checked() -> None:
    rows, problems = parse_csv(HEADER + ",x,Reviewer", "A1,C1,80,,1,me", "A2,C1,800,,,")
    assert problems[:2] == [f'file: unknown column "{name}"; {UNKNOWN}' for name in ("x", "Reviewer")]
    assert problems[2].startswith("line 3: score 800 is outside")
    assert len(problems) == 3
    assert [r.line for r in rows] == [2]


def test_missing_header() -> None:
    rows, problems = parse_csv("A1,C1,80,ok", "A2,C1,90,")
    assert rows == []
    assert one_problem(problems).startswith("file: missing header row; line 1 must be the column names "
                                            f'{HEADER} but is "A1,C1,80,ok"')


def test_semicolon_separated_gets_a_hint() -> None:
    _, problems = parse_csv(HEADER.replace(",", ";"), "A1;C1;80;")
    assert "separated by commas" in one_problem(problems)


def test_missing_required_column() -> None:
    rows, problems = parse_csv("application_id,criterion,comment", "A1,C1,ok")
    assert rows == []
    assert one_problem(problems).startswith('file: missing required column "score"')


def test_duplicate_header_column() -> None:
    _, problems = parse_csv("application_id,criterion,score,score", "A1,C1,80,90")
    assert one_problem(problems).startswith('file: column "score" appears more than once')


def test_values_under_a_nameless_column() -> None:
    rows, problems = parse_csv(HEADER + ",", "A1,C1,80,,", "A2,C1,80,,stray")
    assert [r.line for r in rows] == [2, 3]
    assert one_problem(problems).startswith("file: column 5 has values (first at line 3) but no name")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n , \n"])
def test_empty_file(content: bytes) -> None:
    rows, problems = parse_score_file(content, "s.csv")
    assert rows == []
    assert one_problem(problems).startswith("file: the file is empty")


def test_header_only() -> None:
    rows, problems = parse_csv(HEADER, "", "")
    assert rows == []
    assert one_problem(problems).startswith("file: no score rows below the header")


def test_unbalanced_quote_reported_not_swallowed() -> None:
    rows, problems = parse_csv(HEADER, "A1,C1,80,ok", 'A2,C1,70,"oops', "A3,C1,60,")
    assert [r.line for r in rows] == [2]
    assert one_problem(problems).startswith("line 3: cannot read this line as CSV")


def test_stray_quote_after_quoted_cell_reported_and_parsing_continues() -> None:
    rows, problems = parse_csv(HEADER, 'A1,C1,80,"ok"x', "A2,C1,60,")
    assert [r.line for r in rows] == [3]
    assert one_problem(problems).startswith("line 2: cannot read this line as CSV")


# --------------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------------

XHEAD = ["application_id", "criterion", "score", "comment"]


def test_xlsx_well_formed_rows_with_numeric_cells() -> None:
    rows, problems = parse_xlsx(
        XHEAD,
        ["A1", "C1", 85.5, "好"],
        ["A1", "C2", 100.0, None],
        None,  # blank spreadsheet row 4 skipped
        [20240001, 7, 0, 3.25],  # numeric id / criterion / comment become text
        ["A2", "C1", "90", None],
    )
    assert problems == []
    assert rows == [
        ScoreRow(2, "A1", "C1", 855, "好"),
        ScoreRow(3, "A1", "C2", 1000, ""),
        ScoreRow(5, "20240001", "7", 0, "3.25"),
        ScoreRow(6, "A2", "C1", 900, ""),
    ]


def test_xlsx_detected_by_magic_even_with_csv_name() -> None:
    rows, problems = parse_score_file(xlsx_bytes(XHEAD, ["A1", "C1", 60, None]), "upload.csv")
    assert problems == []
    assert rows[0].score_tenths == 600


def test_xlsx_every_problem_kind_with_row_numbers() -> None:
    rows, problems = parse_xlsx(
        [" Comment", "SCORE", "criterion", "application_id"],  # any order
        ["ok", 85, "C1", "A1"],  # 2 good
        [None, 85, "C1", None],  # 3 empty application_id
        [None, None, "C1", "A3"],  # 4 empty score
        [None, "abc", "C1", "A4"],  # 5 not a number
        [None, 85.55, "C1", "A5"],  # 6 more than one decimal
        [None, 100.1, "C1", "A6"],  # 7 out of range
        [None, -5, "C1", "A7"],  # 8 negative: range, not injection
        [None, "=1+1", "C1", "A8"],  # 9 formula cell
        ["@SUM(A1)", 80, "C1", "A9"],  # 10 injection text
        [None, 70, "C1", "A1"],  # 11 duplicate of 2
        [None, True, "C1", "A10"],  # 12 boolean is not a number
        [None, dt.datetime(2024, 1, 1), "C1", "A11"],  # 13 date is not a number
    )
    assert [r.line for r in rows] == [2]
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(3, 14)]
    assert "application_id is empty" in problems[0]
    assert "score is empty" in problems[1]
    assert 'score "abc" is not a number' in problems[2]
    assert "score 85.55 has more than one decimal" in problems[3]
    assert "score 100.1 is outside 0–100" in problems[4]
    assert "score -5 is outside 0–100" in problems[5]
    assert problems[6].startswith('line 9: score starts with "="') and "formula injection" in problems[6]
    assert problems[7].startswith('line 10: comment starts with "@"')
    assert problems[8].startswith("line 11: duplicate of line 2 (same application_id and criterion)")
    assert "score TRUE is not a number" in problems[9]
    assert "date/time" in problems[10]


def test_xlsx_formula_in_text_column_refused() -> None:
    _, problems = parse_xlsx(XHEAD, ["A1", "C1", 80, '=HYPERLINK("http://x","y")'])
    assert one_problem(problems).startswith('line 2: comment starts with "="')


def test_xlsx_array_formula_refused() -> None:
    from openpyxl.worksheet.formula import ArrayFormula

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(XHEAD)
    ws.append(["A1", "C1", None, None])
    ws["C2"] = ArrayFormula("C2", "=SUM(1,2)")
    buf = io.BytesIO()
    wb.save(buf)
    rows, problems = parse_score_file(buf.getvalue(), "s.xlsx")
    assert rows == []
    assert one_problem(problems).startswith('line 2: score starts with "="')


def xlsx_with_raw_numbers(raw: list[str]) -> bytes:
    """Workbook whose score cells hold exactly the given <v> texts (as Excel writes 17-digit floats)."""
    placeholders = [f"1234{n}.125" for n in range(len(raw))]
    data = xlsx_bytes(XHEAD, *[[f"A{n}", "C1", float(p), None] for n, p in enumerate(placeholders)])
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                for p, r in zip(placeholders, raw, strict=True):
                    assert f"<v>{p}</v>".encode() in body
                    body = body.replace(f"<v>{p}</v>".encode(), f"<v>{r}</v>".encode())
            dst.writestr(info, body)
    return out.getvalue()


def test_xlsx_float_scores_exact() -> None:
    content = xlsx_with_raw_numbers(["0.1", "99.9", "85.5", "85.549999999999997", "0.30000000000000004",
                                     "100.00000000000001", "1E+2", "8.55E1"])
    rows, problems = parse_score_file(content, "s.xlsx")
    assert [(r.line, r.score_tenths) for r in rows] == [(2, 1), (3, 999), (4, 855), (8, 1000), (9, 855)]
    assert problems == [
        f"line 5: score 85.55 {DECIMALS}",
        f"line 6: score 0.30000000000000004 {DECIMALS}",
        "line 7: score 100.00000000000001 is outside 0–100; enter a score from 0 to 100",
        f"line 7: score 100.00000000000001 {DECIMALS}",
    ]


def test_xlsx_header_not_on_first_row_and_unknown_column() -> None:
    rows, problems = parse_xlsx(None, None, [*XHEAD, "note"], ["A1", "C1", 77, None, "x"])
    assert problems == [f'file: unknown column "note"; {UNKNOWN}']
    assert rows == [ScoreRow(4, "A1", "C1", 770, "")]


def test_xlsx_missing_header() -> None:
    rows, problems = parse_xlsx(["A1", "C1", 80, None])
    assert rows == []
    assert one_problem(problems).startswith("file: missing header row; line 1 must be")


def test_xlsx_empty_sheet() -> None:
    rows, problems = parse_xlsx()
    assert rows == []
    assert one_problem(problems).startswith("file: the file is empty")


def test_xlsx_with_data_on_a_second_sheet_is_refused_naming_the_sheets() -> None:
    # Issue 10: reading sheet 1 only silently ignored whatever the evaluator put on sheet 2.
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.append(XHEAD)
    first.append(["A1", "C1", 50, None])
    second = wb.create_sheet("other")
    second.append(["garbage"])
    buf = io.BytesIO()
    wb.save(buf)
    rows, problems = parse_score_file(buf.getvalue(), "s.xlsx")
    assert rows == []
    assert one_problem(problems).startswith('file: the workbook has data on 2 sheets ("Sheet", "other")')


def test_xlsx_empty_extra_sheets_are_ignored_and_a_lone_data_sheet_is_read_wherever_it_is() -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "empty"
    wb.create_sheet("blank").append([None, "  "])
    data = wb.create_sheet("scores")
    data.append(XHEAD)
    data.append(["A1", "C1", 50, None])
    buf = io.BytesIO()
    wb.save(buf)
    rows, problems = parse_score_file(buf.getvalue(), "s.xlsx")
    assert problems == []
    assert [(r.line, r.application_id) for r in rows] == [(2, "A1")]


@pytest.mark.parametrize(("content", "name"), [(b"PK\x03\x04garbage", "s.bin"), (b"not a zip", "s.xlsx")])
def test_broken_xlsx(content: bytes, name: str) -> None:
    rows, problems = parse_score_file(content, name)
    assert rows == []
    assert one_problem(problems).startswith("file: not a readable .xlsx workbook")


def test_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    rows, problems = parse_score_file(buf.getvalue(), "s.xlsx")
    assert rows == []
    assert one_problem(problems).startswith("file: not a readable .xlsx workbook")


# --------------------------------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------------------------------

TEMPLATE_ROWS = [("A-001", "innovation", "创新能力"), ("A-001", "market", "市场前景"),
                 ("A-002", "innovation", "")]


def test_csv_template_format() -> None:
    data = write_template_csv(TEMPLATE_ROWS)
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    assert data.decode("utf-8-sig").splitlines()[1:] == ["A-001,innovation,,", "A-001,market,,",
                                                         "A-002,innovation,,"]
    assert write_template_csv(TEMPLATE_ROWS) == data


def test_csv_template_round_trip() -> None:
    blank = write_template_csv(TEMPLATE_ROWS)
    rows, problems = parse_score_file(blank, "template.csv")
    assert rows == []
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4"]
    assert all("score is empty" in p for p in problems)

    # the evaluator fills it in (as Excel would re-save it: BOM kept, CRLF)
    lines = blank.decode("utf-8-sig").splitlines()
    filled = [lines[0], "A-001,innovation,85.5,很好", "A-001,market,90,", "A-002,innovation,70,一般"]
    rows, problems = parse_score_file(("\ufeff" + "\r\n".join(filled) + "\r\n").encode(), "filled.csv")
    assert problems == []
    assert [(r.line, r.application_id, r.criterion, r.score_tenths, r.comment) for r in rows] == [
        (2, "A-001", "innovation", 855, "很好"),
        (3, "A-001", "market", 900, ""),
        (4, "A-002", "innovation", 700, "一般"),
    ]


XLSX_HEAD = ["申报编号 (application_id)", "申报单位 (applicant)", "评价指标 (criterion)", "指标名称 (criterion_name)",
             "权重 % (weight)", "满分 (max_score)", "得分 (score)", "评语 (comment)"]
RICH_ROWS = [TemplateRow("A-001", "innovation", "创新能力", "=烟台甲公司", "60", "85.5", "很好"),
             TemplateRow("A-001", "market", "市场前景", "=烟台甲公司", "40"),
             TemplateRow("A-002", "innovation", "", "乙公司", "60")]


def test_xlsx_template_layout() -> None:
    wb = load_workbook(io.BytesIO(write_template_xlsx(RICH_ROWS)))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == XLSX_HEAD
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert all((ws.column_dimensions[col].width or 0) >= 10 for col in "ABCDEFGH")
    assert [c.value for c in ws[2]] == ["A-001", "=烟台甲公司", "innovation", "创新能力", "60", "100", "85.5", "很好"]
    assert ws["B2"].data_type == "s"  # an applicant's name beginning with "=" stays text, never a formula
    assert ws["C2"].comment is not None and ws["C2"].comment.text == "创新能力"
    assert ws["C4"].comment is None
    assert ws["G3"].value is None and ws["H3"].value is None  # not scored before: blank to fill in
    (dv,) = ws.data_validations.dataValidation
    assert (dv.type, dv.operator, dv.formula1, dv.formula2, str(dv.sqref)) == ("decimal", "between", "0", "100",
                                                                              "G2:G4")
    assert wb.sheetnames == ["scores", "说明 instructions"]
    assert "dry run" in " ".join(str(c.value) for row in wb["说明 instructions"] for c in row)
    assert wb.properties.created == dt.datetime(2020, 1, 1)
    assert wb.properties.modified == dt.datetime(2020, 1, 1)


def test_xlsx_template_round_trip() -> None:
    blank = write_template_xlsx(TEMPLATE_ROWS)
    rows, problems = parse_score_file(blank, "template.xlsx")
    assert rows == []
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4"]

    wb = load_workbook(io.BytesIO(blank))
    ws = wb.worksheets[0]
    ws["G2"], ws["H2"] = 85.5, "很好"
    ws["G3"] = 90
    ws["G4"], ws["H4"] = "70", "一般"
    ws["D4"], ws["E4"] = "edited name", "99"  # the reading columns are never read back
    buf = io.BytesIO()
    wb.save(buf)
    rows, problems = parse_score_file(buf.getvalue(), "filled.xlsx")
    assert problems == []
    assert rows == [ScoreRow(2, "A-001", "innovation", 855, "很好"), ScoreRow(3, "A-001", "market", 900, ""),
                    ScoreRow(4, "A-002", "innovation", 700, "一般")]


def test_a_prefilled_xlsx_template_reads_back_as_the_earlier_scores() -> None:
    rows, problems = parse_score_file(write_template_xlsx(RICH_ROWS[:1]), "again.xlsx")
    assert (rows, problems) == ([ScoreRow(2, "A-001", "innovation", 855, "很好")], [])


def test_a_header_may_name_its_columns_bilingually_but_no_other_column() -> None:
    text = "申报编号 (application_id),评价指标 (criterion),得分 (score),指标名称 (criterion_name)\nA1,C1,80,x\n"
    assert parse_score_file(text.encode(), "s.csv") == ([ScoreRow(2, "A1", "C1", 800, "")], [])
    _rows, problems = parse_score_file("application_id,criterion,score,备注 (remark)\nA1,C1,80,x\n".encode(),
                                      "s.csv")
    assert any('unknown column "备注 (remark)"' in p for p in problems), problems


def test_xlsx_template_deterministic_bytes() -> None:
    first = write_template_xlsx(TEMPLATE_ROWS)
    assert write_template_xlsx(list(TEMPLATE_ROWS)) == first
    assert write_template_xlsx(TEMPLATE_ROWS[:1]) != first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_xlsx_template_deterministic_across_processes() -> None:
    code = ("import hashlib; from flows.services.score_files import write_template_xlsx as w; "
            f"print(hashlib.sha256(w({TEMPLATE_ROWS!r})).hexdigest())")
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(write_template_xlsx(TEMPLATE_ROWS)).hexdigest()}


@pytest.mark.parametrize("bad", [[("=A1", "C1", "")], [("A1", "-x", "")], [("", "C1", "")],
                                 [(" A1", "C1", "")], [("A1", "C1", ""), ("A1", "C1", "again")]])
def test_templates_refuse_rows_the_parser_would_refuse(bad: list[tuple[str, str, str]]) -> None:
    with pytest.raises(ValueError):
        write_template_csv(bad)
    with pytest.raises(ValueError):
        write_template_xlsx(bad)


def test_empty_template_still_has_header() -> None:
    assert write_template_csv([]) == b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"
    wb = load_workbook(io.BytesIO(write_template_xlsx([])))
    assert [c.value for c in wb.worksheets[0][1]] == XLSX_HEAD


# --------------------------------------------------------------------------------------------------
# hashing
# --------------------------------------------------------------------------------------------------


def test_file_sha256() -> None:
    assert file_sha256(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert file_sha256(b"abc") == hashlib.sha256(b"abc").hexdigest()


# --- the fast path for ordinary rows agrees with the full check -----------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flows.services.score_files import _check_row_full, _fast_row  # noqa: E402

_cell = st.one_of(
    st.sampled_from(["CA-2021-00001", " CA-2021-00002 ", "c1", "85", "85.5", "100", "100.0", "100.5", "101",
                     "085", "9.99", "-5", "=1+1", "+7", "@x", "\tx", "\rx", " =x", "", "  ", "好", "1e3", ".5",
                     "5.", "1,000", " 85", "85 ", "0", "0.0", "000", "999", "²", "٣", "८५", "８５"]),
    st.text(max_size=6),
)


@settings(max_examples=400)
@given(cells=st.lists(_cell, min_size=0, max_size=5), order=st.permutations([0, 1, 2, 3]),
       with_comment=st.booleans())
def test_fast_row_accepts_only_what_the_full_check_accepts_with_the_same_values(
        cells: list[str], order: list[int], with_comment: bool) -> None:
    names = ["application_id", "criterion", "score", "comment"]
    index = {names[i]: pos for pos, i in enumerate(order) if with_comment or names[i] != "comment"}
    fast = _fast_row(7, cells, index)
    if fast is not None:
        row, problems, key = _check_row_full(7, cells, index)
        assert problems == [] and row == fast and key == (fast.application_id, fast.criterion)
