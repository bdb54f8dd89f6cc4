from flask import Blueprint

bp = Blueprint("results", __name__, template_folder="templates", url_prefix="/results")

from webapp.results import views  # noqa: E402,F401
