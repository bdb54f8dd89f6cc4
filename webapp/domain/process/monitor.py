"""The office's live view of a year: its instance tree, counts per BPMN element summed over the
year's instances of each process, who is late in which phase, escalation, reminders and incidents.
Read from the inbox and instance tables; only waiting timers and messages need an instance's state."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from models.db import db
from models.formation import Phase
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, User
from models.rules.escalation import Level, escalation_level
from models.scheme import Scheme, SchemeYear
from models.workflow import (
    AuditEvent,
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    year_tasks,
)
from webapp.domain import errors, notifications
from webapp.domain.errors import Conflict, NotFound
from webapp.domain.process import cycle as cycle_service
from webapp.domain.process.task_page import phase_of
from workflows import engine

CITY_PHASES = [Phase.FORMATION, Phase.HALF_YEAR, Phase.Q3, Phase.YEAR_END, Phase.FEEDBACK]
DEPARTMENT_PHASES = [Phase.DECLARATION, Phase.FORMATION, Phase.HALF_YEAR, Phase.Q3, Phase.YEAR_END]
# A reminder for the same task within this time is not sent again (two clicks do one thing).
REMINDER_QUIET = timedelta(minutes=30)
REMINDER_ACTION = "task.reminded"


@dataclass
class ElementCounts:
    open: int = 0
    overdue: int = 0
    incident: int = 0
    waiting: int = 0
    done: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if v}


# instance id → (digest of its state, element states): the monitor polls; a state rarely changes.
_STATES: dict[int, tuple[str, list[engine.ElementState]]] = {}
_STATES_KEPT = 256


def cached_states(instance_id: int, state: str) -> list[engine.ElementState]:
    """An instance's element states, read from its state again only when the instance has changed."""
    key = hashlib.blake2b(state.encode(), digest_size=16).hexdigest()
    hit = _STATES.get(instance_id)
    if hit is not None and hit[0] == key:
        return hit[1]
    states = engine.element_states(state)
    if len(_STATES) >= _STATES_KEPT:
        _STATES.pop(next(iter(_STATES)))
    _STATES[instance_id] = (key, states)
    return states


@dataclass
class Node:
    """One instance in the year's tree, with what is open beneath it."""

    instance: ProcessInstance
    name: str
    children: list[Node] = field(default_factory=list)
    orgs: list[OrgUnit] = field(default_factory=list)  # whom its tasks are for (a department's declaration)
    open: int = 0  # open tasks here and beneath
    incidents: int = 0  # instances with an incident here and beneath

    @property
    def label(self) -> str:
        """The calling activity's name (or the process's), and whom it is for when that is one org."""
        return f"{self.name} · {self.orgs[0].short_name}" if len(self.orgs) == 1 else self.name


def _tree(instances: list[ProcessInstance], tasks: list[InboxTask]) -> list[Node]:
    """The year's instances as trees (annual → phases → per-department …), children in start order."""
    described = {d.id: engine.describe(d) for d in _definitions({i.definition_id for i in instances})}
    by_id = {i.id: i for i in instances}

    def name(instance: ProcessInstance) -> str:
        parent = by_id.get(instance.parent_instance_id) if instance.parent_instance_id else None
        if parent is not None and parent.definition_id in described and instance.parent_element_id:
            return described[parent.definition_id].name_of(instance.parent_element_id)
        own = described.get(instance.definition_id)
        return own.name if own is not None else instance.process_id

    nodes = {i.id: Node(i, name(i)) for i in instances}
    roots: list[Node] = []
    for instance in sorted(instances, key=lambda i: (i.started_at, i.id)):
        node = nodes[instance.id]
        parent = nodes.get(instance.parent_instance_id) if instance.parent_instance_id else None
        (parent.children if parent is not None else roots).append(node)
    for task in tasks:
        holder = nodes.get(task.instance_id)
        if holder is None:
            continue
        org = task.org or task.subject_org
        if org is not None and org not in holder.orgs:
            holder.orgs.append(org)
        if task.status == TaskStatus.OPEN:
            holder.open += 1

    def total(node: Node) -> None:
        node.incidents = int(node.instance.status == InstanceStatus.INCIDENT)
        for child in node.children:
            total(child)
            node.open += child.open
            node.incidents += child.incidents

    for root in roots:
        total(root)
    return roots


def element_counts(
    instances: list[ProcessInstance], tasks: list[InboxTask], now: datetime
) -> dict[str, dict[str, dict[str, int]]]:
    """{process id: {element id: counts}}, summed over the year's instances of each process: open
    user tasks (and how many overdue), incidents, waiting events and completed user tasks. A call
    activity counts what is open, and what failed, in the instances beneath it."""
    by_id = {i.id: i for i in instances}

    def calls_above(instance_id: int) -> list[tuple[str, str]]:
        path, current = [], by_id.get(instance_id)
        while current is not None and current.parent_instance_id in by_id:
            parent = by_id[current.parent_instance_id]
            path.append((parent.process_id, current.parent_element_id or ""))
            current = parent
        return path

    counts: dict[str, dict[str, ElementCounts]] = defaultdict(lambda: defaultdict(ElementCounts))
    for task in tasks:
        process_id = task.process_id or by_id[task.instance_id].process_id
        if task.status == TaskStatus.COMPLETED:
            counts[process_id][task.element_id].done += 1
        elif task.status == TaskStatus.OPEN:
            late = int(task.due_at is not None and task.due_at < now)
            for pid, eid in [(process_id, task.element_id), *calls_above(task.instance_id)]:
                counts[pid][eid].open += 1
                counts[pid][eid].overdue += late
    for instance in instances:
        if instance.status == InstanceStatus.INCIDENT:
            for pid, eid in [
                (instance.process_id, instance.incident_element or ""),
                *calls_above(instance.id),
            ]:
                counts[pid][eid].incident += 1
    live = [i.id for i in instances if i.status in (InstanceStatus.RUNNING, InstanceStatus.WAITING)]
    if live:
        for instance_id, state in db.session.execute(
            select(ProcessInstance.id, ProcessInstance.state).where(ProcessInstance.id.in_(live))
        ):
            for item in cached_states(instance_id, state):
                if item.state == "waiting" and not item.user_task:
                    counts[item.process_id][item.element_id].waiting += 1
    return {pid: {eid: c.as_dict() for eid, c in elements.items()} for pid, elements in counts.items()}


def _definitions(ids: set[int]) -> list[ProcessDefinition]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(ProcessDefinition)
            .where(ProcessDefinition.id.in_(ids))
            .options(defer(ProcessDefinition.bpmn_xml))
        )
    )


def diagrams(instances: list[ProcessInstance]) -> list[ProcessDefinition]:
    """One definition per process the year runs (the newest version it started), in the order the
    year first started each: the annual process, then its phases and what they call."""
    newest: dict[str, ProcessInstance] = {}
    first: dict[str, tuple] = {}
    for instance in sorted(instances, key=lambda i: (i.started_at, i.id)):
        first.setdefault(instance.process_id, (instance.parent_instance_id is not None, instance.started_at))
        newest[instance.process_id] = instance
    found = {d.id: d for d in _definitions({i.definition_id for i in newest.values()})}
    ordered = sorted(newest.values(), key=lambda i: (*first[i.process_id], i.process_id))
    return [found[i.definition_id] for i in ordered if i.definition_id in found]


def busiest_process(tasks: list[InboxTask], instances: list[ProcessInstance], root: str) -> str:
    """The process whose own elements hold the most open tasks and incidents: the diagram to show first."""
    load: dict[str, int] = defaultdict(int)
    for task in tasks:
        if task.status == TaskStatus.OPEN:
            load[task.process_id] += 1
    for instance in instances:
        if instance.status == InstanceStatus.INCIDENT:
            load[instance.process_id] += 1
    return max(load, key=lambda pid: (load[pid], pid != root)) if load else root


def latest_started_year(scheme_code: str) -> int | None:
    """The newest year of the scheme that has any process instance."""
    return db.session.scalar(
        select(SchemeYear.year)
        .join(ProcessInstance, ProcessInstance.scheme_year_id == SchemeYear.id)
        .join(Scheme, Scheme.id == SchemeYear.scheme_id)
        .where(Scheme.code == scheme_code)
        .order_by(SchemeYear.year.desc())
        .limit(1)
    )


def instance_of_year(scheme_year: SchemeYear, instance_id: int) -> ProcessInstance:
    """An instance of the year (NotFound for another year's or none)."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or instance.scheme_year_id != scheme_year.id:
        raise NotFound(str(_l("There is no such process instance.")))
    return instance


def year_instances(scheme_year: SchemeYear) -> list[ProcessInstance]:
    """Every instance of the year (the annual tree, revisions), without their states."""
    return list(
        db.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.scheme_year_id == scheme_year.id)
            .options(defer(ProcessInstance.state))
            .order_by(ProcessInstance.started_at, ProcessInstance.id)
        )
    )


def diagram_of(scheme_year: SchemeYear, process_id: str) -> ProcessDefinition:
    """The definition of a process as the year runs it: its newest instance's."""
    definition_id = db.session.scalar(
        select(ProcessInstance.definition_id)
        .where(ProcessInstance.scheme_year_id == scheme_year.id, ProcessInstance.process_id == process_id)
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
        .limit(1)
    )
    definition = db.session.get(ProcessDefinition, definition_id) if definition_id else None
    if definition is None:
        raise NotFound(str(_l("This process has no diagram %(process)s.", process=process_id)))
    return definition


def task_diagram(task: InboxTask, process_id: str) -> ProcessDefinition:
    """The diagram of the process a task belongs to (its instance's definition)."""
    if process_id and process_id != task_location(task)[0]:
        raise NotFound(str(_l("This process has no diagram %(process)s.", process=process_id)))
    return task.instance.definition


def call_targets(definitions: list[ProcessDefinition]) -> dict[str, dict[str, str]]:
    """{process id: {call activity id: the process it calls}}: where a click on a call activity leads."""
    return {
        d.process_id: {e.id: e.called for e in engine.describe(d).calls.values()}
        for d in definitions
        if engine.describe(d).calls
    }


@dataclass
class Cell:
    """One org in one phase: its latest task, and whether it was submitted, late, returned or open."""

    tasks: list[InboxTask] = field(default_factory=list)

    @property
    def latest(self) -> InboxTask:
        return self.tasks[-1]

    def status(self, now: datetime) -> str:
        if not self.tasks:
            return "none"
        open_tasks = [t for t in self.tasks if t.status == TaskStatus.OPEN]
        returned = self._returned()
        if open_tasks:
            if any(t.due_at and t.due_at < now for t in open_tasks):
                return "overdue"
            return "returned" if returned else "open"
        if returned:
            return "returned_done"
        late = any(t.due_at and t.completed_at and t.completed_at > t.due_at for t in self.tasks)
        return "late" if late else "submitted"

    def _returned(self) -> bool:
        # the same kind of task again for the same org and phase means the first was sent back
        keys = [t.form_key for t in self.tasks]
        return len(keys) != len(set(keys))


CELL_TITLES = {
    "none": _l("Nothing yet"),
    "open": _l("Open"),
    "overdue": _l("Overdue"),
    "returned": _l("Returned, open again"),
    "returned_done": _l("Returned, resubmitted"),
    "late": _l("Submitted late"),
    "submitted": _l("Submitted"),
}


@dataclass
class Matrix:
    phases: list[Phase]
    rows: list[tuple[OrgUnit, list[Cell]]]


def _matrix(tasks: list[InboxTask], kind: OrgKind, phases: list[Phase]) -> Matrix:
    units = db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind == kind).order_by(OrgUnit.sort_order, OrgUnit.code)
    ).all()
    cells: dict[tuple[int, Phase], Cell] = defaultdict(Cell)
    for task in tasks:
        if task.org is None:
            continue
        owner = task.org.root() if task.org.kind == OrgKind.COUNTERPART else task.org
        phase = phase_of(task)
        if owner.kind == kind and phase in phases:
            cells[(owner.id, phase)].tasks.append(task)
    return Matrix(phases=phases, rows=[(u, [cells[(u.id, p)] for p in phases]) for u in units])


@dataclass
class Overdue:
    task: InboxTask
    level: Level
    reminded_at: datetime | None


@dataclass
class Overview:
    scheme_year: SchemeYear
    instance: ProcessInstance | None  # the year's annual instance
    counts: dict[str, dict[str, dict[str, int]]]
    definitions: list[ProcessDefinition]
    cities: Matrix
    departments: Matrix
    escalations: list[Overdue]
    incidents: list[ProcessInstance]
    totals: dict[str, int]
    busiest: str
    tree: list[Node] = field(default_factory=list)
    calls: dict[str, dict[str, str]] = field(default_factory=dict)

    def instances_of(self, process_id: str) -> list[Node]:
        """The tree's nodes running a process (a phase's instances, each department's declaration)."""
        found: list[Node] = []
        stack = list(self.tree)
        while stack:
            node = stack.pop(0)
            if node.instance.process_id == process_id:
                found.append(node)
            stack[:0] = node.children
        return found


def escalations(tasks: list[InboxTask], now: datetime, days_off: Set[date] = frozenset()) -> list[Overdue]:
    """Open tasks at warning level or worse, the most urgent first, with the last reminder's time;
    `days_off` are the holidays besides weekends (the settings' HOLIDAYS)."""
    zone = cycle_service.LOCAL
    found = []
    for task in tasks:
        if task.status != TaskStatus.OPEN:
            continue
        level = escalation_level(task.due_at, now, zone, days_off)
        if level != Level.NONE:
            found.append((task, level))
    reminded = last_reminders([t.task_guid for t, _ in found])
    order = {Level.RED: 0, Level.YELLOW: 1, Level.WARNING: 2}
    found.sort(key=lambda pair: (order[pair[1]], pair[0].due_at, pair[0].id))
    return [Overdue(task, level, reminded.get(task.task_guid)) for task, level in found]


def last_reminders(task_guids: list[str]) -> dict[str, datetime]:
    if not task_guids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.task_guid, db.func.max(AuditEvent.at))
        .where(AuditEvent.action == REMINDER_ACTION, AuditEvent.task_guid.in_(task_guids))
        .group_by(AuditEvent.task_guid)
    ).all()
    return {guid: at for guid, at in rows}


def year_overview(scheme_year: SchemeYear, now: datetime, days_off: Set[date] = frozenset()) -> Overview:
    instance = cycle_service.annual_instance(scheme_year)
    instances = year_instances(scheme_year) if instance is not None else []
    tasks: list[InboxTask] = []
    if instance is not None:
        tasks = list(
            db.session.scalars(
                year_tasks(scheme_year.id)
                # the drafts and submitted values are large JSON and not needed here
                .options(
                    joinedload(InboxTask.org).joinedload(OrgUnit.parent),
                    joinedload(InboxTask.subject_org),
                    defer(InboxTask.draft),
                    defer(InboxTask.submitted),
                )
                .order_by(InboxTask.created_at, InboxTask.id)
            )
        )
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    incidents = [i for i in instances if i.status == InstanceStatus.INCIDENT]
    definitions = diagrams(instances)
    return Overview(
        scheme_year=scheme_year,
        instance=instance,
        counts=element_counts(instances, tasks, now),
        definitions=definitions,
        cities=_matrix(tasks, OrgKind.CITY, CITY_PHASES),
        departments=_matrix(tasks, OrgKind.DEPARTMENT, DEPARTMENT_PHASES),
        escalations=escalations(open_tasks, now, days_off),
        incidents=incidents,
        totals={
            "open": len(open_tasks),
            "overdue": sum(1 for t in open_tasks if t.due_at and t.due_at < now),
            "done": sum(1 for t in tasks if t.status == TaskStatus.COMPLETED),
            "incidents": len(incidents),
        },
        busiest=busiest_process(tasks, instances, instance.process_id if instance else ""),
        tree=_tree(instances, tasks),
        calls=call_targets(definitions),
    )


def remind(scheme_year: SchemeYear, task_guid: str, sender: User, now: datetime) -> tuple[InboxTask, int]:
    """Remind whoever must do an open task of the year; a second reminder within REMINDER_QUIET is refused."""
    errors.forbid_unless(sender.can_manage_processes())
    task = InboxTask.by_guid(task_guid)
    if task is None or task.instance.scheme_year_id != scheme_year.id:
        raise NotFound(str(_l("No such task.")))
    if task.status != TaskStatus.OPEN:
        raise Conflict(str(_l("This task is no longer open; no reminder was sent.")))
    last = last_reminders([task.task_guid]).get(task.task_guid)
    if last is not None and now - last < REMINDER_QUIET:
        raise Conflict(
            str(
                _l(
                    "A reminder for this task was already sent at %(time)s; wait %(minutes)d minutes before sending another.",
                    time=last.astimezone(cycle_service.LOCAL).strftime("%H:%M"),
                    minutes=int(REMINDER_QUIET.total_seconds() // 60),
                )
            )
        )
    count = notifications.send_reminder(task, sender, now)
    return task, count


def remind_all(
    scheme_year: SchemeYear, level: Level, sender: User, now: datetime, days_off: Set[date] = frozenset()
) -> int:
    """Remind every open task of the year at `level` or worse that was not reminded just now."""
    errors.forbid_unless(sender.can_manage_processes())
    open_tasks = db.session.scalars(
        year_tasks(scheme_year.id).where(InboxTask.status == TaskStatus.OPEN)
    ).all()
    worse = {Level.RED: {Level.RED}, Level.YELLOW: {Level.RED, Level.YELLOW}}.get(
        level, {Level.RED, Level.YELLOW, Level.WARNING}
    )
    sent = 0
    for item in escalations(list(open_tasks), now, days_off):
        if item.level in worse and (item.reminded_at is None or now - item.reminded_at >= REMINDER_QUIET):
            notifications.send_reminder(item.task, sender, now)
            sent += 1
    return sent


def instance_summaries(year: int | None, limit: int = 500) -> list[dict[str, Any]]:
    """The newest instances (of one year, if given) with their tree links, what is open in each and
    their incident, as plain data (the API's /v1/processes)."""
    # the states (up to tens of KB each) and the diagrams are not part of the answer
    query = (
        select(ProcessInstance)
        .options(
            defer(ProcessInstance.state),
            joinedload(ProcessInstance.definition).load_only(ProcessDefinition.version),
        )
        .order_by(ProcessInstance.id.desc())
        .limit(limit)
    )
    if year is not None:
        query = query.join(SchemeYear, SchemeYear.id == ProcessInstance.scheme_year_id).where(
            SchemeYear.year == year
        )
    instances = db.session.scalars(query).all()
    ids = [i.id for i in instances]
    children: dict[int, list[int]] = {}
    for child_id, parent_id in db.session.execute(
        select(ProcessInstance.id, ProcessInstance.parent_instance_id)
        .where(ProcessInstance.parent_instance_id.in_(ids))
        .order_by(ProcessInstance.id)
    ):
        children.setdefault(parent_id, []).append(child_id)
    activities: dict[int, dict[str, dict[str, Any]]] = {}
    for row in db.session.scalars(
        select(InboxTask).where(InboxTask.instance_id.in_(ids), InboxTask.status == TaskStatus.OPEN)
    ):
        entry = activities.setdefault(row.instance_id, {}).setdefault(
            row.element_id, {"element_id": row.element_id, "title": row.title, "open_tasks": 0}
        )
        entry["open_tasks"] += 1
    return [
        {
            "id": i.id,
            "process": i.process_id,
            "version": i.definition.version,
            "business_key": i.business_key,
            "parent_id": i.parent_instance_id,
            "parent_element_id": i.parent_element_id,
            "children": children.get(i.id, []),
            "phase": i.phase or None,
            "round": i.round or None,
            "status": i.status.value,
            "started_at": i.started_at.isoformat(),
            "ended_at": i.ended_at.isoformat() if i.ended_at else None,
            "due_at": i.due_at.isoformat() if i.due_at else None,
            "current_activities": list(activities.get(i.id, {}).values()),
            "incident": (
                {
                    "message": i.incident_message,
                    "element_id": i.incident_element,
                    "at": i.incident_at.isoformat(),
                }
                if i.status == InstanceStatus.INCIDENT and i.incident_at
                else None
            ),
        }
        for i in instances
    ]


def count_rows(overview: Overview) -> list[dict[str, Any]]:
    """The diagrams' counts as table rows: process, element, counts (what the overlays show)."""
    rows = []
    for definition in overview.definitions:
        counts = overview.counts.get(definition.process_id, {})
        if not counts:
            continue
        described = engine.describe(definition)
        for element_id, values in sorted(counts.items(), key=lambda kv: described.name_of(kv[0])):
            rows.append(
                {
                    "process": definition.name,
                    "process_id": definition.process_id,
                    "element": described.name_of(element_id),
                    "element_id": element_id,
                    **values,
                }
            )
    return rows


def task_location(task: InboxTask) -> tuple[str, str]:
    """(process id, element id) of a task: where the engine recorded it belongs."""
    return task.process_id or task.instance.process_id, task.element_id
