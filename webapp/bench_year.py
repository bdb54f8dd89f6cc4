"""The `year` section of `flask bench engine`: the 2012 year simulated through the real services, once
as the demo has it and once with twice the departments, each completion timed and its SQL counted.

A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import event, select

from models.db import db
from models.org import OrgKind, OrgUnit, Role, User
from models.scheme import Indicator, Scheme, SchemeYear
from models.workflow import InboxTask, ProcessInstance
from webapp.simulation import simulate
from workflows.engine import stats

YEAR = 2012


@dataclass
class _Sample:
    phase: str
    ms: float
    statements: int


@dataclass
class _Observer:
    """Times each completion (the service call and its commit) and counts the SQL it sends."""

    samples: list[_Sample] = field(default_factory=list)
    statements: int = 0

    def count(self, *_args) -> None:
        self.statements += 1

    @contextmanager
    def __call__(self, task: InboxTask) -> Iterator[None]:
        phase = task.phase or "other"
        before = self.statements
        started = time.perf_counter()
        yield
        self.samples.append(_Sample(phase, (time.perf_counter() - started) * 1000, self.statements - before))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def double_departments(scheme_code: str) -> int:
    """Give every department a synthetic twin that owns a copy of each of its indicators; each copy
    takes half the original's weight (rounded down to a cent), so the system still totals 1000."""
    scheme_year = SchemeYear.find(Scheme.by_code(scheme_code), YEAR)
    departments = list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT)))
    any_hash = db.session.scalar(select(User.password_hash).limit(1))
    twins = {}
    for d in departments:
        twin = OrgUnit(
            code=f"{d.code}2",
            name=f"{d.name}（二）",
            short_name=f"{d.short_name}二",
            kind=OrgKind.DEPARTMENT,
            sort_order=d.sort_order + 1000,
        )
        user = User(username=twin.code, display_name=twin.short_name, org=twin, password_hash=any_hash)
        user.set_roles([Role.DEPARTMENT])
        db.session.add_all([twin, user])
        twins[d.id] = twin
    db.session.flush()
    copies = 0
    for n, ind in enumerate(scheme_year.indicators(), start=1):
        half = (ind.weight / 2).quantize(Decimal("0.01"), ROUND_DOWN)
        ind.weight -= half
        db.session.add(
            Indicator(
                scheme_year_id=scheme_year.id,
                key_point_id=ind.key_point_id,
                seq=1000 + n,
                code=f"X{n:03d}",
                name=f"{ind.name}（二）",
                weight=half,
                owner_id=twins[ind.owner_id].id,
                unit=ind.unit,
                scoring_rule=ind.scoring_rule,
            )
        )
        copies += 1
    db.session.commit()
    return copies


def year_figures(scheme_code: str, seed: int) -> dict:
    """Simulate the year on the current (fresh, demo-loaded) database; its figures."""
    observer = _Observer()
    listener = observer.count
    event.listen(db.engine, "before_cursor_execute", listener)
    recorded = stats.reset()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        summary = simulate(YEAR, seed, scheme_code, observe=observer)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    samples = observer.samples
    by_phase: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_phase[sample.phase].append(sample.ms)
    n10 = max(1, len(samples) // 10)
    first = statistics.median(s.ms for s in samples[:n10])
    last = statistics.median(s.ms for s in samples[-n10:])
    annual = db.session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.process_id == "annual_cycle")
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )
    instances = db.session.scalar(select(db.func.count()).select_from(ProcessInstance))
    return {
        "tasks_completed": summary["tasks_completed"],
        "instances": instances,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        # the completions themselves; the rest of the wall time is the simulated people preparing
        # their input (each form built as its page would show it) and the timers
        "completions_s": round(sum(s.ms for s in samples) / 1000, 2),
        "completion_ms_median": round(statistics.median(s.ms for s in samples), 2),
        "completion_ms_p95": round(_p95([s.ms for s in samples]), 2),
        "per_phase": {
            phase: {
                "completions": len(values),
                "median_ms": round(statistics.median(values), 2),
                "p95_ms": round(_p95(values), 2),
                "total_s": round(sum(values) / 1000, 2),
            }
            for phase, values in by_phase.items()
        },
        "completion_ms_first10pct": round(first, 2),
        "completion_ms_last10pct": round(last, 2),
        "last_over_first": round(last / first, 3),
        "largest_state_loaded_bytes": recorded.largest_loaded,
        "largest_state_saved_bytes": recorded.largest_saved,
        "annual_final_state_bytes": len(annual.state.encode("utf-8")) if annual else None,
        "sql_statements_per_completion": round(statistics.fmean(s.statements for s in samples), 2),
    }
