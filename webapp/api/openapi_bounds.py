"""What every operation of the API may answer, and what every input may hold, said once for the whole
document (`complete`), so that it describes the server's own bounds (`webapp/inputs.py`):

- an integer in a path is 0 to 2147483647 (an `Integer` column; beyond it no route matches, 404), one in a
  query and any number in a JSON body −2147483648 to 2147483647 (422 naming it);
- text holds no NUL (422 naming the field; in a path, 404); an optional query parameter left empty
  (`?year=`) is taken as absent, and one given twice is refused (422);
- a JSON body is at most 4 MB (413); its members the document does not name may be anything storable;
- an operation with a bearer token may answer 401, one with a path parameter 404 (an unknown id, or one
  no route takes), one with a query or a body 422 (`fields` names the problems).

`tests/webapp/test_api_fuzz.py` holds the server to the completed document with schemathesis.
"""

from __future__ import annotations

import copy
from typing import Any

from webapp.api.openapi_year import _error
from webapp.inputs import INT_MAX, INT_MIN

NO_NUL = "^[^\\u0000]*$"
NON_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"  # text with something other than white space in it
STORABLE = {
    "description": "Any JSON value the server can store: text without NUL, numbers within ±2147483647.",
    "anyOf": [
        {"type": ["null", "boolean"]},
        {"type": "string", "pattern": NO_NUL},
        {"type": "number", "minimum": INT_MIN, "maximum": INT_MAX},
        {"type": "array", "items": {"$ref": "#/components/schemas/Storable"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": "#/components/schemas/Storable"},
        },
    ],
}
STORABLE_REF = {"$ref": "#/components/schemas/Storable"}
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
JSON = "application/json"


STANDARD = {
    "401": "No valid bearer token",
    "404": "No such resource (an unknown id, or a number in the path beyond 2147483647)",
    "413": "The JSON body is larger than 4 MB",
    "422": "A parameter or a field breaks a rule (named in `fields`)",
}


def _bound(schema: Any, *, path: bool = False, json: bool = True) -> None:
    """Bound what a request may hold in place: integers to a column, text without NUL and, in JSON, the
    members the schema does not name storable (a form's other fields are not read)."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    if kinds & {"integer", "number"}:
        schema.setdefault("minimum", 0 if path else INT_MIN)
        schema.setdefault("maximum", INT_MAX)
    if "string" in kinds and not {"pattern", "enum", "const", "format"} & set(schema):
        schema["pattern"] = NO_NUL
    if "object" in kinds and json:
        schema.setdefault("additionalProperties", STORABLE_REF)
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
    for inner in schema.get("properties", {}).values():
        _bound(inner, json=json)
    for key in ("items", "additionalProperties"):
        _bound(schema.get(key), json=json)
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for inner in schema.get(key, []):
            _bound(inner, json=json)


def _parameter(parameter: dict[str, Any]) -> None:
    _bound(parameter.get("schema"), path=parameter["in"] == "path")
    if parameter["in"] == "query" and not parameter.get("required"):
        parameter.setdefault("allowEmptyValue", True)  # `?year=` is no year, as a form's empty field


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every input bounded and every operation's standard error answers (a copy)."""
    document = copy.deepcopy(document)
    document["components"]["schemas"]["Storable"] = STORABLE
    secured = bool(document.get("security"))
    for item in document["paths"].values():
        shared = item.get("parameters", [])
        for parameter in shared:
            _parameter(parameter)
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            own = operation.get("parameters", [])
            for parameter in own:
                _parameter(parameter)
            where = {p["in"] for p in [*shared, *own]}
            body = operation.get("requestBody", {}).get("content", {})
            for media_type, media in body.items():
                _bound(media.get("schema"), json=media_type == JSON)
            wanted = []
            if operation.get("security", [{}] if secured else []):
                wanted.append("401")
            if "path" in where:
                wanted.append("404")
            if JSON in body:
                wanted.append("413")
            if body or "query" in where:
                wanted.append("422")
            responses = operation["responses"]
            for status in wanted:
                responses.setdefault(status, _error(STANDARD[status]))
    return document
