from flask import Blueprint

bp = Blueprint("tasks", __name__, template_folder="templates", url_prefix="/tasks")

from webapp.tasks import views  # noqa: E402,F401
