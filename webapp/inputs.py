"""Where the web bounds what a request may carry, before a view or the database sees it.

- **Integers in paths and queries**: `<int:…>` is `BoundedInt`, which matches only what an `Integer`
  column holds (every id and year here; PostgreSQL's INTEGER is 32-bit), so a larger number is a 404
  like any unknown id. Query integers are read with `query_int`, which refuses (422, naming the
  parameter) what is not a whole number in that range.
- **Text in paths and queries**: a NUL or an unpaired surrogate (PostgreSQL stores neither; UTF-8 has
  no surrogates) in a path is a 404, in a query parameter a 422 naming it. Form fields are checked by
  the forms themselves (`workflows.forms.inputs`: every field of every task form and FlaskForm);
  `form_text` reads a posted value that no form reads.
- **JSON bodies**: at most `JSON_MAX_BYTES` (413) and `JSON_MAX_DEPTH` levels of arrays and objects
  (422), checked on the raw bytes before the parser recurses; then every string, number and key of
  the document: no NUL or unpaired surrogate, no NaN or Infinity, numbers within an `Integer`
  column's range (422 naming the place, as flat form names: `data-rows-3-reason`).

Refusals are `DomainError`s, so the API answers `{"error": …}` and a page the friendly error page.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from array import array
from typing import Any

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter, Map, ValidationError

from models.i18n import lazy_gettext as _l
from webapp.domain import errors
from workflows.forms.inputs import unstorable

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # an Integer column (PostgreSQL INTEGER): ids, years, versions
JSON_MAX_BYTES = 4 * 1024 * 1024  # a year's largest grid as JSON is under 1 MB
JSON_MAX_DEPTH = 32  # the deepest body the API takes is 4 levels ({"data": {"rows": [{…}]}})

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def _up_to(limit: int) -> str:
    """A pattern of the decimal numbers 0 to `limit`: a larger one matches no rule at all, so a rule of
    another method on the same path cannot make it a 405 (werkzeug checks methods before converting)."""
    digits = str(limit)
    same_length = [
        f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
        for i, d in enumerate(digits)
        if d != "0"
    ]
    return "(?:" + "|".join([f"[0-9]{{1,{len(digits) - 1}}}", *same_length, digits]) + ")"


class BoundedInt(IntegerConverter):
    """`<int:…>` within an Integer column's range: anything larger matches no route (a 404)."""

    regex = _up_to(INT_MAX)

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits, min, INT_MAX if max is None else max, signed)
        if signed and min is None:
            self.min = INT_MIN

    def to_python(self, value: str) -> Any:
        if len(value) > 12:  # no int() of a 4 000-digit path segment
            raise ValidationError()
        return super().to_python(value)


def query_int(name: str, default: int | None = None) -> int | None:
    """A whole number from the query string (absent or empty: `default`), else Invalid naming it."""
    return _whole(request.args.get(name), name, default)


def form_int(name: str, default: int | None = None) -> int | None:
    """A whole number posted outside a form (a year, an id), as `query_int` reads the query."""
    return _whole(request.form.get(name), name, default)


def _whole(raw: str | None, name: str, default: int | None) -> int | None:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (re.fullmatch(r"[+-]?[0-9]{1,12}", text) and INT_MIN <= int(text) <= INT_MAX):
        raise errors.Invalid.on(
            name, _l("%(name)s must be a whole number up to %(max)s.", name=name, max=INT_MAX)
        )
    return int(text)


def form_text(name: str, default: str = "") -> str:
    """A posted text value that no form reads (a code, a choice), refused (naming it) if unstorable."""
    value = request.form.get(name, default)
    if unstorable(value):
        raise errors.Invalid.on(name, _unstorable(name))
    return value


def _unstorable(name: str) -> str:
    return str(
        _l("%(field)s contains a character that cannot be stored (NUL or a broken character).", field=name)
    )


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (strings skipped), without parsing."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_DEPTH_STEPS)
    return max(itertools.accumulate(array("b", brackets)), default=0) > limit


def json_problems(document: Any) -> dict[str, list[str]]:
    """Each place in a parsed document that no column can take, by its flat name."""
    problems: dict[str, list[str]] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                place = f"{name}-{key}" if name else str(key)
                if unstorable(str(key)):
                    problems[name or "body"] = [_unstorable(name or "body")]
                else:
                    walk(inner, place)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, f"{name}-{index}" if name else str(index))
        elif isinstance(value, str):
            if unstorable(value):
                problems[name] = [_unstorable(name)]
        elif isinstance(value, bool):
            return
        elif isinstance(value, float) and not math.isfinite(value):
            problems[name] = [str(_l("%(field)s must be a number.", field=name))]
        elif isinstance(value, int | float) and not INT_MIN <= value <= INT_MAX:
            # 1e16 as 1e16 or as 10000000000000000 alike (JSON Schema cannot tell them apart): no column
            # here holds more than an Integer (the Numeric(8,2) ones far less)
            problems[name] = [str(_l("%(field)s is too large.", field=name))]

    walk(document, "")
    return problems


class _NotANumber(Exception):
    """NaN or Infinity in a body: not JSON (RFC 8259), though Python's parser takes them."""


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(name)


def check_json_body() -> None:
    """Bound a JSON request body: size (413), depth (422), then what its values may be (422)."""
    limit = current_app.config["JSON_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise errors.TooLarge(
            str(_l("The request body is larger than %(size)s MB.", size=limit // (1024 * 1024)))
        )
    body = request.get_data(cache=True)
    if len(body) > limit:
        raise errors.TooLarge(
            str(_l("The request body is larger than %(size)s MB.", size=limit // (1024 * 1024)))
        )
    depth = current_app.config["JSON_MAX_DEPTH"]
    if json_too_deep(body, depth):
        raise errors.Invalid(str(_l("The JSON body nests deeper than %(depth)s levels.", depth=depth)))
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except _NotANumber:
        raise errors.Invalid(str(_l("The JSON body holds NaN or Infinity, which are not numbers."))) from None
    except ValueError:
        return  # not JSON: the view's own reading answers it
    except RecursionError:  # the depth scan missed a nesting (it cannot, but never a 500)
        raise errors.Invalid(
            str(_l("The JSON body nests deeper than %(depth)s levels.", depth=depth))
        ) from None
    errors.reject(json_problems(document))


def check_request() -> None:
    """Before every view: text in the path and the query, and a JSON body, within bounds."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and unstorable(value):
            raise errors.NotFound(str(_l("The page you asked for does not exist.")))
    for name, value in request.args.items(multi=True):
        if unstorable(name) or unstorable(value):
            shown = name if not unstorable(name) else "query"
            raise errors.Invalid.on(shown, _unstorable(shown))
    if request.is_json and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        check_json_body()


def init_app(app: Flask) -> None:
    """Register the bounded `int` converter (before any route is added) and the request check."""
    app.config.setdefault("JSON_MAX_BYTES", JSON_MAX_BYTES)
    app.config.setdefault("JSON_MAX_DEPTH", JSON_MAX_DEPTH)
    app.url_map.converters["int"] = BoundedInt
    app.before_request(check_request)


__all__ = [
    "BoundedInt",
    "check_request",
    "form_int",
    "form_text",
    "init_app",
    "json_problems",
    "json_too_deep",
    "query_int",
]
