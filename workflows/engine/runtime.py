"""The runtime's verbs: start an instance, complete a user task, fire due timers, deliver a message,
retry after an incident; and read a task's data or the messages an instance waits for. Each runs
the instance (and the instances it calls or finishes) until everything waits, see `steps`.

Every function works inside the caller's transaction and flushes; the caller commits once.
"""

from __future__ import annotations

import time
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from models.i18n import lazy_gettext as _l
from models.workflow import ProcessInstance
from workflows.engine import definitions, specs, state, stats
from workflows.engine.clock import now as clock_now
from workflows.engine.steps import (
    ENGINE_ERRORS,
    InstanceClosed,
    StepResult,
    advance,
    all_tasks,
    begin,
    cancel_instances,
    load,
    lock_instance,
    new_instance,
    record_incident,
    scan_tasks,
    waiting_definitions,
)

__all__ = [
    "InstanceClosed",
    "MessageNotAwaited",
    "StepResult",
    "TaskNotReady",
    "cancel_instances",
    "complete_user_task",
    "deliver_message",
    "fire_due_timers",
    "lock_instance",
    "retry",
    "start_instance",
    "task_data",
    "waiting_messages",
]


class TaskNotReady(Exception):
    """The user task is not READY in the workflow (completed meanwhile, or withdrawn)."""


class MessageNotAwaited(Exception):
    """No part of the instance is waiting for this message now."""


def start_instance(
    process_id: str,
    *,
    business_key: str,
    data: dict[str, Any] | None = None,
    scheme_year_id: int | None = None,
    started_by_id: int | None = None,
) -> tuple[ProcessInstance, StepResult]:
    """Create and run a new instance of the latest definition until it waits."""
    began = time.perf_counter()
    definition = definitions.latest_definition(process_id, scheme_year_id)
    if definition is None:
        raise definitions.DefinitionError(
            [(process_id, str(_l("No version of the process %(process)s is deployed.", process=process_id)))]
        )
    compiled = specs.compiled(definition)
    now = clock_now()
    instance = new_instance(
        definition,
        compiled,
        business_key=business_key,
        scheme_year_id=scheme_year_id,
        phase=compiled.description.phase,
        round="",
        started_by_id=started_by_id,
        now=now,
    )
    step = StepResult()
    loaded = begin(instance, compiled, data or {})
    advance(step, loaded, now)
    stats.started((time.perf_counter() - began) * 1000)
    return instance, step


def complete_user_task(instance: ProcessInstance, task_guid: str, routing: dict[str, Any]) -> StepResult:
    """Put the routing values on the task, run it, and run the engine until it waits."""
    loaded = load(instance)
    task = loaded.ready.get(task_guid)
    if task is None:
        raise TaskNotReady(task_guid)
    # Replace top-level keys only: nested values are shared between tasks in memory.
    task.set_data(**routing)
    now = clock_now()
    step = StepResult()
    try:
        task.run()
    except ENGINE_ERRORS as exc:
        record_incident(step, loaded, exc, now)
        return step
    advance(step, loaded, now, done=task_guid)
    return step


def fire_due_timers(instance: ProcessInstance) -> StepResult:
    """Let timers whose time has come fire, then run the engine."""
    loaded = load(instance)
    step = StepResult()
    now = clock_now()
    loaded.workflow.refresh_timers()
    advance(step, loaded, now)
    return step


def deliver_message(
    instance: ProcessInstance, name: str, payload: dict[str, Any] | None = None
) -> StepResult:
    """Deliver a named message (e.g. the office starting a phase early)."""
    loaded = load(instance)
    event = BpmnEvent(MessageEventDefinition(name), payload or {})
    if loaded.workflow.event_manager.catch(event, internal=False) == 0:
        raise MessageNotAwaited(name)
    step = StepResult()
    advance(step, loaded, clock_now())
    return step


def retry(instance: ProcessInstance) -> StepResult:
    """Run the failed step again (after its cause is fixed): a failed task, or a child that could not start."""
    loaded = load(instance)
    for task in all_tasks(loaded.workflow, TaskState.ERROR):
        task._set_state(TaskState.READY)
    instance.incident_message = instance.incident_element = instance.incident_at = None
    step = StepResult()
    advance(step, loaded, clock_now())
    return step


def task_data(instance: ProcessInstance, task_guid: str) -> dict[str, Any]:
    """A copy of a READY user task's data (what its gateways and scripts will see)."""
    workflow, _compiled = state.load(instance.state)
    task = scan_tasks(workflow).ready.get(task_guid)
    if task is None:
        raise TaskNotReady(task_guid)
    return dict(task.data)


def waiting_messages(instance: ProcessInstance) -> list[str]:
    """Names of the messages the instance would catch now."""
    if not instance.is_live:
        return []
    workflow, _compiled = state.load(instance.state)
    return sorted(
        {d.name for _t, d in waiting_definitions(workflow) if isinstance(d, MessageEventDefinition)}
    )
