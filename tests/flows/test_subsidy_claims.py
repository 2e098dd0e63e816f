"""The interest-subsidy claim workflow end to end (二(三)7): claim → intake with the subsidy's trace → review →
round (pro rata within the line) → notice → payment to the enterprise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from flows.pdf_render import pdf_text_pages
from flows.services import dossier
from models.uow import read_only
from tests.conftest import Db
from tests.loan_support import BANK_A, SME1, ok
from tests.subsidy_support import (
    SCHEME,
    advance,
    end_notice,
    interest,
    pay_all,
    register,
    setup_claims,
)
from tests.support import set_clock


def test_a_claim_runs_from_intake_to_payment_with_its_trace(cli: Any, db: Db, tmp_path: Path) -> None:
    setup_claims(cli, tmp_path)
    register(cli, "L-001")
    interest(cli, "L-001", "R-001", "2021-01-10", "2021-07-10", "18,000.00")
    set_clock("2021-07-15T01:00:00Z")
    ok(cli("subsidy", "claim", "L-001", "--bank", BANK_A, "--from", "2021-01-10", "--to", "2021-07-09", "--as", "haituo"))
    advance()
    case = json.loads(ok(cli("application", "list", "--scheme", SCHEME, "--json", "--as", "admin")))
    assert [c["status"] for c in case] == ["formal_review"], case
    ref = case[0]["ref"]
    trace = json.loads(db.scalar("SELECT trace FROM intake_check WHERE \"check\" = 'interest_subsidy'"))
    assert trace[-1]["what"] == "subsidy" and trace[-1]["value"] == "¥3,620.00", trace
    ok(cli("review", "decide", ref, "--approve", "--reason", "齐全", "--as", "li"))
    set_clock("2021-08-01T01:00:00Z")
    ok(cli("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    end_notice()
    advance()
    pay_all(cli, tmp_path)
    shown = json.loads(ok(cli("application", "show", ref, "--json", "--as", "admin")))
    assert shown["status"] == "paid" and shown["award_fen"] == 362000, shown
    assert db.scalar("SELECT count(*) FROM applicant WHERE uscc = :u", u=SME1) == 1
    listed = json.loads(ok(cli("subsidy", "list", "--json", "--as", "haituo")))
    assert [(c["ref"], c["computed"], c["award_fen"]) for c in listed] == [(ref, "¥3,620.00", 362000)], listed
    # The case dossier prints the computation: each step, its parameter, clause and the date it took effect.
    pdf = tmp_path / "claim.pdf"
    ok(cli("dossier", "case", ref, "--out", str(pdf), "--as", "sun"))
    with read_only(db.engine) as s:
        html = dossier.render_html(dossier.build_case(s, ref))
    assert "one-year LPR of 2021-12" in html and "rates.lpr_1y" in html and "bound by formula" in html
    assert "one-year LPR of 2021-12" in " ".join(" ".join(pdf_text_pages(pdf.read_bytes())).split())
    name = f"{SCHEME}: awards within the rules on the linked record"
    checks = {c["check"]: c for c in json.loads(ok(cli("check", "--json")))["checks"]}
    assert checks[name]["ok"], checks
    # Written around the services: a subsidy above what the rules give on the loan is caught by `ipfund check`.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE application SET award_fen = 362001 WHERE ref = :r"), {"r": ref})
    r = cli("check", "--json")
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert not checks[name]["ok"] and "362001 fen > 362000 fen" in checks[name]["detail"], checks[name]


def test_a_claim_filed_by_another_banks_staff_is_caught_by_the_checker(cli: Any, db: Db, tmp_path: Path) -> None:
    setup_claims(cli, tmp_path)
    register(cli, "L-001")
    set_clock("2021-07-15T01:00:00Z")
    out = ok(cli("subsidy", "claim", "L-001", "--bank", BANK_A, "--from", "2021-01-10", "--to", "2021-07-09",
                 "--for-borrower", "--as", "zhao"))
    ref = out.split()[1]
    name = "loan acts by their bank's staff"
    checks = {c["check"]: c for c in json.loads(ok(cli("check", "--json")))["checks"]}
    assert checks[name]["ok"] and "registry acts" in checks[name]["detail"], checks[name]
    with db.engine.begin() as conn:  # written around the services: filed by the other bank's staff
        conn.execute(text("UPDATE application SET submitted_by = 'qian' WHERE ref = :r"), {"r": ref})
    checks = {c["check"]: c for c in json.loads(cli("check", "--json").stdout)["checks"]}
    assert not checks[name]["ok"] and "loan.claim for bank" in checks[name]["detail"], checks[name]
