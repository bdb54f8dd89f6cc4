from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from models.db import utcnow
from models.formation import Phase
from webapp.domain import errors
from webapp.domain.process import inbox as inbox_service
from webapp.errors import render_error
from webapp.inbox import bp


@bp.route("/")
@login_required
def index():
    try:
        filters = inbox_service.parse_filters(request.args)
    except errors.BadRequest as exc:
        return render_error(exc.status, exc.message)
    page = inbox_service.list_inbox(current_user, filters, utcnow())
    return render_template("inbox/index.html", page=page, filters=filters, phases=list(Phase))
