from __future__ import annotations

from flask import render_template

from models.org import Role
from webapp.access import roles_required
from webapp.admin import bp
from webapp.domain.accounts import queries as directory
from webapp.lifecycle import page


@bp.route("/users")
@roles_required(Role.ADMIN)
@page
def users():
    return render_template("admin/users.html", users=directory.all_users())
