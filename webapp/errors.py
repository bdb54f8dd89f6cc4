"""Friendly error pages: every refusal is a 4xx page that says what happened."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
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
        # refusals raised outside a view's lifecycle (a template helper, a before-request hook)
        if request.path.startswith("/api/"):
            body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
            return jsonify(body), error.status
        return render_error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        custom = error.description if getattr(error, "jixiao_message", False) else None
        return render_error(code, custom)
