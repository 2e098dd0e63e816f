"""The demo year of IP-pledge financing (知识产权质押融资, 二(三)7–8): three banks register 150+ pledge loans and
a year of interest receipts, the borrowers claim the interest subsidy (贴息, 先付后贴), the intake checks each
claim on the registry and computes its subsidy with the trace, a reviewer checks the claims, the approver
finalizes the round within the budget line, 公示, and finance pays the enterprises.

:func:`pledge_year_step` runs on a database initialised like :func:`flows.demo.run_demo` (its staff and the
2021 plan) — in-process, through the services, like the demo's other steps. Among the loans: first loans
(首贷, decided by the registry), whitelisted borrowers (白名单, 二(三)8), loans covered by pledge insurance, a
combined loan with a 60 % IP share (组合贷), an extended loan (展期) whose claim on the extension is refused,
and a loan with overdue interest, trimmed from its claim.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from rich.table import Table

from flows import synthetic
from flows.cli.common import console, yuan
from flows.services import applicants as applicants_svc
from flows.services import applications, loans, payees, payments, review, rounds, users
from flows.services.advance import advance_plain
from models.clock import pin
from models.uow import read_only, unit_of_work
from rules.money import fen_to_yuan_str
from rules.schemes.pledge_interest_subsidy import Loan, interest_allowed_fen
from rules.uscc import make_uscc

SCHEME = "pledge-interest-subsidy"
FEE_SCHEME = "pledge-fee-subsidy"
YEAR = 2021
BANKS = [("370602", 9301, "中国银行烟台分行", "standard"), ("370611", 9302, "烟台农村商业银行", "assessed"),
         ("370613", 9303, "恒丰银行烟台分行", "standard")]
CLAIM_DAY = dt.date(YEAR, 9, 10)
PERIOD_END = dt.date(YEAR, 9, 1)  # interest receipted up to this day (exclusive) is claimed
REVIEWER, APPROVER, FINANCE = "li.review", "wang.approve", "chen.finance"


def _clock(day: dt.date) -> None:
    pin(f"{day.isoformat()}T01:00:00Z")


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Monthly interest periods from ``start`` up to ``end`` (the last one shorter), 算头不算尾."""
    out, a = [], start
    while a < end:
        b = dt.date(a.year + (a.month == 12), a.month % 12 + 1, min(a.day, 28))
        out.append((a, min(b, end)))
        a = min(b, end)
    return out


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def pledge_year_step(engine: Any, work: Path, *, flow: Callable[..., dict[str, Any]] | None = None,
                     n_loans: int = 156, seed: int = YEAR + 300) -> None:
    """The year of pledge loans and interest-subsidy claims (see the module). ``flow`` advances the scheme
    (default: the plain stages; the demo may pass its Prefect flow)."""
    advance = flow or (lambda: advance_plain(SCHEME, chunk=500, out_dir=str(work / "payments")))
    rng = random.Random(seed)
    _clock(dt.date(YEAR, 1, 4))
    banks = [(make_uscc(d, n), name, tier) for d, n, name, tier in BANKS]
    borrowers = [a for a in synthetic.applicants(160, seed) if a.sme][:70]
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(borrowers), "pledge-borrowers.csv")
        for i, (code, name, tier) in enumerate(banks):
            loans.add_bank(s, "admin", code, name, tier)
            users.create_user(s, "admin", f"bank{i + 1}", ["bank"], f"{name} 信贷经理", code)
    console.print(f"  3 banks ({', '.join(n for _, n, _ in banks)}) with a loan officer each; {len(borrowers)} SME "
                  f"borrowers ({sum(a.whitelist for a in borrowers)} whitelisted: 贯标 / 示范优势, 二(三)8)")

    # --- loans: each borrower's first loan is a 首贷 (the registry decides), some borrow twice -------------
    rows: dict[tuple[int, int], list[list[str]]] = {}  # (wave: the borrower's 1st, 2nd … loan, bank) -> rows
    facts: list[tuple[int, str, Loan]] = []
    special = {"combined": 3, "extended": 7, "overdue": 11}
    for k in range(n_loans):
        b = borrowers[k % len(borrowers)]
        bank = k % 3
        ref = f"PL{YEAR}{k + 1:04d}"
        principal = rng.randrange(50, 500) * 1_000_000  # ¥500,000 – ¥5,000,000
        rate = Decimal(rng.choice(["0.0345", "0.0365", "0.0385", "0.0405", "0.0435"]))
        wave = k // len(borrowers)
        drawdown = dt.date(YEAR, 1, 4) + dt.timedelta(days=(k % len(borrowers) * 3) % 60 + 60 * wave)
        maturity = dt.date(drawdown.year + 1, drawdown.month, drawdown.day)
        if k == special["extended"]:
            drawdown, maturity = dt.date(YEAR - 1, 7, 1), dt.date(YEAR, 7, 1)
        share = "60%" if k == special["combined"] else ""
        insured = k % 5 == 0
        rows.setdefault((wave, bank), []).append([banks[bank][0], ref, b.uscc, fen_to_yuan_str(principal), f"{rate * 100}%",
                           drawdown.isoformat(), maturity.isoformat(), f"ZL2020{10000000 + k}.{k % 10}",
                           f"Y{YEAR}370000{k + 1:05d}", (drawdown - dt.timedelta(days=3)).isoformat(), share,
                           "insurance" if insured else "", "人保财险烟台分公司" if insured else "",
                           "80%" if insured else "", ""])
        facts.append((bank, b.uscc, Loan(ref, b.uscc, principal, rate, drawdown, maturity,
                                         Fraction(3, 5) if share else Fraction(1))))
    for (wave, bank), part in sorted(rows.items()):  # a borrower's earlier loan is registered first (首贷)
        loans.import_loans(f"bank{bank + 1}", _csv(list(loans.LOAN_COLUMNS), part),
                           f"loans-bank{bank + 1}-{wave + 1}.csv", engine=engine)
    ext = facts[special["extended"]]
    _clock(dt.date(YEAR, 6, 25))
    with unit_of_work(engine) as s:
        loans.extend(s, f"bank{ext[0] + 1}", ext[2].ref, dt.date(YEAR, 12, 31).isoformat())
    with read_only(engine) as s:
        listed = loans.list_loans(s, "admin")
    first = sum(1 for r in listed if r.get("first_loan"))
    console.print(f"  {len(listed)} loans registered by import (each validated by line first): {first} first loans "
                  f"(首贷), {sum(1 for r in rows.values() for x in r if x[11])} insured (保证保险, 80 % cover), one "
                  f"combined loan with a 60 % IP share ({facts[special['combined']][2].ref}); "
                  f"{ext[2].ref} extended (展期) to {YEAR}-12-31")

    # --- a year of monthly interest receipts (what the rate allows, at most), one overdue ----------------
    basis = 360
    receipts: dict[int, list[list[str]]] = {0: [], 1: [], 2: []}
    for k, (bank, _uscc, loan) in enumerate(facts):
        last = min(PERIOD_END, dt.date(YEAR, 12, 31) if k == special["extended"] else loan.maturity)
        for n, (a, z) in enumerate(_months(max(loan.drawdown, dt.date(YEAR, 1, 1)), last)):
            amount = interest_allowed_fen(loan, a, z, basis) - 1
            receipts[bank].append([banks[bank][0], loan.ref, f"R-{loan.ref}-{n + 1:02d}", "normal", a.isoformat(),
                                   z.isoformat(), fen_to_yuan_str(amount)])
    ov = facts[special["overdue"]]
    receipts[ov[0]].append([banks[ov[0]][0], ov[2].ref, f"R-{ov[2].ref}-OD", "overdue", f"{YEAR}-05-01",
                            f"{YEAR}-06-01", "1,250.00"])
    _clock(PERIOD_END)
    for bank, part in receipts.items():
        loans.import_receipts(f"bank{bank + 1}", _csv(list(loans.RECEIPT_COLUMNS), part),
                              f"interest-bank{bank + 1}.csv", engine=engine)
    console.print(f"  {sum(len(r) for r in receipts.values())} interest receipts imported (monthly, each within what "
                  f"the rate allows at {basis} days a year); one overdue-interest receipt on {ov[2].ref}")

    # --- claims (先付后贴): one per loan for its interest paid this year ---------------------------------
    _clock(CLAIM_DAY)
    claim_rows = []
    for k, (bank, uscc, loan) in enumerate(facts):
        start = max(loan.drawdown, dt.date(YEAR, 1, 1))
        if k == special["extended"]:
            start = loan.maturity  # the extension only: 展期不贴息
        claim_rows.append({"applicant_uscc": uscc, "bank": banks[bank][0], "loan_ref": loan.ref,
                           "period_from": start.isoformat(),
                           "period_to": (PERIOD_END - dt.timedelta(days=1)).isoformat(), "other_subsidy": "no"})
    header = ["applicant_uscc", "bank", "loan_ref", "period_from", "period_to", "other_subsidy"]
    with unit_of_work(engine) as s:
        new = applications.import_applications(s, "admin", SCHEME, _csv(header, [[r[h] for h in header]
                                                                                 for r in claim_rows]),
                                                "subsidy-claims.csv")
    console.print(f"  {len(new)} claims (贴息申请) filed for the interest paid up to {PERIOD_END - dt.timedelta(days=1)}")
    advance()
    with read_only(engine) as s:
        cases = applications.list_apps(s, "admin", SCHEME, limit=100_000)
        refused = [c for c in cases if c["status"] == "rejected"]
        why = Counter(applications.show(s, "admin", c["ref"])["outcome_reason"].split(":")[0] for c in refused)
    console.print(f"  intake: {len(cases) - len(refused)} passed with their subsidy computed and traced, "
                  f"{len(refused)} refused ({', '.join(f'{k} ×{v}' for k, v in why.items()) or 'none'})")

    # --- review, round, notice, payment --------------------------------------------------------------
    _clock(CLAIM_DAY + dt.timedelta(days=3))
    with unit_of_work(engine) as s:
        n = review.decide_batch(s, REVIEWER, [(c["ref"], "approve", "贷款备案、付息凭证齐全")
                                              for c in cases if c["status"] == "formal_review"])
    _clock(CLAIM_DAY + dt.timedelta(days=10))
    with unit_of_work(engine) as s:
        final = rounds.finalize(s, APPROVER, SCHEME, YEAR)
    console.print(f"  {REVIEWER} approved {n} claims; {APPROVER} finalized the round: {final['funded']} subsidies, "
                  f"{yuan(final['total_fen'])} committed on line {SCHEME} ({final.get('issue_order', 'pro_rata')} "
                  "when the line is short; it was not)")
    _clock(CLAIM_DAY + dt.timedelta(days=20))
    advance()
    counts = _pay(engine, SCHEME, advance, "0930")
    with read_only(engine) as s:
        cases = applications.list_apps(s, "admin", SCHEME, limit=100_000)
    paid = [c for c in cases if c["status"] == "paid"]
    console.print(f"  {FINANCE} released them; the bank confirmed {counts['paid']} payments to the enterprises: "
                  f"{yuan(sum(c['award_fen'] or 0 for c in paid))}")
    t = Table("loan", "what it shows", "claim", "status", "subsidy")
    by_loan = {r["loan_ref"]: c for r, c in zip(claim_rows, sorted(cases, key=lambda c: c["ref"]), strict=True)}
    for label, k in (("60 % IP share (组合贷)", special["combined"]), ("展期: refused", special["extended"]),
                     ("overdue interest trimmed", special["overdue"]), ("a first loan", 0)):
        c = by_loan[facts[k][2].ref]
        t.add_row(facts[k][2].ref, label, c["ref"], c["status"], yuan(c["award_fen"]) if c["award_fen"] else "—")
    console.print(t)
    fee_claims_step(engine, work, [b for b, _, _ in banks], facts, rng)


def _pay(engine: Any, scheme: str, advance: Callable[[], dict[str, Any]], day: str) -> dict[str, int]:
    """Finance releases the scheme's payable cases, the payment stage writes the bank file, the bank confirms
    every line paid."""
    with unit_of_work(engine) as s:
        payments.release(s, FINANCE, scheme)
    totals = advance()
    files = (totals.get("payment") or {}).get("files") or []
    ack = io.StringIO()
    w = csv.writer(ack, lineterminator="\n")
    w.writerow(payments.CONFIRM_COLUMNS)
    for f in files:
        for i, row in enumerate(csv.DictReader(io.StringIO(Path(f).read_bytes().decode("utf-8-sig")))):
            w.writerow([row["idempotency_key"], "paid", f"BOC{YEAR}{day}{i:05d}", "", row["amount_fen"], row["payee"],
                        row["bank_account"]])
    with unit_of_work(engine) as s:
        counts: dict[str, int] = payments.confirm(s, FINANCE, ack.getvalue().encode("utf-8"), f"{scheme}-ack.csv")
    return counts


def fee_claims_step(engine: Any, work: Path, banks: list[str], facts: list[tuple[int, str, Loan]],
                    rng: random.Random) -> None:
    """服务费补贴 and 首贷 (二(三)7), scheme pledge-fee-subsidy, on the year's loans: evaluation and insurance fees
    (a share of the fee paid, within the loan share and the kind's yearly cap), a guarantee fee after full
    repayment (and one refused before it), 首贷 bonuses to the enterprises (the interest subsidy they hold deducted:
    从优从高不重复) and rewards to the banks, paid to the banks' own accounts; one bonus on a second loan refused."""
    def advance() -> dict[str, Any]:
        return advance_plain(FEE_SCHEME, chunk=500, out_dir=str(work / "payments"))

    _clock(dt.date(YEAR, 10, 8))
    with unit_of_work(engine) as s:
        for i, code in enumerate(banks):
            payees.set_bank_account(s, "admin", code, f"{BANKS[i][2]}营业部", f"621700000000{9301 + i:04d}",
                                    "where the bank's 首贷 rewards are paid")
    with read_only(engine) as s:
        first = {r["ref"] for r in loans.list_loans(s, "admin") if r.get("first_loan")}
    repaid = facts[20]  # its guarantee fee is claimed after full repayment; facts[21]'s before it (refused)
    with unit_of_work(engine) as s:
        loans.record_repayment(s, f"bank{repaid[0] + 1}", repaid[2].ref, f"P-{repaid[2].ref}", f"{YEAR}-10-08",
                               fen_to_yuan_str(repaid[2].principal_fen))
    rows: list[list[str]] = []
    for k, (bank, uscc, loan) in enumerate(facts[:24]):
        fee = loan.principal_fen * rng.randrange(3, 12) // 1000  # 0.3 % – 1.1 % of the loan
        kind = "guarantee" if k in (20, 21) else "insurance" if k % 5 == 0 else "evaluation"
        rows.append([uscc, banks[bank], loan.ref, kind, fen_to_yuan_str(fee), f"FP-{loan.ref}"])
    bonus = [f for f in facts if f[2].ref in first][:6]
    second = next(f for f in facts if f[2].ref not in first)
    for bank, uscc, loan in [*bonus, second]:
        rows.append([uscc, banks[bank], loan.ref, "first_loan_bonus", "", ""])
    header = ["applicant_uscc", "bank", "loan_ref", "kind", "fee", "receipt"]
    _clock(dt.date(YEAR, 10, 9))
    with unit_of_work(engine) as s:
        new = applications.import_applications(s, "admin", FEE_SCHEME, _csv(header, rows), "fee-claims.csv")
        for bank, _uscc, loan in bonus[:4]:  # the bank files its own 首贷 reward (代为申报 of the borrower's loan)
            loans.file_claim(s, f"bank{bank + 1}", FEE_SCHEME, banks[bank], loan.ref, {"kind": "bank_reward"})
    advance()
    with read_only(engine) as s:
        cases = applications.list_apps(s, "admin", FEE_SCHEME, limit=100_000)
        refused = {c["ref"]: applications.show(s, "admin", c["ref"])["outcome_reason"].split(":")[0]
                   for c in cases if c["status"] == "rejected"}
    console.print(f"  {len(new) + 4} fee and 首贷 claims (pledge-fee-subsidy): {len(cases) - len(refused)} passed the "
                  f"intake, {len(refused)} refused ({', '.join(f'{k} ×{v}' for k, v in Counter(refused.values()).items())})")
    _clock(dt.date(YEAR, 10, 12))
    with unit_of_work(engine) as s:
        review.decide_batch(s, REVIEWER, [(c["ref"], "approve", "缴费凭证、贷款备案齐全")
                                          for c in cases if c["status"] == "formal_review"])
    _clock(dt.date(YEAR, 10, 15))
    with unit_of_work(engine) as s:
        final = rounds.finalize(s, APPROVER, FEE_SCHEME, YEAR)
    _clock(dt.date(YEAR, 10, 25))
    advance()
    counts = _pay(engine, FEE_SCHEME, advance, "1026")
    with read_only(engine) as s:
        cases = applications.list_apps(s, "admin", FEE_SCHEME, limit=100_000)
        kinds: Counter[str] = Counter()
        paid: Counter[str] = Counter()
        for c in cases:
            kind = applications.show(s, "admin", c["ref"])["data"]["kind"]
            kinds[kind] += 1
            if c["status"] == "paid":
                paid[kind] += c["award_fen"] or 0
    console.print(f"  {final['funded']} funded, {yuan(final['total_fen'])} committed on line {FEE_SCHEME}; the bank "
                  f"confirmed {counts['paid']} payments, {kinds['bank_reward']} of them 首贷 rewards to the banks' own "
                  "accounts; a 首贷 bonus is refused where the borrower's interest subsidies this year reach it, else "
                  "paid less them (从优从高不重复)")
    t = Table("kind", "claims", "paid")
    for kind, n in sorted(kinds.items()):
        t.add_row(kind, str(n), yuan(paid[kind]))
    console.print(t)
