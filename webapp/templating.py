"""Template helpers: the current time, days left to a deadline, the open-task count."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func

from models.db import db
from models.i18n import gettext as _
from models.i18n import lazy_gettext as _l
from models.workflow import inbox_query
from webapp.domain.results import scorecard
from workflows.engine import now as engine_now


def days_left(due: datetime, now: datetime | None = None) -> str:
    # the engine's clock: real time in production, the simulated year's in simulations and tests
    days = (due - (now or engine_now())).total_seconds() / 86400
    if -1 < days < 0:
        return _("overdue")
    if 0 <= days < 1:
        return _("due within a day")
    if days < 0:
        return ngettext("overdue by %(num)d day", "overdue by %(num)d days", int(-days))
    return ngettext("%(num)d day left", "%(num)d days left", int(days))


ACTION_TITLES = {
    "task.completed": _l("completed the task"),
    "task.claimed": _l("claimed the task"),
    "task.unclaimed": _l("released the task"),
    "instance.started": _l("started the process"),
    "instance.message": _l("opened the phase"),
    "instance.retried": _l("retried the process after an incident"),
    "evidence.attached": _l("attached a file"),
    "evidence.removed": _l("removed a file"),
    "declaration_file.attached": _l("attached a file"),
    "declaration_file.removed": _l("removed a file"),
}


def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))


def open_task_count() -> int:
    """The top bar's badge: one COUNT over the open-task index (ix_inbox_task_open_role_org), once per request."""
    if not current_user.is_authenticated:
        return 0
    if "open_task_count" not in g:
        query = inbox_query(current_user).order_by(None).with_only_columns(func.count())
        g.open_task_count = db.session.scalar(query)
    return g.open_task_count


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        days_left=days_left, open_task_count=open_task_count, action_title=action_title
    )
    # statuses, their legend and rank changes (results/_scorecard.html)
    app.jinja_env.globals["scorecard"] = scorecard

    @app.context_processor
    def inject_now() -> dict:
        return {"now": engine_now()}


__all__ = ["days_left", "init_app", "open_task_count"]
