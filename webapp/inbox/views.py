from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from models.db import db
from models.workflow import InboxTask, inbox_query
from webapp.inbox import bp

PAGE_SIZE = 50


@bp.route("/")
@login_required
def index():
    status = "completed" if request.args.get("status") == "completed" else "open"
    year = request.args.get("year", type=int)
    process_id = request.args.get("process") or None
    sort = request.args.get("sort") or ("completed" if status == "completed" else "due")
    page = max(request.args.get("page", 1, type=int), 1)
    query = inbox_query(current_user, status=status, year=year, process_id=process_id, sort=sort).options(
        joinedload(InboxTask.org), joinedload(InboxTask.instance), joinedload(InboxTask.claimed_by)
    )
    rows = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "inbox/index.html",
        tasks=rows[:PAGE_SIZE],
        has_more=len(rows) > PAGE_SIZE,
        page=page,
        status=status,
        year=year,
        process_id=process_id,
        sort=sort,
    )
