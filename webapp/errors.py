"""Friendly error pages: every refusal is a 4xx page that says what happened."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from models.i18n import lazy_gettext as _l
from webapp.domain.errors import DomainError

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have permission to open this page."),
    404: _l("The page you asked for does not exist."),
    405: _l("This action is not allowed here."),
    409: _l("This has already been done by someone else."),
    413: _l("The upload is too large."),
    429: _l("Too many attempts. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. The error has been logged; please try again later."),
}


# the codes of webapp.domain.errors where one exists, for errors raised before any view runs
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
    500: "server_error",
}
API_MESSAGES = {
    404: _l("There is no such resource in the API."),
    405: _l("This method is not allowed on this resource."),
}


def render_error(code: int, message: str | None = None):
    text = message or MESSAGES.get(code) or MESSAGES[400]
    return render_template("error.html", code=code, message=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            _l("The form has expired or did not come from this site. Please reload the page and try again."),
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        # refusals raised outside a view's lifecycle (a template helper, a before-request hook); a
        # request that sent JSON (the modeler's save) is answered in JSON as its view would be
        if is_api_path(request.path) or request.is_json:
            body = {"code": error.code, "message": error.message, "fields": error.fields, **error.details}
            return jsonify({"error": body}), error.status
        return render_error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if is_api_path(request.path):
            return api_http_error(error)
        code = error.code or 500
        custom = error.description if getattr(error, "jixiao_message", False) else None
        response = make_response(render_error(code, custom))
        if code == 405:
            response.headers["Allow"] = _allow(error)
        return response


def is_api_path(path: str) -> bool:
    """Whether a request is the API's: its errors are JSON, even for a URL no route matches."""
    return path == "/api" or path.startswith("/api/")


def _allow(error: HTTPException) -> str:
    """The methods a 405 allows (RFC 9110 requires them in `Allow`)."""
    return ", ".join(sorted(getattr(error, "valid_methods", None) or []))


def api_http_error(error: HTTPException) -> Response:
    """A routing or protocol error in the API's shape, {"error": {"code", "message", "fields", …}}:
    the message the raiser gave, else ours (werkzeug's own descriptions are English)."""
    code = error.code or 500
    given = error.description if error.description != type(error).description else None
    message = given or API_MESSAGES.get(code) or MESSAGES.get(code) or MESSAGES[400]
    name = API_CODES.get(code) or (error.name or "error").lower().replace(" ", "_")
    body: dict[str, Any] = {"code": name, "message": str(message), "fields": {}}
    if code == 405:
        body["allowed_methods"] = sorted(getattr(error, "valid_methods", None) or [])
    response = jsonify({"error": body})
    response.status_code = code
    if code == 405:
        response.headers["Allow"] = _allow(error)
    return response
