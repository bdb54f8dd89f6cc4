from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from models.formation import Phase
from webapp.domain.process import inbox as inbox_service
from webapp.inbox import bp
from webapp.lifecycle import page
from workflows import engine


@bp.route("/")
@login_required
@page
def index():
    # a bad filter raises BadRequest naming it: the lifecycle answers with the 400 page
    filters = inbox_service.parse_filters(request.args)
    # overdue on the engine's clock, as the days left are (a simulated year's in simulations and tests)
    page = inbox_service.list_inbox(current_user, filters, engine.now())
    return render_template("inbox/index.html", page=page, filters=filters, phases=list(Phase))
