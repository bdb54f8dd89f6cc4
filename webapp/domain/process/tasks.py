"""User tasks: drafts, claiming, completing; and the instance-level verbs (start, messages, timers, retry).

One transaction each: the caller (a view, a CLI command, a test) commits once, or rolls back on an
exception. Errors carry the HTTP status the web and the API answer with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import User
from models.workflow import InboxTask, InstanceStatus, ProcessInstance, TaskStatus
from webapp.domain import audit, errors
from webapp.domain.errors import Conflict, Forbidden, Invalid, NotFound
from workflows import engine, events, forms
from workflows.forms import TaskContext, binding
from workflows.forms.values import clean_values, raw_values


@dataclass
class Completion:
    task: InboxTask
    ready_for_user: list[InboxTask] = field(default_factory=list)
    incident: str | None = None


def dispatch(result: engine.StepResult, cause: InboxTask | None = None) -> list[str]:
    """Tell users of their new tasks (returned ones when `cause` returned them); hand the messages
    the processes threw to their domain handlers (notifications, …)."""
    if result.new_tasks:
        events.publish(events.TASKS_ARRIVED, tasks=result.new_tasks, now=engine.now(), cause=cause)
    return events.dispatch(result.events, engine.now()) if result.events else []


def get_task(task_guid: str, user: User) -> InboxTask:
    """The task if the user may see it; NotFound for unknown ids, Forbidden for others' tasks."""
    task = InboxTask.by_guid(task_guid)
    if task is None:
        raise NotFound(str(_l("There is no such task.")))
    if not task.can_view(user):
        raise Forbidden(str(_l("This task is not yours to open.")))
    return task


def lock_task(task_guid: str, user: User) -> InboxTask:
    """The task, as `get_task` gives it, read again under its instance's lock, held for the rest of the
    transaction: changes to what a task carries (its files) wait for each other and for its completion."""
    task = get_task(task_guid, user)
    _locked(task.instance_id)
    db.session.refresh(task)
    return task


def _completed_conflict(task: InboxTask) -> Conflict:
    if task.status == TaskStatus.COMPLETED and task.completed_by is not None:
        return Conflict(
            str(
                _l(
                    "This task was already completed by %(name)s at %(when)s.",
                    name=task.completed_by.display_name,
                    when=task.completed_at.isoformat(timespec="seconds") if task.completed_at else "",
                )
            ),
            completed_by=task.completed_by.username,
            completed_at=task.completed_at.isoformat() if task.completed_at else None,
        )
    return Conflict(str(_l("This task has been withdrawn by the process.")), status=task.status.value)


def check_actor(task: InboxTask, user: User) -> None:
    if task.status != TaskStatus.OPEN:
        raise _completed_conflict(task)
    if not task.is_for(user):
        raise Forbidden(
            str(_l("Only %(role)s users of the task's organisation can do this task.", role=task.role.title))
        )
    holder = task.claimed_by
    if task.claimed_by_other(user) and holder is not None:
        raise Conflict(
            str(
                _l(
                    "%(name)s has claimed this task; ask them or the office to release it.",
                    name=holder.display_name,
                )
            ),
            claimed_by=holder.username,
        )


def _context(task: InboxTask, user: User, now: datetime) -> TaskContext:
    return TaskContext(task=task, instance=task.instance, user=user, now=now)


def build_form(
    task: InboxTask,
    user: User,
    data: Mapping[str, Any] | None = None,
    ctx: TaskContext | None = None,
) -> forms.TaskForm:
    """The task's form: from submitted data, else the saved draft, else the form's prefill."""
    submitted = binding.formdata(data) if data is not None else None
    return binding.build(
        forms.get(task.form_key), ctx or _context(task, user, engine.now()), submitted, task.draft
    )


def validate_form(
    task: InboxTask, user: User, form: forms.TaskForm, ctx: TaskContext | None = None
) -> dict[str, list[str]]:
    """The form's own validators, then the definition's database checks; {} when all is well."""
    return binding.validate(forms.get(task.form_key), form, ctx or _context(task, user, engine.now()))


def task_context(task: InboxTask, user: User) -> dict[str, Any]:
    definition = forms.get(task.form_key)
    return definition.context(_context(task, user, engine.now())) if definition.context else {}


def save_draft(task_guid: str, user: User, data: Mapping[str, Any]) -> InboxTask:
    """Keep what the user typed, valid or not, without moving the workflow."""
    task = get_task(task_guid, user)
    check_actor(task, user)
    form = build_form(task, user, data)
    # a draft keeps invalid input, but not more than a completion would take, nor what no column stores
    errors.reject(binding.draft_problems(form))
    task.draft = raw_values(form)
    task.draft_saved_at = engine.now()
    task.draft_saved_by_id = user.id
    db.session.flush()
    return task


def claim_task(task_guid: str, user: User) -> InboxTask:
    task = get_task(task_guid, user)
    check_actor(task, user)
    if task.claimed_by_id != user.id:
        task.claimed_by, task.claimed_at = user, engine.now()  # the relationship, so it reads right at once
        audit.record("task.claimed", user, instance_id=task.instance_id, task_guid=task.task_guid)
        db.session.flush()
    return task


def unclaim_task(task_guid: str, user: User) -> InboxTask:
    task = get_task(task_guid, user)
    if task.claimed_by_id is None:
        return task
    if not task.can_unclaim(user):
        raise Forbidden(str(_l("Only the user who claimed the task or the office can release it.")))
    previous = task.claimed_by.username if task.claimed_by else None
    task.claimed_by, task.claimed_at = None, None
    audit.record(
        "task.unclaimed",
        user,
        instance_id=task.instance_id,
        task_guid=task.task_guid,
        detail={"from": previous},
    )
    db.session.flush()
    return task


def complete_task(task_guid: str, user: User, data: Mapping[str, Any]) -> Completion:
    """Validate, write the domain records, run the task and the engine, sync the inbox, audit."""
    task = get_task(task_guid, user)
    check_actor(task, user)
    definition = forms.get(task.form_key)
    ctx = _context(task, user, engine.now())  # one per request: what it reads once, it keeps
    form = build_form(task, user, data, ctx)
    errors = validate_form(task, user, form, ctx)
    if errors:
        raise Invalid(str(_l("Some fields need attention.")), fields=errors)

    instance = _locked(task.instance_id)
    # Another transaction may have completed it while we waited for the lock.
    task = db.session.scalars(
        select(InboxTask).where(InboxTask.id == task.id).execution_options(populate_existing=True)
    ).one()
    check_actor(task, user)
    if instance.status == InstanceStatus.INCIDENT:
        raise Conflict(str(_l("The process is stopped by an incident; the office has been told.")))
    if not instance.is_live:
        raise Conflict(str(_l("This task has been withdrawn by the process.")), status=instance.status.value)

    now = ctx.now = engine.now()
    values = clean_values(form)
    routing = {name: values[name] for name in definition.routing}
    if definition.handler is not None:
        routing.update(definition.handler(ctx, values) or {})
    task.status = TaskStatus.COMPLETED
    task.completed_at, task.completed_by = now, user
    task.submitted, task.draft = values, None
    try:
        result = engine.complete_user_task(instance, task.task_guid, routing)
    except engine.TaskNotReady:
        raise Conflict(str(_l("This task is no longer waiting for input."))) from None
    dispatch(result, cause=task)
    audit.record(
        "task.completed",
        user,
        instance_id=instance.id,
        task_guid=task.task_guid,
        detail={"element": task.element_id, "routing": routing, "incident": result.incident},
        at=now,
    )
    db.session.flush()
    return Completion(
        task=task, ready_for_user=[t for t in result.new_tasks if t.is_for(user)], incident=result.incident
    )


def start_process(
    process_id: str,
    user: User | None,
    *,
    business_key: str,
    data: dict[str, Any] | None = None,
    scheme_year_id: int | None = None,
) -> ProcessInstance:
    """Start the latest definition of a process (user None: the system, e.g. the simulation).
    Its phase of the year comes from the process's own BPMN."""
    if user is not None:
        errors.forbid_unless(user.can_manage_processes())
    try:
        instance, result = engine.start_instance(
            process_id,
            business_key=business_key,
            data=data,
            scheme_year_id=scheme_year_id,
            started_by_id=user.id if user else None,
        )
    except engine.DefinitionError as exc:
        raise NotFound(str(exc)) from None
    dispatch(result)
    audit.record(
        "instance.started",
        user,
        instance_id=instance.id,
        detail={"process": process_id, "incident": result.incident},
    )
    db.session.flush()
    return instance


def _locked(instance_id: int) -> ProcessInstance:
    instance = engine.lock_instance(instance_id)
    if instance is None:
        raise NotFound(str(_l("There is no such process instance.")))
    return instance


def send_message(
    instance_id: int, name: str, user: User, payload: dict[str, Any] | None = None
) -> ProcessInstance:
    """Deliver a message to a waiting instance, e.g. the office starting a phase before its date."""
    errors.forbid_unless(user.can_manage_processes())
    instance = _locked(instance_id)
    try:
        result = engine.deliver_message(instance, name, payload)
    except (engine.MessageNotAwaited, engine.InstanceClosed):
        raise Conflict(str(_l("The process is not waiting for “%(name)s” now.", name=name))) from None
    dispatch(result)
    audit.record(
        "instance.message",
        user,
        instance_id=instance.id,
        detail={"message": name, "incident": result.incident},
    )
    db.session.flush()
    return instance


def retry_instance(instance_id: int, user: User) -> ProcessInstance:
    errors.forbid_unless(user.can_manage_processes())
    instance = _locked(instance_id)
    if instance.status != InstanceStatus.INCIDENT:
        raise Conflict(str(_l("The process has no incident to retry.")))
    previous = {"message": instance.incident_message, "element": instance.incident_element}
    result = engine.retry(instance)
    dispatch(result)
    audit.record(
        "instance.retried",
        user,
        instance_id=instance.id,
        detail={"previous": previous, "incident": result.incident},
    )
    db.session.flush()
    return instance


def next_due_instance_id(now: datetime) -> int | None:
    """Pick one instance whose timer is due; several workers on PostgreSQL never pick the same one."""
    query = (
        select(ProcessInstance.id)
        .where(
            ProcessInstance.status.in_([InstanceStatus.RUNNING, InstanceStatus.WAITING]),
            ProcessInstance.due_at <= now,
        )
        .order_by(ProcessInstance.due_at)
        .limit(1)
    )
    if db.session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def fire_timers(instance_id: int) -> ProcessInstance:
    """Fire the instance's due timers and run it on (the worker's unit of work)."""
    instance = _locked(instance_id)
    if instance.due_at is None or instance.due_at > engine.now() or not instance.is_live:
        return instance  # another worker got there first
    result = engine.fire_due_timers(instance)
    dispatch(result)
    audit.record("instance.timers", None, instance_id=instance.id, detail={"incident": result.incident})
    db.session.flush()
    return instance
