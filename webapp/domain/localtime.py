"""The plan's clock: deadlines are Beijing days; every other module reads the zone from here."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def local_end(day: date) -> datetime:
    """The last second of a day in Beijing time: what “due by 31 January” means."""
    return datetime.combine(day, time(23, 59, 59), LOCAL)
