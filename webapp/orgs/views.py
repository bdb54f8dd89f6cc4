from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from models.org import OVERSIGHT_ROLES, OrgUnit
from webapp.access import roles_required
from webapp.domain.accounts import queries as directory
from webapp.lifecycle import page
from webapp.orgs import bp


@bp.route("/")
@roles_required(*OVERSIGHT_ROLES)
@page
def index():
    by_kind = directory.units_by_kind()
    return render_template("orgs/index.html", by_kind=by_kind, order=list(by_kind))


@bp.route("/<code>")
@login_required
@page
def show(code: str):
    unit = OrgUnit.by_code(code)
    if unit is None:
        abort(404)
    if not unit.can_view(current_user):
        abort(403)
    return render_template("orgs/show.html", unit=unit, members=directory.members(unit))
