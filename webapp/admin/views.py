from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.db import db
from models.org import OrgUnit, Role, User
from webapp.access import roles_required
from webapp.admin import bp


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    rows = db.session.scalars(
        select(User)
        .join(User.org)
        .order_by(OrgUnit.kind, OrgUnit.sort_order, User.username)
        .options(selectinload(User.org), selectinload(User.role_rows))
    ).all()
    return render_template("admin/users.html", users=rows)
