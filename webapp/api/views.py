from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload
from werkzeug.exceptions import HTTPException

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import Role
from models.scheme import SchemeYear
from models.workflow import (
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    inbox_query,
)
from webapp.api import bp
from webapp.api.openapi import openapi_document
from webapp.auth.views import throttle_policy
from webapp.domain import errors
from webapp.domain.accounts import tokens
from webapp.domain.process import tasks as task_service
from webapp.domain.results import feedback
from webapp.domain.results import queries as results
from webapp.domain.system import queries as indicator_service
from workflows import forms
from workflows.forms.schema import json_schema
from workflows.forms.values import raw_values


def error(status: int, code: str, message: str, fields: dict | None = None, **extra: Any):
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}, **extra}}
    return jsonify(body), status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def api_login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = tokens.user_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
        if user is None:
            return error(401, "unauthorized", _l("A valid bearer token is required."))
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def json_body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def task_json(task: InboxTask, *, detail: bool = False) -> dict:
    out = {
        "id": task.task_guid,
        "title": task.title,
        "element_id": task.element_id,
        "process": task.instance.process_id,
        "business_key": task.instance.business_key,
        "instance_id": task.instance_id,
        "lane": task.lane,
        "role": task.role.value,
        "org": task.org.code if task.org else None,
        "form_key": task.form_key,
        "status": task.status.value,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "claimed_by": task.claimed_by.username if task.claimed_by else None,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": task.completed_by.username if task.completed_by else None,
    }
    if detail:
        definition = forms.get(task.form_key)
        out["instructions"] = task.instructions
        out["form"] = json_schema(definition.form_class)
        if task.status == TaskStatus.COMPLETED:
            out["data"] = task.submitted or {}
        else:
            out["data"] = raw_values(task_service.build_form(task, g.api_user))
        out["draft_saved_at"] = task.draft_saved_at.isoformat() if task.draft_saved_at else None
    return out


def task_error(exc: errors.DomainError):
    db.session.rollback()
    fields = getattr(exc, "fields", None)
    extra = {k: v for k, v in exc.details.items() if k != "fields"}
    return error(exc.status, exc.code, exc.message, fields, **extra)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/v1/tokens")
def create_token():
    data = json_body()
    username, password = str(data.get("username") or ""), str(data.get("password") or "")
    missing = {
        name: [str(_l("This field is required."))] for name in ("username", "password") if not data.get(name)
    }
    if missing:
        return error(422, "invalid", _l("Some fields need attention."), missing)
    try:
        issued = tokens.issue_token(username, password, request.remote_addr or "unknown", throttle_policy())
    except errors.Throttled as exc:
        response, status = error(
            429,
            "throttled",
            _l("Too many wrong passwords. Please wait %(seconds)d seconds.", seconds=exc.retry_after),
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, status
    db.session.commit()
    if issued is None:
        return error(401, "unauthorized", _l("The username or password is not correct."))
    token, row = issued
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": row.expires_at.isoformat()}), 201


@bp.get("/v1/me")
@api_login_required
def me():
    user = g.api_user
    return jsonify(
        {
            "username": user.username,
            "display_name": user.display_name,
            "org": {"code": user.org.code, "name": user.org.name, "kind": user.org.kind.value},
            "roles": [r.value for r in user.roles],
        }
    )


@bp.get("/v1/tasks")
@api_login_required
def list_tasks():
    status = request.args.get("status", "open")
    if status not in ("open", "completed"):
        return error(422, "invalid", _l("Some fields need attention."), {"status": ["open | completed"]})
    year = request.args.get("year", type=int)
    query = inbox_query(g.api_user, status=status, year=year, process_id=request.args.get("process") or None)
    rows = db.session.scalars(
        query.options(joinedload(InboxTask.org), joinedload(InboxTask.instance)).limit(500)
    ).all()
    return jsonify({"tasks": [task_json(t) for t in rows]})


def _with_task(action: Callable[[str], Any]):
    def run(guid: str):
        try:
            return action(guid)
        except errors.DomainError as exc:
            return task_error(exc)

    return run


@bp.get("/v1/tasks/<guid>")
@api_login_required
def get_task(guid: str):
    return _with_task(lambda gid: jsonify(task_json(task_service.get_task(gid, g.api_user), detail=True)))(
        guid
    )


@bp.put("/v1/tasks/<guid>/draft")
@api_login_required
def put_draft(guid: str):
    def act(gid):
        data = json_body().get("data")
        if not isinstance(data, dict):
            return error(
                422,
                "invalid",
                _l("Send the form's values as an object under 'data'."),
                {"data": [str(_l("This field is required."))]},
            )
        task = task_service.save_draft(gid, g.api_user, data)
        db.session.commit()
        return jsonify(task_json(task, detail=True))

    return _with_task(act)(guid)


@bp.post("/v1/tasks/<guid>/claim")
@api_login_required
def claim(guid: str):
    def act(gid):
        task = task_service.claim_task(gid, g.api_user)
        db.session.commit()
        return jsonify(task_json(task))

    return _with_task(act)(guid)


@bp.post("/v1/tasks/<guid>/unclaim")
@api_login_required
def unclaim(guid: str):
    def act(gid):
        task = task_service.unclaim_task(gid, g.api_user)
        db.session.commit()
        return jsonify(task_json(task))

    return _with_task(act)(guid)


@bp.post("/v1/tasks/<guid>/complete")
@api_login_required
def complete(guid: str):
    def act(gid):
        body = json_body()
        data = body.get("data")
        if not isinstance(data, dict):
            return error(
                422,
                "invalid",
                _l("Send the form's values as an object under 'data'."),
                {"data": [str(_l("This field is required."))]},
            )
        result = task_service.complete_task(gid, g.api_user, data)
        db.session.commit()
        return jsonify(
            {
                "task": task_json(result.task),
                "next_tasks": [task_json(t) for t in result.ready_for_user],
                "incident": result.incident,
            }
        )

    return _with_task(act)(guid)


@bp.get("/v1/processes")
@api_login_required
def processes():
    if not g.api_user.has_any_role((Role.OFFICE, Role.ADMIN)):
        return error(403, "forbidden", _l("Only the performance office can see every process."))
    # the states (up to tens of KB each) and the diagrams are not part of the answer
    query = (
        select(ProcessInstance)
        .options(
            defer(ProcessInstance.state),
            joinedload(ProcessInstance.definition).load_only(ProcessDefinition.version),
        )
        .order_by(ProcessInstance.id.desc())
        .limit(500)
    )
    year = request.args.get("year", type=int)
    if year is not None:
        query = query.join(SchemeYear, SchemeYear.id == ProcessInstance.scheme_year_id).where(
            SchemeYear.year == year
        )
    instances = db.session.scalars(query).all()
    open_rows = db.session.scalars(
        select(InboxTask).where(
            InboxTask.instance_id.in_([i.id for i in instances]), InboxTask.status == TaskStatus.OPEN
        )
    ).all()
    children: dict[int, list[int]] = {}
    for child_id, parent_id in db.session.execute(
        select(ProcessInstance.id, ProcessInstance.parent_instance_id)
        .where(ProcessInstance.parent_instance_id.in_([i.id for i in instances]))
        .order_by(ProcessInstance.id)
    ):
        children.setdefault(parent_id, []).append(child_id)
    activities: dict[int, dict[str, dict]] = {}
    for row in open_rows:
        entry = activities.setdefault(row.instance_id, {}).setdefault(
            row.element_id, {"element_id": row.element_id, "title": row.title, "open_tasks": 0}
        )
        entry["open_tasks"] += 1
    return jsonify(
        {
            "processes": [
                {
                    "id": i.id,
                    "process": i.process_id,
                    "version": i.definition.version,
                    "business_key": i.business_key,
                    "parent_id": i.parent_instance_id,
                    "parent_element_id": i.parent_element_id,
                    "children": children.get(i.id, []),
                    "phase": i.phase or None,
                    "round": i.round or None,
                    "status": i.status.value,
                    "started_at": i.started_at.isoformat(),
                    "ended_at": i.ended_at.isoformat() if i.ended_at else None,
                    "due_at": i.due_at.isoformat() if i.due_at else None,
                    "current_activities": list(activities.get(i.id, {}).values()),
                    "incident": (
                        {
                            "message": i.incident_message,
                            "element_id": i.incident_element,
                            "at": i.incident_at.isoformat(),
                        }
                        if i.status == InstanceStatus.INCIDENT and i.incident_at
                        else None
                    ),
                }
                for i in instances
            ]
        }
    )


def _api_year(year: int):
    try:
        return indicator_service.find_scheme_year(current_app.config["DEFAULT_SCHEME"], year)
    except errors.NotFound:
        return None


@bp.get("/v1/years/<int:year>/indicators")
@api_login_required
def year_indicators(year: int):
    scheme_year = _api_year(year)
    if scheme_year is None:
        return error(404, "not_found", _l("There is no indicator system for %(year)d.", year=year))
    if not scheme_year.can_view_system(g.api_user):
        return error(403, "forbidden", _l("The draft system is not yours to see yet."))
    return jsonify(indicator_service.export_tree(scheme_year))


@bp.get("/v1/years/<int:year>/results")
@api_login_required
def year_results(year: int):
    """Published results (the office and the leadership also before publication); a city's details only for itself."""
    scheme_year = _api_year(year)
    if scheme_year is None:
        return error(404, "not_found", _l("There is no indicator system for %(year)d.", year=year))
    user = g.api_user
    insider = user.is_insider()
    own = user.org.root().code
    rounds = {}
    for kind, round_ in feedback.rounds_of(scheme_year).items():
        if not feedback.round_visible(round_, user):
            continue
        cities = []
        for entry in round_.results["cities"]:
            item = {
                "city": entry["city"],
                "name": entry["name"],
                "total": entry["total"],
                "rank": entry["rank"],
            }
            if insider or entry["city"] == own:
                item.update(dimensions=entry["dimensions"], lines=entry["lines"])
            cities.append(item)
        rounds[kind.value] = {"status": round_.status.value, "cities": cities}
    annual = None
    if feedback.annual_visible(scheme_year.id, user):
        record = results.annual_result(scheme_year.id)
        annual = {**record.results, "published": record.published_at is not None}
    return jsonify({"year": year, "rounds": rounds, "annual": annual})
