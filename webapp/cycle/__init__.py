from flask import Blueprint

bp = Blueprint("cycle", __name__, template_folder="templates", url_prefix="/cycle")

from webapp.cycle import views  # noqa: E402,F401
