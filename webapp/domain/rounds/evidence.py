"""Evidence files: type and size checked, stored by content hash outside the web root, served to those allowed."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from models.db import db
from models.evaluation import EvaluationRound, Evidence, RoundKind
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, User
from models.scheme import Indicator
from models.workflow import InboxTask, TaskStatus
from webapp.domain import audit, errors
from webapp.domain.process import tasks as task_service

MAX_BYTES = 10 * 1024 * 1024
# extension → (content type, accepted leading bytes): the name and the content must agree
ALLOWED = {
    ".pdf": ("application/pdf", (b"%PDF",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    ".ppt": ("application/vnd.ms-powerpoint", (b"\xd0\xcf\x11\xe0",)),
}
# which tasks may attach evidence, and as what
TASK_KINDS = {"round.self_report": "self_report", "year_end.verify": "verification"}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


MAX_NAME = 200  # Evidence.filename's length
# the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks:
# they make "report‮fdp.exe" read as "report.exe.pdf"
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_filename(filename: str | None) -> str:
    """The name a file is kept and offered under: no folders, no control characters (C0, C1, DEL,
    NUL), bidirectional controls or unpaired surrogates, and at most MAX_NAME characters, the stem
    shortened so that the extension stays."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        c for c in name if unicodedata.category(c) not in ("Cc", "Cs") and c not in BIDI_CONTROLS
    ).strip()
    if len(name) <= MAX_NAME:
        return name
    stem, ext = os.path.splitext(name)
    if len(ext) >= MAX_NAME // 2:  # not an extension anyone could mean
        return name[:MAX_NAME]
    return stem[: MAX_NAME - len(ext)].rstrip() + ext


def storage_root(instance_path: str) -> Path:
    return Path(instance_path) / "evidence"


def _path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def digest_of(data: bytes) -> str:
    """The name the store keeps the bytes under, and what tells a file sent twice: their SHA-256."""
    return hashlib.sha256(data).hexdigest()


def store(data: bytes, root: Path) -> str:
    """Keep the bytes under their SHA-256 (once, whoever sends them again) and return it."""
    digest = digest_of(data)
    path = _path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a half-written file is never served
    return digest


def stored_path(root: Path, sha256: str) -> Path:
    """Where a stored file's bytes are, or NotFound when they are missing from storage."""
    path = _path(root, sha256)
    if not path.exists():
        raise errors.NotFound(str(_l("The file is missing from storage; tell the office.")))
    return path


def check_file(upload: Upload) -> str:
    """The content type, or Invalid naming the rule the file breaks."""
    ext = os.path.splitext(clean_filename(upload.filename))[1].lower()
    if ext not in ALLOWED:
        raise errors.Invalid.on("file", _l("Only PDF, images (PNG, JPEG) and Office files can be attached."))
    if not upload.data:
        raise errors.Invalid.on("file", _l("The file is empty."))
    if len(upload.data) > MAX_BYTES:
        raise errors.Invalid.on(
            "file", _l("The file is larger than %(mb)d MB.", mb=MAX_BYTES // 1024 // 1024)
        )
    content_type, magic = ALLOWED[ext]
    if not upload.data.startswith(magic):
        raise errors.Invalid.on("file", _l("The file's content does not match its name (%(ext)s).", ext=ext))
    return content_type


def attach(
    task_guid: str, user: User, indicator_code: str, city_code: str | None, upload: Upload, root: Path
) -> Evidence:
    """Attach a file to an indicator (and, for a department's verification, a city) of the user's open task.
    The same file under the same name attached there again (a second click) is the file already there."""
    task = task_service.lock_task(task_guid, user)
    if task.form_key not in TASK_KINDS:
        raise errors.Conflict(str(_l("Files cannot be attached to this task.")))
    if task.status != TaskStatus.OPEN or not task.is_for(user):
        raise errors.Forbidden(str(_l("Only the task's organisation can attach files while it is open.")))
    kind = TASK_KINDS[task.form_key]
    year_id = task.instance.scheme_year_id
    round_ = EvaluationRound.find(year_id, RoundKind(task.scope)) if year_id is not None else None
    if round_ is None:
        raise errors.Conflict(str(_l("Files cannot be attached to this task.")))
    indicator = db.session.scalar(
        select(Indicator).where(
            Indicator.scheme_year_id == task.instance.scheme_year_id, Indicator.code == indicator_code
        )
    )
    if indicator is None or (kind == "verification" and indicator.owner_id != task.org_id):
        raise errors.Invalid.on("indicator", _l("Choose one of the task's indicators."))
    city_id = task.org_id
    if kind == "verification":
        city = OrgUnit.by_code(city_code or "")
        if city is None or city.kind != OrgKind.CITY:
            raise errors.Invalid.on("city", _l("Choose the city."))
        city_id = city.id
    content_type = check_file(upload)
    digest = store(upload.data, root)
    filename = clean_filename(upload.filename)
    already = db.session.scalar(
        select(Evidence).where(
            Evidence.task_guid == task.task_guid,
            Evidence.indicator_id == indicator.id,
            Evidence.city_id == city_id,
            Evidence.sha256 == digest,
            Evidence.filename == filename,
        )
    )
    if already is not None:
        return already
    evidence = Evidence(
        round_id=round_.id,
        city_id=city_id,
        indicator_id=indicator.id,
        org_id=user.org_id,
        kind=kind,
        filename=filename,
        content_type=content_type,
        size=len(upload.data),
        sha256=digest,
        uploaded_by_id=user.id,
        task_guid=task.task_guid,
    )
    db.session.add(evidence)
    audit.record(
        "evidence.attached",
        user,
        instance_id=task.instance_id,
        task_guid=task.task_guid,
        detail={"file": evidence.filename, "sha256": digest},
    )
    db.session.flush()
    return evidence


def remove(evidence_id: int, user: User) -> Evidence:
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None:
        raise errors.NotFound(str(_l("There is no such file.")))
    task = InboxTask.by_guid(evidence.task_guid)
    if task is not None and task.is_for(user):
        task = task_service.lock_task(task.task_guid, user)  # waits for a completion on its way
    if task is None or task.status != TaskStatus.OPEN or not task.is_for(user):
        raise errors.Forbidden(str(_l("Only the task's organisation can remove files while it is open.")))
    db.session.delete(evidence)
    audit.record("evidence.removed", user, task_guid=evidence.task_guid, detail={"file": evidence.filename})
    db.session.flush()
    return evidence


def readable(evidence_id: int, user: User, root: Path) -> tuple[Evidence, Path]:
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None:
        raise errors.NotFound(str(_l("There is no such file.")))
    if not evidence.can_view(user):
        raise errors.Forbidden(str(_l("This file is not yours to open.")))
    return evidence, stored_path(root, evidence.sha256)


def for_task(task: InboxTask) -> list[Evidence]:
    return list(
        db.session.scalars(select(Evidence).where(Evidence.task_guid == task.task_guid).order_by(Evidence.id))
    )


def for_rows(round_id: int, indicator_ids: list[int]) -> dict[tuple[int, int], list[Evidence]]:
    """Evidence of a round by (indicator, city): what a scoring department sees beside each row."""
    out: dict[tuple[int, int], list[Evidence]] = {}
    query = (
        select(Evidence)
        .where(Evidence.round_id == round_id, Evidence.indicator_id.in_(indicator_ids))
        .order_by(Evidence.id)
    )
    for e in db.session.scalars(query):
        out.setdefault((e.indicator_id, e.city_id), []).append(e)
    return out
