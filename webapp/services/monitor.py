"""The office's live view of a year: counts per BPMN element, who is late in which phase, escalation,
reminders and incidents."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from models.db import db
from models.formation import Phase
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, User
from models.rules.escalation import Level, escalation_level
from models.scheme import SchemeYear
from models.workflow import (
    AuditEvent,
    InboxTask,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)
from webapp.services import cycle as cycle_service
from webapp.services import notifications
from webapp.services.task_page import phase_of
from webapp.services.tasks import Conflict, NotFound, require_manager
from workflows import engine

# The diagrams in the order a year runs through them; any other process the year uses follows.
PROCESS_ORDER = [
    "annual_cycle",
    "declaration",
    "department_declaration",
    "system_formation",
    "system_revision",
    "evaluation_round",
    "corrections",
    "year_end",
    "feedback",
]
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


# instance id → (digest of its state, element states): the monitor polls; the state rarely changes.
_STATES: dict[int, tuple[str, list[engine.ElementState]]] = {}
_STATES_KEPT = 16


def cached_states(instance: ProcessInstance) -> list[engine.ElementState]:
    """The instance's element states, read from its state again only when the instance has changed."""
    key = hashlib.blake2b(instance.state.encode(), digest_size=16).hexdigest()
    hit = _STATES.get(instance.id)
    if hit is not None and hit[0] == key:
        return hit[1]
    states = engine.element_states(instance, completed=True)
    if len(_STATES) >= _STATES_KEPT:
        _STATES.pop(next(iter(_STATES)))
    _STATES[instance.id] = (key, states)
    return states


def element_counts(
    instance: ProcessInstance, states: list[engine.ElementState], now: datetime
) -> dict[str, dict[str, dict[str, int]]]:
    """{process id: {element id: counts}}: open user tasks (and how many overdue), incidents, waiting
    events and completed user tasks. A call activity counts what is open beneath it."""
    due = dict(
        db.session.execute(
            select(InboxTask.task_guid, InboxTask.due_at).where(
                InboxTask.instance_id == instance.id, InboxTask.status == TaskStatus.OPEN
            )
        ).all()
    )
    counts: dict[str, dict[str, ElementCounts]] = defaultdict(lambda: defaultdict(ElementCounts))
    for item in states:
        targets = [(item.process_id, item.element_id), *item.call_path]
        if item.state == "completed":
            counts[item.process_id][item.element_id].done += 1
            continue
        if item.state == "error":
            for pid, eid in targets:
                counts[pid][eid].incident += 1
        elif item.user_task and item.state == "ready" and item.task_guid in due:
            late = due[item.task_guid] is not None and due[item.task_guid] < now
            for pid, eid in targets:
                counts[pid][eid].open += 1
                counts[pid][eid].overdue += int(late)
        elif item.state == "waiting" and not item.user_task:
            counts[item.process_id][item.element_id].waiting += 1
    return {pid: {eid: c.as_dict() for eid, c in elements.items()} for pid, elements in counts.items()}


def current_element(task: InboxTask) -> tuple[str, str] | None:
    """(process id, element id) of an open task in its instance's diagrams, or None once it is gone."""
    for item in engine.element_states(task.instance):
        if item.task_guid == task.task_guid:
            return item.process_id, item.element_id
    return None


def diagrams(instance: ProcessInstance) -> list[ProcessDefinition]:
    """The definitions this instance runs, in the year's order."""
    ids = list((instance.definition_ids or {}).values())
    found = db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.id.in_(ids))).all()
    rank = {pid: i for i, pid in enumerate(PROCESS_ORDER)}
    return sorted(found, key=lambda d: (rank.get(d.process_id, len(rank)), d.process_id))


def busiest_process(states: list[engine.ElementState], root: str = "annual_cycle") -> str:
    """The process whose own elements hold the most open tasks and incidents: the diagram to show first."""
    load: dict[str, int] = defaultdict(int)
    for item in states:
        if (item.user_task and item.state == "ready") or item.state == "error":
            load[item.process_id] += 1
    return max(load, key=lambda pid: (load[pid], pid != root)) if load else root


def diagram_of(instance: ProcessInstance, process_id: str) -> ProcessDefinition:
    definition_id = (instance.definition_ids or {}).get(process_id)
    definition = db.session.get(ProcessDefinition, definition_id) if definition_id else None
    if definition is None:
        raise NotFound(str(_l("This process has no diagram %(process)s.", process=process_id)))
    return definition


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
    instance: ProcessInstance | None
    counts: dict[str, dict[str, dict[str, int]]]
    definitions: list[ProcessDefinition]
    cities: Matrix
    departments: Matrix
    escalations: list[Overdue]
    incidents: list[ProcessInstance]
    totals: dict[str, int]
    busiest: str


def holidays() -> set[date]:
    configured = current_app.config.get("HOLIDAYS") or []
    if isinstance(configured, str):
        configured = configured.split(",")
    return {date.fromisoformat(str(d).strip()) for d in configured if str(d).strip()}


def escalations(tasks: list[InboxTask], now: datetime) -> list[Overdue]:
    """Open tasks at warning level or worse, the most urgent first, with the last reminder's time."""
    zone = cycle_service.LOCAL
    days_off = holidays()
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


def year_overview(scheme_year: SchemeYear, now: datetime) -> Overview:
    instance = cycle_service.annual_instance(scheme_year)
    tasks: list[InboxTask] = []
    if instance is not None:
        tasks = list(
            db.session.scalars(
                select(InboxTask)
                .where(InboxTask.instance_id == instance.id)
                # the drafts and submitted values are large JSON and not needed here
                .options(
                    joinedload(InboxTask.org).joinedload(OrgUnit.parent),
                    defer(InboxTask.draft),
                    defer(InboxTask.submitted),
                )
                .order_by(InboxTask.created_at, InboxTask.id)
            )
        )
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    incidents = [instance] if instance is not None and instance.incident_message else []
    states = cached_states(instance) if instance is not None else []
    return Overview(
        scheme_year=scheme_year,
        instance=instance,
        counts=element_counts(instance, states, now) if instance is not None else {},
        definitions=diagrams(instance) if instance is not None else [],
        cities=_matrix(tasks, OrgKind.CITY, CITY_PHASES),
        departments=_matrix(tasks, OrgKind.DEPARTMENT, DEPARTMENT_PHASES),
        escalations=escalations(open_tasks, now),
        incidents=incidents,
        totals={
            "open": len(open_tasks),
            "overdue": sum(1 for t in open_tasks if t.due_at and t.due_at < now),
            "done": sum(1 for t in tasks if t.status == TaskStatus.COMPLETED),
            "incidents": len(incidents),
        },
        busiest=busiest_process(states),
    )


def remind(scheme_year: SchemeYear, task_guid: str, sender: User, now: datetime) -> tuple[InboxTask, int]:
    """Remind whoever must do an open task of the year; a second reminder within REMINDER_QUIET is refused."""
    require_manager(sender)
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


def remind_all(scheme_year: SchemeYear, level: Level, sender: User, now: datetime) -> int:
    """Remind every open task of the year at `level` or worse that was not reminded just now."""
    require_manager(sender)
    instance = cycle_service.annual_instance(scheme_year)
    if instance is None:
        return 0
    open_tasks = db.session.scalars(
        select(InboxTask).where(InboxTask.instance_id == instance.id, InboxTask.status == TaskStatus.OPEN)
    ).all()
    worse = {Level.RED: {Level.RED}, Level.YELLOW: {Level.RED, Level.YELLOW}}.get(
        level, {Level.RED, Level.YELLOW, Level.WARNING}
    )
    sent = 0
    for item in escalations(list(open_tasks), now):
        if item.level in worse and (item.reminded_at is None or now - item.reminded_at >= REMINDER_QUIET):
            notifications.send_reminder(item.task, sender, now)
            sent += 1
    return sent


BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def element_names(definition: ProcessDefinition) -> dict[str, str]:
    """Element id → its name in the diagram (for the counts table beside the drawing)."""
    root = etree.fromstring(definition.bpmn_xml.encode())
    return {
        node.get("id"): node.get("name") or node.get("id")
        for node in root.iter()
        if isinstance(node.tag, str) and node.tag.startswith(BPMN_NS) and node.get("id") and node.get("name")
    }


def count_rows(overview: Overview) -> list[dict[str, Any]]:
    """The diagrams' counts as table rows: process, element, counts (what the overlays show)."""
    rows = []
    for definition in overview.definitions:
        counts = overview.counts.get(definition.process_id, {})
        if not counts:
            continue
        names = element_names(definition)
        for element_id, values in sorted(counts.items(), key=lambda kv: names.get(kv[0], kv[0])):
            rows.append(
                {
                    "process": definition.name,
                    "process_id": definition.process_id,
                    "element": names.get(element_id, element_id),
                    "element_id": element_id,
                    **values,
                }
            )
    return rows


# sha256 of a deployed definition → (element id, form key) of its user tasks. Definitions are
# immutable once deployed, so the content hash is a safe key across databases and workers.
_USER_TASKS: dict[str, frozenset[tuple[str, str]]] = {}


def _user_tasks(definition: ProcessDefinition) -> frozenset[tuple[str, str]]:
    if definition.sha256 not in _USER_TASKS:
        root = etree.fromstring(definition.bpmn_xml.encode())
        found = set()
        for node in root.iter(f"{BPMN_NS}userTask"):
            form_key = next(
                (
                    p.get("value")
                    for p in node.iter()
                    if isinstance(p.tag, str) and p.tag.endswith("property") and p.get("name") == "formKey"
                ),
                "",
            )
            found.add((node.get("id"), form_key))
        _USER_TASKS[definition.sha256] = frozenset(found)
    return _USER_TASKS[definition.sha256]


def task_location(task: InboxTask) -> tuple[str, str] | None:
    """(process id, element id) of a task in the diagrams its instance runs: found from the deployed
    definitions, or from the live state when two processes share the element and form."""
    key = (task.element_id, task.form_key)
    ids = list((task.instance.definition_ids or {}).values())
    definitions = db.session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.id.in_(ids))
        .options(defer(ProcessDefinition.bpmn_xml))
    ).all()
    owners = [d.process_id for d in definitions if key in _user_tasks(d)]
    if len(owners) == 1:
        return owners[0], task.element_id
    if task.status == TaskStatus.OPEN:
        return current_element(task)
    return None
