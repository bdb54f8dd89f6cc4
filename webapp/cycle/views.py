"""The office's view of each year's cycle: start it, open a phase early, follow declarations."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from models.formation import Phase
from models.i18n import lazy_gettext as _l
from models.org import Role
from models.scheme import Scheme
from webapp import lifecycle
from webapp.access import roles_required
from webapp.cycle import bp
from webapp.domain import errors
from webapp.domain.process import cycle as cycle_service
from webapp.domain.system import queries as system_queries
from webapp.inputs import form_int
from webapp.lifecycle import page
from workflows import engine

VIEWERS = (Role.OFFICE, Role.LEADERSHIP, Role.ADMIN)


def _scheme() -> Scheme:
    scheme = Scheme.by_code(current_app.config["DEFAULT_SCHEME"])
    if scheme is None:
        abort(404)
    return scheme


@bp.route("/")
@roles_required(*VIEWERS)
@page
def index():
    rows = cycle_service.year_rows(_scheme(), engine.now())
    next_year = (rows[0].year.year + 1) if rows else None
    return render_template(
        "cycle/index.html",
        rows=rows,
        next_year=next_year,
        can_manage=current_user.has_role(Role.OFFICE),
        can_prepare=current_user.can_manage_processes(),
        can_revise=current_user.can_revise_processes(),
    )


@bp.route("/<int:year>/prepare-next", methods=["POST"])
@roles_required(Role.OFFICE, Role.ADMIN)
@page
def prepare_next(year: int):
    prepared, created = cycle_service.prepare_next_year(
        current_user, lifecycle.scheme_year(year), engine.now()
    )
    if created:
        message = _l(
            "%(year)d is prepared from %(source)d: revise its indicators and processes, then start it.",
            year=prepared.year,
            source=year,
        )
        flash(message, "success")
    if request.form.get("then") == "processes" and current_user.can_revise_processes():
        return redirect(url_for("admin.processes", year=prepared.year))  # asked from a year's processes
    return redirect(url_for("cycle.index"))


@bp.route("/start", methods=["POST"])
@roles_required(Role.OFFICE)
@page
def start():
    year = form_int("year")
    if year is None:
        raise errors.BadRequest(str(_l("Choose the year to start.")))
    cycle_service.start_annual_cycle(_scheme(), year, current_user)
    flash(_l("The %(year)d cycle has started.", year=year), "success")
    return redirect(url_for("cycle.index"))


@bp.route("/<int:instance_id>/phase/<phase>", methods=["POST"])
@roles_required(Role.OFFICE)
@page
def open_phase(instance_id: int, phase: str):
    try:
        chosen = Phase(phase)
    except ValueError:
        abort(404)
    cycle_service.start_phase_now(instance_id, chosen, current_user)
    flash(_l("%(phase)s has been opened.", phase=chosen.title), "success")
    return redirect(url_for("cycle.index"))


@bp.route("/<int:year>/rules", methods=["POST"])
@roles_required(Role.OFFICE, Role.ADMIN)
@page
def set_rules(year: int):
    bars = request.form.get("fraud_bars_award") == "1"
    cycle_service.set_fraud_bars_award(lifecycle.scheme_year(year), bars, current_user, engine.now())
    flash(_l("The %(year)d rules have been saved.", year=year), "success")
    return redirect(url_for("cycle.index"))


@bp.route("/<int:year>/declarations")
@roles_required(*VIEWERS)
@page
def declarations(year: int):
    scheme_year = lifecycle.scheme_year(year)
    rows = system_queries.declaration_overview(scheme_year, engine.now())
    return render_template("cycle/declarations.html", scheme_year=scheme_year, rows=rows)


@bp.route("/<int:year>/revision", methods=["POST"])
@roles_required(Role.OFFICE)
@page
def revise(year: int):
    cycle_service.start_revision(lifecycle.scheme_year(year), current_user)
    flash(
        _l(
            "A revision of the %(year)d system has been opened; you will find its task in your inbox.",
            year=year,
        ),
        "success",
    )
    return redirect(url_for("inbox.index"))
