"""The office monitor: a year's processes drawn with live counts, who is late, reminders, incidents."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models.i18n import lazy_gettext as _l
from models.org import Role
from models.rules.escalation import Level
from models.workflow import InboxTask
from webapp import config as config_module
from webapp import lifecycle
from webapp.access import roles_required
from webapp.domain import errors
from webapp.domain.process import migration as instance_migration
from webapp.domain.process import monitor as monitor_service
from webapp.domain.process import tasks as task_service
from webapp.errors import render_error
from webapp.inputs import form_int
from webapp.lifecycle import endpoint, page
from webapp.monitor import bp
from workflows import engine

VIEWERS = (Role.OFFICE, Role.LEADERSHIP, Role.ADMIN)


def _bpmn(xml: str) -> Response:
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=300"})


def _days_off():
    return config_module.holidays(current_app.config)


@bp.route("/monitor/")
@roles_required(*VIEWERS)
@page
def index():
    latest = monitor_service.latest_started_year(current_app.config["DEFAULT_SCHEME"])
    if latest is None:
        return render_template("monitor/empty.html")
    return redirect(url_for("monitor.year", year=latest))


@bp.route("/monitor/<int:year>")
@roles_required(*VIEWERS)
@page
def year(year: int):
    now = engine.now()
    overview = monitor_service.year_overview(lifecycle.scheme_year(year), now, _days_off())
    return render_template(
        "monitor/year.html",
        overview=overview,
        count_rows=monitor_service.count_rows(overview),
        engine_now=now,
        titles=monitor_service.CELL_TITLES,
        can_act=current_user.has_role(Role.OFFICE),
        migrations=instance_migration.offers(current_user, overview.scheme_year),
        Level=Level,
    )


@bp.route("/monitor/<int:year>/counts.json")
@roles_required(*VIEWERS)
@endpoint
def counts(year: int):
    overview = monitor_service.year_overview(lifecycle.scheme_year(year), engine.now(), _days_off())
    return jsonify(counts=overview.counts, totals=overview.totals)


@bp.route("/monitor/<int:year>/diagram/<process_id>.bpmn")
@roles_required(*VIEWERS)
@page
def diagram(year: int, process_id: str):
    return _bpmn(monitor_service.diagram_of(lifecycle.scheme_year(year), process_id).bpmn_xml)


@bp.route("/tasks/<guid>/diagram.bpmn")
@login_required
@page
def task_diagram(guid: str):
    """The diagram of the process a task belongs to (for its page's "you are here")."""
    task = InboxTask.by_guid(guid)
    if task is None or not task.can_view(current_user):
        abort(404)
    return _bpmn(monitor_service.task_diagram(task, request.args.get("process", "")).bpmn_xml)


def _back_to_monitor(exc: errors.DomainError, year: int, **_values):
    """A refused action (already done, not allowed now) is told as a warning on the monitor, where the
    office pressed it; an unknown task or instance, or a request without its choice, gets its page."""
    if isinstance(exc, errors.BadRequest | errors.NotFound):
        return render_error(exc.status, exc.message)
    flash(exc.message, "warning")
    return redirect(url_for("monitor.year", year=year, _anchor="escalations"))


def _done(message, category: str = "success"):
    flash(message, category)
    return redirect(url_for("monitor.year", year=request.view_args["year"], _anchor="escalations"))


@bp.route("/monitor/<int:year>/remind/<guid>", methods=["POST"])
@roles_required(Role.OFFICE)
@page(refused=_back_to_monitor)
def remind(year: int, guid: str):
    task, count = monitor_service.remind(lifecycle.scheme_year(year), guid, current_user, engine.now())
    return _done(_l("Reminder sent for “%(task)s” to %(count)d people.", task=task.title, count=count))


@bp.route("/monitor/<int:year>/remind", methods=["POST"])
@roles_required(Role.OFFICE)
@page(refused=_back_to_monitor)
def remind_all(year: int):
    scheme_year = lifecycle.scheme_year(year)
    try:
        level = Level(request.form.get("level", ""))
    except ValueError:
        raise errors.BadRequest(
            str(_l("Choose which escalation level to remind: warning, yellow or red."))
        ) from None
    sent = monitor_service.remind_all(scheme_year, level, current_user, engine.now(), _days_off())
    return _done(_l("%(count)d reminders sent.", count=sent))


@bp.route("/monitor/<int:year>/retry/<int:instance_id>", methods=["POST"])
@roles_required(Role.OFFICE)
@page(refused=_back_to_monitor)
def retry(year: int, instance_id: int):
    monitor_service.instance_of_year(lifecycle.scheme_year(year), instance_id)
    result = task_service.retry_instance(instance_id, current_user)
    if result.incident_message:
        return _done(
            _l("Retried, but the step failed again: %(message)s", message=result.incident_message), "warning"
        )
    return _done(_l("The failed step ran again and the process goes on."))


@bp.route("/monitor/<int:year>/migrate/<int:instance_id>", methods=["POST"])
@roles_required(Role.ADMIN)
@page(refused=_back_to_monitor)
def migrate(year: int, instance_id: int):
    monitor_service.instance_of_year(lifecycle.scheme_year(year), instance_id)
    definition_id = form_int("definition_id")
    if definition_id is None:
        raise errors.BadRequest(str(_l("Choose the version to move to.")))
    moved = instance_migration.move_instance(current_user, instance_id, definition_id, engine.now())
    return _done(_l("The instance now runs version %(v)d.", v=moved.definition.version))


@bp.app_template_global()
def diagram_for_task(task: InboxTask) -> dict[str, str] | None:
    """Where a task sits in its process, for the task page's diagram: the BPMN's URL and the element."""
    process_id, element_id = monitor_service.task_location(task)
    return {
        "url": url_for("monitor.task_diagram", guid=task.task_guid, process=process_id),
        "element": element_id,
        "process": process_id,
    }
