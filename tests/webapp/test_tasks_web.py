"""The inbox page and the task page: drafts, submit, field errors, and the 403/409 answers."""

from __future__ import annotations

from sqlalchemy import select

from models.db import db
from models.org import User
from models.workflow import InboxTask, TaskStatus
from tests.workflows.conftest import BPMN
from webapp.domain.process import tasks as task_service
from workflows import engine, forms


def start_round(app):
    with app.app_context():
        engine.deploy((BPMN / "round_like.bpmn").read_bytes(), known_forms=forms.known_keys())
        office = db.session.scalar(select(User).where(User.username == "office"))
        instance = task_service.start_process(
            "round_like",
            office,
            business_key="2012 半年考评",
            data={"cities": ["shenyang", "dalian"], "departments": ["fgw"]},
        )
        db.session.commit()
        return {
            t.org.code: t.task_guid
            for t in db.session.scalars(select(InboxTask).where(InboxTask.instance_id == instance.id))
        }


def test_inbox_lists_the_users_open_tasks_only(app, login):
    guids = start_round(app)
    page = login("shenyang").get("/inbox/").get_data(as_text=True)
    assert f"/tasks/{guids['shenyang']}" in page and f"/tasks/{guids['dalian']}" not in page
    assert 'data-testid="open-count">1<' in page
    assert "/tasks/" not in login("fgw").get("/inbox/").get_data(as_text=True)


def test_draft_then_submit_from_the_task_page(app, login):
    guid = start_round(app)["shenyang"]
    client = login("shenyang")
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert "Report your completion." in page and 'name="value"' in page

    saved = client.post(f"/tasks/{guid}", data={"action": "draft", "value": "4x", "note": "draft note"})
    assert saved.status_code == 302
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'value="4x"' in page and "draft note" in page and "已保存草稿" in page

    refused = client.post(f"/tasks/{guid}", data={"action": "complete", "value": "140"})
    assert refused.status_code == 422
    assert 'data-testid="form-errors"' in refused.get_data(as_text=True)

    done = client.post(f"/tasks/{guid}", data={"action": "complete", "value": "14"})
    assert done.status_code == 302
    with app.app_context():
        assert InboxTask.by_guid(guid).status == TaskStatus.COMPLETED
    again = client.post(f"/tasks/{guid}", data={"action": "complete", "value": "15"})
    assert again.status_code == 409
    assert "已由" in again.get_data(as_text=True)


def test_another_citys_task_is_refused(app, login):
    guid = start_round(app)["shenyang"]
    client = login("dalian")
    assert client.get(f"/tasks/{guid}").status_code == 403
    assert client.post(f"/tasks/{guid}", data={"action": "complete", "value": "1"}).status_code == 403
    assert client.get("/tasks/no-such-task").status_code == 404


def test_unknown_action_is_a_clear_400(app, login):
    guid = start_round(app)["shenyang"]
    assert login("shenyang").post(f"/tasks/{guid}", data={"action": "explode"}).status_code == 400


def test_completed_list_shows_what_the_user_did(app, login):
    guid = start_round(app)["shenyang"]
    client = login("shenyang")
    client.post(f"/tasks/{guid}", data={"action": "complete", "value": "3"})
    assert f"/tasks/{guid}" in client.get("/inbox/?status=completed").get_data(as_text=True)
    assert f"/tasks/{guid}" not in client.get("/inbox/").get_data(as_text=True)
