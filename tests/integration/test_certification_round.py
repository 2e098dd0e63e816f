"""A whole certification-award round (二(二)4) through the services: the issue's "done when"."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from flows.services import audit_log, checker, notice, payments, rounds
from flows.services.advance import write_file_atomically
from tests.support import SCHEME, bank_ack, scored_round, set_clock


def test_a_round_awards_within_cap_and_budget_and_pays_each_award_exactly_once(db: Any, tmp_path: Path) -> None:
    # Scores spread so that some fall below the 60-point minimum.
    r = scored_round(db.engine, n_apps=24, scores_by_index={i: 450 + 20 * i for i in range(24)})
    set_clock("2021-05-10T01:00:00Z")
    with r.ro() as s:
        trial = rounds.trial(s, "wang.approve", SCHEME, 2021)
    with r.uow() as s:
        final = rounds.finalize(s, "wang.approve", SCHEME, 2021)
    # Trial and finalize give the same allocation.
    assert [(c["ref"], c["outcome"], c["award_fen"]) for c in trial["cases"]] == \
        [(c["ref"], c["outcome"], c["award_fen"]) for c in final["cases"]]
    assert final["total_fen"] <= final["budget_fen"]
    assert {c["outcome"] for c in final["cases"]} >= {"funded", "below_min_score"}
    for c in final["cases"]:
        assert c["award_fen"] <= 8_000_000  # cap ¥80,000
    set_clock("2021-05-25T01:00:00Z")
    totals = r.advance(payer="chen.finance", out_dir=str(tmp_path))
    assert totals["payment"]["count"] == final["funded"]
    with r.uow() as s:
        again = payments.batch(s, "chen.finance", SCHEME)
    assert again.batch is None  # a second batch pays nothing new
    keys = [row["idempotency_key"] for row in csv.DictReader(io.StringIO(
        Path(totals["payment"]["files"][0]).read_bytes().decode("utf-8-sig")))]
    ack = bank_ack(totals["payment"]["files"])
    with r.uow() as s:
        assert payments.confirm(s, "chen.finance", ack, "ack.csv")["paid"] == len(keys)
    with r.uow() as s:
        assert payments.confirm(s, "chen.finance", ack, "ack.csv")["unchanged"] == len(keys)
    with r.ro() as s:
        assert audit_log.verify(s)["ok"]
        report = checker.run(s)
    assert report["ok"], report


def test_an_upheld_objection_releases_the_commitment(db: Any, tmp_path: Path) -> None:
    r = scored_round(db.engine, n_apps=6)
    set_clock("2021-05-10T01:00:00Z")
    with r.uow() as s:
        final = rounds.finalize(s, "wang.approve", SCHEME, 2021)
    ref = next(c["ref"] for c in final["cases"] if c["outcome"] == "funded")
    with r.uow() as s:
        notice.object_to(s, "zhou.citizen", ref, "证书已被暂停")
    assert r.status(ref) == "on_hold"
    with r.uow() as s:
        notice.resolve(s, "wang.approve", ref, True, "异议成立")
    case = r.show(ref)
    assert case["status"] == "not_awarded" and case["award_fen"] is None
    with r.ro() as s:
        assert checker.run(s)["ok"]
    write_file_atomically(tmp_path / "x", b"")


def test_ranking_from_the_scores_written_at_aggregation_equals_ranking_recomputed_from_the_score_rows(
        db: Any) -> None:
    """Aggregation writes each scored case's exact score on the case; ranking reads it. Cases scored
    before it did (NULL there, as after migration 0007) are recomputed from their score rows, with the
    very same result."""
    from sqlalchemy import text

    r = scored_round(db.engine, n_apps=12, scores_by_index={i: 600 + 15 * (i % 5) for i in range(12)})
    set_clock("2021-05-10T01:00:00Z")
    with r.ro() as s:
        stored = rounds.trial(s, "wang.approve", SCHEME, 2021)
    with db.engine.begin() as c:
        assert c.execute(text("SELECT COUNT(*) FROM application WHERE status = 'scored' "
                              "AND final_score_exact IS NOT NULL")).scalar_one() == 12
        c.execute(text("UPDATE application SET final_score_exact = NULL WHERE id % 2 = 0"))
    with r.ro() as s:
        mixed = rounds.trial(s, "wang.approve", SCHEME, 2021)
    with db.engine.begin() as c:
        c.execute(text("UPDATE application SET final_score_exact = NULL"))
    with r.ro() as s:
        recomputed = rounds.trial(s, "wang.approve", SCHEME, 2021)
    assert stored["cases"] == mixed["cases"] == recomputed["cases"]
    assert len({c["final_score"] for c in stored["cases"]}) > 1  # ties and distinct scores both present
    # And the record is what ranking reads: the last-ranked case, recorded at 99.5, comes first.
    last = stored["cases"][-1]["ref"]
    record = '{"final":[199,2],"evaluators":1,"criterion_tenths":{}}'
    with db.engine.begin() as c:
        c.execute(text("UPDATE application SET final_score_exact = :r WHERE ref = :ref"), {"r": record, "ref": last})
    with r.ro() as s:
        assert rounds.trial(s, "wang.approve", SCHEME, 2021)["cases"][0]["ref"] == last
