from __future__ import annotations

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_login import current_user, login_required

from models.i18n import lazy_gettext as _l
from webapp.domain import errors
from webapp.domain.rounds import evidence as evidence_service
from webapp.errors import render_error
from webapp.evidence import bp
from webapp.lifecycle import page


def _root():
    return evidence_service.storage_root(current_app.instance_path)


def _refused(exc: errors.DomainError, **_values):
    """A refused file says what is wrong with it (type, size, which indicator), in one sentence."""
    if isinstance(exc, errors.Invalid) and exc.fields:
        return render_error(exc.status, "；".join(m for ms in exc.fields.values() for m in ms))
    return render_error(exc.status, exc.message)


@bp.route("/upload/<guid>", methods=["POST"])
@login_required
@page(refused=_refused)
def upload(guid: str):
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_l("Choose a file to attach."), "danger")
        return redirect(url_for("tasks.show", guid=guid))
    data = file.read(evidence_service.MAX_BYTES + 1)
    file.close()
    evidence_service.attach(
        guid,
        current_user,
        request.form.get("indicator", ""),
        request.form.get("city") or None,
        evidence_service.Upload(file.filename, data),
        _root(),
    )
    flash(_l("File attached."), "success")
    return redirect(url_for("tasks.show", guid=guid))


@bp.route("/<int:evidence_id>")
@login_required
@page
def download(evidence_id: int):
    evidence, path = evidence_service.readable(evidence_id, current_user, _root())
    if not path.exists():
        raise errors.NotFound(str(_l("The file is missing from storage; tell the office.")))
    return send_file(
        path, mimetype=evidence.content_type, as_attachment=True, download_name=evidence.filename
    )


@bp.route("/<int:evidence_id>/delete", methods=["POST"])
@login_required
@page
def delete(evidence_id: int):
    evidence = evidence_service.remove(evidence_id, current_user)
    flash(_l("File removed."), "success")
    return redirect(url_for("tasks.show", guid=evidence.task_guid))
