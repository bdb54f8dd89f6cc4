from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from models.db import load
from models.evaluation import RoundKind
from models.formation import Phase
from models.i18n import lazy_gettext as _l
from models.org import Role, User
from models.scheme import SchemeYear
from models.workflow import (
    InboxTask,
    ProcessDefinition,
)
from webapp import lifecycle
from webapp.api import bp, payloads, task_schema
from webapp.api.openapi import openapi_document
from webapp.domain import errors
from webapp.domain.accounts import queries as directory
from webapp.domain.accounts import tokens
from webapp.domain.accounts import users as accounts
from webapp.domain.process import definitions as process_definitions
from webapp.domain.process import inbox as inbox_service
from webapp.domain.process import migration as instance_migration
from webapp.domain.process import monitor as monitor_service
from webapp.domain.process import tasks as task_service
from webapp.domain.system import queries as indicator_service
from webapp.errors import api_http_error
from webapp.inputs import INT_MAX, INT_MIN, query_int
from webapp.lifecycle import endpoint, error_json, refusal_json
from webapp.security import throttle_policy
from workflows import engine


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return api_http_error(exc)  # as the API's URLs that no route matches (webapp.errors)


@bp.before_request
def one_value_per_query_parameter():
    """No parameter of the API is a list: one given twice is refused (422), not read as its first value."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        return refusal_json(
            errors.Invalid(
                str(_l("Some fields need attention.")),
                fields={name: [str(_l("Give %(name)s once.", name=name))] for name in repeated},
            )
        )
    return None


def api_login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        row = tokens.token_for(token.strip()) if scheme.lower() == "bearer" and token else None
        if row is None:
            return error_json(401, "unauthorized", _l("A valid bearer token is required."))
        g.api_user, g.api_token = row.user, row
        return view(*args, **kwargs)

    return wrapped


def json_body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _unit(org) -> dict | None:
    """An organisation as the API names it: its code with its names beside it."""
    return {"code": org.code, "name": org.name, "short_name": org.short_name} if org is not None else None


def task_json(task: InboxTask, *, detail: bool = False) -> dict:
    instance = task.instance
    scheme_year = load(SchemeYear, instance.scheme_year_id) if instance.scheme_year_id else None
    round_kind = RoundKind(task.round) if task.round in {k.value for k in RoundKind} else None
    phase = Phase(task.phase) if task.phase in {p.value for p in Phase} else None
    subject = task.subject_org or task.org
    # the round and the organisation it concerns tell apart tasks that are the same step of a process
    title = " · ".join(
        part
        for part in (
            round_kind.title if round_kind else "",
            task.title,
            task.subject_org.short_name if task.subject_org is not None and task.org is None else "",
        )
        if part
    )
    out = {
        "id": task.task_guid,
        "title": title,
        "name": task.title,
        "element_id": task.element_id,
        "process": instance.process_id,
        "business_key": instance.business_key,
        "instance_id": task.instance_id,
        "year": scheme_year.year if scheme_year is not None else None,
        "phase": {"code": phase.value, "name": phase.title} if phase else None,
        "round": {"code": round_kind.value, "name": round_kind.title} if round_kind else None,
        "lane": task.lane,
        "role": task.role.value,
        "role_name": task.role.title,
        "org": task.org.code if task.org else None,
        "org_name": task.org.name if task.org else None,
        "subject": _unit(subject),
        "assignee": task.assignee.username if task.assignee else None,
        "form_key": task.form_key,
        "status": task.status.value,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "claimed_by": task.claimed_by.username if task.claimed_by else None,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": task.completed_by.username if task.completed_by else None,
    }
    if detail:
        described = task_schema.describe(task, g.api_user)
        out["instructions"] = task.instructions
        out["form"] = described.schema
        out["data"] = described.data
        out["draft_saved_at"] = task.draft_saved_at.isoformat() if task.draft_saved_at else None
    return out


@bp.get("/openapi.json")
@endpoint
def openapi():
    return jsonify(openapi_document())


@bp.post("/v1/tokens")
@endpoint
def create_token():
    data = json_body()
    username, password = str(data.get("username") or ""), str(data.get("password") or "")
    missing = {
        name: [str(_l("This field is required."))] for name in ("username", "password") if not data.get(name)
    }
    if missing:
        return error_json(422, "invalid", _l("Some fields need attention."), missing)
    try:
        issued = tokens.issue_token(username, password, request.remote_addr or "unknown", throttle_policy())
    except errors.Throttled as exc:
        response, status = error_json(
            429,
            "throttled",
            _l("Too many wrong passwords. Please wait %(seconds)d seconds.", seconds=exc.retry_after),
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, status
    if issued is None:
        return error_json(401, "unauthorized", _l("The username or password is not correct."))
    token, row = issued
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": row.expires_at.isoformat()}), 201


@bp.delete("/v1/tokens/current")
@api_login_required
@endpoint
def revoke_current_token():
    tokens.revoke_token(g.api_user, g.api_token)
    return "", 204


@bp.get("/v1/me")
@api_login_required
@endpoint
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


def _choice(name: str, values: list[str]) -> str | None:
    """A filter of the query string that takes one of `values` (absent or empty: None), else Invalid naming it."""
    value = request.args.get(name) or None
    if value is not None and value not in values:
        raise errors.Invalid.on(
            name, _l("%(name)s must be one of: %(values)s.", name=name, values=", ".join(values))
        )
    return value


@bp.get("/v1/tasks")
@api_login_required
@endpoint
def list_tasks():
    status = request.args.get("status") or "open"
    if status not in ("open", "completed"):
        raise errors.Invalid(str(_l("Some fields need attention.")), fields={"status": ["open | completed"]})
    phase = _choice("phase", [p.value for p in Phase])
    round_kind = _choice("round", [k.value for k in RoundKind])
    rows = inbox_service.api_tasks(
        g.api_user, status, query_int("year"), request.args.get("process") or None, phase, round_kind
    )
    return jsonify({"tasks": [task_json(t) for t in rows]})


def _data() -> dict:
    """The form's values, sent as an object under "data"."""
    data = json_body().get("data")
    if not isinstance(data, dict):
        raise errors.Invalid(
            str(_l("Send the form's values as an object under 'data'.")),
            fields={"data": [str(_l("This field is required."))]},
        )
    return data


@bp.get("/v1/tasks/<guid>")
@api_login_required
@endpoint
def get_task(guid: str):
    return jsonify(task_json(task_service.get_task(guid, g.api_user), detail=True))


@bp.put("/v1/tasks/<guid>/draft")
@api_login_required
@endpoint
def put_draft(guid: str):
    task = task_service.save_draft(guid, g.api_user, _data())
    return jsonify(task_json(task, detail=True))


@bp.post("/v1/tasks/<guid>/claim")
@api_login_required
@endpoint
def claim(guid: str):
    return jsonify(task_json(task_service.claim_task(guid, g.api_user)))


@bp.post("/v1/tasks/<guid>/unclaim")
@api_login_required
@endpoint
def unclaim(guid: str):
    return jsonify(task_json(task_service.unclaim_task(guid, g.api_user)))


@bp.post("/v1/tasks/<guid>/complete")
@api_login_required
@endpoint
def complete(guid: str):
    result = task_service.complete_task(guid, g.api_user, _data())
    return jsonify(
        {
            "task": task_json(result.task),
            "next_tasks": [task_json(t) for t in result.ready_for_user],
            "incident": result.incident,
        }
    )


@bp.get("/v1/processes")
@api_login_required
@endpoint
def processes():
    if not g.api_user.can_manage_processes():
        raise errors.Forbidden(str(_l("Only the performance office can see every process.")))
    return jsonify({"processes": monitor_service.instance_summaries(query_int("year"))})


@bp.get("/v1/years/<int:year>/indicators")
@api_login_required
@endpoint
def year_indicators(year: int):
    scheme_year = lifecycle.scheme_year(year)
    if not scheme_year.can_view_system(g.api_user):
        raise errors.Forbidden(str(_l("The draft system is not yours to see yet.")))
    return jsonify(payloads.tree_json(indicator_service.export_tree(scheme_year)))


# ---------------------------------------------------------------- users and roles (admins)


def _account_json(user: User) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "org": user.org.code,
        "roles": [r.value for r in user.roles],
        "active": user.active,
        "must_change_password": user.must_change_password,
    }


def _roles_of(data: dict) -> list[Role]:
    values = data.get("roles")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise errors.Invalid.on("roles", _l("Give the roles as a list of role codes."))
    roles, unknown = accounts.parse_roles(values)
    if unknown:
        raise errors.Invalid.on("roles", _l("Unknown roles: %(roles)s", roles="、".join(unknown)))
    return roles


def _text_of(data: dict, name: str, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.Invalid.on(name, _l("Give this as text."))
    return value


@bp.get("/v1/users")
@api_login_required
@endpoint
def list_users():
    errors.forbid_unless(g.api_user.can_administer_users(), _l("Only administrators manage users."))
    return jsonify({"users": [_account_json(u) for u in directory.all_users()]})


@bp.post("/v1/users")
@api_login_required
@endpoint
def create_user():
    errors.forbid_unless(g.api_user.can_administer_users(), _l("Only administrators manage users."))
    data = json_body()
    user, password = accounts.create_user(
        g.api_user,
        username=_text_of(data, "username"),
        display_name=_text_of(data, "display_name"),
        org=accounts.find_org(_text_of(data, "org")),
        roles=_roles_of(data),
        email=_text_of(data, "email") or None,
    )
    return jsonify({"user": _account_json(user), "temporary_password": password}), 201


@bp.patch("/v1/users/<username>")
@api_login_required
@endpoint
def change_user(username: str):
    errors.forbid_unless(g.api_user.can_administer_users(), _l("Only administrators manage users."))
    user = accounts.find_user(username)
    data = json_body()
    if any(name in data for name in ("display_name", "email", "org", "roles")):
        accounts.update_user(
            g.api_user,
            user,
            display_name=_text_of(data, "display_name", user.display_name),
            org=accounts.find_org(_text_of(data, "org", user.org.code)),
            roles=_roles_of(data) if "roles" in data else user.roles,
            email=_text_of(data, "email", user.email or "") or None,
        )
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise errors.Invalid.on("active", _l("Give true or false."))
        accounts.set_active(g.api_user, user, data["active"])
    return jsonify({"user": _account_json(user)})


# ---------------------------------------------------------------- process definitions (admins)


def _definition_json(definition: ProcessDefinition) -> dict:
    return {
        "id": definition.id,
        "process": definition.process_id,
        "name": definition.name,
        "version": definition.version,
        "year": definition.scheme_year.year if definition.scheme_year else None,
        "deployed_by": definition.deployed_by.username if definition.deployed_by else None,
        "deployed_at": definition.deployed_at.isoformat(),
        "comment": definition.comment,
        "sha256": definition.sha256,
    }


def _definition_input() -> tuple[bytes, SchemeYear | None, dict]:
    """The diagram and its year: JSON {"xml", "year", …}, or the XML itself with ?year=."""
    if request.mimetype in ("application/xml", "text/xml"):
        data: dict = {}
        xml = request.get_data()
        year = query_int("year")
    else:
        data = json_body()
        text = data.get("xml")
        if not isinstance(text, str) or not text.strip():
            raise errors.Invalid.on("xml", _l("Send the BPMN diagram under 'xml'."))
        xml, year = text.encode("utf-8"), _whole(data.get("year"))
        if data.get("year") is not None and year is None:
            raise errors.Invalid.on("year", _l("Give the year as a number."))
    return xml, lifecycle.scheme_year(year) if year else None, data


@bp.post("/v1/definitions/validate")
@api_login_required
@endpoint
def validate_definition():
    xml, scheme_year, _data = _definition_input()
    problems = process_definitions.validate_definition(g.api_user, xml, scheme_year)
    return jsonify(
        {
            "valid": not problems,
            "problems": [{"element_id": p.element_id, "message": p.message} for p in problems],
        }
    )


@bp.post("/v1/definitions")
@api_login_required
@endpoint
def deploy_definition():
    errors.forbid_unless(g.api_user.can_revise_processes(), _l("Only administrators revise the processes."))
    xml, scheme_year, data = _definition_input()
    comment = data.get("comment") if isinstance(data.get("comment"), str) else request.args.get("comment", "")
    definition, created = process_definitions.deploy_definition(
        g.api_user, xml, scheme_year, comment, engine.now()
    )
    return jsonify({"definition": _definition_json(definition), "created": created}), 201 if created else 200


@bp.get("/v1/definitions")
@api_login_required
@endpoint
def list_definitions():
    errors.forbid_unless(g.api_user.can_revise_processes(), _l("Only administrators revise the processes."))
    year = query_int("year")
    found = process_definitions.versions(lifecycle.scheme_year(year) if year else None)
    return jsonify({"definitions": [_definition_json(d) for d in found]})


def _whole(value: object) -> int | None:
    """A JSON integer within an Integer column (JSON Schema counts 7.0 as one), else None."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not INT_MIN <= value <= INT_MAX:
        return None
    return value


def _version(definition_id: object) -> int:
    whole = _whole(definition_id)
    if whole is None:
        raise errors.Invalid.on("definition_id", _l("Give the version's definition id as a number."))
    return whole


@bp.get("/v1/processes/<int:instance_id>/migration")
@api_login_required
@endpoint
def check_migration(instance_id: int):
    """Whether the instance may move to that version, and if not, why."""
    definition_id = _version(query_int("definition_id"))
    reasons = instance_migration.check_move(g.api_user, instance_id, definition_id)
    return jsonify({"safe": not reasons, "reasons": reasons})


@bp.post("/v1/processes/<int:instance_id>/migration")
@api_login_required
@endpoint
def migrate_instance(instance_id: int):
    """Move a running instance to another deployed version of its process, where that is safe."""
    definition_id = _version(json_body().get("definition_id"))
    moved = instance_migration.move_instance(g.api_user, instance_id, definition_id, engine.now())
    return jsonify({"instance_id": moved.id, "definition_id": moved.definition_id})


@bp.get("/v1/definitions/<int:definition_id>")
@api_login_required
@endpoint
def get_definition(definition_id: int):
    errors.forbid_unless(g.api_user.can_revise_processes(), _l("Only administrators revise the processes."))
    definition = process_definitions.definition(definition_id)
    return current_app.response_class(definition.bpmn_xml, mimetype="application/xml")
