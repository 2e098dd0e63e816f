"""Expiry reminders of custody vouchers (托管服务券, 二(二)5; issue 12: vouchers about to expire, 30 and 7
days ahead): the `expiry` stage of `advance` writes one outbox message per voucher, deadline and threshold
to the holder (and a contracted voucher's agency), exactly once across runs; a voucher contracted is
reminded of its redeem-by date, not its old use-by date; a redeemed voucher is not reminded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from flows.services.advance import advance_plain
from flows.services.notifications import notify
from models.tables import Notification
from models.uow import read_only, unit_of_work
from tests.conftest import Db
from tests.support import set_clock
from tests.voucher_support import SCHEME, SME1, SME2, SME3, A, evidence, issue, ok, setup_world, status


def reminders(db: Db) -> list[tuple[str, str]]:
    with read_only(db.engine) as s:
        rows = s.exec(select(Notification).where(col(Notification.cause).like("voucher_reminder:%"))
                      .order_by(col(Notification.id))).all()
        return [(n.recipient, n.cause) for n in rows]


def run_twice(on: str) -> None:
    set_clock(on)
    advance_plain(SCHEME, chunk=2)
    advance_plain(SCHEME, chunk=2)  # a second run the same day writes nothing more


def test_the_expiry_stage_reminds_each_waiting_voucher_once_per_threshold(cli: Any, db: Db,
                                                                         tmp_path: Path) -> None:
    world = setup_world(cli, tmp_path)
    a, b, c = issue(world, [("sme1", "consulting"), ("sme2", "consulting"), ("sme3", "consulting")])
    # issued 2021-03-10: use-by 2021-09-10, redeem-by 2021-12-10
    run_twice("2021-08-10T01:00:00Z")  # 31 days before the use-by date: nothing yet
    assert reminders(db) == []
    run_twice("2021-08-11T01:00:00Z")  # 30 days: the 30-day reminder, once each
    assert reminders(db) == [(SME1, f"voucher_reminder:{a}:2021-09-10:30"),
                             (SME2, f"voucher_reminder:{b}:2021-09-10:30"),
                             (SME3, f"voucher_reminder:{c}:2021-09-10:30")]
    set_clock("2021-08-20T01:00:00Z")
    ok(world("voucher", "contract", b, "--agency", A, "--amount", "8000", "--as", "sme2"))
    ok(world("voucher", "contract", c, "--agency", A, "--amount", "8000", "--as", "sme3"))
    ok(world("voucher", "redeem", c, *evidence(tmp_path), "--as", "wu"))
    run_twice("2021-09-02T01:00:00Z")  # 8 days: nothing new
    assert len(reminders(db)) == 3
    run_twice("2021-09-05T01:00:00Z")  # 5 days: the 7-day reminder for the uncontracted one only
    assert reminders(db)[3:] == [(SME1, f"voucher_reminder:{a}:2021-09-10:7")]
    run_twice("2021-09-10T01:00:00Z")  # the use-by date itself: nothing more
    assert len(reminders(db)) == 4
    run_twice("2021-11-10T01:00:00Z")  # a has lapsed; b is 30 days before its redeem-by date; c is redeemed
    assert status(world, a) == "expired" and status(world, c) != "contracted"
    assert reminders(db)[4:] == [(SME2, f"voucher_reminder:{b}:2021-12-10:30"),
                                 (A, f"voucher_reminder:{b}:2021-12-10:30")]
    run_twice("2021-12-10T01:00:00Z")  # the redeem-by date: first seen inside 7 days -> the 7-day one
    assert reminders(db)[6:] == [(SME2, f"voucher_reminder:{b}:2021-12-10:7"),
                                 (A, f"voucher_reminder:{b}:2021-12-10:7")]
    told = {n["cause"]: n for n in json.loads(ok(world(
        "notify", "list", "--to", SME1, "--json", "--as", "admin")))}
    first = told[f"voucher_reminder:{a}:2021-09-10:30"]
    assert first["subject"].startswith(f"托管服务券即将到期 {a}：还剩 30 天")
    assert first["body"].startswith(f"您的托管服务券 {a} 将于 2021-09-10 到期（还剩 30 天）。请于 2021-09-10")
    assert "签订托管服务合同" in first["body"]
    assert "还剩 5 天" in told[f"voucher_reminder:{a}:2021-09-10:7"]["body"]


def test_the_outbox_refuses_a_second_reminder_row_for_the_same_recipient_and_cause(db: Db) -> None:
    with unit_of_work(db.engine) as s:
        notify(s, recipient=SME1, subject="s", body="b", cause="voucher_reminder:CV-X:2021-09-10:30")
    with pytest.raises(IntegrityError), unit_of_work(db.engine) as s:
        notify(s, recipient=SME1, subject="s", body="b", cause="voucher_reminder:CV-X:2021-09-10:30")
    with unit_of_work(db.engine) as s:  # other causes may repeat as before
        notify(s, recipient=SME1, subject="s", body="b", cause="agency_event:1")
        notify(s, recipient=SME1, subject="s", body="b", cause="agency_event:1")
