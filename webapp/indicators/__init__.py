from flask import Blueprint

bp = Blueprint("indicators", __name__, template_folder="templates", url_prefix="/indicators")

from webapp.indicators import views  # noqa: E402,F401
