from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from models.i18n import lazy_gettext as _l
from models.scheme import Indicator, SchemeYear
from webapp import lifecycle
from webapp.attachments import send_attachment
from webapp.domain import errors, sheets
from webapp.domain.system import excel as indicator_excel
from webapp.domain.system import operations as system_operations
from webapp.domain.system import queries as system_queries
from webapp.errors import render_error
from webapp.indicators import bp
from webapp.indicators.forms import ImportForm, IndicatorForm
from webapp.inputs import query_int
from webapp.lifecycle import page
from webapp.numbering import chinese_numeral

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = sheets.MAX_FILE  # what a workbook may unpack to is bounded in domain/sheets.py


def _year(year: int) -> SchemeYear:
    """The year in the URL, if the user may see its system (a draft is not for everyone)."""
    scheme_year = lifecycle.scheme_year(year)
    if not scheme_year.can_view_system(current_user):
        abort(403)
    return scheme_year


def _editable(scheme_year: SchemeYear) -> SchemeYear:
    if not scheme_year.can_edit_system(current_user):
        abort(403)
    return scheme_year


def _import_refused(exc: errors.DomainError, year: int):
    if isinstance(exc, errors.WorkbookInvalid):
        return render_template(
            "indicators/import_errors.html",
            scheme_year=lifecycle.scheme_year(year),
            errors=exc.rows,
            more=exc.more,
        ), 422
    return render_error(exc.status, exc.message)


@bp.route("/")
@login_required
@page
def index():
    years = system_queries.list_years(current_app.config["DEFAULT_SCHEME"])
    if not years:
        return render_template("indicators/empty.html")
    return redirect(url_for("indicators.tree", year=years[-1]))


@bp.route("/<int:year>")
@login_required
@page
def tree(year: int):
    scheme_year = _year(year)
    dimensions = system_queries.load_dimensions(scheme_year)
    query = request.args.get("q", "").strip()[:100]
    matches = system_queries.matching_indicator_ids(dimensions, query)
    editable = scheme_year.can_edit_system(current_user)
    return render_template(
        "indicators/tree.html",
        scheme_year=scheme_year,
        dimensions=dimensions,
        sums=system_queries.subtotals(dimensions),
        years=system_queries.list_years(current_app.config["DEFAULT_SCHEME"]),
        query=query,
        matches=matches,
        shown=system_queries.tiers_leading_to(dimensions, matches),
        cn=chinese_numeral,
        editable=editable,
        problems=system_queries.check_year(scheme_year).problems if editable else [],
        import_form=ImportForm() if editable else None,
    )


@bp.route("/<int:year>/export.xlsx")
@login_required
@page
def export_xlsx(year: int):
    scheme_year = _year(year)
    data = indicator_excel.export_workbook(scheme_year)
    return send_attachment(data, XLSX, f"indicators-{year}.xlsx")


@bp.route("/<int:year>/import", methods=["POST"])
@login_required
@page(refused=_import_refused)
def import_xlsx(year: int):
    scheme_year = _editable(_year(year))
    form = ImportForm()
    if not form.validate_on_submit():
        raise errors.BadRequest(str(_l("Choose an .xlsx file to import.")))
    data = form.workbook.data.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise errors.TooLarge(str(_l("The file is larger than 5 MB.")))
    summary = indicator_excel.import_workbook(scheme_year, data)
    flash(_l("Imported %(n)d indicators.", n=summary.indicators), "success")
    return redirect(url_for("indicators.tree", year=year))


@bp.route("/<int:year>/compose", methods=["POST"])
@login_required
@page
def compose(year: int):
    scheme_year = _editable(_year(year))
    n = system_operations.compose_from_declarations(scheme_year, current_user)
    flash(_l("The draft now holds the %(n)d accepted declared indicators.", n=n), "success")
    return redirect(url_for("indicators.tree", year=year))


def _indicator_form(scheme_year: SchemeYear, indicator: Indicator | None) -> IndicatorForm:
    form = IndicatorForm(
        obj=None,
        data=(
            {
                "key_point": str(indicator.key_point.number),
                "name": indicator.name,
                "weight": indicator.weight,
                "owner": indicator.owner.code,
                "co_owners": [o.code for o in indicator.co_owners],
                "unit": indicator.unit,
                "scoring_rule": indicator.scoring_rule,
            }
            if indicator
            else {"key_point": request.args.get("key_point", "")}
        ),
    )
    points = system_queries.key_points(scheme_year)
    form.key_point.choices = [SelectChoice(str(p.number), f"{p.number}. {p.name}") for p in points]
    departments = system_queries.departments()
    form.owner.choices = [SelectChoice(d.code, d.short_name) for d in departments]
    form.co_owners.choices = [SelectChoice(d.code, d.short_name) for d in departments]
    return form


@bp.route("/<int:year>/indicator/new", methods=["GET", "POST"], defaults={"code": None})
@bp.route("/<int:year>/indicator/<code>", methods=["GET", "POST"])
@login_required
@page
def edit_indicator(year: int, code: str | None):
    scheme_year = _editable(_year(year))
    indicator = system_queries.indicator(scheme_year, code) if code is not None else None
    form = _indicator_form(scheme_year, indicator)
    if form.validate_on_submit():
        saved = system_operations.update_indicator(scheme_year, current_user, code, form.data)
        flash(_l("Indicator %(code)s saved.", code=saved.code), "success")
        return redirect(url_for("indicators.tree", year=year, _anchor=saved.code))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "indicators/edit.html", scheme_year=scheme_year, indicator=indicator, form=form
    ), status


@bp.route("/<int:year>/indicator/<code>/delete", methods=["POST"])
@login_required
@page
def delete_indicator(year: int, code: str):
    scheme_year = _editable(_year(year))
    system_operations.delete_indicator(scheme_year, current_user, code)
    flash(_l("Indicator %(code)s deleted.", code=code), "success")
    return redirect(url_for("indicators.tree", year=year))


@bp.route("/<int:year>/compare")
@login_required
@page
def compare(year: int):
    scheme_year = _year(year)
    years = system_queries.list_years(current_app.config["DEFAULT_SCHEME"])
    earlier = [y for y in years if y < year]
    other_year = query_int("with") or (earlier[-1] if earlier else None)
    comparison = None
    if other_year is not None:
        other = _year(other_year)
        comparison = system_queries.compare_trees(
            system_queries.export_tree(scheme_year), system_queries.export_tree(other)
        )
    return render_template(
        "indicators/compare.html",
        scheme_year=scheme_year,
        other_year=other_year,
        years=years,
        comparison=comparison,
    )
