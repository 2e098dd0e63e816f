"""Expiry reminders of custody vouchers (托管服务券, 二(二)5): which reminder is due on a day — both sides of
each threshold (`custody-voucher.reminder_days`, 30 and 7 days), the deadline itself, a contracted
voucher's redeem-by date — and a policy whose reminder days are not positive whole days is refused at
load, naming the key path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rules.policy import PolicyError, load_policy_file
from rules.schemes.custody_voucher import Terms, reminder_due
from tests.unit.test_policy import _spoil

T = Terms(dt.date(2021, 3, 10), use_by=dt.date(2021, 9, 10), redeem_by=dt.date(2021, 12, 10),
          settlement_mode="agency")
DAYS = [30, 7]


def _ahead(deadline: dt.date, days: int) -> dt.date:
    return deadline - dt.timedelta(days=days)


@pytest.mark.parametrize(("left", "sent", "due"), [
    (31, set(), None), (30, set(), 30), (29, set(), 30), (29, {30}, None),
    (8, {30}, None), (8, set(), 30), (7, {30}, 7), (6, {30}, 7), (6, {30, 7}, None),
    (5, set(), 7),  # first seen 5 days ahead: only the 7-day reminder, never both
    (0, {30}, 7), (0, {30, 7}, None),  # the deadline itself: still waiting
    (-1, set(), None),  # the day after: it lapses, no reminder
])
def test_the_reminder_due_is_the_nearest_threshold_reached_and_not_yet_sent(
        left: int, sent: set[int], due: int | None) -> None:
    rem = reminder_due(T, False, _ahead(T.use_by, left), DAYS, sent)
    assert (rem.days if rem else None) == due
    if rem is not None:
        assert (rem.deadline, rem.kind, rem.left) == (T.use_by, "use_by", left)


def test_a_contracted_voucher_is_reminded_of_its_redeem_by_date() -> None:
    on = _ahead(T.use_by, 7)  # 7 days before its use-by date, but contracted: 98 days to redeem-by
    assert reminder_due(T, True, on, DAYS) is None
    assert reminder_due(T, False, on, DAYS) is not None
    rem = reminder_due(T, True, _ahead(T.redeem_by, 30), DAYS)
    assert rem is not None and (rem.deadline, rem.kind, rem.days, rem.left) == (T.redeem_by, "redeem_by", 30, 30)
    assert reminder_due(T, True, _ahead(T.redeem_by, 31), DAYS) is None


def test_threshold_order_in_the_policy_does_not_matter() -> None:
    assert reminder_due(T, False, _ahead(T.use_by, 6), [7, 30]) == reminder_due(T, False, _ahead(T.use_by, 6), DAYS)


@pytest.mark.parametrize(("value", "fragment"), [
    ("[30, 0]", "values.2020-10-19[1]: 0 must be a positive whole number of days"),
    ("[30, -7]", "values.2020-10-19[1]: -7 must be a positive whole number of days"),
    ('[30, "7"]', "values.2020-10-19[1]: '7' must be a positive whole number of days"),
    ("[30, 7.5]", "values.2020-10-19[1]: 7.5 must be a positive whole number of days"),
    ("[]", "values.2020-10-19: [] must be a non-empty list of whole days"),
])
def test_reminder_days_that_are_not_positive_whole_days_are_refused_at_load(
        tmp_path: Path, value: str, fragment: str) -> None:
    path = _spoil(tmp_path, "      2020-10-19: {value: [30, 7],", f"      2020-10-19: {{value: {value},")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    msg = str(exc.value)
    assert f"parameters.custody-voucher.reminder_days.{fragment}" in msg, msg
