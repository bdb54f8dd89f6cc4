"""Task API v1: tokens, listing, detail with the form's JSON Schema, drafts, claims, completion, errors."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from models.db import db
from models.org import User
from models.workflow import InboxTask
from tests.conftest import DEMO_PASSWORD, bearer
from tests.webapp.test_tasks_web import start_round


@pytest.fixture
def api(app, demo):
    client = app.test_client()

    client.as_user = lambda username: bearer(client, username)
    return client


def test_openapi_document_is_valid_3_1(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert "/v1/tasks/{id}/complete" in document["paths"]


def test_tokens_need_the_right_password_and_share_the_slow_down(app, api):
    app.config["LOGIN_PAIR_BASE_DELAY"] = 60  # a first wait no slow machine outlasts between two requests
    wrong = api.post("/api/v1/tokens", json={"username": "office", "password": "nope-nope-nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "unauthorized"
    missing = api.post("/api/v1/tokens", json={"username": "office"})
    assert missing.status_code == 422 and "password" in missing.get_json()["error"]["fields"]
    for _ in range(4):
        api.post("/api/v1/tokens", json={"username": "office", "password": "nope-nope-nope"})
    throttled = api.post("/api/v1/tokens", json={"username": "office", "password": DEMO_PASSWORD})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0


def test_me_needs_a_token(api):
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    me = api.get("/api/v1/me", headers=api.as_user("shenyang")).get_json()
    assert me["username"] == "shenyang" and me["roles"] == ["city"] and me["org"]["kind"] == "city"


def test_task_round_trip_through_the_api(app, api):
    guids = start_round(app)
    headers = api.as_user("shenyang")
    listed = api.get("/api/v1/tasks?status=open", headers=headers).get_json()["tasks"]
    assert [t["id"] for t in listed] == [guids["shenyang"]]

    detail = api.get(f"/api/v1/tasks/{guids['shenyang']}", headers=headers).get_json()
    assert detail["form"]["properties"]["value"]["maximum"] == 100
    assert detail["form"]["required"] == ["value"]
    assert detail["instructions"] == "Report your completion."

    draft = api.put(
        f"/api/v1/tasks/{guids['shenyang']}/draft",
        json={"data": {"value": "7", "note": "wip"}},
        headers=headers,
    )
    assert draft.status_code == 200 and draft.get_json()["data"] == {"value": "7", "note": "wip"}

    invalid = api.post(
        f"/api/v1/tasks/{guids['shenyang']}/complete", json={"data": {"value": "700"}}, headers=headers
    )
    assert invalid.status_code == 422
    assert list(invalid.get_json()["error"]["fields"]) == ["value"]

    done = api.post(
        f"/api/v1/tasks/{guids['shenyang']}/complete", json={"data": {"value": 7}}, headers=headers
    )
    assert done.status_code == 200
    assert done.get_json()["task"]["status"] == "completed" and done.get_json()["next_tasks"] == []

    again = api.post(
        f"/api/v1/tasks/{guids['shenyang']}/complete", json={"data": {"value": 8}}, headers=headers
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["completed_by"] == "shenyang"

    completed = api.get("/api/v1/tasks?status=completed", headers=headers).get_json()["tasks"]
    assert [t["id"] for t in completed] == [guids["shenyang"]]


def test_other_users_get_403_and_claims_are_respected(app, api):
    guids = start_round(app)
    assert api.get(f"/api/v1/tasks/{guids['shenyang']}", headers=api.as_user("dalian")).status_code == 403
    assert api.get("/api/v1/tasks/nope", headers=api.as_user("dalian")).status_code == 404
    with app.app_context():
        db.session.add(
            User(
                username="shenyang2",
                display_name="沈阳 二",
                org_id=InboxTask.by_guid(guids["shenyang"]).org_id,
                password_hash=db.session.scalar(
                    select(User.password_hash).where(User.username == "shenyang")
                ),
            )
        )
        db.session.commit()
        db.session.scalar(select(User).where(User.username == "shenyang2")).set_roles(["city"])
        db.session.commit()
    first, second = api.as_user("shenyang"), api.as_user("shenyang2")
    assert (
        api.post(f"/api/v1/tasks/{guids['shenyang']}/claim", headers=first).get_json()["claimed_by"]
        == "shenyang"
    )
    blocked = api.post(
        f"/api/v1/tasks/{guids['shenyang']}/complete", json={"data": {"value": 1}}, headers=second
    )
    assert blocked.status_code == 409 and blocked.get_json()["error"]["claimed_by"] == "shenyang"
    assert api.post(f"/api/v1/tasks/{guids['shenyang']}/unclaim", headers=second).status_code == 403
    assert (
        api.post(f"/api/v1/tasks/{guids['shenyang']}/unclaim", headers=first).get_json()["claimed_by"] is None
    )
    assert (
        api.post(
            f"/api/v1/tasks/{guids['shenyang']}/complete", json={"data": {"value": 1}}, headers=second
        ).status_code
        == 200
    )


def test_complete_needs_a_data_object(app, api):
    guids = start_round(app)
    response = api.post(
        f"/api/v1/tasks/{guids['shenyang']}/complete",
        json=["not", "an", "object"],
        headers=api.as_user("shenyang"),
    )
    assert response.status_code == 422 and "data" in response.get_json()["error"]["fields"]


def test_processes_are_for_the_office(app, api):
    start_round(app)
    assert api.get("/api/v1/processes", headers=api.as_user("shenyang")).status_code == 403
    processes = api.get("/api/v1/processes", headers=api.as_user("office")).get_json()["processes"]
    [p] = processes
    assert p["status"] == "running" and p["process"] == "round_like" and p["version"] == 1
    assert p["current_activities"] == [
        {"element_id": "self_report", "title": "City self-report", "open_tasks": 2}
    ]
    assert p["incident"] is None


def test_api_needs_no_csrf_token_but_web_forms_do(app_factory, demo):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert (
        client.post("/api/v1/tokens", json={"username": "office", "password": DEMO_PASSWORD}).status_code
        == 201
    )
