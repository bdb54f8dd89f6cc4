"""One request lifecycle: every page and API route goes through it, none commits on its own, and a
refusal is rendered in one place (the friendly page, or {"error": …}) with nothing kept."""

from __future__ import annotations

import inspect

from flask import Blueprint, jsonify
from sqlalchemy import func, select

from models.db import db
from models.workflow import AuditEvent
from webapp.domain import errors
from webapp.lifecycle import endpoint, page


def _innermost(view):
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


def test_every_route_goes_through_the_lifecycle_and_no_view_commits_itself(app):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "lifecycle", None) in ("page", "endpoint"), f"{rule.rule} ({rule.endpoint})"
        source = inspect.getsource(_innermost(view))
        for forbidden in ("session.commit", "session.rollback"):
            assert forbidden not in source, f"{rule.endpoint} calls {forbidden} itself"
        checked += 1
    assert checked > 60, "the walk saw the application's routes"


def _audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_a_view_commits_once_and_a_refusal_keeps_nothing(app_factory, demo):
    app = app_factory()
    probe = Blueprint("probe", __name__)

    @probe.route("/probe/page/<outcome>", methods=["POST"])
    @page
    def a_page(outcome: str):
        db.session.add(AuditEvent(action="probe.page", detail={"outcome": outcome}))
        db.session.flush()
        if outcome == "refused":
            raise errors.Conflict("Someone else was first.")
        return "done"

    @probe.route("/probe/api/<outcome>", methods=["POST"])
    @endpoint
    def an_endpoint(outcome: str):
        db.session.add(AuditEvent(action="probe.api", detail={"outcome": outcome}))
        db.session.flush()
        if outcome == "refused":
            raise errors.Invalid("Some fields need attention.", fields={"score": ["at most 5"]})
        return jsonify(ok=True)

    app.register_blueprint(probe)
    client = app.test_client()
    refused = client.post("/probe/page/refused")
    assert refused.status_code == 409 and "Someone else was first." in refused.get_data(as_text=True)
    assert "<html" in refused.get_data(as_text=True), "the friendly page"
    with app.app_context():
        assert _audit_rows() == 0, "the refused view's write was rolled back"
    assert client.post("/probe/page/ok").get_data(as_text=True) == "done"
    api_refused = client.post("/probe/api/refused")
    assert api_refused.status_code == 422
    assert api_refused.get_json() == {
        "error": {
            "code": "invalid",
            "message": "Some fields need attention.",
            "fields": {"score": ["at most 5"]},
        }
    }
    assert client.post("/probe/api/ok").get_json() == {"ok": True}
    with app.app_context():
        actions = sorted(db.session.scalars(select(AuditEvent.action)))
        assert actions == ["probe.api", "probe.page"], "each successful view committed its write"
