"""Measure the loan registry's bulk imports: N loans (one bank, N/5 borrowers) and 12 monthly interest
receipts each, through `loans.import_loans` and `loans.import_receipts` (validation + chunked writes + one
audit event per row). Usage: python scripts/bench_pledge_loans.py [N] [DATABASE_URL]"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

from flows.services import loans
from flows.services.applicants import import_applicants
from flows.services.setup import init
from flows.services.users import create_user
from models.db import make_engine
from models.uow import unit_of_work
from rules.uscc import make_uscc


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        init(engine, s, "admin", "yantai-2020")
        s.commit()
    bank = make_uscc("370602", 9101)
    borrowers = [make_uscc("370602", 100_000 + i) for i in range(max(1, n // 5))]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "uscc", "kind", "district", "sme", "whitelist", "bank_name", "bank_account"])
    for i, code in enumerate(borrowers):
        w.writerow([f"烟台测试企业{i}有限公司", code, "enterprise", "370602", "true", "false", "", ""])
    with unit_of_work(engine) as s:
        import_applicants(s, "admin", out.getvalue().encode("utf-8"))
        loans.add_bank(s, "admin", bank, "中国银行烟台分行")
        create_user(s, "admin", "zhao", ["bank"], affiliation=bank)
    start = dt.date(2021, 1, 1)
    lo = io.StringIO()
    w = csv.writer(lo)
    w.writerow(loans.LOAN_COLUMNS)
    ri = io.StringIO()
    rw = csv.writer(ri)
    rw.writerow(loans.RECEIPT_COLUMNS)
    for i in range(n):
        d = start + dt.timedelta(days=i % 28)
        w.writerow([bank, f"L{i:07d}", borrowers[i % len(borrowers)], "1000000", "3.65%", d.isoformat(),
                    d.replace(year=2022).isoformat(), f"ZL2020{i:06d}.1", f"Y{i:09d}", d.isoformat(), "", "", "", "",
                    ""])
        for m in range(12):
            a = d.replace(month=m + 1)
            b = d.replace(year=2022, month=1) if m == 11 else d.replace(month=m + 2)
            rw.writerow([bank, f"L{i:07d}", f"R{i:07d}-{m:02d}", "normal", a.isoformat(), b.isoformat(), "2800"])
    t0 = time.perf_counter()
    c1 = loans.import_loans("zhao", lo.getvalue().encode("utf-8"), engine=engine)
    t1 = time.perf_counter()
    c2 = loans.import_receipts("zhao", ri.getvalue().encode("utf-8"), engine=engine)
    t2 = time.perf_counter()
    print(f"{engine.dialect.name}: {c1['registered']:,} loans in {t1 - t0:.1f} s "
          f"({c1['registered'] / (t1 - t0):,.0f}/s); {c2['recorded']:,} interest receipts in {t2 - t1:.1f} s "
          f"({c2['recorded'] / (t2 - t1):,.0f}/s)")


if __name__ == "__main__":
    main()
