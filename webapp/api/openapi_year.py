"""The OpenAPI description of the year's verbs (webapp/api/years.py): the cycle, the draft system,
results, reports, evidence and grid workbooks."""

from __future__ import annotations

from typing import Any

from webapp.domain.rounds.evidence import ALLOWED

DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["996.00"]}
NAMED = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
    "required": ["code", "name"],
}
CITY = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "short_name": {"type": "string"}},
    "required": ["code", "name"],
}
INDICATOR = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "weight": DECIMAL,
        "unit": {"type": "string"},
    },
    "required": ["code", "name"],
}
KEY_POINT = {
    "type": "object",
    "properties": {"number": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["number", "name"],
}
CYCLE = {
    "type": "object",
    "properties": {
        "year": {"type": "integer"},
        "system_status": {"type": "string", "enum": ["draft", "approved", "revising"]},
        "instance": {
            "type": ["object", "null"],
            "description": "the year's annual process; null before the year is started",
            "properties": {
                "id": {"type": "integer"},
                "status": {
                    "type": "string",
                    "enum": ["running", "waiting", "completed", "incident", "cancelled"],
                },
                "business_key": {"type": "string"},
            },
        },
        "waiting_phases": {
            "type": "array",
            "description": "phases the year waits for (their date, or the office opening them now)",
            "items": NAMED,
        },
        "rules": {
            "type": "object",
            "properties": {
                "fraud_bars_award": {
                    "type": "boolean",
                    "description": "a city with fraud on an indicator of a key point is not eligible for that "
                    "key point's award",
                },
                "locked": {
                    "type": "boolean",
                    "description": "the annual results are approved: the rules no longer change",
                },
            },
            "required": ["fraud_bars_award", "locked"],
        },
        "calendar": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "phase": NAMED,
                    "opens_at": {"type": "string", "format": "date-time"},
                    "deadline": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}
ROUND_RESULTS = {
    "type": "object",
    "properties": {
        "round": NAMED,
        "status": NAMED,
        "max_total": DECIMAL,
        "version": {
            "type": ["integer", "null"],
            "description": "the published version shown; null before publication",
        },
        "versions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    "kind": {"type": "string", "enum": ["publication", "correction"]},
                    "published_at": {"type": "string", "format": "date-time"},
                    "reason": {"type": "string"},
                },
            },
        },
        "cities": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "city": CITY,
                    "total": DECIMAL,
                    "rank": {"type": "integer"},
                    "dimensions": {
                        "type": "array",
                        "description": "only for the office, the leadership, admins and the city itself",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "score": DECIMAL,
                                "rank": {"type": ["integer", "null"]},
                            },
                        },
                    },
                    "lines": {
                        "type": "array",
                        "description": "each indicator's score and lost points (as dimensions: insiders and the city)",
                        "items": {
                            "type": "object",
                            "properties": {
                                "indicator": INDICATOR,
                                "score": DECIMAL,
                                "lost": DECIMAL,
                                "fraud": {"type": "boolean"},
                                "missing": {"type": "boolean"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
        "key_points": {
            "type": "array",
            "description": "each key point's score per city (insiders only)",
            "items": {
                "type": "object",
                "properties": {
                    "key_point": KEY_POINT,
                    "scores": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"city": CITY, "score": DECIMAL}},
                    },
                },
            },
        },
    },
}
AWARDS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"key_point": KEY_POINT, "cities": {"type": "array", "items": CITY}},
    },
}
ANNUAL_RESULTS = {
    "type": ["object", "null"],
    "properties": {
        "published": {"type": "boolean"},
        "process_rule": {"type": "string"},
        "process_weight": DECIMAL,
        "year_end_weight": DECIMAL,
        "fraud_bars_award": {
            "type": "boolean",
            "description": "the year's rule: a city with fraud on an indicator of a key point is not eligible "
            "for that key point's award",
        },
        "cities": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "city": CITY,
                    "half_year": DECIMAL,
                    "q3": DECIMAL,
                    "process_score": DECIMAL,
                    "year_end": DECIMAL,
                    "total": DECIMAL,
                    "rank": {"type": "integer"},
                },
            },
        },
        "awards": {**AWARDS, "description": "the key points' excellence awards, by name"},
        "award_ineligible": {**AWARDS, "description": "cities barred from a key point's award by fraud"},
        "fraud": {
            "type": "array",
            "items": {"type": "object", "properties": {"city": CITY, "indicator": INDICATOR}},
        },
    },
}
EVIDENCE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "filename": {"type": "string"},
        "content_type": {"type": "string"},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
        "indicator": NAMED,
        "city": NAMED,
        "uploaded_at": {"type": "string", "format": "date-time"},
    },
}

DECLARATION_FILE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "filename": {"type": "string"},
        "content_type": {"type": "string"},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
        "department": NAMED,
        "uploaded_at": {"type": "string", "format": "date-time"},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _file(description: str, *types: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in types},
    }


def _path(name: str, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


YEAR = _path("year", {"type": "integer"})
TASK_ID = _path("id")
VERSION = {
    "name": "version",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1},
    "description": "an earlier published version (a correction keeps the first figures)",
}
PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NO_TOKEN = _error("No valid bearer token")


def multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": properties, "required": required}
            }
        },
    }


def year_paths() -> dict[str, Any]:
    return {
        "/v1/years/{year}/cycle": {
            "parameters": [YEAR],
            "get": {
                "summary": "The year's annual process, the phases it waits for and its calendar (office, leadership, admin)",
                "responses": {
                    "200": _json(CYCLE),
                    "401": NO_TOKEN,
                    "403": _error("Not the office, leadership or an admin"),
                    "404": _error("No such year"),
                },
            },
            "post": {
                "summary": "Start the year (office); a year that does not exist is made from the one before",
                "responses": {
                    "201": _json(CYCLE, "Started"),
                    "401": NO_TOKEN,
                    "403": _error("Not the office"),
                    "404": _error("No earlier year to make it from"),
                    "409": _error("The year has already been started"),
                },
            },
        },
        "/v1/years/{year}/rules": {
            "put": {
                "summary": "Set the year's award rule (office, admin) until its annual results are approved",
                "parameters": [YEAR],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"fraud_bars_award": {"type": "boolean"}},
                                "required": ["fraud_bars_award"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(CYCLE),
                    "401": NO_TOKEN,
                    "403": _error("Not the office or an admin"),
                    "404": _error("No such year"),
                    "409": _error("The year's annual results are approved"),
                    "422": _error("fraud_bars_award is not a boolean"),
                },
            }
        },
        "/v1/years/{year}/phases/{phase}/open": {
            "post": {
                "summary": "Open a phase the year waits for, before its date (office)",
                "parameters": [
                    YEAR,
                    _path(
                        "phase",
                        {"enum": ["declaration", "formation", "half_year", "q3", "year_end", "feedback"]},
                    ),
                ],
                "responses": {
                    "200": _json(CYCLE),
                    "401": NO_TOKEN,
                    "403": _error("Not the office"),
                    "404": _error("No such year or phase"),
                    "409": _error("The year is not waiting for that phase, or has not been started"),
                },
            }
        },
        "/v1/years/{year}/system/compose": {
            "post": {
                "summary": "Make the draft system from the accepted declarations (office, while the system is a draft)",
                "parameters": [YEAR],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"year": {"type": "integer"}, "indicators": {"type": "integer"}},
                        }
                    ),
                    "401": NO_TOKEN,
                    "403": _error("Not the office, or the system is frozen"),
                    "409": _error("No declaration has been accepted yet"),
                },
            }
        },
        "/v1/years/{year}/results": {
            "get": {
                "summary": "The year's visible results: each round (as published) and the year; details only for insiders and the caller's city",
                "parameters": [YEAR],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "year": {"type": "integer"},
                                "rounds": {
                                    "type": "object",
                                    "description": "half_year, q3, year_end → that round's results",
                                    "additionalProperties": ROUND_RESULTS,
                                },
                                "annual": ANNUAL_RESULTS,
                            },
                        }
                    ),
                    "401": NO_TOKEN,
                    "404": _error("No such year"),
                },
            }
        },
        "/v1/years/{year}/rounds/{kind}/results": {
            "get": {
                "summary": "One round's results: as published (or an earlier version), or as approved for insiders",
                "parameters": [YEAR, _path("kind", {"enum": ["half_year", "q3", "year_end"]}), VERSION],
                "responses": {
                    "200": _json(
                        {
                            "allOf": [
                                {"type": "object", "properties": {"year": {"type": "integer"}}},
                                ROUND_RESULTS,
                            ]
                        }
                    ),
                    "401": NO_TOKEN,
                    "404": _error("No such round, version, or not visible to the caller yet"),
                    "422": _error("version is not a number"),
                },
            }
        },
        "/v1/years/{year}/reports/{kind}/{city}.{format}": {
            "get": {
                "summary": "A city's feedback report on a round or the year (the city itself and insiders)",
                "parameters": [
                    YEAR,
                    _path("kind", {"enum": ["half_year", "q3", "year_end", "annual"]}),
                    _path("city"),
                    _path("format", {"enum": ["pdf", "xlsx"]}),
                    VERSION,
                ],
                "responses": {
                    "200": _file("The report", PDF, XLSX),
                    "401": NO_TOKEN,
                    "403": _error("Another city's details"),
                    "404": _error("No such city, round or format, or not visible yet"),
                },
            }
        },
        "/v1/years/{year}/reports/province.{format}": {
            "get": {
                "summary": "The province's table of the year's results",
                "parameters": [YEAR, _path("format", {"enum": ["pdf", "xlsx"]})],
                "responses": {
                    "200": _file("The report", PDF, XLSX),
                    "401": NO_TOKEN,
                    "404": _error("No such format, or the year's results are not visible yet"),
                },
            }
        },
        "/v1/tasks/{id}/evidence": {
            "parameters": [TASK_ID],
            "get": {
                "summary": "The files attached to the task",
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"files": {"type": "array", "items": EVIDENCE}}}
                    ),
                    "401": NO_TOKEN,
                    "403": _error("Not the caller's task"),
                    "404": _error("No such task"),
                },
            },
            "post": {
                "summary": "Attach a file to an indicator of an open self-report or verification (10 MB at most; PDF, images, Office files)",
                "requestBody": multipart(
                    {
                        "file": {"type": "string", "format": "binary"},
                        "indicator": {"type": "string", "description": "the indicator's code"},
                        "city": {"type": "string", "description": "the city's code (a verification only)"},
                    },
                    ["file", "indicator"],
                ),
                "responses": {
                    "201": _json(EVIDENCE, "Attached"),
                    "401": NO_TOKEN,
                    "403": _error("Not the task's organisation, or the task is closed"),
                    "404": _error("No such task"),
                    "409": _error("Files cannot be attached to this task"),
                    "422": _error("The file, indicator or city is refused (named in `fields`)"),
                },
            },
        },
        "/v1/tasks/{id}/declaration-files": {
            "parameters": [TASK_ID],
            "get": {
                "summary": "The files of the declaration a declare or declaration-review task concerns (none for other tasks)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"files": {"type": "array", "items": DECLARATION_FILE}},
                        }
                    ),
                    "401": NO_TOKEN,
                    "403": _error("Not the caller's task"),
                    "404": _error("No such task"),
                },
            },
            "post": {
                "summary": "Attach a supporting file to the declaration of an open declare task (10 MB at most; PDF, images, Office files); it stays through a return",
                "requestBody": multipart({"file": {"type": "string", "format": "binary"}}, ["file"]),
                "responses": {
                    "201": _json(DECLARATION_FILE, "Attached"),
                    "401": NO_TOKEN,
                    "403": _error("Not the declaring department, or the task is closed"),
                    "404": _error("No such task"),
                    "409": _error("Files cannot be attached to this task"),
                    "422": _error(
                        "The file is refused: its type, content, size, or one file too many (`fields.file`)"
                    ),
                },
            },
        },
        "/v1/declaration-files/{file_id}": {
            "parameters": [_path("file_id", {"type": "integer"})],
            "get": {
                "summary": "A declaration's file, for the declaring department, the office, the leadership and admins",
                "responses": {
                    "200": _file("The file", *sorted({content_type for content_type, _ in ALLOWED.values()})),
                    "401": NO_TOKEN,
                    "403": _error("Another department's file"),
                    "404": _error("No such file"),
                },
            },
            "delete": {
                "summary": "Remove a declaration's file while the department's declare task is open",
                "responses": {
                    "204": {"description": "Removed"},
                    "401": NO_TOKEN,
                    "403": _error("Not the declaring department, or its declare task is not open"),
                    "404": _error("No such file"),
                },
            },
        },
        "/v1/tasks/{id}/template.xlsx": {
            "get": {
                "summary": "The task's grid (a score sheet or a city's self-report) as an Excel template",
                "parameters": [TASK_ID],
                "responses": {
                    "200": _file("The workbook", XLSX),
                    "401": NO_TOKEN,
                    "403": _error("Not the caller's task"),
                    "404": _error("No such task"),
                    "409": _error("This task has no workbook, or is closed"),
                },
            }
        },
        "/v1/tasks/{id}/template": {
            "post": {
                "summary": "A filled template becomes the task's draft (nothing is saved on any problem)",
                "parameters": [TASK_ID],
                "requestBody": multipart({"workbook": {"type": "string", "format": "binary"}}, ["workbook"]),
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/TaskDetail"}),
                    "401": NO_TOKEN,
                    "403": _error("Not the caller's task"),
                    "404": _error("No such task"),
                    "409": _error("This task has no workbook, or is closed"),
                    "413": _error("Larger than 5 MB"),
                    "422": _error("Every problem at once: `fields` maps “sheet!row column” to its messages"),
                },
            }
        },
    }
