from flask import Blueprint

bp = Blueprint("inbox", __name__, template_folder="templates", url_prefix="/inbox")

from webapp.inbox import views  # noqa: E402,F401
