"""`ipfund bench --scheme pledge-interest-subsidy` on a small year (100 loans), then the database it leaves read
back: the bench cannot skip a step and still pass. Every loan registered with its twelve monthly receipts,
every claim through each act once and paid once (to its award, to the fen), the 1 % defaults paid by the
pool out of its balance, the checker clean, and the pledge KPI (一(二)3) read from the same registry."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.flows

N = 100
ACTS = ["case.submit", "case.intake_passed", "case.approve", "case.award", "case.open_notice", "case.notice_expired",
        "case.batch_payment", "case.payment_confirmed"]


@pytest.fixture(scope="module")
def bench(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, Path]]:  # type: ignore[type-arg]
    from flows.pledge_bench import run_pledge_bench
    from models.db import get_engine

    work = tmp_path_factory.mktemp("pledge-bench")
    mp = pytest.MonkeyPatch()
    for key in ("IPFUND_DATABASE_URL", "IPFUND_NOW", "IPFUND_CHECKPOINTS"):
        mp.setenv(key, "")  # run_pledge_bench sets its own; restored after
    try:
        yield run_pledge_bench(N, work, chunk=40), work
    finally:
        get_engine.cache_clear()
        mp.undo()


def _engine(path: Path) -> object:
    from models.db import make_engine

    return make_engine(f"sqlite:///{path}")


def test_every_claim_is_paid_once_through_each_act_and_the_check_is_clean(bench: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    summary, work = bench
    assert summary["check_ok"] is True and summary["loans"] == N and summary["paid"] == N == summary["funded"]
    assert summary["interest_receipts"] == 12 * N and summary["pool_claims"] == N // 100
    assert summary["baseline_seconds"] > 0 and summary["ratio_to_baseline"] > 0
    with _engine(work / "bench.db").connect() as c:  # type: ignore[attr-defined]
        assert c.execute(text("SELECT COUNT(*), SUM(first_loan) FROM pledge_loan")).one() == (N, N)
        per_loan = Counter(n for (n,) in c.execute(text("SELECT COUNT(*) FROM loan_receipt WHERE kind = 'normal' "
                                                        "GROUP BY loan_id")))
        assert per_loan == {12: N}
        states = Counter(s for (s,) in c.execute(text(
            "SELECT status FROM application WHERE scheme = 'pledge-interest-subsidy'")))
        assert states == {"paid": N}
        events: dict[str, list[str]] = defaultdict(list)
        for subject, action in c.execute(text("SELECT subject, action FROM audit_event WHERE subject LIKE 'app:%' "
                                              "AND action LIKE 'case.%' ORDER BY seq")):
            events[subject].append(action)
        assert len(events) == N
        assert all(acts == ACTS for acts in events.values()), next(a for a in events.values() if a != ACTS)
        acts = dict(c.execute(text("SELECT action, COUNT(*) FROM audit_event GROUP BY action")).all())
        assert (acts["loan.register"], acts["loan.interest"]) == (N, 12 * N)
        paid = c.execute(text("SELECT COUNT(*), COUNT(DISTINCT application_id) FROM payment WHERE status = 'paid'")).one()
        assert tuple(paid) == (N, N)
        unequal = c.execute(text("SELECT COUNT(*) FROM application a JOIN payment p ON p.application_id = a.id "
                                 "WHERE p.amount_fen <> a.award_fen OR a.award_fen IS NULL")).scalar_one()
        assert unequal == 0
        claims = c.execute(text("SELECT status, paid_fen, pool_due_fen FROM pool_claim")).all()
        assert [s for s, _, _ in claims] == ["paid"] * (N // 100)
        assert all(0 < p <= due for _, p, due in claims)


def test_the_pledge_kpi_counts_the_bench_loans_by_drawdown_year(bench: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    from flows.services import kpis
    from models.clock import pin
    from models.uow import read_only

    _, work = bench
    engine = _engine(work / "bench.db")
    with engine.connect() as c:  # type: ignore[attr-defined]
        amount = c.execute(text("SELECT SUM(principal_fen) FROM pledge_loan")).scalar_one()
    pin("2022-06-01T01:00:00Z")
    with read_only(engine) as s:  # type: ignore[arg-type]
        k = {r.id: r for r in kpis.report(s)}["pledge_financing_growth"]
    assert k.figures is not None
    assert (k.figures["count"]["2021"], k.figures["amount_fen"]["2021"]) == (N, amount)
    assert k.figures["first_loan_borrowers"]["2021"] == N
    assert k.figures["count"]["2022"] == 0 and k.figures["count_growth"]["2022"] == "-100.0 %"
    assert [t.met for t in k.targets] == [False]  # 2022 has no loans: far below +30 %
    assert k.figures["pool"]["loss_rate"] is not None
