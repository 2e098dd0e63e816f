"""The finance officer's desk pages (拨付, 二(二)4): payable cases with the amount due, paying them as one
batch, the bank file (the bytes the CLI writes, recorded as issued then as copies), and the bank's
acknowledgement imported with bad lines listed and nothing written; refusals compared by content."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from flows.services import desk_auth, payment_read, payments
from models.tables import AuditEvent, Payment
from models.uow import read_only, unit_of_work
from tests.conftest import Db
from tests.desk.conftest import PASSWORD, SETTINGS, csrf_of, sign_in
from tests.support import SCHEME, Round, bank_ack, scored_round


@dataclass
class PayDesk:
    db: Db
    round: Round
    client: TestClient
    csrf: str


@pytest.fixture
def pay_desk(db: Db) -> Iterator[PayDesk]:
    from flows.desk.web import create_app

    r = scored_round(db.engine, n_apps=8)
    r.finalize_and_end_notice()
    r.advance()
    with unit_of_work(db.engine) as s:
        for name in ("chen.finance", "li.review"):
            desk_auth.set_password(s, "admin", name, PASSWORD)
    c = TestClient(create_app(db.url, SETTINGS), follow_redirects=False)
    assert sign_in(c, "chen.finance", PASSWORD).status_code == 303
    page = c.get(f"/pay?scheme={SCHEME}")
    assert page.status_code == 200
    yield PayDesk(db, r, c, csrf_of(page.text))
    c.close()


def _payable_refs(html: str) -> set[str]:
    if 'id="payable"' not in html:
        return set()
    body = html.split('id="payable"', 1)[1].split("</table>", 1)[0]
    return set(re.findall(r'href="/case/([^"]+)"', body))


def test_the_officer_sees_what_is_due_and_pays_it_as_one_batch_with_its_bank_file(pay_desk: PayDesk) -> None:
    with read_only(pay_desk.db.engine) as s:
        due = payment_read.payable(s, "chen.finance", SCHEME)
    assert due, "test setup: awards are payable"
    page = pay_desk.client.get(f"/pay?scheme={SCHEME}").text
    assert _payable_refs(page) == {d["ref"] for d in due}
    from rules.money import format_yuan

    assert format_yuan(sum(d["amount_fen"] for d in due)) in page
    r = pay_desk.client.post("/pay/batch", data={"csrf": pay_desk.csrf, "scheme": SCHEME})
    assert r.status_code == 303
    batch_id = int(r.headers["location"].rsplit("batch=", 1)[1])
    with read_only(pay_desk.db.engine) as s:
        paid_fen = sum(p.amount_fen for p in s.exec(select(Payment).where(Payment.batch_id == batch_id)).all())
        _b, expected = payments.batch_file(s, batch_id)
    assert paid_fen == sum(d["amount_fen"] for d in due)
    first = pay_desk.client.post(f"/pay/batch/{batch_id}/file", data={"csrf": pay_desk.csrf})
    second = pay_desk.client.post(f"/pay/batch/{batch_id}/file", data={"csrf": pay_desk.csrf})
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == expected
    with read_only(pay_desk.db.engine) as s:
        copies = [json.loads(p)["copy"] for p in s.exec(select(AuditEvent.payload).where(
            AuditEvent.action == "pay.file", AuditEvent.subject == f"batch:{batch_id}").order_by(
            col(AuditEvent.seq))).all()]
    assert copies == [False, True]  # issued, then a copy
    assert _payable_refs(pay_desk.client.get(f"/pay?scheme={SCHEME}").text) == set()


def test_an_acknowledgement_with_a_bad_line_writes_nothing_and_a_good_one_is_imported(
        pay_desk: PayDesk, tmp_path: object) -> None:
    r = pay_desk.client.post("/pay/batch", data={"csrf": pay_desk.csrf, "scheme": SCHEME})
    batch_id = int(r.headers["location"].rsplit("batch=", 1)[1])
    content = pay_desk.client.post(f"/pay/batch/{batch_id}/file", data={"csrf": pay_desk.csrf}).content
    from pathlib import Path

    bank = Path(str(tmp_path)) / "bank.csv"
    bank.write_bytes(content)
    good = bank_ack([bank])
    lines = good.decode().splitlines()
    bad = "\n".join([lines[0], lines[1].replace(",paid,", ",maybe,"), *lines[2:]]) + "\n"
    before = pay_desk.db.snapshot()
    r = pay_desk.client.post("/pay/confirm", data={"csrf": pay_desk.csrf, "scheme": SCHEME},
                             files={"file": ("ack.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422 and "line 2" in r.text
    assert pay_desk.db.snapshot() == before
    r = pay_desk.client.post("/pay/confirm", data={"csrf": pay_desk.csrf, "scheme": SCHEME},
                             files={"file": ("ack.csv", good, "text/csv")})
    assert r.status_code == 200 and 'id="confirmed"' in r.text
    with read_only(pay_desk.db.engine) as s:
        assert {p.status for p in s.exec(select(Payment).where(Payment.batch_id == batch_id)).all()} == {"paid"}


def test_a_forged_or_unauthorised_payment_request_writes_nothing(pay_desk: PayDesk) -> None:
    c = TestClient(pay_desk.client.app, follow_redirects=False)
    assert sign_in(c, "li.review", PASSWORD).status_code == 303
    token = csrf_of(c.get("/review").text)
    before = pay_desk.db.snapshot()
    r = pay_desk.client.post("/pay/batch", data={"scheme": SCHEME})
    assert r.status_code == 403
    assert c.get(f"/pay?scheme={SCHEME}").status_code == 403
    r = c.post("/pay/batch", data={"csrf": token, "scheme": SCHEME})
    assert r.status_code == 403 and "may not" in r.text
    c.close()
    assert pay_desk.db.snapshot() == before
