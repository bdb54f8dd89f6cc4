from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from models.i18n import lazy_gettext as _l
from webapp.attachments import send_attachment
from webapp.domain import declaration_files, errors
from webapp.domain.rounds import evidence as evidence_service
from webapp.errors import render_error
from webapp.evidence import bp
from webapp.inputs import form_text
from webapp.lifecycle import page


def _root():
    return evidence_service.storage_root(current_app.instance_path)


def _refused(exc: errors.DomainError, **_values):
    """A refused file says what is wrong with it (type, size, which indicator), in one sentence."""
    if isinstance(exc, errors.Invalid) and exc.fields:
        return render_error(exc.status, "；".join(m for ms in exc.fields.values() for m in ms))
    return render_error(exc.status, exc.message)


def _posted_file() -> evidence_service.Upload | None:
    """The posted `file`, read to one byte past the limit (the check refuses it), or None when none came."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return None
    data = file.read(evidence_service.MAX_BYTES + 1)
    file.close()
    return evidence_service.Upload(file.filename, data)


@bp.route("/upload/<guid>", methods=["POST"])
@login_required
@page(refused=_refused)
def upload(guid: str):
    file = _posted_file()
    if file is None:
        flash(_l("Choose a file to attach."), "danger")
        return redirect(url_for("tasks.show", guid=guid))
    evidence_service.attach(
        guid, current_user, form_text("indicator"), form_text("city") or None, file, _root()
    )
    flash(_l("File attached."), "success")
    return redirect(url_for("tasks.show", guid=guid))


@bp.route("/<int:evidence_id>")
@login_required
@page
def download(evidence_id: int):
    evidence, path = evidence_service.readable(evidence_id, current_user, _root())
    return send_attachment(path, evidence.content_type, evidence.filename)


@bp.route("/<int:evidence_id>/delete", methods=["POST"])
@login_required
@page
def delete(evidence_id: int):
    evidence = evidence_service.remove(evidence_id, current_user)
    flash(_l("File removed."), "success")
    return redirect(url_for("tasks.show", guid=evidence.task_guid))


# ---------------------------------------------------------------- a declaration's files


@bp.route("/declaration/upload/<guid>", methods=["POST"])
@login_required
@page(refused=_refused)
def declaration_upload(guid: str):
    file = _posted_file()
    if file is None:
        flash(_l("Choose a file to attach."), "danger")
        return redirect(url_for("tasks.show", guid=guid))
    declaration_files.attach(guid, current_user, file, _root())
    flash(_l("File attached."), "success")
    return redirect(url_for("tasks.show", guid=guid))


@bp.route("/declaration/<int:file_id>")
@login_required
@page
def declaration_download(file_id: int):
    file, path = declaration_files.readable(file_id, current_user, _root())
    return send_attachment(path, file.content_type, file.filename)


@bp.route("/declaration/<int:file_id>/delete", methods=["POST"])
@login_required
@page
def declaration_delete(file_id: int):
    _file, task = declaration_files.remove(file_id, current_user)
    flash(_l("File removed."), "success")
    return redirect(url_for("tasks.show", guid=task.task_guid))
