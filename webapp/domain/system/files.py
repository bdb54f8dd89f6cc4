"""Reads of the files a department sends with its declaration (kept by year and department across
returns); attaching and removing them are `webapp.domain.declaration_files`' verbs."""

from __future__ import annotations

from sqlalchemy import select

from models.db import db
from models.formation import DeclarationFile
from models.org import User
from models.workflow import InboxTask, ProcessInstance, TaskStatus

FORM_KEY = "declaration.declare"


def for_declaration(scheme_year_id: int, department_id: int) -> list[DeclarationFile]:
    """The department's files for the year, in the order they were attached."""
    return list(
        db.session.scalars(
            select(DeclarationFile)
            .where(
                DeclarationFile.scheme_year_id == scheme_year_id,
                DeclarationFile.department_id == department_id,
            )
            .order_by(DeclarationFile.id)
        )
    )


def open_declare_task(scheme_year_id: int, department_id: int) -> InboxTask | None:
    """The department's declare task of the year while it is open (first or after a return)."""
    return db.session.scalar(
        select(InboxTask)
        .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
        .where(
            ProcessInstance.scheme_year_id == scheme_year_id,
            InboxTask.form_key == FORM_KEY,
            InboxTask.org_id == department_id,
            InboxTask.status == TaskStatus.OPEN,
        )
        .limit(1)
    )


def can_change(task: InboxTask, user: User) -> bool:
    """Files are attached and removed by the department's users while its declare task is open."""
    return task.form_key == FORM_KEY and task.status == TaskStatus.OPEN and task.is_for(user)


def for_task(task: InboxTask) -> list[DeclarationFile]:
    """The files of the declaration a declare or review task concerns; none for other tasks."""
    department = {FORM_KEY: task.org_id, "declaration.review": task.subject_org_id}.get(task.form_key)
    year_id = task.instance.scheme_year_id
    return for_declaration(year_id, department) if department and year_id else []
