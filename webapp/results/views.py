"""Published results: the ranking, each round, a city's details, a department's indicators, and downloads."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models.db import utcnow
from models.evaluation import RoundKind
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, Role
from models.scheme import SchemeYear
from webapp import lifecycle
from webapp.attachments import send_attachment
from webapp.domain import errors
from webapp.domain.results import dashboards as dashboard_service
from webapp.domain.results import downloads, feedback, scorecard
from webapp.domain.results import queries as results
from webapp.domain.system import queries as indicator_service
from webapp.lifecycle import page
from webapp.results import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _city(code: str) -> OrgUnit:
    city = OrgUnit.by_code(code)
    if city is None or city.kind != OrgKind.CITY:
        abort(404)
    if not city.details_visible_to(current_user):
        abort(403)
    return city


def _version() -> int | None:
    """The published version asked for (`?version=1`: the figures as first published), else None."""
    raw = request.args.get("version")
    if raw is None:
        return None
    if not raw.isdigit():
        abort(404)
    return int(raw)


def _sent(download: downloads.Download):
    """A report from `domain.results.downloads` (the task API downloads the same)."""
    return send_attachment(download.data, download.mimetype, download.filename)


def _download(data: bytes, name: str, kind: str):
    mimetype = "application/pdf" if kind == "pdf" else XLSX
    return send_attachment(data, mimetype, name)


@bp.route("/")
@login_required
@page
def index():
    years = indicator_service.list_years(current_app.config["DEFAULT_SCHEME"])
    if not years:
        abort(404)
    return redirect(url_for("results.year", year=years[-1]))


@bp.route("/<int:year>")
@login_required
@page
def year(year: int):
    scheme_year = lifecycle.scheme_year(year)
    rounds = {
        k: r for k, r in feedback.rounds_of(scheme_year).items() if feedback.round_visible(r, current_user)
    }
    # `?round=half_year&version=1`: that round as it was first published
    asked = request.args.get("round")
    version = _version()
    if version is not None and asked not in {k.value for k in rounds}:
        abort(404)
    shown = {k: results.shown_results(r, version if k.value == asked else None) for k, r in rounds.items()}
    corrections = {
        k: feedback.correction(r, version if k.value == asked else None) for k, r in rounds.items()
    }
    annual = results.annual_result(scheme_year.id)
    show_annual = feedback.annual_visible(scheme_year.id, current_user)
    # each ranking's change since the one before it (half-year → Q3 → year-end → annual)
    ranked = {k.value: shown[k] for k in rounds} | (
        {"annual": annual.results} if show_annual and annual else {}
    )
    own_city = current_user.org.root() if current_user.org.root().kind == OrgKind.CITY else None
    return render_template(
        "results/year.html",
        scheme_year=scheme_year,
        rounds=rounds,
        shown=shown,
        corrections=corrections,
        rank_changes=scorecard.changes_by_view(ranked),
        annual=annual.results if show_annual else None,
        annual_published=bool(annual and annual.published_at),
        own_city=own_city,
        is_department=current_user.has_role(Role.DEPARTMENT),
        city_names={c.code: c.short_name for c in results.cities()},
        key_points={str(p.number): p.name for p in indicator_service.key_points(scheme_year)},
        indicator_names={
            code: i["name"] for r in shown.values() for code, i in r.get("indicators", {}).items()
        },
        RoundKind=RoundKind,
    )


@bp.route("/<int:year>/<kind>/city/<code>")
@login_required
@page
def city(year: int, kind: str, code: str):
    scheme_year = lifecycle.scheme_year(year)
    try:
        round_kind = RoundKind(kind)
    except ValueError:
        abort(404)
    round_ = feedback.rounds_of(scheme_year).get(round_kind)
    if not feedback.round_visible(round_, current_user):
        abort(404)
    city_unit = _city(code)
    report = feedback.city_round_report(scheme_year, round_, city_unit, version=_version())
    return render_template(
        "results/city.html", scheme_year=scheme_year, round=round_, city=city_unit, report=report
    )


@bp.route("/<int:year>/<kind>/city/<code>.<fmt>")
@login_required
@page
def city_download(year: int, kind: str, code: str, fmt: str):
    scheme_year = lifecycle.scheme_year(year)
    if fmt not in downloads.FORMATS:
        abort(404)
    city_unit = _city(code)
    return _sent(downloads.city_report(scheme_year, kind, city_unit, current_user, fmt, _version()))


@bp.route("/<int:year>/province.<fmt>")
@login_required
@page
def province_download(year: int, fmt: str):
    return _sent(downloads.province_report(lifecycle.scheme_year(year), current_user, fmt))


@bp.route("/<int:year>/department")
@login_required
@page
def department(year: int):
    """A department's indicators: every city's score in every visible round."""
    if not current_user.has_role(Role.DEPARTMENT):
        abort(403)
    scheme_year = lifecycle.scheme_year(year)
    owned = [i for i in scheme_year.indicators() if i.owner_id == current_user.org_id]
    rounds = {
        k: r for k, r in feedback.rounds_of(scheme_year).items() if feedback.round_visible(r, current_user)
    }
    # `?round=half_year&version=1`: that round as it was first published, as on the year's page
    asked, version = request.args.get("round"), _version()
    if version is not None and asked not in {k.value for k in rounds}:
        abort(404)
    shown = {k: results.shown_results(r, version if k.value == asked else None) for k, r in rounds.items()}
    table = {}
    for kind, shown_results in shown.items():
        for entry in shown_results["cities"]:
            for line in entry["lines"]:
                table[(kind, line["code"], entry["city"])] = line
    return render_template(
        "results/department.html",
        scheme_year=scheme_year,
        indicators=owned,
        rounds=rounds,
        corrections={
            k: feedback.correction(r, version if k.value == asked else None) for k, r in rounds.items()
        },
        cities=results.cities(),
        table=table,
    )


def _dashboard(scheme_year: SchemeYear) -> dashboard_service.Dashboard | None:
    """The year's dashboards for the current user and the `view` asked for (404 naming it if not visible)."""
    view = request.args.get("view") or None
    try:
        return dashboard_service.build_dashboard(scheme_year, current_user, view)
    except dashboard_service.ViewNotVisible:
        message = _l(
            "The view “%(view)s” has no results you may see for %(year)d: "
            "choose annual, half_year, q3 or year_end once they are published.",
            view=view,
            year=scheme_year.year,
        )
        raise errors.NotFound(str(message)) from None


@bp.route("/<int:year>/dashboards")
@login_required
@page
def dashboards(year: int):
    """Charts of the year's results (ranking, dimensions, trend, key points), each with its table."""
    scheme_year = lifecycle.scheme_year(year)
    board = _dashboard(scheme_year)
    return render_template(
        "results/dashboards.html",
        scheme_year=scheme_year,
        board=board,
        charts=dashboard_service.chart_data(board, chart_links(year)) if board else None,
        tables=dashboard_service.tables(board) if board else {},
        statuses=dashboard_service.table_statuses(board) if board else {},
    )


def chart_links(year: int) -> dashboard_service.Links:
    """The pages a chart's bar, point or cell opens: a city's results in a round, a year's dashboards."""
    return dashboard_service.Links(
        city=lambda kind, code: url_for("results.city", year=year, kind=kind, code=code),
        year=lambda other: url_for("results.dashboards", year=other),
    )


@bp.route("/<int:year>/dashboards.xlsx")
@login_required
@page
def dashboards_xlsx(year: int):
    board = _dashboard(lifecycle.scheme_year(year))
    if board is None:
        abort(404)
    data = dashboard_service.dashboard_xlsx(board, utcnow())
    return _download(data, f"dashboards-{year}-{board.view}.xlsx", "xlsx")
