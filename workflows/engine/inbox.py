"""Mirror every READY user task of a workflow into the inbox table, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import insert, select, update
from sqlalchemy.orm import InstrumentedAttribute

from models.db import db
from models.org import OrgUnit, Role, User
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from workflows.engine import expressions
from workflows.engine.expressions import ExpressionError


def ready_user_tasks(workflow: BpmnWorkflow) -> dict[str, Task]:
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _properties(task: Task) -> dict[str, str]:
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})


def _evaluate(task: Task, expression: str | None) -> Any:
    if not expression:
        return None
    return expressions.evaluate(expression, task.data)


def _as_due(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return expressions.FUNCTIONS["datetime"](value)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"due time {value!r} is not a date: {exc}") from exc


def _lookup(
    model: type[OrgUnit | User], column: InstrumentedAttribute[str], keys: set[str], what: str
) -> dict[str, int]:
    if not keys:
        return {}
    found = {key: id_ for key, id_ in db.session.execute(select(column, model.id).where(column.in_(keys)))}
    missing = sorted(keys - set(found))
    if missing:
        raise ExpressionError(f"no {what} with code {', '.join(map(repr, missing))} for the user tasks")
    return found


def sync_inbox(
    instance: ProcessInstance,
    now: datetime,
    ready: dict[str, Task],
    before: set[str],
    done: str | None = None,
) -> list[InboxTask]:
    """Insert rows for user tasks that became READY, withdraw rows of those no longer READY; returns
    the new rows. `before` is what was READY when the state was loaded and `done` the task just
    completed: the state and the inbox change in one transaction, so the difference is all that moved
    and no open row needs reading."""
    gone = before - set(ready) - {done}
    if gone:
        db.session.execute(
            update(InboxTask)
            .where(
                InboxTask.instance_id == instance.id,
                InboxTask.task_guid.in_(gone),
                InboxTask.status == TaskStatus.OPEN,
            )
            .values(status=TaskStatus.CANCELLED, completed_at=now)
            .execution_options(synchronize_session=False)
        )
    new = [task for guid, task in ready.items() if guid not in before]
    if not new:
        return []
    # Evaluate everything first, so a failure adds no row at all.
    planned = []
    for task in new:
        props = _properties(task)
        refs = {key: _evaluate(task, props.get(key)) for key in ("org", "subject", "assignee")}
        planned.append((task, props, refs, _as_due(_evaluate(task, props.get("due")))))
    org_codes = {r[key] for _t, _p, r, _d in planned for key in ("org", "subject") if r[key]}
    usernames = {r["assignee"] for _t, _p, r, _d in planned if r["assignee"]}
    orgs = _lookup(OrgUnit, OrgUnit.code, org_codes, "organisation")
    users = _lookup(User, User.username, usernames, "user")
    rows = []
    for task, props, refs, due in planned:
        spec = task.task_spec
        rows.append(
            {
                "task_guid": str(task.id),
                "instance_id": instance.id,
                "process_id": instance.process_id,
                "phase": instance.phase,
                "round": instance.round,
                "element_id": spec.bpmn_id,
                "title": spec.bpmn_name or spec.bpmn_id,
                "lane": spec.lane or "",
                "role": Role(spec.lane),
                "org_id": orgs.get(refs["org"]),
                "subject_org_id": orgs.get(refs["subject"]),
                "assignee_id": users.get(refs["assignee"]),
                "scope": str(_evaluate(task, props.get("scope")) or ""),
                "form_key": props.get("formKey", ""),
                "instructions": (spec.extensions or {}).get("instructionsForEndUser") or "",
                "due_at": due,
                "status": TaskStatus.OPEN,
                "created_at": now,
            }
        )
    # One INSERT for all (ORM objects would be inserted one by one to learn their ids), then the rows.
    db.session.execute(insert(InboxTask), rows)
    return list(
        db.session.scalars(
            select(InboxTask)
            .where(InboxTask.task_guid.in_([r["task_guid"] for r in rows]))
            .order_by(InboxTask.id)
        )
    )


def withdraw_all(instance_ids: list[int], now: datetime) -> None:
    """Withdraw every open task of these instances (their call activity was cancelled)."""
    db.session.execute(
        update(InboxTask)
        .where(InboxTask.instance_id.in_(instance_ids), InboxTask.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CANCELLED, completed_at=now)
        .execution_options(synchronize_session=False)
    )
