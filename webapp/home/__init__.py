from flask import Blueprint

bp = Blueprint("home", __name__, template_folder="templates")

from webapp.home import views  # noqa: E402,F401
