"""Running instances: start, lock, complete user tasks, fire timers, deliver messages, record incidents.

Every function works inside the caller's transaction and flushes; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from models.db import db
from models.workflow import InboxTask, InstanceStatus, ProcessInstance
from workflows.engine import definitions, state
from workflows.engine.clock import now as clock_now
from workflows.engine.expressions import ExpressionError
from workflows.engine.inbox import ready_user_tasks, sync_inbox


class TaskNotReady(Exception):
    """The user task is not READY in the workflow (completed meanwhile, or withdrawn)."""


class MessageNotAwaited(Exception):
    """No part of the instance is waiting for this message now."""


@dataclass
class StepResult:
    new_tasks: list[InboxTask] = field(default_factory=list)
    incident: str | None = None
    # messages the process threw that nothing in it catches: (name, payload), for domain handlers
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def lock_instance(instance_id: int) -> ProcessInstance | None:
    """Take the instance's lock for the rest of the transaction and return its current row.

    PostgreSQL: SELECT … FOR UPDATE. SQLite: a write to the row first, which takes the database's
    write lock (waiting up to the busy timeout) before anything is read.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(lock_version=ProcessInstance.lock_version + 1)
            .execution_options(synchronize_session=False)
        )
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    else:
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def start_instance(
    process_id: str,
    *,
    business_key: str,
    data: dict[str, Any] | None = None,
    scheme_year_id: int | None = None,
    phase: str = "",
    round: str = "",
    started_by_id: int | None = None,
) -> tuple[ProcessInstance, StepResult]:
    """Create and run a new instance of the latest definition until it waits."""
    workflow, used = definitions.new_workflow(process_id, scheme_year_id)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data or {})
    now = clock_now()
    instance = ProcessInstance(
        definition_id=used[process_id],
        definition_ids=used,
        process_id=process_id,
        business_key=business_key,
        scheme_year_id=scheme_year_id,
        phase=phase,
        round=round,
        status=InstanceStatus.RUNNING,
        state="",
        serializer_version=state.SERIALIZER_VERSION,
        started_at=now,
        updated_at=now,
        started_by_id=started_by_id,
    )
    db.session.add(instance)
    db.session.flush()
    result = _advance(instance, workflow, now)
    return instance, result


def load(instance: ProcessInstance) -> BpmnWorkflow:
    return state.load(instance.state)


def complete_user_task(
    instance: ProcessInstance, workflow: BpmnWorkflow, task_guid: str, routing: dict[str, Any]
) -> StepResult:
    """Put the routing values on the task, run it, and run the engine until it waits."""
    task = ready_user_tasks(workflow).get(task_guid)
    if task is None:
        raise TaskNotReady(task_guid)
    # Replace top-level keys only: nested values are shared between tasks in memory.
    task.set_data(**routing)
    now = clock_now()
    try:
        task.run()
    except (SpiffWorkflowException, ExpressionError) as exc:
        return _record_incident(instance, workflow, exc, now)
    return _advance(instance, workflow, now)


def fire_due_timers(instance: ProcessInstance, workflow: BpmnWorkflow) -> StepResult:
    """Let timers whose time has come fire, then run the engine."""
    now = clock_now()
    workflow.refresh_timers()
    return _advance(instance, workflow, now)


def deliver_message(
    instance: ProcessInstance, workflow: BpmnWorkflow, name: str, payload: dict[str, Any] | None = None
) -> StepResult:
    """Deliver a named message (e.g. the office starting a phase early)."""
    event = BpmnEvent(MessageEventDefinition(name), payload or {})
    if workflow.event_manager.catch(event, internal=False) == 0:
        raise MessageNotAwaited(name)
    return _advance(instance, workflow, clock_now())


def retry(instance: ProcessInstance, workflow: BpmnWorkflow) -> StepResult:
    """Run the failed step again (after its cause is fixed)."""
    for task in _all_tasks(workflow, TaskState.ERROR):
        task._set_state(TaskState.READY)
    instance.incident_message = instance.incident_element = instance.incident_at = None
    return _advance(instance, workflow, clock_now())


def task_data(instance: ProcessInstance, task_guid: str) -> dict[str, Any]:
    """A copy of a READY user task's data (what its gateways and scripts will see)."""
    task = ready_user_tasks(load(instance)).get(task_guid)
    if task is None:
        raise TaskNotReady(task_guid)
    return dict(task.data)


def _waiting_definitions(workflow: BpmnWorkflow):
    """(task, event definition) for everything the workflow waits on, event-based gateways unpacked."""
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        inner = (
            definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        )
        for item in inner:
            yield task, item


def waiting_messages(workflow: BpmnWorkflow) -> list[str]:
    """Names of the messages the workflow would catch now."""
    return sorted(
        {d.name for _t, d in _waiting_definitions(workflow) if isinstance(d, MessageEventDefinition)}
    )


def _all_tasks(workflow: BpmnWorkflow, state_mask: int):
    tasks = list(workflow.get_tasks(state=state_mask))
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.get_tasks(state=state_mask))
    return tasks


def _advance(instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime) -> StepResult:
    try:
        workflow.do_engine_steps()
    except (SpiffWorkflowException, ExpressionError) as exc:
        return _record_incident(instance, workflow, exc, now)
    events = [
        (e.event_definition.name, e.payload if isinstance(e.payload, dict) else {})
        for e in workflow.get_events()
    ]
    try:
        new = _save(instance, workflow, now)
    except ExpressionError as exc:  # a task's org or due expression failed
        return _record_incident(instance, workflow, exc, now)
    return StepResult(new_tasks=new, events=events)


def _record_incident(
    instance: ProcessInstance, workflow: BpmnWorkflow, exc: Exception, now: datetime
) -> StepResult:
    failed = _all_tasks(workflow, TaskState.ERROR)
    element = getattr(exc, "task_spec", None)
    element_id = getattr(element, "bpmn_id", None) or (failed[0].task_spec.bpmn_id if failed else None)
    message = str(exc)
    instance.incident_message = message[:2000]
    instance.incident_element = element_id
    instance.incident_at = now
    _save(instance, workflow, now, sync=False)
    return StepResult(incident=message)


def _save(
    instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime, sync: bool = True
) -> list[InboxTask]:
    ready = ready_user_tasks(workflow)
    new = sync_inbox(instance, workflow, now, ready) if sync else []
    instance.state = state.dump(workflow)
    instance.serializer_version = state.SERIALIZER_VERSION
    instance.updated_at = now
    instance.due_at = _next_timer(workflow)
    if instance.incident_message:
        instance.status = InstanceStatus.INCIDENT
    elif workflow.is_completed():
        instance.status = InstanceStatus.COMPLETED
        instance.ended_at = now
        instance.due_at = None
    elif ready:
        instance.status = InstanceStatus.RUNNING
    else:
        instance.status = InstanceStatus.WAITING
    db.session.flush()
    return new


def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest waiting timer is due (timers under an event-based gateway included)."""
    due = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        inner = (
            definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        )
        if not any(isinstance(d, TimerEventDefinition) for d in inner):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):
            value = value.get("next")
        if isinstance(value, datetime):
            due.append(value.astimezone(UTC))
        elif value:
            due.append(TimerEventDefinition.get_datetime(str(value)))
    return min(due) if due else None
