"""Tables of the workflow runtime: deployed definitions, instances, the inbox, drafts and audit events.

These are plain tables; only workflows/engine touches SpiffWorkflow. Workflow state holds routing
values (ids, decisions, dates); what people submit lives in domain tables.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from models.db import JSONText, Model, UTCDateTime, db, enum_column, utcnow
from models.i18n import lazy_gettext as _l
from models.org import OrgUnit, Role, User
from models.scheme import SchemeYear


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"  # user tasks are open, here or in a child instance it waits for
    WAITING = "waiting"  # only timers or messages can move it on
    COMPLETED = "completed"
    INCIDENT = "incident"  # an engine step failed; the office can retry
    CANCELLED = "cancelled"  # its call activity was interrupted (a boundary event); its tasks withdrawn

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(INSTANCE_STATUS_TITLES[self])


INSTANCE_STATUS_TITLES = {
    InstanceStatus.RUNNING: _l("Running"),
    InstanceStatus.WAITING: _l("Waiting"),
    InstanceStatus.COMPLETED: _l("Completed"),
    InstanceStatus.INCIDENT: _l("Incident"),
    InstanceStatus.CANCELLED: _l("Cancelled"),
}
# Instances that may still move: their timers fire, their tasks can be done.
LIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.INCIDENT)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # withdrawn by the process (e.g. a boundary event ended it)

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(TASK_STATUS_TITLES[self])


TASK_STATUS_TITLES = {
    TaskStatus.OPEN: _l("Open"),
    TaskStatus.COMPLETED: _l("Completed"),
    TaskStatus.CANCELLED: _l("Withdrawn"),
}


class ProcessDefinition(Model):
    """One deployed version of one BPMN process; immutable once deployed."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_name: Mapped[str] = mapped_column(String(200), default="")
    scheme_year_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_year.id"), index=True)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # what changed and why, as the administrator who deployed it said
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")

    deployed_by: Mapped[User | None] = relationship()
    scheme_year: Mapped[SchemeYear | None] = relationship()


class DefinitionDraft(Model):
    """A year's diagram being revised before it is deployed: one per process and year, kept as the
    administrator last saved it (problems and all); deploying it makes an immutable version."""

    __tablename__ = "definition_draft"
    __table_args__ = (UniqueConstraint("scheme_year_id", "process_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # the deployed version the draft started from (or was last deployed as)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    scheme_year: Mapped[SchemeYear] = relationship()
    based_on: Mapped[ProcessDefinition | None] = relationship()
    updated_by: Mapped[User | None] = relationship()

    @property
    def changed(self) -> bool:
        """Whether it differs from the version it is based on."""
        return self.based_on is None or self.based_on.bpmn_xml != self.bpmn_xml


class ProcessInstance(Model):
    """One run of one deployed definition. A call activity's process runs as a child instance,
    linked to the parent's waiting task, so a year is a tree: annual → phases → per-department …"""

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    # the instance whose call activity started this one, that activity's task and its element id
    parent_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    parent_task_id: Mapped[str | None] = mapped_column(String(36))
    parent_element_id: Mapped[str | None] = mapped_column(String(100))
    business_key: Mapped[str] = mapped_column(String(200), index=True)
    scheme_year_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_year.id"), index=True)
    phase: Mapped[str] = mapped_column(String(50), default="")
    round: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[InstanceStatus] = mapped_column(enum_column(InstanceStatus, "instance_status"), index=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_message: Mapped[str | None] = mapped_column(Text)
    incident_element: Mapped[str | None] = mapped_column(String(100))
    incident_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    definition: Mapped[ProcessDefinition] = relationship()
    started_by: Mapped[User | None] = relationship()
    parent: Mapped[ProcessInstance | None] = relationship(remote_side=[id])

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


def instance_tree_ids(root_id: int) -> list[int]:
    """The instance and every instance beneath it (its call activities' children, theirs, …)."""
    found, level = [root_id], [root_id]
    while level:
        level = list(
            db.session.scalars(
                select(ProcessInstance.id).where(ProcessInstance.parent_instance_id.in_(level))
            )
        )
        found.extend(level)
    return found


def year_tasks(scheme_year_id: int) -> Select[tuple[InboxTask]]:
    """A SELECT of the inbox rows of every instance of a scheme year (the annual tree, revisions)."""
    return (
        select(InboxTask)
        .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
        .where(ProcessInstance.scheme_year_id == scheme_year_id)
    )


def instance_line_ids(instance: ProcessInstance) -> list[int]:
    """The instance and those above it, up to the one nothing called."""
    found = [instance.id]
    current: ProcessInstance | None = instance
    while current is not None and current.parent_instance_id is not None:
        found.append(current.parent_instance_id)
        current = current.parent
    return found


class InboxTask(Model):
    """A user task that is or was READY: the inbox reads only this table, never a workflow."""

    __tablename__ = "inbox_task"
    __table_args__ = (
        Index("ix_inbox_task_open_role_org", "status", "role", "org_id"),
        Index("ix_inbox_task_instance_status", "instance_id", "status"),
        Index("ix_inbox_task_completed_by_at", "completed_by_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    element_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role, "role", 32))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # the one user who may do it (e.g. an assigned expert); None: anyone of the role in the org
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # the organisation the task is about (e.g. the department whose declaration the office reviews)
    subject_org_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # a short routing value the form needs (e.g. which round: half_year, q3, year_end)
    scope: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # where the task belongs, written by the engine from the BPMN: the process, its phase of the year
    # (models.formation.Phase values, "" for none) and the round the instance runs
    process_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    phase: Mapped[str] = mapped_column(String(32), default="", server_default="")
    round: Mapped[str] = mapped_column(String(32), default="", server_default="")
    form_key: Mapped[str] = mapped_column(String(100))
    instructions: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "task_status"), default=TaskStatus.OPEN
    )
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    draft: Mapped[dict | None] = mapped_column(JSONText)
    draft_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    draft_saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted: Mapped[dict | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    instance: Mapped[ProcessInstance] = relationship()
    org: Mapped[OrgUnit | None] = relationship(foreign_keys=[org_id])
    subject_org: Mapped[OrgUnit | None] = relationship(foreign_keys=[subject_org_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    @classmethod
    def by_guid(cls, task_guid: str) -> InboxTask | None:
        """The task with its instance (the instance's state is read only when it is locked)."""
        return db.session.scalar(
            select(cls)
            .where(cls.task_guid == task_guid)
            .options(joinedload(cls.instance).defer(ProcessInstance.state))
        )

    @property
    def phase_value(self) -> str | None:
        """The models.formation.Phase value of the task's phase (from its BPMN), or None."""
        return self.phase or None

    def is_for(self, user: User) -> bool:
        """The user holds the task's role, belongs to its org unit (if it has one) and is its assignee (if any)."""
        return (
            user.has_role(self.role)
            and (self.org_id is None or self.org_id == user.org_id)
            and (self.assignee_id is None or self.assignee_id == user.id)
        )

    def can_view(self, user: User) -> bool:
        return self.is_for(user) or self.completed_by_id == user.id or user.has_role(Role.OFFICE)

    def can_claim(self, user: User) -> bool:
        return self.status == TaskStatus.OPEN and self.is_for(user)

    def can_unclaim(self, user: User) -> bool:
        return (
            self.status == TaskStatus.OPEN
            and self.claimed_by_id is not None
            and (self.claimed_by_id == user.id or user.has_role(Role.OFFICE))
        )

    def claimed_by_other(self, user: User) -> bool:
        return self.claimed_by_id is not None and self.claimed_by_id != user.id


class AuditEvent(Model):
    """Append-only record of what happened to instances and tasks, and who did it."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(50), index=True)
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), index=True
    )
    task_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[dict] = mapped_column(JSONText, default=dict)

    actor: Mapped[User | None] = relationship()


INBOX_SORTS = ("due", "created", "title", "org", "completed")


def inbox_query(
    user: User,
    *,
    status: str = "open",
    year: int | None = None,
    process_id: str | None = None,
    phase: str | None = None,
    round_kind: str | None = None,
    sort: str | None = None,
) -> Select[tuple[InboxTask]]:
    """The user's inbox as one SELECT over inbox_task (and its instance), never a workflow.

    open: tasks for the user's roles in their org (or org-less ones) not assigned to someone else,
    plus those they claimed;
    completed: tasks the user completed. Each filter narrows an indexed scan of the user's rows
    (ix_inbox_task_open_role_org, ix_inbox_task_completed_by_at), so history does not slow it.
    """
    sort = sort or ("completed" if status == "completed" else "due")
    query = select(InboxTask)
    if status == "completed":
        query = query.where(InboxTask.completed_by_id == user.id, InboxTask.status == TaskStatus.COMPLETED)
    else:
        # what InboxTask.is_for allows: the role, the org (if any) and the assignee (if any)
        mine = (
            (InboxTask.role.in_(user.roles))
            & (InboxTask.org_id.is_(None) | (InboxTask.org_id == user.org_id))
            & (InboxTask.assignee_id.is_(None) | (InboxTask.assignee_id == user.id))
        )
        query = query.where(InboxTask.status == TaskStatus.OPEN, mine | (InboxTask.claimed_by_id == user.id))
    if year is not None or process_id:
        query = query.join(InboxTask.instance)
    if year is not None:
        query = query.join(SchemeYear, SchemeYear.id == ProcessInstance.scheme_year_id).where(
            SchemeYear.year == year
        )
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if phase:
        query = query.where(InboxTask.phase == phase)
    if round_kind:
        query = query.where(InboxTask.round == round_kind)
    if sort == "org":
        query = query.outerjoin(OrgUnit, OrgUnit.id == InboxTask.org_id)
    order = {
        "due": (InboxTask.due_at.is_(None), InboxTask.due_at, InboxTask.id),
        "created": (InboxTask.created_at.desc(), InboxTask.id.desc()),
        "title": (InboxTask.title, InboxTask.id),
        "org": (OrgUnit.sort_order.is_(None), OrgUnit.sort_order, InboxTask.due_at, InboxTask.id),
        "completed": (InboxTask.completed_at.desc(), InboxTask.id.desc()),
    }.get(sort, (InboxTask.id,))
    return query.order_by(*order)
