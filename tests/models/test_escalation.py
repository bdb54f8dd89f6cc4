"""Escalation levels of an open task: warning 5 days before the deadline, yellow after it, red once
2 working days have passed after it (weekends and holidays do not count)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from models.rules.escalation import Level, add_working_days, escalation_level

LOCAL = ZoneInfo("Asia/Shanghai")
# Friday 31 January 2014, end of the day in Beijing
FRIDAY_DEADLINE = datetime(2014, 1, 31, 23, 59, 59, tzinfo=LOCAL)


def at(day: int, month: int = 2, hour: int = 10) -> datetime:
    return datetime(2014, month, day, hour, tzinfo=LOCAL)


def test_no_deadline_means_no_escalation():
    assert escalation_level(None, at(3), LOCAL) == Level.NONE


def test_warning_starts_five_days_before_the_deadline():
    assert escalation_level(FRIDAY_DEADLINE, at(26, 1, 23), LOCAL) == Level.NONE
    assert escalation_level(FRIDAY_DEADLINE, FRIDAY_DEADLINE - timedelta(days=5), LOCAL) == Level.WARNING
    assert escalation_level(FRIDAY_DEADLINE, at(31, 1), LOCAL) == Level.WARNING


def test_yellow_after_the_deadline_and_red_after_two_working_days():
    # Saturday, Sunday, Monday and Tuesday (the 2nd working day) are yellow; Wednesday is red
    for day in (1, 2, 3, 4):
        assert escalation_level(FRIDAY_DEADLINE, at(day), LOCAL) == Level.YELLOW, day
    assert escalation_level(FRIDAY_DEADLINE, at(5, hour=0), LOCAL) == Level.RED


def test_holidays_push_red_back():
    # Spring Festival: Monday 3 and Tuesday 4 February off; working days are then Wed 5 and Thu 6
    holidays = {date(2014, 2, 3), date(2014, 2, 4)}
    assert escalation_level(FRIDAY_DEADLINE, at(6), LOCAL, holidays) == Level.YELLOW
    assert escalation_level(FRIDAY_DEADLINE, at(7), LOCAL, holidays) == Level.RED


def test_days_are_counted_in_local_time():
    # 23:59:59 Beijing on Friday is 15:59:59 UTC; Wednesday 00:30 Beijing is still Tuesday in UTC
    utc_now = datetime(2014, 2, 5, 0, 30, tzinfo=LOCAL).astimezone(ZoneInfo("UTC"))
    assert escalation_level(FRIDAY_DEADLINE.astimezone(ZoneInfo("UTC")), utc_now, LOCAL) == Level.RED


@given(start=st.dates(date(2000, 1, 1), date(2100, 1, 1)), count=st.integers(1, 30))
def test_working_days_skip_weekends(start, count):
    end = add_working_days(start, count)
    days = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(1 for d in days if d.weekday() < 5) == count
    assert end.weekday() < 5


@given(offset=st.integers(-20 * 24, 20 * 24))
def test_levels_never_go_back_as_time_passes(offset):
    order = [Level.NONE, Level.WARNING, Level.YELLOW, Level.RED]
    now = FRIDAY_DEADLINE + timedelta(hours=offset)
    later = now + timedelta(hours=7)
    assert order.index(escalation_level(FRIDAY_DEADLINE, later, LOCAL)) >= order.index(
        escalation_level(FRIDAY_DEADLINE, now, LOCAL)
    )
