"""Published results: the ranking, each round, a city's details, a department's indicators, and downloads."""

from __future__ import annotations

from io import BytesIO

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from models.db import utcnow
from models.evaluation import RoundKind
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, Role
from models.scheme import SchemeYear
from webapp import lifecycle
from webapp.domain import errors
from webapp.domain.results import dashboards as dashboard_service
from webapp.domain.results import feedback, reports
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


def _download(data: bytes, name: str, kind: str):
    mimetype = "application/pdf" if kind == "pdf" else XLSX
    return send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


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
    annual = results.annual_result(scheme_year.id)
    show_annual = feedback.annual_visible(scheme_year.id, current_user)
    own_city = current_user.org.root() if current_user.org.root().kind == OrgKind.CITY else None
    return render_template(
        "results/year.html",
        scheme_year=scheme_year,
        rounds=rounds,
        annual=annual.results if show_annual else None,
        annual_published=bool(annual and annual.published_at),
        own_city=own_city,
        is_department=current_user.has_role(Role.DEPARTMENT),
        city_names={c.code: c.short_name for c in results.cities()},
        key_points={str(p.number): p.name for p in indicator_service.key_points(scheme_year)},
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
    report = feedback.city_round_report(scheme_year, round_, city_unit)
    return render_template(
        "results/city.html", scheme_year=scheme_year, round=round_, city=city_unit, report=report
    )


@bp.route("/<int:year>/<kind>/city/<code>.<fmt>")
@login_required
@page
def city_download(year: int, kind: str, code: str, fmt: str):
    scheme_year = lifecycle.scheme_year(year)
    if fmt not in ("pdf", "xlsx"):
        abort(404)
    city_unit = _city(code)
    if kind == "annual":
        if not feedback.annual_visible(scheme_year.id, current_user):
            abort(404)
        report = feedback.city_annual_report(scheme_year, city_unit)
        data = reports.city_annual_pdf(report) if fmt == "pdf" else reports.city_annual_xlsx(report)
    else:
        try:
            round_ = feedback.rounds_of(scheme_year).get(RoundKind(kind))
        except ValueError:
            abort(404)
        if not feedback.round_visible(round_, current_user):
            abort(404)
        report = feedback.city_round_report(scheme_year, round_, city_unit)
        data = reports.city_round_pdf(report) if fmt == "pdf" else reports.city_round_xlsx(report)
    return _download(data, f"feedback-{year}-{kind}-{code}.{fmt}", fmt)


@bp.route("/<int:year>/province.<fmt>")
@login_required
@page
def province_download(year: int, fmt: str):
    scheme_year = lifecycle.scheme_year(year)
    if fmt not in ("pdf", "xlsx") or not feedback.annual_visible(scheme_year.id, current_user):
        abort(404)
    report = feedback.province_report(scheme_year)
    data = reports.province_pdf(report) if fmt == "pdf" else reports.province_xlsx(report)
    return _download(data, f"results-{year}-province.{fmt}", fmt)


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
    table = {}
    for kind, round_ in rounds.items():
        for entry in round_.results["cities"]:
            for line in entry["lines"]:
                table[(kind, line["code"], entry["city"])] = line
    return render_template(
        "results/department.html",
        scheme_year=scheme_year,
        indicators=owned,
        rounds=rounds,
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
        charts=dashboard_service.chart_data(board) if board else None,
        tables=dashboard_service.tables(board) if board else {},
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
