"""The files a department sends with its declaration: checked and stored as evidence is (type by name
and leading bytes, size, instance/evidence/<sha256>), kept by year and department across returns,
and served to the department and to those who review and approve.

Beside the domains rather than in `system`: it stores through `rounds.evidence` and loads tasks
through `process`, both of which read `system`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from models.db import db
from models.formation import DeclarationFile
from models.i18n import lazy_gettext as _l
from models.org import User
from models.workflow import InboxTask
from webapp.domain import audit, errors
from webapp.domain.process import tasks as task_service
from webapp.domain.rounds import evidence as storage
from webapp.domain.system.files import FORM_KEY, can_change, open_declare_task

MAX_FILES = 20  # per department and year: enough for the documents a declaration cites


def attach(task_guid: str, user: User, upload: storage.Upload, root: Path) -> DeclarationFile:
    """Attach a file to the declaration of the user's open declare task. The same file under the same
    name again (a second click) is the file already there; the cap holds against concurrent uploads,
    which wait for each other on the task's lock."""
    task = task_service.lock_task(task_guid, user)
    if task.form_key != FORM_KEY:
        raise errors.Conflict(str(_l("Files cannot be attached to this task.")))
    if not can_change(task, user) or task.org_id is None:
        raise errors.Forbidden(str(_l("Only the task's organisation can attach files while it is open.")))
    year_id = task.instance.scheme_year_id
    if year_id is None:
        raise errors.Conflict(str(_l("Files cannot be attached to this task.")))
    content_type = storage.check_file(upload)
    filename = storage.clean_filename(upload.filename)
    digest = storage.digest_of(upload.data)
    already = db.session.scalar(
        select(DeclarationFile).where(
            DeclarationFile.scheme_year_id == year_id,
            DeclarationFile.department_id == task.org_id,
            DeclarationFile.sha256 == digest,
            DeclarationFile.filename == filename,
        )
    )
    if already is not None:
        return already
    count = db.session.scalar(
        select(func.count(DeclarationFile.id)).where(
            DeclarationFile.scheme_year_id == year_id, DeclarationFile.department_id == task.org_id
        )
    )
    if (count or 0) >= MAX_FILES:
        raise errors.Invalid.on(
            "file", _l("A declaration has at most %(n)d files; remove one first.", n=MAX_FILES)
        )
    storage.store(upload.data, root)
    file = DeclarationFile(
        scheme_year_id=year_id,
        department_id=task.org_id,
        filename=filename,
        content_type=content_type,
        size=len(upload.data),
        sha256=digest,
        uploaded_by_id=user.id,
    )
    db.session.add(file)
    audit.record(
        "declaration_file.attached",
        user,
        instance_id=task.instance_id,
        task_guid=task.task_guid,
        detail={"file": file.filename, "sha256": digest},
    )
    db.session.flush()
    return file


def _load(file_id: int, user: User) -> DeclarationFile:
    file = db.session.get(DeclarationFile, file_id)
    if file is None:
        raise errors.NotFound(str(_l("There is no such file.")))
    if not file.can_view(user):
        raise errors.Forbidden(str(_l("This file is not yours to open.")))
    return file


def remove(file_id: int, user: User) -> tuple[DeclarationFile, InboxTask]:
    """Remove a file while the department's declare task is open; returns it with that task."""
    file = _load(file_id, user)
    task = open_declare_task(file.scheme_year_id, file.department_id)
    if task is not None and task.is_for(user):
        task = task_service.lock_task(task.task_guid, user)  # waits for a completion on its way
    if task is None or not can_change(task, user):
        raise errors.Forbidden(str(_l("Only the task's organisation can remove files while it is open.")))
    db.session.delete(file)
    audit.record(
        "declaration_file.removed",
        user,
        instance_id=task.instance_id,
        task_guid=task.task_guid,
        detail={"file": file.filename},
    )
    db.session.flush()
    return file, task


def readable(file_id: int, user: User, root: Path) -> tuple[DeclarationFile, Path]:
    """The file and where its bytes are, if the user may read it."""
    file = _load(file_id, user)
    return file, storage.stored_path(root, file.sha256)
