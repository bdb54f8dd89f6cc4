from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from models.db import utcnow
from models.formation import Phase
from webapp.domain.process import inbox as inbox_service
from webapp.errors import render_error
from webapp.inbox import bp


@bp.route("/")
@login_required
def index():
    try:
        filters = inbox_service.parse_filters(request.args)
    except inbox_service.InboxFilterInvalid as exc:
        return render_error(400, str(exc))
    page = inbox_service.list_inbox(current_user, filters, utcnow())
    return render_template("inbox/index.html", page=page, filters=filters, phases=list(Phase))
