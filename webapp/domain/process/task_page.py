"""What the task page shows beside the form: the task's history (returns with their reasons, comments,
who did what and when) and what its grids show of the indicators their rows name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from models.db import db
from models.formation import Phase
from models.org import OrgUnit, User
from models.scheme import Indicator, KeyPoint, Level
from models.workflow import AuditEvent, InboxTask, ProcessInstance, TaskStatus, instance_line_ids
from workflows.forms.grid import IndicatorInfo

# Instance-level events worth showing on a task (timer firings are the engine's business).
INSTANCE_ACTIONS = ("instance.started", "instance.retried", "instance.message")


@dataclass
class HistoryEntry:
    at: datetime
    actor: User | None
    action: str
    task_title: str | None = None  # set when the event belongs to another task of the same piece of work
    decision: str | None = None  # "approve" / "return" when the task was a decision
    comment: str | None = None
    file: str | None = None

    @property
    def is_return(self) -> bool:
        return self.decision == "return"


def phase_of(task: InboxTask) -> Phase | None:
    return Phase(task.phase) if task.phase else None


def _returned_codes(task: InboxTask) -> set[str]:
    submitted = task.submitted or {}
    return set(submitted.get("returned_cities") or []) | set(submitted.get("returned_departments") or [])


def related_tasks(task: InboxTask) -> list[InboxTask]:
    """This task and the completed tasks of the same phase about the same organisation.

    For a city's or department's task: its earlier submissions and the decisions that returned them;
    for a task about nobody in particular (the office's round review): the phase's other org-less tasks.
    """
    anchor = task.org_id or task.subject_org_id
    query = select(InboxTask).where(or_(InboxTask.id == task.id, InboxTask.status == TaskStatus.COMPLETED))
    if task.phase:
        # the phase's work spans its instances (a round and the corrections it calls): same year and phase
        query = query.join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id).where(
            ProcessInstance.scheme_year_id == task.instance.scheme_year_id,
            InboxTask.phase == task.phase,
            InboxTask.scope == task.scope,
        )
    else:
        query = query.where(InboxTask.instance_id == task.instance_id)
    if anchor:
        query = query.where(
            or_(InboxTask.org_id == anchor, InboxTask.subject_org_id == anchor, InboxTask.org_id.is_(None))
        )
    else:
        query = query.where(InboxTask.org_id.is_(None))
    anchor_org = db.session.get(OrgUnit, anchor) if anchor else None
    anchor_code = anchor_org.code if anchor_org else None
    out = []
    for other in db.session.scalars(query.order_by(InboxTask.id)):
        if (
            anchor
            and other.id != task.id
            and other.org_id != anchor
            and other.subject_org_id != anchor
            and anchor_code not in _returned_codes(other)
        ):
            continue
        out.append(other)
    return out


def task_history(task: InboxTask) -> list[HistoryEntry]:
    """Who did what and when on this piece of work, oldest first."""
    tasks = {t.task_guid: t for t in related_tasks(task)}
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            or_(
                AuditEvent.task_guid.in_(list(tasks)),
                # the task's own instance and those above it (the annual one opens the phase)
                AuditEvent.instance_id.in_(instance_line_ids(task.instance))
                & AuditEvent.task_guid.is_(None)
                & AuditEvent.action.in_(INSTANCE_ACTIONS),
            )
        )
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    phase = task.phase
    out = []
    for event in events:
        detail: dict[str, Any] = event.detail or {}
        if event.action == "instance.message" and detail.get("message") != f"start_{phase}":
            continue
        other = tasks.get(event.task_guid or "")
        entry = HistoryEntry(at=event.at, actor=event.actor, action=event.action, file=detail.get("file"))
        if other is not None and other.task_guid != task.task_guid:
            entry.task_title = other.title
        if event.action == "task.completed" and other is not None:
            entry.decision = (detail.get("routing") or {}).get("decision")
            comment = (other.submitted or {}).get("comment")
            entry.comment = comment.strip() if isinstance(comment, str) and comment.strip() else None
        out.append(entry)
    return out


def indicator_infos(scheme_year_id: int | None, codes: set[str]) -> dict[str, IndicatorInfo]:
    """What a grid shows of the indicators its rows name: dimension, key point, weight (one query)."""
    indicators: dict[str, IndicatorInfo] = {}
    if not codes or not scheme_year_id:
        return indicators
    rows = db.session.scalars(
        select(Indicator)
        .where(Indicator.scheme_year_id == scheme_year_id, Indicator.code.in_(codes))
        .options(selectinload(Indicator.key_point).selectinload(KeyPoint.level).selectinload(Level.dimension))
    )
    for ind in rows:
        kp = ind.key_point
        dimension = kp.level.dimension
        indicators[ind.code] = IndicatorInfo(
            code=ind.code,
            name=ind.name,
            weight=ind.weight,
            dimension_key=dimension.code,
            dimension=f"{dimension.number}. {dimension.name}",
            key_point=f"{kp.number}. {kp.name}",
        )
    return indicators
