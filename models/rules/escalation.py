"""Escalation of an open task by its deadline, as the office monitor shows it.

A warning from 5 calendar days before the deadline, yellow once the deadline has passed, red once
2 working days (Monday to Friday, less the configured holidays) have passed after it.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import date, datetime, timedelta, tzinfo

WARNING_DAYS = 5
RED_AFTER_WORKING_DAYS = 2


class Level(enum.StrEnum):
    NONE = "none"
    WARNING = "warning"
    YELLOW = "yellow"
    RED = "red"


def add_working_days(day: date, count: int, holidays: Collection[date] = ()) -> date:
    """The date `count` working days after `day` (weekends and holidays skipped)."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            count -= 1
    return day


def escalation_level(
    due_at: datetime | None, now: datetime, zone: tzinfo, holidays: Collection[date] = ()
) -> Level:
    """How urgent an open task is at `now`; days are counted in `zone` (the office's local time)."""
    if due_at is None:
        return Level.NONE
    if now <= due_at:
        return Level.WARNING if due_at - now <= timedelta(days=WARNING_DAYS) else Level.NONE
    red_from = add_working_days(due_at.astimezone(zone).date(), RED_AFTER_WORKING_DAYS, holidays)
    # red from the start of the day after the second working day has fully passed
    if now.astimezone(zone).date() > red_from:
        return Level.RED
    return Level.YELLOW
