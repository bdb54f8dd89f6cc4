"""The office's view of each year's cycle: start it, open a phase early, follow declarations."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from models.db import db
from models.formation import Phase
from models.i18n import lazy_gettext as _l
from models.org import Role
from models.scheme import Scheme, SchemeYear
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from webapp.access import roles_required
from webapp.cycle import bp
from webapp.domain import errors
from webapp.domain.process import cycle as cycle_service
from webapp.domain.system import formation as formation_service
from webapp.errors import render_error
from workflows import engine

VIEWERS = (Role.OFFICE, Role.LEADERSHIP, Role.ADMIN)


def _scheme() -> Scheme:
    scheme = Scheme.by_code(current_app.config["DEFAULT_SCHEME"])
    if scheme is None:
        abort(404)
    return scheme


def _year(year: int) -> SchemeYear:
    scheme_year = SchemeYear.find(_scheme(), year)
    if scheme_year is None:
        abort(404)
    return scheme_year


def _run(action, success_message, target):
    try:
        action()
        db.session.commit()
    except errors.DomainError as exc:
        db.session.rollback()
        return render_error(exc.status, exc.message)
    flash(success_message, "success")
    return redirect(target)


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    scheme = _scheme()
    years = db.session.scalars(
        select(SchemeYear).where(SchemeYear.scheme_id == scheme.id).order_by(SchemeYear.year.desc())
    ).all()
    rows = []
    for y in years:
        instance = cycle_service.annual_instance(y)
        open_steps = []
        if instance is not None:
            open_steps = db.session.execute(
                select(InboxTask.title, db.func.count())
                .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
                .where(ProcessInstance.scheme_year_id == y.id, InboxTask.status == TaskStatus.OPEN)
                .group_by(InboxTask.title)
                .order_by(InboxTask.title)
            ).all()
        rows.append(
            {
                "year": y,
                "instance": instance,
                "waiting": cycle_service.waiting_phases(instance) if instance else [],
                "open_steps": open_steps,
            }
        )
    next_year = (years[0].year + 1) if years else None
    return render_template(
        "cycle/index.html", rows=rows, next_year=next_year, can_manage=current_user.has_role(Role.OFFICE)
    )


@bp.route("/start", methods=["POST"])
@roles_required(Role.OFFICE)
def start():
    year = request.form.get("year", type=int)
    if year is None:
        return render_error(400, _l("Choose the year to start."))
    return _run(
        lambda: cycle_service.start_annual_cycle(_scheme(), year, current_user),
        _l("The %(year)d cycle has started.", year=year),
        url_for("cycle.index"),
    )


@bp.route("/<int:instance_id>/phase/<phase>", methods=["POST"])
@roles_required(Role.OFFICE)
def open_phase(instance_id: int, phase: str):
    try:
        chosen = Phase(phase)
    except ValueError:
        abort(404)
    return _run(
        lambda: cycle_service.start_phase_now(instance_id, chosen, current_user),
        _l("%(phase)s has been opened.", phase=chosen.title),
        url_for("cycle.index"),
    )


@bp.route("/<int:year>/declarations")
@roles_required(*VIEWERS)
def declarations(year: int):
    scheme_year = _year(year)
    rows = formation_service.declaration_overview(scheme_year, engine.now())
    return render_template("cycle/declarations.html", scheme_year=scheme_year, rows=rows)


@bp.route("/<int:year>/revision", methods=["POST"])
@roles_required(Role.OFFICE)
def revise(year: int):
    scheme_year = _year(year)
    return _run(
        lambda: formation_service.start_revision(scheme_year, current_user),
        _l(
            "A revision of the %(year)d system has been opened; you will find its task in your inbox.",
            year=year,
        ),
        url_for("inbox.index"),
    )
