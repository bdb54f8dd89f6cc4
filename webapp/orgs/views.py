from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.db import db
from models.org import OVERSIGHT_ROLES, OrgKind, OrgUnit, User
from webapp.access import roles_required
from webapp.orgs import bp


@bp.route("/")
@roles_required(*OVERSIGHT_ROLES)
def index():
    units = db.session.scalars(
        select(OrgUnit)
        .where(OrgUnit.parent_id.is_(None))
        .order_by(OrgUnit.kind, OrgUnit.sort_order, OrgUnit.code)
    ).all()
    by_kind: dict[OrgKind, list[OrgUnit]] = {}
    for unit in units:
        by_kind.setdefault(unit.kind, []).append(unit)
    order = [k for k in OrgKind if k in by_kind]
    return render_template("orgs/index.html", by_kind=by_kind, order=order)


@bp.route("/<code>")
@login_required
def show(code: str):
    unit = OrgUnit.by_code(code)
    if unit is None:
        abort(404)
    if not unit.can_view(current_user):
        abort(403)
    members = db.session.scalars(
        select(User)
        .where(User.org_id == unit.id)
        .order_by(User.username)
        .options(selectinload(User.role_rows))
    ).all()
    return render_template("orgs/show.html", unit=unit, members=members)
