from flask import Blueprint

bp = Blueprint("orgs", __name__, template_folder="templates", url_prefix="/orgs")

from webapp.orgs import views  # noqa: E402,F401
