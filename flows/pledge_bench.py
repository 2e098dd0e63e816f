"""`ipfund bench --scheme pledge-interest-subsidy --loans N`: a year of IP-pledge financing (二(三)7–8) at scale,
through the real services and the `advance` flow, with the other benches' table (flows/bench.py) and the
plain-Core baseline ratio (flows/voucher_bench.py: the same rows written by plain SQLAlchemy Core).

The year: three banks (a loan officer each) register N loans by import (files of 10,000 lines), drawn down
in January and February 2021 for a year; 1 % of them are filed into the risk-compensation pool, whose fund
sources contribute first; the banks import a year of monthly interest receipts (12 per loan); the filed
loans default at maturity and go through the pool (claim, a reviewer's decision, finance's payment, within
the per-loan cap and the balance); the borrowers' interest-subsidy claims (贴息, 先付后贴) for the year are
imported, the `advance` flow's intake checks each on the registry and computes its subsidy with its trace,
the reviewer's decision sheet approves them (review.decide_batch, 10,000 a unit of work), the approver
finalizes the 2022 round, 公示 ends, finance releases, the `advance` flow's payment stage writes the bank
file, the bank confirms every payment, and the invariant check runs. Every act appends its audit events as
outside the bench. The harness's own work (generating files) is measured and not counted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import time
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from flows.bench import Bench, _count_rows, fresh_bench_db, print_table
from flows.cli.common import console
from flows.voucher_bench import Ctx, Step, bank_ack, baseline_copy_seconds, check
from rules.money import fen_to_yuan_str
from rules.uscc import make_uscc

SCHEME = "pledge-interest-subsidy"
YEAR = 2022  # the round's fiscal year: the claims are for the interest paid in the year after drawdown
DRAWN = 2021
FILE_LINES = 10_000
RECEIPT_FILE_LINES = 60_000
BANKS = [("370602", 9301, "中国银行烟台分行", "standard"), ("370611", 9302, "烟台农村商业银行", "assessed"),
         ("370613", 9303, "恒丰银行烟台分行", "standard")]
REVIEWER, APPROVER, FINANCE = "li.review", "wang.approve", "chen.finance"
RATES = ("0.0345", "0.0365", "0.0385", "0.0405", "0.0435")
DEFAULT_EVERY = 100  # 1 % of the loans default and go through the pool
PER_LOAN_LINE_FEN = 10_000_000  # the budget line holds ¥100,000 a loan (the subsidies are well below)


def _pin(day: str) -> None:
    os.environ["IPFUND_NOW"] = f"{day}T01:00:00Z"


def _csv(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _banks() -> list[tuple[str, str, str]]:
    return [(make_uscc(d, n), name, tier) for d, n, name, tier in BANKS]


def _loan(k: int) -> dict[str, Any]:
    """The k-th loan's terms (deterministic): ¥1,000,000–¥2,000,000 for a year, drawn between 4 January and
    28 February 2021, the pledge registered three days before; one in five insured (80 % cover)."""
    rng = random.Random(k)
    drawdown = dt.date(DRAWN, 1, 4) + dt.timedelta(days=k % 56)
    return {"k": k, "bank": k % len(BANKS), "ref": f"PB{k + 1:07d}", "principal": rng.randrange(100, 200) * 1_000_000,
            "rate": Decimal(rng.choice(RATES)), "drawdown": drawdown,
            "maturity": dt.date(drawdown.year + 1, drawdown.month, drawdown.day), "insured": k % 5 == 0}


def _plan(n: int) -> dict[str, Any]:
    """The 2022 plan whose interest-subsidy line holds ¥100,000 a loan (counting for both 40 % floors, local
    money 1.2 × central, 三(二))."""
    total = n * PER_LOAN_LINE_FEN
    central = -(-total * 10 // 22) // 100 * 100
    local = total - central
    return {"year": YEAR,
            "receipt": [{"source": "central", "amount_yuan": fen_to_yuan_str(central), "reference": "中央财政（bench）"},
                        {"source": "municipal", "amount_yuan": fen_to_yuan_str(local), "reference": "市级配套（bench）"}],
            "line": [{"code": SCHEME, "name": "知识产权质押融资贴息", "tags": ["cluster_zone", "market_oriented"],
                      "central_yuan": fen_to_yuan_str(central), "local_yuan": fen_to_yuan_str(local), "scheme": SCHEME}]}


# --- the steps ------------------------------------------------------------------------------------------

def setup(ctx: Ctx) -> int:
    from flows.services import budget, loans, pool, users
    from flows.services.setup import init
    from models.uow import unit_of_work

    _pin(f"{DRAWN}-01-02")
    with unit_of_work(ctx.engine) as s:
        init(ctx.engine, s, "admin", "yantai-2020")
        for name, role, org in ((REVIEWER, "reviewer", "烟台市市场监管局"), (APPROVER, "approver", "烟台市财政局"),
                                (FINANCE, "finance", "烟台市财政局国库科")):
            users.create_user(s, "admin", name, [role], name, org)
        budget.load_plan(s, "admin", _plan(ctx.n), "plan-bench.toml")
        for i, (code, name, tier) in enumerate(_banks()):
            loans.add_bank(s, "admin", code, name, tier)
            users.create_user(s, "admin", f"bank{i + 1}", ["bank"], f"{name} 信贷经理", code)
        filed = sum(_loan(k)["principal"] for k in range(0, ctx.n, DEFAULT_EVERY))
        pool.contribute(s, FINANCE, "central", fen_to_yuan_str(max(filed, 100)), "ZY-BENCH-0102", f"{DRAWN}-01-02")
    return 1


def borrower_import(ctx: Ctx) -> int:
    from flows import synthetic
    from flows.services import applicants
    from models.uow import unit_of_work

    people = ctx.harness(lambda: [replace(a, kind="enterprise", sme=True) for a in synthetic.applicants(ctx.n, DRAWN)])
    ctx.refs = [(a.uscc, 0, "") for a in people]  # the borrowers, by loan number
    content = ctx.harness(lambda: synthetic.applicants_csv(people))
    with unit_of_work(ctx.engine) as s:
        return applicants.import_applicants(s, "admin", content, "borrowers.csv")


def loan_import(ctx: Ctx) -> int:
    from flows.services import loans

    _pin(f"{DRAWN}-03-01")
    codes = [c for c, _n, _t in _banks()]
    done = 0
    for b in range(len(BANKS)):
        mine = [k for k in range(ctx.n) if k % len(BANKS) == b]
        for start in range(0, len(mine), FILE_LINES):
            def make(part: list[int] = mine[start:start + FILE_LINES]) -> bytes:
                rows = []
                for k in part:
                    x = _loan(k)
                    rows.append([codes[x["bank"]], x["ref"], ctx.refs[k][0], fen_to_yuan_str(x["principal"]), f"{x['rate'] * 100}%",
                                 x["drawdown"].isoformat(), x["maturity"].isoformat(), f"ZL2020{10000000 + k}.{k % 10}",
                                 f"Y{DRAWN}370{k + 1:07d}", (x["drawdown"] - dt.timedelta(days=3)).isoformat(), "",
                                 "insurance" if x["insured"] else "", "人保财险烟台分公司" if x["insured"] else "",
                                 "80%" if x["insured"] else "", ""])
                return _csv(loans.LOAN_COLUMNS, rows)

            content = ctx.harness(make)
            done += loans.import_loans(f"bank{b + 1}", content, f"loans-bank{b + 1}-{start // FILE_LINES + 1}.csv",
                                       engine=ctx.engine)["registered"]
    return done


def pool_filing(ctx: Ctx) -> int:
    """Each bank's staff file 1 % of their loans into the pool (within the leverage ceiling)."""
    from flows.services import pool
    from models.uow import unit_of_work

    _pin(f"{DRAWN}-03-02")
    with unit_of_work(ctx.engine) as s:
        for k in range(0, ctx.n, DEFAULT_EVERY):
            x = _loan(k)
            pool.file_loan(s, f"bank{x['bank'] + 1}", x["ref"], on=f"{DRAWN}-03-02")
    return len(range(0, ctx.n, DEFAULT_EVERY))


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Twelve monthly interest periods of a one-year loan (算头不算尾), the last ending at maturity."""
    out, a = [], start
    for m in range(1, 13):
        y, mo = start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1
        b = end if m == 12 else dt.date(y, mo, min(start.day, 28))
        out.append((a, b))
        a = b
    return out


def interest_import(ctx: Ctx) -> int:
    from flows.services import loans
    from rules.schemes.pledge_interest_subsidy import Loan, interest_allowed_fen

    _pin(f"{YEAR}-03-01")
    codes = [c for c, _n, _t in _banks()]
    done = 0
    for b in range(len(BANKS)):
        mine = [k for k in range(ctx.n) if k % len(BANKS) == b]
        per = RECEIPT_FILE_LINES // 12
        for start in range(0, len(mine), per):
            def make(part: list[int] = mine[start:start + per]) -> bytes:
                rows = []
                for k in part:
                    x = _loan(k)
                    loan = Loan(x["ref"], ctx.refs[k][0], x["principal"], x["rate"], x["drawdown"], x["maturity"],
                                Fraction(1))
                    for m, (a, z) in enumerate(_months(x["drawdown"], x["maturity"])):
                        rows.append([codes[x["bank"]], x["ref"], f"R-{x['ref']}-{m + 1:02d}", "normal", a.isoformat(),
                                     z.isoformat(), fen_to_yuan_str(interest_allowed_fen(loan, a, z, 360) - 1)])
                return _csv(loans.RECEIPT_COLUMNS, rows)

            content = ctx.harness(make)
            done += loans.import_receipts(f"bank{b + 1}", content, f"interest-bank{b + 1}-{start // per + 1}.csv",
                                          engine=ctx.engine)["recorded"]
    return done


def pool_defaults(ctx: Ctx) -> int:
    """The filed loans default at maturity (principal unpaid): the bank claims, a reviewer decides, finance
    pays the pool's part (within the per-loan cap and the balance) — one unit of work per claim, as at the
    desk."""
    from flows.services import pool
    from models.uow import unit_of_work

    _pin(f"{YEAR}-03-02")
    done = 0
    for k in range(0, ctx.n, DEFAULT_EVERY):
        x = _loan(k)
        with unit_of_work(ctx.engine) as s:
            c = pool.claim(s, f"bank{x['bank'] + 1}", x["ref"], f"{YEAR}-03-01", on=f"{YEAR}-03-02")
            pool.decide(s, REVIEWER, c.ref, "approve", "到期未还，质押专利已启动处置")
            pool.pay(s, FINANCE, c.ref)
        done += 1
    return done


CLAIM_COLUMNS = ["applicant_uscc", "bank", "loan_ref", "period_from", "period_to", "other_subsidy"]


def claim_import(ctx: Ctx) -> int:
    from flows.services import applications
    from models.uow import unit_of_work

    _pin(f"{YEAR}-03-10")
    codes = [c for c, _n, _t in _banks()]
    done = 0
    for start in range(0, ctx.n, FILE_LINES):
        def make(part: range = range(start, min(ctx.n, start + FILE_LINES))) -> bytes:
            rows = []
            for k in part:
                x = _loan(k)
                rows.append([ctx.refs[k][0], codes[x["bank"]], x["ref"], x["drawdown"].isoformat(),
                             (x["maturity"] - dt.timedelta(days=1)).isoformat(), "no"])
            return _csv(CLAIM_COLUMNS, rows)

        content = ctx.harness(make)
        with unit_of_work(ctx.engine) as s:
            done += len(applications.import_applications(s, "admin", SCHEME, content,
                                                         f"subsidy-claims-{start // FILE_LINES + 1}.csv"))
    return done


def intake(ctx: Ctx) -> int:
    from flows.prefect_flows import advance_flow

    return int(advance_flow(scheme=SCHEME, chunk=ctx.chunk)["intake"])


def review_sheet(ctx: Ctx) -> int:
    """The reviewer's decision sheet: every claim in formal review approved (review.decide_batch, the same
    checks as one decision, FILE_LINES a unit of work)."""
    from sqlalchemy import text

    from flows.services import review
    from models.uow import unit_of_work

    _pin(f"{YEAR}-03-13")

    def refs() -> list[str]:
        with ctx.engine.connect() as c:
            return list(c.execute(text("SELECT ref FROM application WHERE scheme = :s AND status = 'formal_review' "
                                       "ORDER BY id"), {"s": SCHEME}).scalars())

    todo = ctx.harness(refs)
    done = 0
    for start in range(0, len(todo), FILE_LINES):
        with unit_of_work(ctx.engine) as s:
            done += review.decide_batch(s, REVIEWER, [(r, "approve", "贷款备案、付息凭证齐全")
                                                      for r in todo[start:start + FILE_LINES]])
    return done


def finalize(ctx: Ctx) -> int:
    from flows.services import rounds
    from models.uow import unit_of_work

    _pin(f"{YEAR}-03-20")
    with unit_of_work(ctx.engine) as s:
        r = rounds.finalize(s, APPROVER, SCHEME, YEAR)
    ctx.report["finalize"] = {k: r[k] for k in ("funded", "total_fen") if k in r}
    return int(r.get("funded", 0))


def notice_end(ctx: Ctx) -> int:
    from flows.prefect_flows import advance_flow

    _pin(f"{YEAR}-04-20")
    t = advance_flow(scheme=SCHEME, chunk=ctx.chunk)
    return int(t.get("notice", 0) or 0) if isinstance(t.get("notice"), int) else int(ctx.report["finalize"]["funded"])


def release(ctx: Ctx) -> int:
    from flows.services import payments
    from models.uow import unit_of_work

    with unit_of_work(ctx.engine) as s:
        return len(payments.release(s, FINANCE, SCHEME).released)


def pay(ctx: Ctx) -> int:
    import shutil

    from flows.prefect_flows import advance_flow

    out = ctx.workdir / "payments"
    shutil.rmtree(out, ignore_errors=True)
    t = advance_flow(scheme=SCHEME, chunk=ctx.chunk, out_dir=str(out))
    ctx.paid.update(t.get("payment") or {})
    return int(ctx.paid.get("count", 0))


STEPS: list[Step] = [
    Step("set-up (staff, plan, 3 banks, pool fund)", setup),
    Step("borrower import", borrower_import),
    Step("loan import (3 banks)", loan_import),
    Step("pool filings (1 % of the loans)", pool_filing),
    Step("interest receipts import (12 a loan)", interest_import),
    Step("pool: 1 % default (claim, decide, pay)", pool_defaults),
    Step("subsidy claim import", claim_import),
    Step("advance flow: intake (subsidy + trace)", intake, flow=True),
    Step("reviewer's decision sheet", review_sheet),
    Step("finalize: the round", finalize),
    Step("advance flow: notice ends", notice_end, flow=True),
    Step("payment release (finance officer)", release),
    Step("advance flow: payment", pay, flow=True),
    Step("bank acknowledgement", bank_ack),
    Step("invariant check", check),
]


def run_pledge_bench(n: int, workdir: Path, chunk: int = 1000, steps: list[Step] | None = None) -> dict[str, Any]:
    from flows.voucher_bench import start_prefect, summarize

    db = fresh_bench_db(workdir)
    from models.db import get_engine

    get_engine.cache_clear()
    ctx = Ctx(Bench(n), n, workdir, chunk, engine=get_engine())
    console.print(f"[bold]ipfund bench[/] --scheme {SCHEME}: {n:,} loans, SQLite {db}")
    api_start = start_prefect()
    round_t0 = time.perf_counter()
    for step in steps or STEPS:
        ctx.bench.run(step.name, lambda step=step: step.run(ctx), flow=step.flow)  # type: ignore[misc]
    round_seconds = time.perf_counter() - round_t0 - ctx.bench.excluded_total_seconds
    counts = _count_rows(ctx.engine)
    ctx.engine.dispose()
    console.print("  baseline: plain SQLAlchemy Core writing the same rows ...")
    base = baseline_copy_seconds(db, workdir)
    print_table(ctx.bench.stages, f"ipfund bench --scheme {SCHEME} — {n:,} loans, {12 * n:,} interest receipts "
                f"(SQLite, {os.cpu_count()} cores)", round_seconds, sum(counts.values()))
    return summarize(ctx, SCHEME, {"loans": n, "interest_receipts": counts.get("loan_receipt", 0),
                                   "pool_claims": counts.get("pool_claim", 0)},
                     round_seconds, counts, base, api_start, {"paid": counts.get("payment", 0),
                                                              **ctx.report.get("finalize", {})})
