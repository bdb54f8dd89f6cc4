from __future__ import annotations

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_login import current_user, login_required

from models.db import db
from models.i18n import lazy_gettext as _l
from webapp.domain import errors
from webapp.domain.rounds import evidence as evidence_service
from webapp.errors import render_error
from webapp.evidence import bp


def _root():
    return evidence_service.storage_root(current_app.instance_path)


@bp.route("/upload/<guid>", methods=["POST"])
@login_required
def upload(guid: str):
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_l("Choose a file to attach."), "danger")
        return redirect(url_for("tasks.show", guid=guid))
    data = file.read(evidence_service.MAX_BYTES + 1)
    file.close()
    try:
        evidence_service.attach(
            guid,
            current_user,
            request.form.get("indicator", ""),
            request.form.get("city") or None,
            evidence_service.Upload(file.filename, data),
            _root(),
        )
    except errors.Invalid as exc:
        db.session.rollback()
        return render_error(422, "；".join(m for ms in exc.fields.values() for m in ms))
    except errors.DomainError as exc:
        db.session.rollback()
        return render_error(exc.status, exc.message)
    db.session.commit()
    flash(_l("File attached."), "success")
    return redirect(url_for("tasks.show", guid=guid))


@bp.route("/<int:evidence_id>")
@login_required
def download(evidence_id: int):
    try:
        evidence, path = evidence_service.readable(evidence_id, current_user, _root())
    except errors.DomainError as exc:
        return render_error(exc.status, exc.message)
    if not path.exists():
        return render_error(404, _l("The file is missing from storage; tell the office."))
    return send_file(
        path, mimetype=evidence.content_type, as_attachment=True, download_name=evidence.filename
    )


@bp.route("/<int:evidence_id>/delete", methods=["POST"])
@login_required
def delete(evidence_id: int):
    try:
        evidence = evidence_service.remove(evidence_id, current_user)
    except errors.DomainError as exc:
        db.session.rollback()
        return render_error(exc.status, exc.message)
    db.session.commit()
    flash(_l("File removed."), "success")
    return redirect(url_for("tasks.show", guid=evidence.task_guid))
