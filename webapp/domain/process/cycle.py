"""A scheme year's cycle: its calendar, creating (cloning) the year, starting the annual process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from models.db import db
from models.evaluation import AnnualResult
from models.formation import Phase, SystemRevision, YearPhase
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, User
from models.scheme import (
    Dimension,
    Indicator,
    IndicatorCoOwner,
    KeyPoint,
    Level,
    Scheme,
    SchemeYear,
    YearStatus,
)
from models.workflow import InboxTask, InstanceStatus, ProcessInstance, TaskStatus, year_tasks
from webapp.domain import audit, errors
from webapp.domain.localtime import LOCAL, local_end
from webapp.domain.process import definitions as process_definitions
from webapp.domain.process import tasks as task_service
from webapp.domain.system import queries as indicator_service
from workflows import engine

ANNUAL_PROCESS = "annual_cycle"
REVISION_PROCESS = "system_revision"
YEARS = range(2000, 3000)  # what a scheme year may be (its year_range check)

# The plan's calendar: (phase, opens (month, day, years after), deadline (month, day, years after)).
PLAN_CALENDAR = [
    (Phase.DECLARATION, (1, 4, 0), (1, 31, 0)),
    (Phase.FORMATION, (2, 1, 0), (3, 31, 0)),
    (Phase.HALF_YEAR, (6, 15, 0), (7, 31, 0)),
    (Phase.Q3, (10, 1, 0), (10, 20, 0)),
    (Phase.YEAR_END, (12, 20, 0), (3, 15, 1)),
    (Phase.FEEDBACK, (3, 16, 1), (4, 30, 1)),
]


def local_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), LOCAL)


def default_calendar(year: int) -> dict[Phase, tuple[datetime, datetime]]:
    return {
        phase: (local_start(date(year + o[2], o[0], o[1])), local_end(date(year + d[2], d[0], d[1])))
        for phase, o, d in PLAN_CALENDAR
    }


def ensure_calendar(scheme_year: SchemeYear) -> dict[Phase, YearPhase]:
    have = {
        p.phase: p
        for p in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == scheme_year.id))
    }
    for phase, (opens, deadline) in default_calendar(scheme_year.year).items():
        if phase not in have:
            have[phase] = YearPhase(
                scheme_year_id=scheme_year.id, phase=phase, opens_at=opens, deadline=deadline
            )
            db.session.add(have[phase])
    db.session.flush()
    return have


def clone_scheme_year(source: SchemeYear, year: int, title: str | None = None) -> SchemeYear:
    """A new draft year with the source's tiers and indicators (the starting point for declarations)."""
    target = SchemeYear(
        scheme=source.scheme,
        year=year,
        title=title or source.title.replace(str(source.year), str(year)),
        status=YearStatus.DRAFT,
        total_weight=source.total_weight,
        process_weight=source.process_weight,
        year_end_weight=source.year_end_weight,
        process_rule=source.process_rule,
        fraud_bars_award=source.fraud_bars_award,
    )
    db.session.add(target)
    sources = indicator_service.load_dimensions(source)  # loaded before building, so no autoflush midway
    # Each row is added explicitly: setting the many-to-one side does not cascade into the session.
    with db.session.no_autoflush:
        for d in sources:
            dimension = Dimension(scheme_year=target, number=d.number, code=d.code, name=d.name)
            db.session.add(dimension)
            for lv in d.levels:
                level = Level(
                    scheme_year=target, dimension=dimension, number=lv.number, code=lv.code, name=lv.name
                )
                db.session.add(level)
                for kp in lv.key_points:
                    point = KeyPoint(scheme_year=target, level=level, number=kp.number, name=kp.name)
                    db.session.add(point)
                    for ind in kp.indicators:
                        copy = Indicator(
                            scheme_year=target,
                            key_point=point,
                            seq=ind.seq,
                            code=ind.code,
                            name=ind.name,
                            weight=ind.weight,
                            owner_id=ind.owner_id,
                            unit=ind.unit,
                            scoring_rule=ind.scoring_rule,
                        )
                        copy.co_owner_rows = [
                            IndicatorCoOwner(org_id=row.org_id) for row in ind.co_owner_rows
                        ]
                        db.session.add(copy)
    db.session.flush()
    return target


def _a_year_later(moment: datetime) -> datetime:
    """The same local day and hour a year on (29 February becomes the 28th)."""
    local = moment.astimezone(LOCAL)
    try:
        shifted = local.replace(year=local.year + 1)
    except ValueError:
        shifted = local.replace(year=local.year + 1, day=28)
    return shifted.astimezone(UTC)


def prepare_next_year(actor: User, source: SchemeYear, now: datetime) -> tuple[SchemeYear, bool]:
    """Year N+1 from year N: the scheme's settings (weights, process rule, the calendar a year on),
    the indicator system as the draft next year's declaration starts from, and every process the
    year runs as a definition draft of N+1. Year N and its instances are untouched. When N+1
    exists already, it is returned as it is (and False)."""
    errors.forbid_unless(actor.can_manage_processes())
    existing = SchemeYear.find(source.scheme, source.year + 1)
    if existing is not None:
        return existing, False
    target = clone_scheme_year(source, source.year + 1)
    for row in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == source.id)):
        db.session.add(
            YearPhase(
                scheme_year_id=target.id,
                phase=row.phase,
                opens_at=_a_year_later(row.opens_at),
                deadline=_a_year_later(row.deadline),
            )
        )
    db.session.flush()
    ensure_calendar(target)  # a phase the source had no date for takes the plan's
    drafts = process_definitions.copy_as_drafts(source, target, actor, now)
    audit.record(
        "year.prepared",
        actor,
        detail={"from": source.year, "year": target.year, "drafts": sorted(d.process_id for d in drafts)},
        at=now,
    )
    return target, True


def rules_locked(scheme_year: SchemeYear) -> bool:
    """The year's award rules are fixed once the leadership has approved its annual results."""
    return (
        db.session.scalar(
            select(AnnualResult.id).where(
                AnnualResult.scheme_year_id == scheme_year.id, AnnualResult.approved_at.is_not(None)
            )
        )
        is not None
    )


def set_fraud_bars_award(scheme_year: SchemeYear, bars: bool, actor: User, now: datetime) -> SchemeYear:
    """Set whether a city with fraud found on a key point's indicator is left out of that key point's
    award: the office or an admin, until the year's annual results are approved (then they stand)."""
    errors.forbid_unless(
        actor.can_manage_processes(), _l("Only the performance office and admins set the year's rules.")
    )
    if rules_locked(scheme_year):
        raise errors.Conflict(
            str(
                _l(
                    "The %(year)d annual results are approved: its rules can no longer change.",
                    year=scheme_year.year,
                )
            )
        )
    if scheme_year.fraud_bars_award != bars:
        audit.record(
            "year.rules_set",
            actor,
            detail={"year": scheme_year.year, "fraud_bars_award": bars, "was": scheme_year.fraud_bars_award},
            at=now,
        )
        scheme_year.fraud_bars_award = bars
        db.session.flush()
    return scheme_year


def ensure_scheme_year(scheme: Scheme, year: int) -> SchemeYear:
    existing = SchemeYear.find(scheme, year)
    if existing is not None:
        return existing
    if year not in YEARS:  # scheme_year's year_range check: refused here, not by the database
        raise errors.NotFound(str(_l("There is no year %(year)d: years run from 2000 to 2999.", year=year)))
    previous = db.session.scalar(
        select(SchemeYear)
        .where(SchemeYear.scheme_id == scheme.id, SchemeYear.year < year)
        .order_by(SchemeYear.year.desc())
    )
    if previous is None:
        raise errors.NotFound(str(_l("There is no earlier year to start %(year)d from.", year=year)))
    return clone_scheme_year(previous, year)


def annual_instance(scheme_year: SchemeYear) -> ProcessInstance | None:
    return db.session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.scheme_year_id == scheme_year.id, ProcessInstance.process_id == ANNUAL_PROCESS)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class OpenStep:
    """Tasks open now under one title, in one phase."""

    phase: Phase | None
    title: str
    count: int


@dataclass(frozen=True)
class CalendarEntry:
    """A phase of the year's calendar: when it opens, its deadline, and where it stands."""

    phase: Phase
    opens_at: datetime
    deadline: datetime
    state: str  # one of PHASE_STATES

    @property
    def state_title(self) -> str:
        return str(PHASE_STATES[self.state])


PHASE_STATES = {
    "not_started": _l("Year not started"),
    "upcoming": _l("Opens on its date"),
    "waiting": _l("Waiting to open"),
    "open": _l("In progress"),
    "ended": _l("Ended"),
}


@dataclass
class YearRow:
    """One year on the cycle page: its annual instance, the phases it waits for, what is open, the calendar."""

    year: SchemeYear
    instance: ProcessInstance | None
    waiting: list[Phase]
    open_steps: list[OpenStep]
    calendar: list[CalendarEntry]
    rules_locked: bool = False  # the annual results are approved: the year's rules stand


def year_rows(scheme: Scheme, now: datetime) -> list[YearRow]:
    """The scheme's years, newest first, each with its cycle's state and calendar."""
    years = db.session.scalars(
        select(SchemeYear).where(SchemeYear.scheme_id == scheme.id).order_by(SchemeYear.year.desc())
    ).all()
    rows = []
    for y in years:
        instance = annual_instance(y)
        open_steps: list[OpenStep] = []
        if instance is not None:
            open_steps = [
                OpenStep(Phase(phase) if phase else None, title, count)
                for phase, title, count in db.session.execute(
                    year_tasks(y.id)
                    .where(InboxTask.status == TaskStatus.OPEN)
                    .with_only_columns(InboxTask.phase, InboxTask.title, func.count())
                    .group_by(InboxTask.phase, InboxTask.title)
                    .order_by(InboxTask.phase, InboxTask.title)
                )
            ]
        waiting = waiting_phases(instance) if instance else []
        rows.append(
            YearRow(
                y,
                instance,
                waiting,
                open_steps,
                _calendar(y, instance, waiting, open_steps, now),
                rules_locked(y),
            )
        )
    return rows


def _calendar(
    year: SchemeYear,
    instance: ProcessInstance | None,
    waiting: list[Phase],
    open_steps: list[OpenStep],
    now: datetime,
) -> list[CalendarEntry]:
    busy = {step.phase for step in open_steps} | {
        Phase(phase)
        for phase in db.session.scalars(
            select(ProcessInstance.phase).where(
                ProcessInstance.scheme_year_id == year.id,
                ProcessInstance.status.in_(
                    [InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.INCIDENT]
                ),
                ProcessInstance.phase.in_([p.value for p in Phase]),
            )
        )
    }
    dates = {
        row.phase: (row.opens_at, row.deadline)
        for row in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == year.id))
    } or default_calendar(year.year)  # a year not started yet: the calendar starting it will set
    entries = []
    for phase in Phase:
        if phase not in dates:
            continue
        opens_at, deadline = dates[phase]
        if instance is None:
            state = "not_started"
        elif phase in busy:
            state = "open"
        elif phase in waiting:
            state = "waiting" if opens_at <= now else "upcoming"
        else:
            state = "upcoming" if opens_at > now else "ended"
        entries.append(CalendarEntry(phase, opens_at, deadline, state))
    return entries


def participants() -> dict[str, list[str]]:
    """Org codes the phases fan out over: departments, cities, and each city's counterpart office."""
    units = db.session.scalars(select(OrgUnit).order_by(OrgUnit.sort_order, OrgUnit.code)).all()
    cities = [u for u in units if u.kind == OrgKind.CITY]
    counterparts = []
    for city in cities:
        first = next((c for c in city.children if c.kind == OrgKind.COUNTERPART), None)
        counterparts.append(first.code if first else city.code)
    return {
        "departments": [u.code for u in units if u.kind == OrgKind.DEPARTMENT],
        "cities": [c.code for c in cities],
        "counterparts": counterparts,
    }


def start_annual_cycle(scheme: Scheme, year: int, user: User | None) -> ProcessInstance:
    """Start the year's annual process (creating the year from the previous one when needed)."""
    if user is not None:
        errors.forbid_unless(user.can_manage_processes())
    scheme_year = ensure_scheme_year(scheme, year)
    running = annual_instance(scheme_year)
    if running is not None and running.status != InstanceStatus.COMPLETED:
        raise errors.Conflict(str(_l("The %(year)d cycle has already been started.", year=year)))
    calendar = ensure_calendar(scheme_year)
    data: dict = {"year": year, "scheme_year_id": scheme_year.id, **participants()}
    for phase, row in calendar.items():
        data[f"{phase.value}_opens"] = row.opens_at.isoformat()
        data[f"{phase.value}_deadline"] = row.deadline.isoformat()
    instance = task_service.start_process(
        ANNUAL_PROCESS,
        user,
        business_key=f"{year} {scheme.name}",
        data=data,
        scheme_year_id=scheme_year.id,
    )
    audit.record("cycle.started", user, instance_id=instance.id, detail={"year": year})
    return instance


def start_phase_now(instance_id: int, phase: Phase, user: User) -> ProcessInstance:
    """The office opens a phase before its date."""
    return task_service.send_message(instance_id, f"start_{phase.value}", user)


def waiting_phases(instance: ProcessInstance) -> list[Phase]:
    """Phases the annual process is waiting to open (their start can be brought forward)."""
    if instance.status == InstanceStatus.COMPLETED:
        return []
    names = engine.waiting_messages(instance)
    return [p for p in Phase if f"start_{p.value}" in names]


def start_revision(scheme_year: SchemeYear, actor: User) -> ProcessInstance:
    """Open a formal revision of an approved system; the leadership must approve it again."""
    errors.forbid_unless(actor.can_manage_processes())
    if scheme_year.status != YearStatus.APPROVED:
        raise errors.Conflict(
            str(_l("Only an approved system can be revised, and only one revision at a time."))
        )
    scheme_year.status = YearStatus.REVISING
    latest = SystemRevision.latest(scheme_year.id)
    return task_service.start_process(
        REVISION_PROCESS,
        actor,
        business_key=f"{scheme_year.year} 指标体系修订 {(latest.number if latest else 0) + 1}",
        data={"year": scheme_year.year, "scheme_year_id": scheme_year.id},
        scheme_year_id=scheme_year.id,
    )


def calendar(scheme_year: SchemeYear) -> list[YearPhase]:
    """The year's phases with their opening dates and deadlines, in the order of the year."""
    rows = {
        p.phase: p
        for p in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == scheme_year.id))
    }
    return [rows[p] for p in Phase if p in rows]
