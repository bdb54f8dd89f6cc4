from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import login_required

from webapp.indicators import bp
from webapp.numbering import chinese_numeral
from webapp.services import indicators as indicator_service


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
    scheme_code = current_app.config["DEFAULT_SCHEME"]
    try:
        scheme_year = indicator_service.find_scheme_year(scheme_code, year)
    except indicator_service.SchemeYearNotFound:
        abort(404)
    dimensions = indicator_service.load_dimensions(scheme_year)
    query = request.args.get("q", "").strip()[:100]
    return render_template(
        "indicators/tree.html",
        scheme_year=scheme_year,
        dimensions=dimensions,
        sums=indicator_service.subtotals(dimensions),
        years=indicator_service.list_years(scheme_code),
        query=query,
        matches=indicator_service.matching_indicator_ids(dimensions, query),
        cn=chinese_numeral,
    )
