from __future__ import annotations

from io import BytesIO

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit
from models.scheme import Indicator, KeyPoint, SchemeYear
from webapp.domain import errors
from webapp.domain.system import excel as indicator_excel
from webapp.domain.system import formation as formation_service
from webapp.domain.system import queries as indicator_service
from webapp.errors import render_error
from webapp.indicators import bp
from webapp.indicators.forms import ImportForm, IndicatorForm
from webapp.numbering import chinese_numeral

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 5 * 1024 * 1024


def _year(year: int) -> SchemeYear:
    try:
        scheme_year = indicator_service.find_scheme_year(current_app.config["DEFAULT_SCHEME"], year)
    except errors.NotFound:
        abort(404)
    if not scheme_year.can_view_system(current_user):
        abort(403)
    return scheme_year


def _editable(scheme_year: SchemeYear) -> SchemeYear:
    if not scheme_year.can_edit_system(current_user):
        abort(403)
    return scheme_year


@bp.route("/")
@login_required
def index():
    years = indicator_service.list_years(current_app.config["DEFAULT_SCHEME"])
    if not years:
        return render_template("indicators/empty.html")
    return redirect(url_for("indicators.tree", year=years[-1]))


@bp.route("/<int:year>")
@login_required
def tree(year: int):
    scheme_year = _year(year)
    dimensions = indicator_service.load_dimensions(scheme_year)
    query = request.args.get("q", "").strip()[:100]
    editable = scheme_year.can_edit_system(current_user)
    return render_template(
        "indicators/tree.html",
        scheme_year=scheme_year,
        dimensions=dimensions,
        sums=indicator_service.subtotals(dimensions),
        years=indicator_service.list_years(current_app.config["DEFAULT_SCHEME"]),
        query=query,
        matches=indicator_service.matching_indicator_ids(dimensions, query),
        cn=chinese_numeral,
        editable=editable,
        problems=formation_service.check_year(scheme_year).problems if editable else [],
        import_form=ImportForm() if editable else None,
    )


@bp.route("/<int:year>/export.xlsx")
@login_required
def export_xlsx(year: int):
    scheme_year = _year(year)
    data = indicator_excel.export_workbook(scheme_year)
    return send_file(
        BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"indicators-{year}.xlsx"
    )


@bp.route("/<int:year>/import", methods=["POST"])
@login_required
def import_xlsx(year: int):
    scheme_year = _editable(_year(year))
    form = ImportForm()
    if not form.validate_on_submit():
        return render_error(400, _l("Choose an .xlsx file to import."))
    data = form.workbook.data.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return render_error(413, _l("The file is larger than 5 MB."))
    try:
        summary = indicator_excel.import_workbook(scheme_year, data)
    except errors.WorkbookInvalid as exc:
        db.session.rollback()
        return render_template(
            "indicators/import_errors.html", scheme_year=scheme_year, errors=exc.errors
        ), 422
    db.session.commit()
    flash(_l("Imported %(n)d indicators.", n=summary.indicators), "success")
    return redirect(url_for("indicators.tree", year=year))


@bp.route("/<int:year>/compose", methods=["POST"])
@login_required
def compose(year: int):
    scheme_year = _editable(_year(year))
    try:
        n = formation_service.compose_from_declarations(scheme_year, current_user)
    except errors.DomainError as exc:
        db.session.rollback()
        return render_error(exc.status, exc.message)
    db.session.commit()
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
    points = db.session.scalars(
        select(KeyPoint).where(KeyPoint.scheme_year_id == scheme_year.id).order_by(KeyPoint.number)
    )
    form.key_point.choices = [SelectChoice(str(p.number), f"{p.number}. {p.name}") for p in points]
    departments = db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT).order_by(OrgUnit.sort_order)
    ).all()
    form.owner.choices = [SelectChoice(d.code, d.short_name) for d in departments]
    form.co_owners.choices = [SelectChoice(d.code, d.short_name) for d in departments]
    return form


@bp.route("/<int:year>/indicator/new", methods=["GET", "POST"], defaults={"code": None})
@bp.route("/<int:year>/indicator/<code>", methods=["GET", "POST"])
@login_required
def edit_indicator(year: int, code: str | None):
    scheme_year = _editable(_year(year))
    indicator = None
    if code is not None:
        indicator = db.session.scalar(
            select(Indicator).where(Indicator.scheme_year_id == scheme_year.id, Indicator.code == code)
        )
        if indicator is None:
            abort(404)
    form = _indicator_form(scheme_year, indicator)
    if form.validate_on_submit():
        saved = formation_service.update_indicator(scheme_year, current_user, code, form.data)
        db.session.commit()
        flash(_l("Indicator %(code)s saved.", code=saved.code), "success")
        return redirect(url_for("indicators.tree", year=year, _anchor=saved.code))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "indicators/edit.html", scheme_year=scheme_year, indicator=indicator, form=form
    ), status


@bp.route("/<int:year>/indicator/<code>/delete", methods=["POST"])
@login_required
def delete_indicator(year: int, code: str):
    scheme_year = _editable(_year(year))
    try:
        formation_service.delete_indicator(scheme_year, current_user, code)
    except errors.DomainError as exc:
        db.session.rollback()
        return render_error(exc.status, exc.message)
    db.session.commit()
    flash(_l("Indicator %(code)s deleted.", code=code), "success")
    return redirect(url_for("indicators.tree", year=year))


@bp.route("/<int:year>/compare")
@login_required
def compare(year: int):
    scheme_year = _year(year)
    years = indicator_service.list_years(current_app.config["DEFAULT_SCHEME"])
    earlier = [y for y in years if y < year]
    other_year = request.args.get("with", type=int) or (earlier[-1] if earlier else None)
    comparison = None
    if other_year is not None:
        other = _year(other_year)
        comparison = indicator_service.compare_trees(
            indicator_service.export_tree(scheme_year), indicator_service.export_tree(other)
        )
    return render_template(
        "indicators/compare.html",
        scheme_year=scheme_year,
        other_year=other_year,
        years=years,
        comparison=comparison,
    )
