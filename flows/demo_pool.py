"""The demo's risk-compensation pool (风险补偿资金池, 二(三)7): three fund sources contribute, three banks register
loans through the loan services and file them into the pool, two loans default and are paid provisionally,
one is settled after the pledged patents are sold, and a third claim is paid only to what the pool holds
(以其余额为限). Every act goes through the services (duties, audit, ledger); `ipfund check` holds after it.

``pool_step(engine, work)`` is self-contained: it adds the banks, their staff, the finance officer and the
reviewer it needs (when missing) and its own borrowers, so it runs on the demo's database or a fresh one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlmodel import select

from flows.cli.output import console
from flows.services import applicants, checker, loans, pool, users
from models.clock import pin
from models.loans import Bank
from models.tables import Applicant, User
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from rules.money import format_yuan
from rules.uscc import make_uscc

FINANCE = ("chen.finance", ["finance"], "陈财务", "烟台市财政局国库科")
REVIEWER = ("li.review", ["reviewer"], "李审核", "烟台市市场监管局（市知识产权局）")
BANKS = [  # credit code, name, tier, its staff member
    (make_uscc("370602", 9601), "中国银行烟台分行", "standard", "bank.boc"),
    (make_uscc("370611", 9602), "烟台农村商业银行", "assessed", "bank.rcb"),
    (make_uscc("370613", 9603), "中国建设银行烟台分行", "standard", "bank.ccb"),
]
BORROWERS = [(make_uscc("370602", 9701), "烟台海拓精密机械有限公司"), (make_uscc("370613", 9702), "莱山云帆软件有限公司"),
             (make_uscc("370611", 9703), "福山鲁东食品科技有限公司"), (make_uscc("370671", 9704), "烟台高新光电材料有限公司")]
CONTRIBUTIONS = [("central", "1,000,000", "ZY-2021-0105"), ("municipal", "1,000,000", "SZ-2021-0105"),
                 ("district", "500,000", "GX-2021-0105")]
# (bank index, loan reference, borrower index, principal in yuan); the first three default later
LOANS = [(0, "BOC-2021-001", 0, "2,000,000"), (1, "RCB-2021-001", 1, "3,000,000"), (2, "CCB-2021-001", 2, "2,500,000"),
         *[(b, f"{('BOC', 'RCB', 'CCB')[b]}-2021-{k:03d}", (b + k) % 4, f"{1_000_000 + 250_000 * k:,}")
           for b in range(3) for k in range(2, 5)]]


def _ensure_user(s: Any, name: str, roles: list[str], display: str, org: str) -> None:
    if s.exec(select(User).where(User.name == name)).first() is None:
        users.add_user(s, "admin", name, roles, display, org)


def _setup(engine: Any) -> None:
    with unit_of_work(engine) as s:
        for name, roles, display, org in (FINANCE, REVIEWER):
            _ensure_user(s, name, roles, display, org)
        for code, name, tier, staff in BANKS:
            if s.exec(select(Bank).where(Bank.uscc == code)).first() is None:
                loans.add_bank(s, "admin", code, name, tier)
            _ensure_user(s, staff, ["bank"], staff, code)
        missing = [(c, n) for c, n in BORROWERS if s.exec(select(Applicant).where(Applicant.uscc == c)).first() is None]
        if missing:
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            w.writerow(["name", "uscc", "kind", "district", "sme", "whitelist", "bank_name", "bank_account"])
            w.writerows([n, c, "enterprise", c[2:8], "true", "false", "", ""] for c, n in missing)
            applicants.import_applicants(s, "admin", out.getvalue().encode("utf-8"), "pool-borrowers.csv")


def _loan_row(bank: str, ref: str, borrower: str, principal: str) -> dict[str, str]:
    return {"bank": bank, "ref": ref, "borrower": borrower, "principal": principal, "rate": "3.85%",
            "drawdown": "2021-01-20", "maturity": "2022-01-20", "pledged_ip": "ZL202010123456.7",
            "pledge_reg_no": f"Y2021370{ref[-7:].replace('-', '')}", "pledge_reg_date": "2021-01-15", "ip_share": "",
            "cover_kind": "", "cover_party": "", "cover_share": "", "first_loan": ""}


def _claim_and_pay(engine: Any, staff: str, ref: str, defaulted: str, on: str) -> dict[str, Any]:
    with unit_of_work(engine) as s:
        c = pool.claim(s, staff, ref, defaulted, on=on)
        pool.decide(s, REVIEWER[0], c.ref, "approve", "逾期90天以上，质押专利已启动处置")
        claim_ref = c.ref
    with unit_of_work(engine) as s:
        paid = pool.pay(s, FINANCE[0], claim_ref)
        out: dict[str, Any] = {"ref": paid.ref, "loss_fen": paid.loss_fen, "paid_fen": paid.paid_fen or 0, "bound": paid.bound,
               "balance_fen": pool.balance(s)}
    console.print(f"  {ref} defaulted {defaulted}, claimed {on}: loss {format_yuan(out['loss_fen'])}, the pool pays "
                  f"{format_yuan(out['paid_fen'])} (bound by {out['bound']}) → holds {format_yuan(out['balance_fen'])}",
                  highlight=False)
    return out


def pool_step(engine: Any, work: Path) -> None:
    """Contributions, filings, 2 defaults with provisional compensation (one settled after disposal), and one
    claim capped by the pool balance; then the pool's status and invariants."""
    work.mkdir(parents=True, exist_ok=True)
    pin("2021-01-05T01:00:00Z")
    _setup(engine)
    with unit_of_work(engine) as s:
        for source, amount, ref in CONTRIBUTIONS:
            pool.contribute(s, FINANCE[0], source, amount, ref, "2021-01-05")
        held = pool.balance(s)
    console.print(f"  contributions: central ¥1,000,000, municipal ¥1,000,000, park (district) ¥500,000 → the pool "
                  f"holds {format_yuan(held)}", highlight=False)
    pin("2021-02-01T01:00:00Z")
    with unit_of_work(engine) as s:
        for b, ref, who, principal in LOANS:
            code, _name, _tier, staff = BANKS[b]
            loans.register(s, staff, _loan_row(code, ref, BORROWERS[who][0], principal))
            pool.file_loan(s, staff, ref, on="2021-02-01")
        covered = pool.covered(s)
    console.print(f"  {len(LOANS)} loans of 3 banks registered and filed into the pool: {format_yuan(covered)} "
                  f"covered (≤ 10 × the balance)", highlight=False)
    pin("2021-09-10T01:00:00Z")
    first = _claim_and_pay(engine, BANKS[0][3], "BOC-2021-001", "2021-09-06", "2021-09-08")
    _claim_and_pay(engine, BANKS[1][3], "RCB-2021-001", "2021-09-06", "2021-09-09")
    with unit_of_work(engine) as s:
        loans.register(s, BANKS[0][3], _loan_row(BANKS[0][0], "BOC-2021-009", BORROWERS[3][0], "1,000,000"))
    try:
        with unit_of_work(engine) as s:
            pool.file_loan(s, BANKS[0][3], "BOC-2021-009", on="2021-09-10")
    except RuleViolation as exc:
        console.print(f"  [yellow]refused[/]: {str(exc).splitlines()[0]}", highlight=False, soft_wrap=True)
    pin("2021-11-15T01:00:00Z")
    with unit_of_work(engine) as s:
        c = pool.settle(s, FINANCE[0], first["ref"], "500,000", "CZ-2021-1115")
        back, held = c.pool_recovered_fen or 0, pool.balance(s)
    console.print(f"  {first['ref']} settled after the pledged patents were sold for ¥500,000: "
                  f"{format_yuan(back)} back to the pool (its 40 %) → holds {format_yuan(held)}", highlight=False)
    pin("2021-12-10T01:00:00Z")
    _claim_and_pay(engine, BANKS[2][3], "CCB-2021-001", "2021-12-06", "2021-12-08")
    with read_only(engine) as s:
        status = pool.status(s, "admin")
        report = checker.run(s)
    pool_checks = [c for c in report["checks"] if c["check"].startswith("pool")]
    console.print(f"  pool: contributed {format_yuan(status['contributed_fen'])} − compensated "
                  f"{format_yuan(status['compensated_fen'])} + recovered {format_yuan(status['recovered_fen'])} = "
                  f"{format_yuan(status['balance_fen'])}; loss rate {status['loss_rate']}; checks "
                  + ("[green]ok[/]" if all(c["ok"] for c in pool_checks) and report["ok"] else "[red]FAILED[/]"),
                  highlight=False)
