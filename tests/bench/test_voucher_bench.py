"""`ipfund bench --scheme custody-voucher` on a small round (200 vouchers), then the database it leaves read
back: the bench cannot skip a step and still pass. Every voucher settled through each act once (one audit
event per state change, in order), the line's identity Σ committed = Σ settled + Σ released + Σ open to
the fen, the checker clean; and on the expiry copy every voucher lapsed with its face value released."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.flows

N = 200
ACTS = ["case.submit", "case.intake_passed", "case.award", "case.contract", "case.redeem", "case.confirm", "case.approve",
        "case.scores_complete", "case.grade_passed", "case.batch_payment", "case.payment_confirmed"]


@pytest.fixture(scope="module")
def bench(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, Path]]:  # type: ignore[type-arg]
    from flows.voucher_bench import run_voucher_bench
    from models.db import get_engine

    work = tmp_path_factory.mktemp("voucher-bench")
    mp = pytest.MonkeyPatch()
    for key in ("IPFUND_DATABASE_URL", "IPFUND_NOW", "IPFUND_CHECKPOINTS"):
        mp.setenv(key, "")  # run_voucher_bench sets its own; restored after
    try:
        yield run_voucher_bench(N, work, chunk=64), work
    finally:
        get_engine.cache_clear()
        mp.undo()


def _engine(path: Path) -> object:
    from models.db import make_engine

    return make_engine(f"sqlite:///{path}")


def test_every_voucher_is_settled_through_each_act_once_and_the_check_is_clean(bench: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    summary, work = bench
    assert summary["check_ok"] is True and summary["vouchers"] == N and summary["settled"] == N
    assert summary["baseline_seconds"] > 0 and summary["ratio_to_baseline"] > 0
    engine = _engine(work / "bench.db")
    with engine.connect() as c:  # type: ignore[attr-defined]
        states = Counter(s for (s,) in c.execute(text("SELECT status FROM application WHERE scheme = 'custody-voucher'")))
        assert states == {"settled": N}
        events: dict[str, list[str]] = defaultdict(list)
        for subject, action in c.execute(text("SELECT subject, action FROM audit_event WHERE subject LIKE 'app:CV-%' "
                                              "AND action LIKE 'case.%' ORDER BY seq")):
            events[subject].append(action)
        assert len(events) == N
        assert all(acts == ACTS for acts in events.values()), next(a for a in events.values() if a != ACTS)
        counts = {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in (
            "voucher_contract", "voucher_redemption", "voucher_evidence", "evidence_blob")}
        assert counts == {"voucher_contract": N, "voucher_redemption": N, "voucher_evidence": 3 * N,
                          "evidence_blob": 3 * N}
        paid = c.execute(text("SELECT COUNT(*), COUNT(DISTINCT application_id) FROM payment WHERE status = 'paid'")).one()
        assert tuple(paid) == (N, N)
        outbox = Counter(cause.split(":")[0] for (cause,) in c.execute(text("SELECT cause FROM notification")))
        assert outbox["voucher_contract"] == N and outbox["voucher_redemption"] == N


def _identity(path: Path) -> dict[str, int]:
    from flows.services import vouchers
    from models.uow import read_only

    engine = _engine(path)
    with read_only(engine) as s:  # type: ignore[arg-type]
        return vouchers.ledger_identity(s, "custody-voucher", 2021)["custody-voucher"]


def test_the_voucher_line_balances_to_the_fen_with_nothing_left_open(bench: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    _, work = bench
    f = _identity(work / "bench.db")
    assert f["committed"] == f["settled"] + f["released"] + f["open"]
    assert f["open"] == 0 and f["settled"] > 0
    # one voucher in four was contracted at 1.6 × face: 0.2 × face of it went back to the line on confirmation
    assert f["released"] > 0 and f["settled"] + f["released"] == f["committed"]


def test_the_expiry_run_lapses_every_issued_voucher_and_releases_its_face_value(bench: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    summary, work = bench
    assert summary["expired"] == N
    with _engine(work / "expiry.db").connect() as c:  # type: ignore[attr-defined]
        assert c.execute(text("SELECT status, COUNT(*) FROM application WHERE scheme = 'custody-voucher' "
                              "GROUP BY status")).all() == [("expired", N)]
        lapsed = c.execute(text("SELECT COUNT(*) FROM audit_event WHERE action = 'case.expire'")).scalar_one()
        assert lapsed == N
    f = _identity(work / "expiry.db")
    assert f["released"] == f["committed"] > 0 and f["open"] == 0 and f["settled"] == 0
