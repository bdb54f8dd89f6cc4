"""The office monitor: a year's processes drawn with live counts, who is late, reminders, incidents."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import Role
from models.rules.escalation import Level
from models.scheme import Scheme, SchemeYear
from models.workflow import InboxTask, ProcessInstance
from webapp.access import roles_required
from webapp.domain import errors
from webapp.domain.process import monitor as monitor_service
from webapp.domain.process import tasks as task_service
from webapp.domain.system import queries as indicator_service
from webapp.errors import render_error
from webapp.monitor import bp
from workflows import engine

VIEWERS = (Role.OFFICE, Role.LEADERSHIP, Role.ADMIN)


def _year(year: int) -> SchemeYear:
    try:
        return indicator_service.find_scheme_year(current_app.config["DEFAULT_SCHEME"], year)
    except errors.NotFound:
        abort(404)


def _bpmn(xml: str) -> Response:
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=300"})


@bp.route("/monitor/")
@roles_required(*VIEWERS)
def index():
    years = db.session.scalars(
        select(SchemeYear.year)
        .join(ProcessInstance, ProcessInstance.scheme_year_id == SchemeYear.id)
        .join(Scheme, Scheme.id == SchemeYear.scheme_id)
        .where(Scheme.code == current_app.config["DEFAULT_SCHEME"])
        .order_by(SchemeYear.year.desc())
        .limit(1)
    ).all()
    if not years:
        return render_template("monitor/empty.html")
    return redirect(url_for("monitor.year", year=years[0]))


@bp.route("/monitor/<int:year>")
@roles_required(*VIEWERS)
def year(year: int):
    now = engine.now()
    overview = monitor_service.year_overview(_year(year), now)
    return render_template(
        "monitor/year.html",
        overview=overview,
        count_rows=monitor_service.count_rows(overview),
        engine_now=now,
        titles=monitor_service.CELL_TITLES,
        can_act=current_user.has_role(Role.OFFICE),
        Level=Level,
    )


@bp.route("/monitor/<int:year>/counts.json")
@roles_required(*VIEWERS)
def counts(year: int):
    overview = monitor_service.year_overview(_year(year), engine.now())
    return jsonify(counts=overview.counts, totals=overview.totals)


@bp.route("/monitor/<int:year>/diagram/<process_id>.bpmn")
@roles_required(*VIEWERS)
def diagram(year: int, process_id: str):
    try:
        return _bpmn(monitor_service.diagram_of(_year(year), process_id).bpmn_xml)
    except errors.DomainError as exc:
        return render_error(exc.status, exc.message)


@bp.route("/tasks/<guid>/diagram.bpmn")
@login_required
def task_diagram(guid: str):
    """The diagram of the process a task belongs to (for its page's "you are here")."""
    task = InboxTask.by_guid(guid)
    if task is None or not task.can_view(current_user):
        abort(404)
    process_id = request.args.get("process", "")
    try:
        return _bpmn(monitor_service.task_diagram(task, process_id).bpmn_xml)
    except errors.DomainError as exc:
        return render_error(exc.status, exc.message)


def _act(action, success, year: int, category=lambda result: "success"):
    try:
        result = action()
        db.session.commit()
    except errors.DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(url_for("monitor.year", year=year, _anchor="escalations"))
    flash(success(result), category(result))
    return redirect(url_for("monitor.year", year=year, _anchor="escalations"))


@bp.route("/monitor/<int:year>/remind/<guid>", methods=["POST"])
@roles_required(Role.OFFICE)
def remind(year: int, guid: str):
    scheme_year = _year(year)
    return _act(
        lambda: monitor_service.remind(scheme_year, guid, current_user, engine.now()),
        lambda result: _l(
            "Reminder sent for “%(task)s” to %(count)d people.", task=result[0].title, count=result[1]
        ),
        year,
    )


@bp.route("/monitor/<int:year>/remind", methods=["POST"])
@roles_required(Role.OFFICE)
def remind_all(year: int):
    scheme_year = _year(year)
    try:
        level = Level(request.form.get("level", ""))
    except ValueError:
        return render_error(400, _l("Choose which escalation level to remind: warning, yellow or red."))
    return _act(
        lambda: monitor_service.remind_all(scheme_year, level, current_user, engine.now()),
        lambda sent: _l("%(count)d reminders sent.", count=sent),
        year,
    )


@bp.route("/monitor/<int:year>/retry/<int:instance_id>", methods=["POST"])
@roles_required(Role.OFFICE)
def retry(year: int, instance_id: int):
    scheme_year = _year(year)
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or instance.scheme_year_id != scheme_year.id:
        abort(404)

    def outcome(result: ProcessInstance) -> str:
        if result.incident_message:
            return str(_l("Retried, but the step failed again: %(message)s", message=result.incident_message))
        return str(_l("The failed step ran again and the process goes on."))

    return _act(
        lambda: task_service.retry_instance(instance_id, current_user),
        outcome,
        year,
        category=lambda result: "warning" if result.incident_message else "success",
    )


@bp.app_template_global()
def diagram_for_task(task: InboxTask) -> dict[str, str] | None:
    """Where a task sits in its process, for the task page's diagram: the BPMN's URL and the element."""
    process_id, element_id = monitor_service.task_location(task)
    return {
        "url": url_for("monitor.task_diagram", guid=task.task_guid, process=process_id),
        "element": element_id,
        "process": process_id,
    }
