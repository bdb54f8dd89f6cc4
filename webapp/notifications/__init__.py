from flask import Blueprint

bp = Blueprint("notifications", __name__, template_folder="templates", url_prefix="/notifications")

from webapp.notifications import views  # noqa: E402,F401
