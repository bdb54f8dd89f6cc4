from flask import Blueprint

# No url_prefix: the monitor lives under /monitor, and a task's diagram under /tasks/<guid>/diagram.bpmn.
bp = Blueprint("monitor", __name__, template_folder="templates")

from webapp.monitor import views  # noqa: E402,F401
