"""The task API v1 (JSON, bearer tokens). Errors: {"error": {"code", "message", "fields"}}."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from webapp.api import views, years  # noqa: E402,F401
