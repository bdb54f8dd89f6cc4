"""The engine's clock: real time by default, replaceable so tests and simulations can move time.

SpiffWorkflow's timers read `datetime.now(timezone.utc)` in their own module; we point that name
at a subclass whose `now()` asks this clock, so every timer decision follows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_source: ContextVar[Callable[[], datetime] | None] = ContextVar("jixiao_clock", default=None)


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    source = _source.get()
    value = source() if source is not None else datetime.now(UTC)
    if value.tzinfo is None:
        raise ValueError("the clock must return timezone-aware datetimes")
    return value.astimezone(UTC)


@contextmanager
def use_clock(source: Callable[[], datetime] | datetime) -> Iterator[None]:
    """Run the block with `now()` answered by `source` (a callable, or a fixed datetime)."""
    fn = source if callable(source) else (lambda: source)
    token = _source.set(fn)
    try:
        yield
    finally:
        _source.reset(token)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]  # a plain datetime, not cls
        value = now()
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime
