"""Role guides: what each phase asks of a role, by when, and what happens next (public, like a manual).

The prose is long, so each guide is a template per language (help/zh/<role>.html,
help/en/<role>.html) rather than hundreds of msgids; the dates and headings come from the
database and gettext.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, g, redirect, render_template, url_for
from flask_babel import format_date

from models.db import utcnow
from models.formation import Phase
from models.i18n import gettext
from models.org import Role
from webapp.domain.localtime import LOCAL
from webapp.domain.process import help as help_service
from webapp.help import bp
from webapp.i18n import select_locale
from webapp.lifecycle import page


def _page_context() -> dict:
    year, dates = help_service.current_calendar(
        current_app.config["DEFAULT_SCHEME"], utcnow().astimezone(LOCAL).date()
    )

    def day(value: datetime | None) -> str:
        return format_date(value, "medium") if value else ""

    def when(phase: str) -> str:
        """The phase's dates this year, or the plan's months when the year has no calendar."""
        d = dates[Phase(phase)]
        if d.opens and d.deadline:
            return gettext("%(opens)s to %(deadline)s", opens=day(d.opens), deadline=day(d.deadline))
        return d.plan

    def phase_title(phase: str) -> str:
        return Phase(phase).title

    return {
        "calendar_year": year,
        "calendar": [dates[p] for p in Phase],
        "day": day,
        "when": when,
        "phase_title": phase_title,
        "guide_roles": help_service.GUIDE_ROLES,
        "summaries": help_service.GUIDE_SUMMARIES,
        "lang": "zh" if select_locale().startswith("zh") else "en",
    }


@bp.route("/")
@page
def index():
    """The guide of the role the user works in; the list of guides for everyone else."""
    role = help_service.guide_role(g.get("active_role"))
    if role is not None:
        return redirect(url_for("help.guide", role=role.value))
    return render_template("help/index.html", **_page_context())


@bp.route("/<role>")
@page
def guide(role: str):
    try:
        chosen = Role(role)
    except ValueError:
        abort(404)
    if chosen not in help_service.GUIDE_ROLES:
        abort(404)
    context = _page_context()
    return render_template(
        "help/guide.html", role=chosen, body=f"help/{context['lang']}/{chosen.value}.html", **context
    )
