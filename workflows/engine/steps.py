"""Running an instance until everything waits, across the instance tree.

Every call activity runs its process as a child instance (see `calls`): the parent's task waits, the
child has its own state, lock, timers and incidents. Reached, a call starts its child in the same
transaction; a child that completes hands its outputs to the parent's task and runs the parent on;
a call that goes away (an interrupting boundary event) cancels its child and everything beneath.
So a completion loads, locks and saves the one small instance it belongs to, and its ancestors only
when it finishes them. `runtime` holds the verbs built on this.

Every function works inside the caller's transaction and flushes; the caller commits once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Executable, select, update

from models.db import db
from models.workflow import (
    LIVE_STATUSES,
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)
from workflows.engine import cache, calls, definitions, expressions, specs, state, stats
from workflows.engine.expressions import ExpressionError
from workflows.engine.inbox import sync_inbox, withdraw_all

ENGINE_ERRORS = (SpiffWorkflowException, ExpressionError, definitions.DefinitionError, specs.SpecError)


class InstanceClosed(Exception):
    """The instance has completed or was cancelled; nothing can move it any more."""


@dataclass
class StepResult:
    """What one unit of work did, across every instance it touched."""

    new_tasks: list[InboxTask] = field(default_factory=list)
    # the first incident it caused (its message), if any
    incident: str | None = None
    # messages a process threw that nothing in it catches: (instance, name, payload), for domain handlers
    events: list[tuple[ProcessInstance, str, dict[str, Any]]] = field(default_factory=list)
    started: list[ProcessInstance] = field(default_factory=list)
    completed: list[ProcessInstance] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


@dataclass
class Scan:
    """One pass over a workflow's live tasks: what the inbox mirrors and what the calls wait for."""

    ready: dict[str, Task]  # READY user tasks by guid
    waiting: dict[UUID, int]  # call activities waiting for their child: task id → child instance id
    unstarted: list[Task]  # call activities reached whose child has not been started yet


def scan_tasks(workflow: BpmnWorkflow) -> Scan:
    found = Scan({}, {}, [])
    # the flat task maps (in creation order) rather than the tree walk: the same tasks, far cheaper
    tasks = [*workflow.tasks.values()]
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    for task in tasks:
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                found.ready[str(task.id)] = task
        elif task.state == TaskState.STARTED and isinstance(task.task_spec, calls.ChildInstanceCall):
            child = task._get_internal_data(calls.CHILD)
            if child is None:
                found.unstarted.append(task)
            else:
                found.waiting[task.id] = child
    return found


@dataclass
class Loaded:
    """An instance with its workflow in memory, and what was true of it when it was loaded."""

    instance: ProcessInstance
    workflow: BpmnWorkflow
    compiled: specs.Compiled
    ready_before: set[str]
    waiting_before: dict[UUID, int]
    ready: dict[str, Task] = field(default_factory=dict)
    # started by a parent that is in memory: the parent's run finishes its call, not the database
    inline: bool = False


def lock_instance(instance_id: int) -> ProcessInstance | None:
    """Take the instance's lock for the rest of the transaction and return its current row.

    PostgreSQL: SELECT … FOR UPDATE. SQLite: a write to the row first (UPDATE … RETURNING), which
    takes the database's write lock (waiting up to the busy timeout) before anything is read.
    """
    query: Executable
    if db.session.get_bind().dialect.name == "sqlite":
        query = (
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(lock_version=ProcessInstance.lock_version + 1)
            .returning(ProcessInstance)
            .execution_options(synchronize_session=False)
        )
    else:
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def load(instance: ProcessInstance) -> Loaded:
    if not instance.is_live:
        raise InstanceClosed(instance.id)
    stats.loaded(len(instance.state))
    kept = cache.take(db.session(), instance.id, instance.state)
    workflow, compiled = kept if kept is not None else state.load(instance.state)
    scan = scan_tasks(workflow)
    if instance.status == InstanceStatus.INCIDENT:
        # an incident saved the state without syncing the inbox: its open rows are what was mirrored
        ready_before = set(
            db.session.scalars(
                select(InboxTask.task_guid).where(
                    InboxTask.instance_id == instance.id, InboxTask.status == TaskStatus.OPEN
                )
            )
        )
    else:
        ready_before = set(scan.ready)
    return Loaded(instance, workflow, compiled, ready_before, scan.waiting, ready=scan.ready)


def new_instance(
    definition: ProcessDefinition, compiled: specs.Compiled, *, now: datetime, **values: Any
) -> ProcessInstance:
    instance = ProcessInstance(
        definition_id=definition.id,
        process_id=compiled.description.process_id,
        status=InstanceStatus.RUNNING,
        state="",
        serializer_version=state.SERIALIZER_VERSION,
        started_at=now,
        updated_at=now,
        **values,
    )
    db.session.add(instance)
    return instance


def begin(
    instance: ProcessInstance, compiled: specs.Compiled, data: dict[str, Any], inline: bool = False
) -> Loaded:
    workflow = compiled.new_workflow()
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return Loaded(instance, workflow, compiled, set(), {}, inline=inline)


def waiting_definitions(workflow: BpmnWorkflow) -> Iterator[tuple[Task, EventDefinition]]:
    """(task, event definition) for everything the workflow waits on, event-based gateways unpacked."""
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        inner = (
            definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        )
        for item in inner:
            yield task, item


def all_tasks(workflow: BpmnWorkflow, state_mask: int) -> list[Task]:
    tasks = list(workflow.get_tasks(state=state_mask))
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.get_tasks(state=state_mask))
    return tasks


# ------------------------------------------------------------------ running until everything waits


def advance(step: StepResult, loaded: Loaded, now: datetime, done: str | None = None) -> None:
    """Run the instance until it waits (starting the children of the calls it reaches), cancel the
    children of calls that went away, save it, and hand it to its parent if it has completed."""
    try:
        scan = _run(step, loaded, now)
    except ENGINE_ERRORS as exc:
        record_incident(step, loaded, exc, now)
        return
    instance, workflow = loaded.instance, loaded.workflow
    step.events.extend(
        (instance, e.event_definition.name, e.payload if isinstance(e.payload, dict) else {})
        for e in workflow.get_events()
    )
    gone = [cid for tid, cid in loaded.waiting_before.items() if _abandoned(workflow, tid)]
    if gone:
        cancel_instances(gone, now, step)
    try:
        _save(step, loaded, now, done=done, scan=scan)
    except ExpressionError as exc:  # a task's org or due expression failed
        record_incident(step, loaded, exc, now)
        return
    if instance.status == InstanceStatus.COMPLETED:
        step.completed.append(instance)
        if instance.parent_instance_id is not None and not loaded.inline:
            _hand_to_parent(step, loaded, now)


def _abandoned(workflow: BpmnWorkflow, task_id: UUID) -> bool:
    """Whether a call activity that waited for its child went away without it (a boundary event
    interrupted it, or the activity around it): the task was cancelled or dropped from the tree."""
    task = workflow.get_task_from_id(task_id)
    return task is None or (task.state == TaskState.CANCELLED and not task._get_internal_data(calls.DONE))


def _run(step: StepResult, loaded: Loaded, now: datetime) -> Scan:
    workflow = loaded.workflow
    while True:
        workflow.do_engine_steps()
        scan = scan_tasks(workflow)
        finished = False
        for task in scan.unstarted:
            child = _start_child(step, loaded, task, now)
            scan.waiting[task.id] = child.instance.id
            if child.instance.status == InstanceStatus.COMPLETED:
                calls.finish(task, child.workflow)
                finished = True
        if not finished:
            return scan


def _start_child(step: StepResult, parent: Loaded, task: Task, now: datetime) -> Loaded:
    """Start the called process of a waiting call activity as a child instance and run it."""
    element = parent.compiled.description.elements[task.task_spec.bpmn_id]
    definition = definitions.bound_definition(
        element.called,
        element.properties.get("binding") or "latest",
        parent.instance.definition_id,
        parent.instance.scheme_year_id,
    )
    compiled = specs.compiled(definition)
    data = calls.inputs(task, compiled.spec)
    round_expression = element.properties.get("round")
    round_value = expressions.evaluate(round_expression, task.data) if round_expression else None
    if parent.instance.id is None:
        db.session.flush()  # the parent's row first: the child refers to it
    child = new_instance(
        definition,
        compiled,
        business_key=_child_key(parent.instance, element, task)[:200],
        scheme_year_id=parent.instance.scheme_year_id,
        phase=element.properties.get("phase") or compiled.description.phase or parent.instance.phase,
        round=str(round_value) if round_value else parent.instance.round,
        started_by_id=None,
        parent_instance_id=parent.instance.id,
        parent_task_id=str(task.id),
        parent_element_id=element.id,
        now=now,
    )
    step.started.append(child)
    loaded = begin(child, compiled, data, inline=True)
    advance(step, loaded, now)  # saving it inserts its row
    task._set_internal_data(**{calls.CHILD: child.id})
    return loaded


def _child_key(parent: ProcessInstance, element: specs.Element, task: Task) -> str:
    item = task._get_internal_data("item")
    label = f"{parent.business_key} › {element.name}"
    return f"{label} · {item}" if isinstance(item, str | int) else label


def _hand_to_parent(step: StepResult, child: Loaded, now: datetime) -> None:
    """A child completed: finish its parent's waiting task with the child's outputs and run the parent."""
    parent_id = child.instance.parent_instance_id
    parent_row = lock_instance(parent_id) if parent_id is not None else None
    if parent_row is None or not parent_row.is_live:
        return  # the parent was cancelled or has ended: nothing waits for this child any more
    parent = load(parent_row)
    task = parent.workflow.get_task_from_id(UUID(child.instance.parent_task_id))
    if (
        task is None
        or task.state != TaskState.STARTED
        or task._get_internal_data(calls.CHILD) != child.instance.id
    ):
        return
    try:
        calls.finish(task, child.workflow)
    except ENGINE_ERRORS as exc:
        record_incident(step, parent, exc, now)
        return
    advance(step, parent, now)


def cancel_instances(instance_ids: list[int], now: datetime, step: StepResult | None = None) -> list[int]:
    """Cancel these instances and everything beneath them: open tasks withdrawn, timers dropped."""
    cancelled: list[int] = []
    pending = list(instance_ids)
    while pending:
        rows = db.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.id.in_(pending), ProcessInstance.status.in_(LIVE_STATUSES))
            .with_for_update()
        ).all()
        for row in rows:
            row.status, row.ended_at, row.due_at, row.updated_at = InstanceStatus.CANCELLED, now, None, now
        ids = [row.id for row in rows]
        if ids:
            withdraw_all(ids, now)
        cancelled.extend(ids)
        pending = (
            list(
                db.session.scalars(
                    select(ProcessInstance.id).where(
                        ProcessInstance.parent_instance_id.in_(ids), ProcessInstance.status.in_(LIVE_STATUSES)
                    )
                )
            )
            if ids
            else []
        )
    db.session.flush()
    if step is not None:
        step.cancelled.extend(cancelled)
    return cancelled


def record_incident(step: StepResult, loaded: Loaded, exc: Exception, now: datetime) -> None:
    instance, workflow = loaded.instance, loaded.workflow
    failed = all_tasks(workflow, TaskState.ERROR)
    spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
    element_id = getattr(spec, "bpmn_id", None) or (failed[0].task_spec.bpmn_id if failed else None)
    if element_id is None:
        pending = scan_tasks(workflow).unstarted
        element_id = pending[0].task_spec.bpmn_id if pending else None
    message = str(exc)
    instance.incident_message = message[:2000]
    instance.incident_element = element_id
    instance.incident_at = now
    if step.incident is None:
        step.incident = message
    _save(step, loaded, now, sync=False)


def _save(
    step: StepResult,
    loaded: Loaded,
    now: datetime,
    sync: bool = True,
    done: str | None = None,
    scan: Scan | None = None,
) -> None:
    instance, workflow = loaded.instance, loaded.workflow
    scan = scan or scan_tasks(workflow)
    ready = scan.ready
    instance.state = state.dump(workflow, loaded.compiled)
    stats.saved(len(instance.state))
    instance.serializer_version = state.SERIALIZER_VERSION
    instance.updated_at = now
    instance.due_at = _next_timer(workflow)
    if instance.incident_message:
        instance.status = InstanceStatus.INCIDENT
    elif workflow.is_completed():
        instance.status = InstanceStatus.COMPLETED
        instance.ended_at = now
        instance.due_at = None
    elif ready or scan.waiting:
        instance.status = InstanceStatus.RUNNING  # user tasks are open here, or in a child beneath
    else:
        instance.status = InstanceStatus.WAITING
    db.session.flush()
    if instance.is_live:
        cache.keep_after_commit(db.session(), instance.id, instance.state, workflow, loaded.compiled)
    if sync:
        step.new_tasks.extend(sync_inbox(instance, now, ready, loaded.ready_before, done))
        db.session.flush()
        loaded.ready_before = set(ready)


def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest waiting timer is due (timers under an event-based gateway included)."""
    due = []
    for task, definition in waiting_definitions(workflow):
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):
            value = value.get("next")
        if isinstance(value, datetime):
            due.append(value.astimezone(UTC))
        elif value:
            due.append(TimerEventDefinition.get_datetime(str(value)))
    return min(due) if due else None
