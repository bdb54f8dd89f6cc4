"""One request lifecycle for every page and API route: load → check access → validate → call a verb →
commit once → respond (as indico's request handler).

A view is written as the middle of it and decorated with `page` (HTML) or `endpoint` (the JSON API):

- it loads its objects (`scheme_year()` for a year in the URL), checks access, validates and calls
  the domain's verbs, and returns a response; it never commits or rolls back;
- the decorator commits once when the view returns, and rolls back when it raises;
- a refusal (`DomainError`) is rendered here: the friendly error page for HTML (or the view's own
  `refused(exc, **url_values)` answer, e.g. a warning on the page it came from), and
  `{"error": {"code", "message", "fields", …}}` with its status for the API.

A test walks the URL map and fails on any view that is not behind one of the two or commits itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, jsonify

from models.db import db
from models.scheme import SchemeYear
from webapp.domain import errors
from webapp.domain.system import queries as system_queries
from webapp.errors import render_error

View = Callable[..., Any]
Refused = Callable[..., Any]


def _wrap(view: View, kind: str, render: Callable[[errors.DomainError, dict[str, Any]], Any]) -> View:
    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            response = view(*args, **kwargs)
        except errors.DomainError as exc:
            db.session.rollback()
            return render(exc, kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return response

    run.lifecycle = kind  # type: ignore[attr-defined]
    return run


def page(view: View | None = None, *, refused: Refused | None = None) -> Any:
    """An HTML view: commit once, or show the refusal (the friendly page, or `refused(exc, **values)`)."""

    def render(exc: errors.DomainError, values: dict[str, Any]) -> Any:
        if refused is not None:
            return refused(exc, **values)
        return render_error(exc.status, exc.message)

    def decorate(fn: View) -> View:
        return _wrap(fn, "page", render)

    return decorate(view) if view is not None else decorate


def error_json(
    status: int, code: str, message: Any, fields: dict[str, list[str]] | None = None, **extra: Any
) -> tuple[Any, int]:
    """The API's error body: {"error": {"code", "message", "fields", …}} with its status."""
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}, **extra}}
    return jsonify(body), status


def refusal_json(exc: errors.DomainError) -> tuple[Any, int]:
    return error_json(exc.status, exc.code, exc.message, exc.fields, **exc.details)


def endpoint(view: View) -> View:
    """A JSON view of the API: commit once, or answer the refusal as {"error": …}."""
    return _wrap(view, "endpoint", lambda exc, _values: refusal_json(exc))


def scheme_year(year: int) -> SchemeYear:
    """The configured scheme's year named in the URL (NotFound when there is none): the one year loader."""
    return system_queries.find_scheme_year(current_app.config["DEFAULT_SCHEME"], year)


def exempt(view: View) -> View:
    """A view outside the lifecycle on purpose (it reads nothing and writes nothing: static files)."""
    view.lifecycle = "exempt"  # type: ignore[attr-defined]
    return view


__all__ = ["endpoint", "error_json", "exempt", "page", "refusal_json", "scheme_year"]
