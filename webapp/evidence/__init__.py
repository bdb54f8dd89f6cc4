from flask import Blueprint

bp = Blueprint("evidence", __name__, url_prefix="/evidence")

from webapp.evidence import views  # noqa: E402,F401
