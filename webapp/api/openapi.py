"""The OpenAPI 3.1 description of the task API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from models.evaluation import RoundKind
from models.formation import Phase
from webapp.api.openapi_bounds import NON_BLANK, complete
from webapp.api.openapi_year import _error, _json, year_paths

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid", "forbidden", "conflict", "not_found"]},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}
ROLE_CODES = ["leadership", "office", "department", "city", "expert", "third_party", "admin"]
USER = {
    "type": "object",
    "properties": {
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "org": {"type": "string", "description": "the organisation's code"},
        "roles": {"type": "array", "items": {"type": "string", "enum": ROLE_CODES}},
        "active": {"type": "boolean"},
        "must_change_password": {"type": "boolean"},
    },
}
USER_INPUT = {
    "type": "object",
    "required": ["username", "display_name", "org", "roles"],
    "properties": {
        "username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,63}$"},
        "display_name": {"type": "string", "maxLength": 100},
        "email": {"type": ["string", "null"]},
        "org": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string", "enum": ROLE_CODES}},
    },
}
USER_CHANGE = {
    "type": "object",
    "properties": {
        "display_name": {"type": "string", "maxLength": 100},
        "email": {"type": ["string", "null"]},
        "org": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string", "enum": ROLE_CODES}},
        "active": {"type": "boolean"},
    },
}
DEFINITION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "process": {"type": "string"},
        "name": {"type": "string"},
        "version": {"type": "integer"},
        "year": {"type": ["integer", "null"], "description": "null: serves every year without its own"},
        "deployed_by": {"type": ["string", "null"]},
        "deployed_at": {"type": "string", "format": "date-time"},
        "comment": {"type": "string"},
        "sha256": {"type": "string"},
    },
}
DEFINITION_INPUT = {
    "type": "object",
    "required": ["xml"],
    "properties": {
        "xml": {"type": "string", "pattern": NON_BLANK, "description": "BPMN 2.0 XML, at most 2 MB, no DTD"},
        "year": {"type": ["integer", "null"]},
        "comment": {"type": "string", "maxLength": 2000},
    },
}
NAMED = {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
TASK = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "title": {
            "type": "string",
            "description": "the step, after its round and before the organisation it concerns when that is "
            "not the task's own: 半年考评 · 市政府自评, 审核部门申报 · 发展改革委",
        },
        "name": {"type": "string", "description": "the step's own name, as the diagram gives it"},
        "element_id": {"type": "string"},
        "process": {"type": "string"},
        "business_key": {"type": "string"},
        "instance_id": {"type": "integer"},
        "year": {"type": ["integer", "null"], "description": "the scheme year the task belongs to"},
        "phase": {
            **NAMED,
            "description": "the phase of the year: declaration, formation, half_year, q3, year_end, feedback",
        },
        "round": {
            **NAMED,
            "description": "the evaluation round (half_year, q3, year_end), null outside the rounds",
        },
        "lane": {"type": "string"},
        "role": {"type": "string", "enum": ROLE_CODES},
        "role_name": {"type": "string"},
        "org": {"type": ["string", "null"], "description": "the code of the organisation that does the task"},
        "org_name": {"type": ["string", "null"]},
        "subject": {
            "type": ["object", "null"],
            "description": "the organisation the task concerns (the department whose declaration is reviewed; "
            "else the task's own organisation)",
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "short_name": {"type": "string"},
            },
        },
        "assignee": {
            "type": ["string", "null"],
            "description": "the one user who may do it (an assigned expert)",
        },
        "form_key": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "completed", "cancelled"]},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "claimed_by": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
        "completed_by": {"type": ["string", "null"]},
    },
}
TASK_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Task"},
        {
            "type": "object",
            "properties": {
                "instructions": {"type": "string"},
                "form": {
                    "type": "object",
                    "description": "JSON Schema (2020-12) of the data this task takes, built for this task: "
                    "choices carry the task's own options (`enum`, with their labels in `x-enumNames` and as "
                    "`oneOf` const/title); dates are `format: date` (YYYY-MM-DD, nothing else); a grid's rows "
                    "are `prefixItems`, one schema per row, whose `code` and `city` are `const`, described by "
                    "`x-indicator` (code, name, weight, unit, target, key point, owner) and `x-city`; a score "
                    "has `minimum` 0 and `maximum` the indicator's weight (also as text in `x-maximum`), and a "
                    "score below full marks requires a non-blank `reason` (`if`/`then`). The forms' other rules between "
                    "fields are there too (`if`/`then`, `anyOf`: returning needs a comment and whom it goes back to, "
                    "a comment not adopted its reason, a finding its note, a city its advice or `no_advice`); a "
                    "deadline is never before today (`formatMinimum`, Beijing time), and `x-notBefore` names the "
                    "field a date may not precede.",
                },
                "data": {
                    "type": "object",
                    "description": "the saved draft, the prefill, or what was submitted; scores as text "
                    "with two places",
                },
                "draft_saved_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
    ]
}


TASK_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
DATA_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}
        }
    },
}
TASK_ERRORS = {
    "401": _error("No valid bearer token"),
    "403": _error("The task is not the caller's to act on"),
    "404": _error("No such task"),
    "409": _error("Completed already (with who and when), withdrawn, or claimed by someone else"),
}


def openapi_document() -> dict[str, Any]:
    """The document, with the bounds and error answers every operation shares (openapi_bounds)."""
    return complete(_document())


def _document() -> dict[str, Any]:
    task_ref = {"$ref": "#/components/schemas/Task"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jixiao task API",
            "version": "1",
            "description": "Every decimal figure (scores, totals, weights, lost points) is a string with exactly "
            'two places, rounded half-up ("996.00"); a score may be sent as a number or as such text. '
            "Cities, indicators, key points, phases and rounds are given by code with their names beside "
            'them. Errors are `{"error": {"code", "message", "fields"}}`, messages in the '
            "server's language (Chinese by default).",
        },
        "servers": [{"url": "/api"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "Task": TASK, "TaskDetail": TASK_DETAIL, "User": USER},
        },
        "paths": {
            **year_paths(),
            "/v1/tokens": {
                "post": {
                    "summary": "Exchange a username and password for a bearer token",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["username", "password"],
                                    "properties": {
                                        "username": {"type": "string", "minLength": 1},
                                        "password": {"type": "string", "minLength": 1},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "token": {"type": "string"},
                                    "token_type": {"const": "Bearer"},
                                    "expires_at": {"type": "string", "format": "date-time"},
                                },
                            },
                            "A token",
                        ),
                        "401": _error("Wrong username or password"),
                        "422": _error("Missing fields"),
                        "429": _error("Too many wrong passwords: wait Retry-After seconds"),
                    },
                }
            },
            "/v1/tokens/current": {
                "delete": {
                    "summary": "Revoke the token of this request: it is refused (401) from now on",
                    "responses": {
                        "204": {"description": "Revoked"},
                        "401": _error("No valid bearer token"),
                    },
                }
            },
            "/v1/me": {
                "get": {
                    "summary": "The caller",
                    "responses": {
                        "200": _json({"type": "object"}),
                        "401": _error("No valid bearer token"),
                    },
                }
            },
            "/v1/tasks": {
                "get": {
                    "summary": "Tasks the caller may act on (open: their role, their organisation and, when assigned, "
                    "themselves; each one opens) or has completed",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"enum": ["open", "completed"], "default": "open"},
                        },
                        {"name": "year", "in": "query", "schema": {"type": "integer"}},
                        {"name": "process", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "phase",
                            "in": "query",
                            "description": "the phase of the year the task belongs to",
                            "schema": {"enum": [p.value for p in Phase]},
                        },
                        {
                            "name": "round",
                            "in": "query",
                            "description": "the evaluation round the task belongs to",
                            "schema": {"enum": [k.value for k in RoundKind]},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"tasks": {"type": "array", "items": task_ref}},
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "422": _error("Bad filter (the error's fields name it)"),
                    },
                }
            },
            "/v1/tasks/{id}": {
                "get": {
                    "summary": "One task with its form (JSON Schema), data and instructions",
                    "parameters": [TASK_ID],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/TaskDetail"}),
                        **TASK_ERRORS,
                    },
                }
            },
            "/v1/tasks/{id}/draft": {
                "put": {
                    "summary": "Save the form's values as a draft without completing the task",
                    "parameters": [TASK_ID],
                    "requestBody": DATA_BODY,
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/TaskDetail"}),
                        **TASK_ERRORS,
                        "422": _error("No data"),
                    },
                }
            },
            "/v1/tasks/{id}/claim": {
                "post": {
                    "summary": "Claim the task",
                    "parameters": [TASK_ID],
                    "responses": {"200": _json(task_ref), **TASK_ERRORS},
                }
            },
            "/v1/tasks/{id}/unclaim": {
                "post": {
                    "summary": "Release a claim (the claimer or the office)",
                    "parameters": [TASK_ID],
                    "responses": {"200": _json(task_ref), **TASK_ERRORS},
                }
            },
            "/v1/tasks/{id}/complete": {
                "post": {
                    "summary": "Complete the task with the form's values",
                    "parameters": [TASK_ID],
                    "requestBody": DATA_BODY,
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "task": task_ref,
                                    "next_tasks": {
                                        "type": "array",
                                        "items": task_ref,
                                        "description": "tasks this made ready for the caller",
                                    },
                                    "incident": {"type": ["string", "null"]},
                                },
                            }
                        ),
                        **TASK_ERRORS,
                        "422": _error("Per-field messages in error.fields"),
                    },
                }
            },
            "/v1/years/{year}/indicators": {
                "get": {
                    "summary": "A year's indicator system as a tree (drafts only for the office, leadership, experts, admins)",
                    "parameters": [
                        {"name": "year", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "year": {"type": "integer"},
                                    "total_weight": {
                                        "type": "string",
                                        "description": "two places, e.g. 1000.00",
                                    },
                                    "dimensions": {"type": "array"},
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("A draft the caller may not see"),
                        "404": _error("No system for that year"),
                    },
                }
            },
            "/v1/processes": {
                "get": {
                    "summary": "Process instances with status, current activities and incidents (office and admin)",
                    "description": "Every call activity runs its process as a child instance: `parent_id` "
                    "names the instance that called it and `children` the instances it called.",
                    "parameters": [{"name": "year", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "processes": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "id": {"type": "integer"},
                                                "process": {"type": "string"},
                                                "version": {"type": "integer"},
                                                "business_key": {"type": "string"},
                                                "parent_id": {"type": ["integer", "null"]},
                                                "parent_element_id": {"type": ["string", "null"]},
                                                "children": {
                                                    "type": "array",
                                                    "items": {"type": "integer"},
                                                },
                                                "phase": {"type": ["string", "null"]},
                                                "round": {"type": ["string", "null"]},
                                                "status": {"type": "string"},
                                            },
                                        },
                                    }
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not the office or an admin"),
                    },
                }
            },
            "/v1/definitions/validate": {
                "post": {
                    "summary": "Check a BPMN diagram with every rule the runtime knows, without deploying it (admin)",
                    "description": "Send JSON {xml, year} or the XML itself (application/xml) with ?year=. Call "
                    "targets must be deployed for that year (or for every year); the diagram must be laid out.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": DEFINITION_INPUT},
                            "application/xml": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "valid": {"type": "boolean"},
                                    "problems": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "element_id": {"type": "string"},
                                                "message": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such year"),
                    },
                }
            },
            "/v1/definitions": {
                "get": {
                    "summary": "Deployed versions: who deployed what, when and why (admin)",
                    "parameters": [{"name": "year", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"definitions": {"type": "array", "items": DEFINITION}},
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such year"),
                    },
                },
                "post": {
                    "summary": "Deploy a diagram as a new, immutable version for a year (admin)",
                    "description": "New phase instances of that year run it; running ones keep theirs. The same "
                    "file again is answered 200 with the version it already is.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": DEFINITION_INPUT}},
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "properties": {"definition": DEFINITION, "created": {"type": "boolean"}},
                            }
                        ),
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"definition": DEFINITION, "created": {"type": "boolean"}},
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such year"),
                        "422": _error("The diagram breaks a rule: `fields` maps element ids to the problems"),
                    },
                },
            },
            "/v1/definitions/{definition_id}": {
                "get": {
                    "summary": "The BPMN XML of one deployed version (admin)",
                    "parameters": [
                        {
                            "name": "definition_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "BPMN 2.0 XML",
                            "content": {"application/xml": {"schema": {"type": "string"}}},
                        },
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such definition"),
                    },
                }
            },
            "/v1/processes/{instance_id}/migration": {
                "parameters": [
                    {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "get": {
                    "summary": "Whether a running instance may move to another version of its process (admin)",
                    "parameters": [
                        {
                            "name": "definition_id",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "safe": {"type": "boolean"},
                                    "reasons": {"type": "array", "items": {"type": "string"}},
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such instance"),
                        "422": _error("definition_id missing or not a number"),
                    },
                },
                "post": {
                    "summary": "Move a running instance to another version, only where no step it has done "
                    "or is doing changes (admin)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["definition_id"],
                                    "properties": {"definition_id": {"type": "integer"}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "instance_id": {"type": "integer"},
                                    "definition_id": {"type": "integer"},
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such instance or version"),
                        "409": _error(
                            "Not safe: `steps` lists the element ids in the way; or the instance has ended"
                        ),
                        "422": _error("definition_id missing or not a number"),
                    },
                },
            },
            "/v1/users": {
                "get": {
                    "summary": "Every account with its organisation and roles (admin)",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "users": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/User"},
                                    }
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                    },
                },
                "post": {
                    "summary": "Create an account (admin); the answer carries its temporary password, shown only once",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": USER_INPUT}},
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "user": {"$ref": "#/components/schemas/User"},
                                    "temporary_password": {"type": "string"},
                                },
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "422": _error("A field breaks a rule (named in `fields`)"),
                    },
                },
            },
            "/v1/users/{username}": {
                "patch": {
                    "summary": "Change an account (admin): name, e-mail, organisation, roles, active",
                    "parameters": [
                        {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": USER_CHANGE}},
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"user": {"$ref": "#/components/schemas/User"}},
                            }
                        ),
                        "401": _error("No valid bearer token"),
                        "403": _error("Not an admin"),
                        "404": _error("No such user"),
                        "409": _error(
                            "The change would leave no active administrator, or deactivates yourself"
                        ),
                        "422": _error("A field breaks a rule (named in `fields`)"),
                    },
                }
            },
        },
    }
