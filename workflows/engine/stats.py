"""Counters of the state bytes the runtime loads and saves and of the time its starts take, read by
`flask bench engine` (no effect on behaviour: a benchmark resets them, runs its work and reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StateStats:
    loads: int = 0
    saves: int = 0
    largest_loaded: int = 0
    largest_saved: int = 0
    # milliseconds of each `start_instance`: creating the instance, running it until it waits,
    # saving it and its inbox rows (what the caller adds, notifications and the commit, is not in it)
    start_ms: list[float] = field(default_factory=list)


STATS = StateStats()


def reset() -> StateStats:
    global STATS
    STATS = StateStats()
    return STATS


def current() -> StateStats:
    return STATS


def loaded(size: int) -> None:
    STATS.loads += 1
    STATS.largest_loaded = max(STATS.largest_loaded, size)


def saved(size: int) -> None:
    STATS.saves += 1
    STATS.largest_saved = max(STATS.largest_saved, size)


def started(ms: float) -> None:
    STATS.start_ms.append(ms)
