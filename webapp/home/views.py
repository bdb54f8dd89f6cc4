from __future__ import annotations

from flask import current_app, g, render_template, url_for
from flask_login import current_user, login_required

from models.i18n import lazy_gettext as _l
from models.org import Role
from webapp.domain.results import dashboards as dashboard_service
from webapp.home import bp
from webapp.lifecycle import page
from workflows import engine

# Roles whose home page opens with the current year on one screen.
OVERVIEW_ROLES = (Role.LEADERSHIP, Role.OFFICE)

# What each role does in the year, in the plan's words (shown on the role's home page).
DUTIES = {
    Role.LEADERSHIP: _l(
        "Approve the indicator system, each round's results, the annual results and the commendation proposal."
    ),
    Role.OFFICE: _l(
        "Set the declaration standard, form the indicator system with experts, run every evaluation round, "
        "review data and scores, aggregate, report and give feedback."
    ),
    Role.DEPARTMENT: _l(
        "Declare your indicators in January, score the cities on the indicators you own in each round, "
        "and verify on site at year end."
    ),
    Role.CITY: _l(
        "Comment on the draft indicator system, report your own completion in each round, and receive feedback."
    ),
    Role.EXPERT: _l("Help design the indicator system and review the draft indicators."),
    Role.THIRD_PARTY: _l("Assess the indicators assigned to you independently."),
    Role.ADMIN: _l("Manage users, roles and next year's process definitions."),
}


def cards_for(role: Role | None, org_code: str) -> list[dict]:
    """The areas a role works in, as links for its home page."""
    cards = [
        {
            "icon": "inbox",
            "title": _l("Inbox"),
            "text": _l("The tasks waiting for you and your organisation, and those you have completed."),
            "url": url_for("inbox.index"),
        },
        {
            "icon": "diagram-3",
            "title": _l("Indicator system"),
            "text": _l("The year's dimensions, levels, key points and indicators with their weights."),
            "url": url_for("indicators.index"),
        },
    ]
    cards.append(
        {
            "icon": "bar-chart",
            "title": _l("Results"),
            "text": _l("Rankings, each round's results, awards and feedback reports."),
            "url": url_for("results.index"),
        }
    )
    if role in (Role.OFFICE, Role.LEADERSHIP, Role.ADMIN):
        cards.append(
            {
                "icon": "calendar3",
                "title": _l("Annual cycle"),
                "text": _l(
                    "Start a year, open a phase early, follow declarations and every phase's progress."
                ),
                "url": url_for("cycle.index"),
            }
        )
        cards.append(
            {
                "icon": "buildings",
                "title": _l("Organisations"),
                "text": _l(
                    "The leadership group, the office, the departments and the cities, with their users."
                ),
                "url": url_for("orgs.index"),
            }
        )
    else:
        cards.append(
            {
                "icon": "building",
                "title": _l("My organisation"),
                "text": _l("Your organisation's details and colleagues."),
                "url": url_for("orgs.show", code=org_code),
            }
        )
    if role == Role.ADMIN:
        cards.append(
            {
                "icon": "people",
                "title": _l("Users"),
                "text": _l("Every account, its organisation and roles."),
                "url": url_for("admin.users"),
            }
        )
    return cards


@bp.route("/")
@login_required
@page
def index():
    role = g.active_role
    cards = cards_for(role, current_user.org.code)
    overview = None
    if role in OVERVIEW_ROLES:
        scheme_year = dashboard_service.current_year(current_app.config["DEFAULT_SCHEME"])
        if scheme_year is not None:
            overview = dashboard_service.year_overview(scheme_year, current_user, engine.now())
    charts = None
    if overview and overview.ranking:
        year = overview.scheme_year.year
        links = dashboard_service.Links(  # a bar opens the city's results
            city=lambda kind, code: url_for("results.city", year=year, kind=kind, code=code),
            year=lambda other: url_for("results.dashboards", year=other),
        )
        charts = {"ranking": dashboard_service.ranking_chart(overview.ranking, overview.link_round, links)}
    return render_template(
        "home/index.html", role=role, duties=DUTIES.get(role), cards=cards, overview=overview, charts=charts
    )
