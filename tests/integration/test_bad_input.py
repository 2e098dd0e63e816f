"""Issue 10, "every bad input refused by line": what an outside auditor found accepted or crashing.

Each test checks the message (the field, row or line it names) and that the database is unchanged,
compared by content (`db.snapshot()` hashes every table's rows). The same tests run on PostgreSQL when
the suite runs with IPFUND_TEST_DATABASE_URL: there, text longer than its column and NUL bytes used to be
raw driver errors.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flows import synthetic
from flows.services import applicants as applicants_svc
from flows.services import applications, evaluation, review, users
from models.uow import unit_of_work
from rules.errors import NotFound, ValidationFailed
from tests.conftest import EXAMPLES, ROOT, CliResult, Db
from tests.support import SCHEME, applicants_and_applications, approve_all, set_clock, staff_and_plan

PLAN = EXAMPLES / "plan-2021.toml"
HEAD = "name,uscc,kind,district,sme,whitelist"


def refused(r: CliResult) -> str:
    """The refusal's message, whitespace-normalised; exit 1, on stderr, no traceback."""
    assert r.exit_code == 1, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert r.stderr.startswith("error:"), r.stderr
    return " ".join(r.stderr.split())


def csv_text(*rows: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def an_applicant(seed: int = 3) -> synthetic.SynthApplicant:
    return synthetic.applicants(1, seed)[0]


def applicant_row(a: synthetic.SynthApplicant, **change: str) -> list[str]:
    cells = {"name": a.name, "uscc": a.uscc, "kind": a.kind, "district": a.district, "sme": "true",
             "whitelist": "false", **change}
    return [cells[c] for c in HEAD.split(",")]


# --- 1. the snapshot compares content --------------------------------------------------------------------

def test_an_update_in_place_changes_the_snapshot_though_no_row_count_changes(db: Db) -> None:
    before = db.snapshot()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE app_user SET display_name = 'someone else' WHERE name = 'admin'"))
    after = db.snapshot()
    assert {t: d.rows for t, d in after.items()} == {t: d.rows for t, d in before.items()}
    assert after != before
    assert [t for t in after if after[t] != before[t]] == ["app_user"]


def test_the_snapshot_covers_every_table_of_the_database_and_is_stable(db: Db) -> None:
    from sqlalchemy import inspect

    snap = db.snapshot()
    assert set(snap) == set(inspect(db.engine).get_table_names())
    assert {"alembic_version", "app_user", "audit_event", "setting"} <= set(snap)
    assert db.snapshot() == snap  # reading changes nothing


# --- applicants: length, control characters, formula prefixes, CSV field size -------------------------------

@pytest.mark.parametrize(("change", "fragment"), [
    ({"name": "甲" * 10_000}, "line 2: name is 10000 characters long; at most 200 are stored"),
    ({"name": "烟台\x00科技有限公司"}, "line 2: name contains a NUL byte at character 3"),
    ({"name": "烟台\x1b[31m科技"}, "line 2: name contains an escape character at character 3"),
    ({"district": "370602\x00"}, "line 2: district contains a NUL byte at character 7"),
    ({"kind": "enterprise" * 1000}, "line 2: kind is 10000 characters long; at most 16 are stored"),
    ({"uscc": "9" * 10_000}, "line 2: uscc is 10000 characters long; at most 18 are stored"),
])
def test_an_applicant_cell_that_cannot_be_stored_is_refused_by_line(
        cli: Any, db: Db, tmp_path: Path, change: dict[str, str], fragment: str) -> None:
    path = write(tmp_path, "applicants.csv", csv_text(HEAD.split(","), applicant_row(an_applicant(), **change)))
    before = db.snapshot()
    message = refused(cli("applicant", "import", path, "--as", "admin"))
    assert fragment in message
    assert len(message) < 600  # named by its length, not echoed whole
    assert db.snapshot() == before


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_an_applicant_name_starting_like_a_formula_is_refused_at_import(
        cli: Any, db: Db, tmp_path: Path, prefix: str) -> None:
    # The name becomes the payee of bank files another system opens as a spreadsheet.
    row = applicant_row(an_applicant(), name=f"{prefix}HYPERLINK(\"http://x\")烟台公司")
    path = write(tmp_path, "applicants.csv", csv_text(HEAD.split(","), row))
    before = db.snapshot()
    message = refused(cli("applicant", "import", path, "--as", "admin"))
    if prefix in "\t\r":
        assert "line 2: name contains a " + ("tab" if prefix == "\t" else "carriage return") + " at character 1" \
            in message
    else:
        assert f"line 2: name '{prefix}HYPERLINK" in message and f"starts with '{prefix}'" in message
        assert "CSV injection" in message
    assert db.snapshot() == before


def test_an_applicant_file_with_a_cell_over_the_csv_field_limit_is_refused_by_line(
        cli: Any, db: Db, tmp_path: Path) -> None:
    a, b = an_applicant(3), an_applicant(4)
    body = csv_text(HEAD.split(","), applicant_row(a)) + f'"{"x" * 200_000}",{b.uscc},enterprise,370602,true,false\n'
    path = write(tmp_path, "applicants.csv", body)
    before = db.snapshot()
    message = refused(cli("applicant", "import", path, "--as", "admin"))
    assert "line 3: cannot read this line as CSV: a cell is longer than 131,072 characters" in message
    assert db.snapshot() == before


def test_an_applicant_key_no_applicant_can_have_is_not_found_without_a_query(db: Db) -> None:
    before = db.snapshot()
    for key in ("9137\x00", "1" * 10_000):
        with pytest.raises(NotFound, match="not found") as caught, unit_of_work(db.engine) as s:
            applicants_svc.get_applicant(s, key)
        assert len(str(caught.value)) < 200
    assert db.snapshot() == before


# --- applications: import, apply, resubmit -----------------------------------------------------------------

APP_HEAD = ["applicant_uscc", "certificate_no", "certification_date", "certification_body"]


@pytest.fixture
def registered(db: Db) -> synthetic.SynthApplicant:
    a = an_applicant()
    with unit_of_work(db.engine) as s:
        applicants_svc.import_applicants(s, "admin", csv_text(HEAD.split(","), applicant_row(a)).encode(), "a.csv")
    return a


@pytest.mark.parametrize(("cells", "fragment"), [
    ({"certification_body": "中" * 5_000}, "line 2: certification_body is 5000 characters long; at most 200"),
    ({"certificate_no": "C" * 100}, "line 2: certificate_no is 100 characters long; at most 64 are stored"),
    ({"certificate_no": "18621IP\x00001"}, "line 2: certificate_no contains a NUL byte at character 8"),
    ({"certification_body": "中知\x7f认证"}, "line 2: certification_body contains a DEL character at character 3"),
    ({"applicant_uscc": "91370602\x00"}, "line 2: applicant_uscc contains a NUL byte at character 9"),
    ({"applicant_uscc": "9" * 10_000}, "line 2: applicant_uscc is 10000 characters long; at most 18"),
])
def test_an_application_cell_that_cannot_be_stored_is_refused_by_line(
        cli: Any, db: Db, tmp_path: Path, registered: synthetic.SynthApplicant, cells: dict[str, str],
        fragment: str) -> None:
    row = {"applicant_uscc": registered.uscc, "certificate_no": "18621IP0001", "certification_date": "2021-01-10",
           "certification_body": "中知（北京）认证有限公司", **cells}
    path = write(tmp_path, "apps.csv", csv_text(APP_HEAD, [row[c] for c in APP_HEAD]))
    before = db.snapshot()
    message = refused(cli("application", "import", path, "--scheme", SCHEME, "--as", "admin"))
    assert fragment in message
    assert len(message) < 600
    assert db.snapshot() == before


def test_an_application_file_with_a_cell_over_the_csv_field_limit_is_refused_by_line(
        cli: Any, db: Db, tmp_path: Path, registered: synthetic.SynthApplicant) -> None:
    body = csv_text(APP_HEAD, [registered.uscc, "18621IP0001", "2021-01-10", "中知"]) + \
        f'{registered.uscc},18621IP0002,2021-01-10,"{"y" * 140_000}\n'
    path = write(tmp_path, "apps.csv", body)
    before = db.snapshot()
    message = refused(cli("application", "import", path, "--scheme", SCHEME, "--as", "admin"))
    assert "line 3: cannot read this line as CSV: a cell is longer than 131,072 characters" in message
    assert db.snapshot() == before


def test_apply_with_a_certification_body_longer_than_stored_is_refused_naming_the_field(
        cli: Any, db: Db, registered: synthetic.SynthApplicant) -> None:
    before = db.snapshot()
    message = refused(cli("apply", SCHEME, "--field", "certificate_no=18621IP0001", "--field", "certification_date=2021-01-10",
                          "--field", "certification_body=" + "认" * 5_000, "--applicant", registered.uscc, "--as", "admin"))
    assert "application: 1 problem(s), nothing was written" in message
    assert "certification_body is 5000 characters long; at most 200 are stored" in message
    assert db.snapshot() == before


def test_resubmitting_with_a_nul_in_the_certificate_number_is_refused_naming_the_field(db: Db, cli: Any) -> None:
    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=1)
    r.advance()
    with unit_of_work(db.engine) as s:
        review.decide(s, "li.review", r.refs[0], "return", "证书复印件不清晰")
    assert r.status(r.refs[0]) == "returned"
    with unit_of_work(db.engine) as s:
        users.create_user(s, "admin", "applicant.user", ["applicant"], "applicant.user",
                          r.show(r.refs[0])["applicant"]["uscc"])
    before = db.snapshot()
    message = refused(cli("application", "resubmit", r.refs[0], "--field", "certificate_no=18621IP\x00", "--reason",
                          "补正", "--as", "applicant.user"))
    assert "resubmission: 1 problem(s), nothing was written" in message
    assert "certificate_no contains a NUL byte at character 8" in message
    assert db.snapshot() == before
    # and the service refuses a too-long body the same way
    with pytest.raises(ValidationFailed, match="certification_body is 300 characters long"), \
            unit_of_work(db.engine) as s:
        applications.resubmit(s, "applicant.user", r.refs[0], {"certification_body": "x" * 300}, "补正")
    assert db.snapshot() == before


# --- the budget plan and adjustments -----------------------------------------------------------------------

def plan_with(old: str, new: str) -> str:
    text_ = PLAN.read_text(encoding="utf-8")
    assert old in text_
    return text_.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ('name = "知识产权服务业集聚区建设"', f'name = "{"建" * 10_000}"',
     "line[1].name is 10000 characters long; at most 200 are stored"),
    ('reference = "市级财政配套资金"', 'reference = "市级财政\\u0000配套资金"',
     "receipt[2].reference contains a NUL byte at character 5"),
    ('reference = "市级财政配套资金"', f'reference = "{"资" * 300}"',
     "receipt[2].reference is 300 characters long; at most 200 are stored"),
    ('code = "cluster-zone-build"', f'code = "{"c" * 5_000}"',
     "line[1].code is 5000 characters long; at most 64 are stored"),
    ('tags = ["cluster_zone"]', 'tags = ["cluster_zone\\u001b"]',
     "line[1].tags[1] contains an escape character at character 13"),
    ('name = "知识产权服务业集聚区建设"', 'name = "集聚区\\n建设"',
     "line[1].name contains a line break at character 4; it must be one line"),
])
def test_plan_text_that_cannot_be_stored_is_refused_by_key_path(
        cli: Any, db: Db, tmp_path: Path, old: str, new: str, fragment: str) -> None:
    path = write(tmp_path, "plan.toml", plan_with(old, new))
    before = db.snapshot()
    message = refused(cli("budget", "plan", path, "--as", "admin"))
    assert "budget plan:" in message and fragment in message
    assert len(message) < 800
    assert db.snapshot() == before


@pytest.mark.parametrize(("content", "fragment"), [
    (PLAN.read_text(encoding="utf-8").encode("gbk", errors="replace"),
     "the file is not UTF-8 text (byte 0x"),
    (b"year = 2021\n\xff\xfe\x00\x01binary", "line 2 (byte 12): the file is not UTF-8 text (byte 0xFF"),
    (b"year = 2021\n[[receipt]]\nsource = = \"central\"\n", "line 3, column 10: not valid TOML"),
])
def test_a_plan_file_that_is_not_utf8_or_not_toml_is_refused_saying_where(
        cli: Any, db: Db, tmp_path: Path, content: bytes, fragment: str) -> None:
    path = write(tmp_path, "plan.toml", content)
    before = db.snapshot()
    message = refused(cli("budget", "plan", path, "--as", "admin"))
    assert f"{path}: 1 problem(s), nothing was written" in message
    assert fragment in message
    assert db.snapshot() == before


def test_a_gbk_plan_names_the_line_and_byte_of_the_first_non_utf8_byte(cli: Any, db: Db, tmp_path: Path) -> None:
    content = PLAN.read_bytes()
    at = content.index("中央".encode())  # the first Chinese text of the plan
    gbk = content[:at] + content[at:].decode("utf-8").encode("gbk", errors="replace")
    path = write(tmp_path, "plan.toml", gbk)
    before = db.snapshot()
    message = refused(cli("budget", "plan", path, "--as", "admin"))
    line = content[:at].count(b"\n") + 1
    assert f"line {line} (byte {at}): the file is not UTF-8 text" in message
    assert db.snapshot() == before


@pytest.mark.parametrize(("args", "fragment"), [
    (["--reason", "调整" * 2_500], "--reason is 5000 characters long; at most 400 are stored"),
    (["--reason", "调整\x00"], "--reason contains a NUL byte at character 3"),
    (["--reason", "ok", "--line", "certification-award\x00"], "--line contains a NUL byte at character 20"),
    (["--reason", "ok", "--line", "l" * 1_000], "--line is 1000 characters long; at most 64 are stored"),
])
def test_a_budget_adjustment_with_text_that_cannot_be_stored_is_refused_naming_the_option(
        cli: Any, db: Db, args: list[str], fragment: str) -> None:
    assert cli("budget", "plan", str(PLAN), "--as", "admin").exit_code == 0
    before = db.snapshot()
    opts = dict(zip(args[::2], args[1::2], strict=True))
    message = refused(cli("budget", "adjust", "--year", "2021", "--line", opts.get("--line", "certification-award"),
                          "--source", "municipal", "--delta-yuan", "1000.00", "--reason", opts["--reason"],
                          "--as", "admin"))
    assert "budget adjust: 1 problem(s), nothing was written" in message and fragment in message
    assert db.snapshot() == before


# --- score uploads ----------------------------------------------------------------------------------------

class Scoring:
    def __init__(self, db: Db) -> None:
        staff_and_plan(db.engine)
        self.round = applicants_and_applications(db.engine, n_apps=1)
        approve_all(self.round)
        set_clock("2021-04-15T01:00:00Z")
        case = self.round.show(self.round.refs[0])
        assert case["status"] == "evaluation"
        self.ref = case["ref"]
        self.uscc = case["applicant"]["uscc"]
        self.evaluator = case["assignments"][0]["evaluator"]
        with self.round.ro() as s:
            tpl = evaluation.template(s, self.evaluator, "csv").decode("utf-8-sig")
        self.rows = [line.split(",")[:2] for line in tpl.splitlines()[1:]]

    def csv(self, *extra: list[str], comment: str = "评价意见", first: dict[str, str] | None = None) -> str:
        rows = [[ref, crit, "80", comment] for ref, crit in self.rows]
        rows[0] = [{**dict(zip(["application_id", "criterion", "score", "comment"], rows[0], strict=True)),
                    **(first or {})}[c] for c in ("application_id", "criterion", "score", "comment")]
        return csv_text(["application_id", "criterion", "score", "comment"], *rows, *extra)


@pytest.fixture
def scoring(db: Db) -> Scoring:
    return Scoring(db)


def upload_refused_both_ways(cli: Any, db: Db, sc: Scoring, path: str) -> str:
    """--dry-run and the upload refuse the same file with the same message; nothing written."""
    before = db.snapshot()
    dry = refused(cli("scores", "upload", path, "--dry-run", "--as", sc.evaluator))
    real = refused(cli("scores", "upload", path, "--as", sc.evaluator))
    assert dry == real
    assert db.snapshot() == before
    return real


def test_a_valid_score_file_passes_the_dry_run_and_the_upload_alike(cli: Any, db: Db, tmp_path: Path,
                                                                   scoring: Scoring) -> None:
    # The control run for the refusals below: the same file without the bad cell is accepted.
    path = write(tmp_path, "scores.csv", scoring.csv())
    before = db.snapshot()
    assert cli("scores", "upload", path, "--dry-run", "--as", scoring.evaluator).exit_code == 0
    assert db.snapshot() == before
    assert cli("scores", "upload", path, "--as", scoring.evaluator).exit_code == 0
    assert db.snapshot() != before


@pytest.mark.parametrize(("kind", "fragment"), [
    ("long comment", "line 2: comment is 5000 characters long; at most 1000 are stored"),
    ("nul comment", "line 2: comment contains a NUL byte at character 3"),
    ("escape in id", "line 2: application_id contains an escape character at character 3"),
    ("long criterion", "line 2: criterion is 100 characters long; at most 64 are stored"),
    ("long id", "line 2: application_id is 40 characters long; at most 32 are stored"),
])
def test_a_score_cell_that_cannot_be_stored_is_refused_by_line(
        cli: Any, db: Db, tmp_path: Path, scoring: Scoring, kind: str, fragment: str) -> None:
    first = {"long comment": {"comment": "评" * 5_000}, "nul comment": {"comment": "评价\x00意见"},
             "escape in id": {"application_id": "CA\x1b-2021"}, "long criterion": {"criterion": "k" * 100},
             "long id": {"application_id": "C" * 40}}[kind]
    path = write(tmp_path, "scores.csv", scoring.csv(first=first))
    message = upload_refused_both_ways(cli, db, scoring, path)
    assert fragment in message
    assert len(message) < 1000


def test_a_score_csv_with_a_cell_over_the_csv_field_limit_is_refused_by_line(
        cli: Any, db: Db, tmp_path: Path, scoring: Scoring) -> None:
    body = scoring.csv() + f'{scoring.ref},{scoring.rows[0][1]},80,"{"z" * 140_000}\n'
    path = write(tmp_path, "scores.csv", body)
    message = upload_refused_both_ways(cli, db, scoring, path)
    line = len(scoring.rows) + 2
    assert f"line {line}: cannot read this line as CSV: a cell is longer than 131,072 characters" in message


def test_an_xlsx_score_file_with_data_on_a_second_sheet_is_refused_naming_the_sheets(
        cli: Any, db: Db, tmp_path: Path, scoring: Scoring) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "scores"
    for row in csv.reader(io.StringIO(scoring.csv())):
        ws.append(row)
    wb.create_sheet("第二页").append([scoring.ref, scoring.rows[0][1], "95", "真正的评分"])
    buf = io.BytesIO()
    wb.save(buf)
    path = write(tmp_path, "scores.xlsx", buf.getvalue())
    message = upload_refused_both_ways(cli, db, scoring, path)
    assert 'file: the workbook has data on 2 sheets ("scores", "第二页")' in message


def test_a_duplicate_score_row_whose_reference_differs_only_in_case_is_refused_by_the_dry_run_too(
        cli: Any, db: Db, tmp_path: Path, scoring: Scoring) -> None:
    ref, crit = scoring.rows[0]
    path = write(tmp_path, "scores.csv", scoring.csv([ref.lower(), crit, "90", "重复"]))
    message = upload_refused_both_ways(cli, db, scoring, path)
    line = len(scoring.rows) + 2
    assert (f"line {line}: duplicate of line 2 (same application_id and criterion, ids compared ignoring case: "
            f"'{ref}' and '{ref.lower()}'); keep only one of the two lines") in message
    assert "UNIQUE" not in message and "IntegrityError" not in message


@pytest.mark.parametrize(("reason", "fragment"), [
    ("曾为该单位提供咨询" * 500, "--reason is 4500 characters long; at most 400 are stored"),
    ("曾为该单位\x00提供咨询", "--reason contains a NUL byte at character 6"),
])
def test_a_conflict_declared_with_a_reason_that_cannot_be_stored_is_refused(
        cli: Any, db: Db, scoring: Scoring, reason: str, fragment: str) -> None:
    before = db.snapshot()
    message = refused(cli("evaluator", "declare-conflict", scoring.uscc, "--reason", reason, "--as",
                          scoring.evaluator))
    assert "declare-conflict: 1 problem(s), nothing was written" in message and fragment in message
    assert db.snapshot() == before


def test_a_conflict_declared_with_a_nul_in_the_credit_code_is_not_found(cli: Any, db: Db, scoring: Scoring) -> None:
    before = db.snapshot()
    message = refused(cli("evaluator", "declare-conflict", scoring.uscc + "\x00", "--reason", "咨询", "--as",
                          scoring.evaluator))
    assert "not found (give the credit code or id" in message
    assert db.snapshot() == before


# --- 9. the database cannot be reached ----------------------------------------------------------------------

SECRET = "s3cret-Pw"
BAD_URLS = [
    (f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5499/x",
     "cannot connect to the database at postgresql+psycopg://postgres:***@127.0.0.1:5499/x: connection "
     "refused; is PostgreSQL running on that host and port? check IPFUND_DATABASE_URL"),
    ("not-a-url", "IPFUND_DATABASE_URL 'not-a-url' is not a database URL ipfund can use:"),
    ("sqlite:////nonexistent/dir/x.db",
     "cannot open the SQLite database at sqlite:////nonexistent/dir/x.db: the folder /nonexistent/dir does "
     "not exist; create it (mkdir -p /nonexistent/dir)"),
]


@pytest.mark.parametrize("command", [["user", "list"], ["review", "queue", "--as", "li.review"],
                                     ["review", "next", "--as", "li.review"]],
                         ids=["typer", "fast-queue", "fast-next"])
@pytest.mark.parametrize(("url", "fragment"), BAD_URLS, ids=["refused", "malformed", "missing-folder"])
def test_a_database_that_cannot_be_reached_is_one_line_saying_what_and_how_to_fix_it(
        db: Db, command: list[str], url: str, fragment: str) -> None:
    before = db.snapshot()
    env = {**os.environ, "IPFUND_DATABASE_URL": url, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}
    r = subprocess.run([sys.executable, "-m", "flows.cli.main", *command], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert SECRET not in r.stderr
    assert db.snapshot() == before


# --- 11. dossier verify on a file that is not a PDF ---------------------------------------------------------

@pytest.mark.parametrize(("content", "fragment"), [
    (b"hello, not a pdf\n", "is not a PDF (it starts with b'hello, not a pdf')"),
    (b"%PDF-1.4 garbage", "cannot tell which dossier this file is"),
])
def test_dossier_verify_on_a_file_that_is_not_a_dossier_says_so_in_one_line_and_pypdf_stays_quiet(
        cli: Any, db: Db, tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, fragment: str) -> None:
    import logging

    path = write(tmp_path, "x.pdf", content)
    before = db.snapshot()
    with caplog.at_level(logging.DEBUG):
        r = cli("dossier", "verify", path, "--as", "admin")
    message = refused(r)
    assert fragment in message
    if not content.startswith(b"%PDF"):
        assert message.startswith(f"error: {path} is not a PDF")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert [rec.getMessage() for rec in caplog.records if rec.name.startswith("pypdf")] == []
    assert db.snapshot() == before
