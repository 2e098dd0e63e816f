"""The approver's desk page (择优、不超额, 二(二)4; 公示 and objections): the trial allocation with ranking and
reason per case, a what-if against an uploaded policy file, finalizing, resolving objections — reads write
nothing, refusals write nothing (the database compared by content)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.services import desk_auth, notice, rounds
from models.uow import read_only, unit_of_work
from tests.conftest import Db
from tests.desk.conftest import PASSWORD, SETTINGS, csrf_of, sign_in
from tests.integration.test_what_if import alternative
from tests.support import SCHEME, Round, scored_round, set_clock


@dataclass
class ApproveDesk:
    db: Db
    round: Round
    client: TestClient
    csrf: str


@pytest.fixture
def ap_desk(db: Db) -> Iterator[ApproveDesk]:
    from flows.desk.web import create_app

    r = scored_round(db.engine, n_apps=10, scores_by_index={i: 900 - 30 * i for i in range(10)})
    with unit_of_work(db.engine) as s:
        for name in ("wang.approve", "li.review"):
            desk_auth.set_password(s, "admin", name, PASSWORD)
    set_clock("2021-05-10T01:00:00Z")  # the day the approver finalizes (sessions follow the clock)
    c = TestClient(create_app(db.url, SETTINGS), follow_redirects=False)
    assert sign_in(c, "wang.approve", PASSWORD).status_code == 303
    page = c.get(f"/approve?scheme={SCHEME}&year=2021")
    assert page.status_code == 200
    yield ApproveDesk(db, r, c, csrf_of(page.text))
    c.close()


def test_the_trial_shows_each_case_with_rank_and_reason_and_writes_nothing(ap_desk: ApproveDesk) -> None:
    before = ap_desk.db.snapshot()
    page = ap_desk.client.get(f"/approve?scheme={SCHEME}&year=2021").text
    with read_only(ap_desk.db.engine) as s:
        trial = rounds.trial(s, "wang.approve", SCHEME, 2021)
    assert f'id="funded">{trial["funded"]}<' in page
    for c in trial["cases"]:
        assert c["ref"] in page and c["reason"] in page
    assert ap_desk.db.snapshot() == before


def test_a_what_if_lists_what_would_change_and_a_bad_policy_file_is_refused_by_key(
        ap_desk: ApproveDesk, tmp_path: Path) -> None:
    alt = alternative(tmp_path, 2500000, "80").read_bytes()
    before = ap_desk.db.snapshot()
    r = ap_desk.client.post("/approve/what-if", data={"csrf": ap_desk.csrf, "scheme": SCHEME, "year": "2021"},
                            files={"file": ("alt.yaml", alt, "application/x-yaml")})
    assert r.status_code == 200 and 'id="what-if-changes"' in r.text
    assert "no longer funded" in r.text or "newly funded" in r.text or "amount changed" in r.text
    spoiled = alt.replace(b'      2020-10-19: "1.2"', b"      2020-10-19: 1.2")
    r = ap_desk.client.post("/approve/what-if", data={"csrf": ap_desk.csrf, "scheme": SCHEME, "year": "2021"},
                            files={"file": ("bad.yaml", spoiled, "application/x-yaml")})
    assert r.status_code == 422 and "parameters.funds.match_ratio" in r.text
    assert ap_desk.db.snapshot() == before


def test_finalizing_then_resolving_an_objection(ap_desk: ApproveDesk) -> None:
    r = ap_desk.client.post("/approve/finalize", data={"csrf": ap_desk.csrf, "scheme": SCHEME, "year": "2021"})
    assert r.status_code == 200 and 'id="finalized"' in r.text
    funded = [ref for ref in ap_desk.round.refs if ap_desk.round.status(ref) == "in_notice"]
    assert funded
    with unit_of_work(ap_desk.db.engine) as s:
        notice.object_to(s, "zhou.citizen", funded[0], "证书状态存疑")
    page = ap_desk.client.get(f"/approve?scheme={SCHEME}&year=2021").text
    assert 'id="objections"' in page and "证书状态存疑" in page
    before = ap_desk.db.snapshot()
    r = ap_desk.client.post(f"/approve/objection/{funded[0]}", data={"csrf": ap_desk.csrf, "decision": "uphold",
                                                                    "reason": ""})
    assert r.status_code == 422 and ap_desk.db.snapshot() == before
    r = ap_desk.client.post(f"/approve/objection/{funded[0]}", data={"csrf": ap_desk.csrf, "decision": "uphold",
                                                                    "reason": "证书已被撤销"})
    assert r.status_code == 200 and 'id="resolved"' in r.text
    assert ap_desk.round.status(funded[0]) == "not_awarded"


def test_a_reviewer_may_not_see_or_finalize_the_round(ap_desk: ApproveDesk) -> None:
    c = TestClient(ap_desk.client.app, follow_redirects=False)
    assert sign_in(c, "li.review", PASSWORD).status_code == 303
    token = csrf_of(c.get("/review").text)
    before = ap_desk.db.snapshot()
    assert c.get(f"/approve?scheme={SCHEME}&year=2021").status_code == 403
    r = c.post("/approve/finalize", data={"csrf": token, "scheme": SCHEME, "year": "2021"})
    assert r.status_code == 403 and "may not" in r.text
    c.close()
    assert ap_desk.db.snapshot() == before
