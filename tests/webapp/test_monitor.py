"""The office monitor: live counts per BPMN element (a call activity counts what is open beneath it),
the cities × phases and departments × phases matrices, escalation levels, one-click reminders that a
second click does not repeat, incidents with retry, and who may see and do what."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from models.db import db
from models.notification import Notification
from models.org import User
from models.workflow import AuditEvent, InboxTask, InstanceStatus, ProcessInstance, TaskStatus
from tests.webapp.test_cycle_web import standard_form
from webapp.domain.process import tasks as task_service
from workflows import BPMN_DIR, engine, forms
from workflows.forms.values import raw_values


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def open_tasks(app, element: str) -> dict[str, str]:
    """org code → task guid of the open tasks of an element."""
    with app.app_context():
        rows = db.session.scalars(
            select(InboxTask).where(InboxTask.element_id == element, InboxTask.status == TaskStatus.OPEN)
        ).all()
        return {t.org.code if t.org else "": t.task_guid for t in rows}


@pytest.fixture
def declaring(app, login):
    """2012 started, the declaration standard published with a deadline of Tuesday 31 January 2012:
    every department has its declaration task open."""
    with app.app_context():
        for path in sorted(BPMN_DIR.glob("*.bpmn")):
            engine.deploy(path.read_bytes(), source_name=path.name, known_forms=forms.known_keys())
        db.session.commit()
    office = login("office")
    with engine.use_clock(at(2012, 1, 2)):
        assert office.post("/cycle/start", data={"year": "2012"}).status_code == 302
        with app.app_context():
            instance_id = db.session.scalar(
                select(ProcessInstance.id).where(ProcessInstance.process_id == "annual_cycle")
            )
        office.post(f"/cycle/{instance_id}/phase/declaration")
        [standard] = open_tasks(app, "publish_standard").values()
        assert office.post(f"/tasks/{standard}", data=standard_form("2012-01-31")).status_code == 302
    return {"office": office, "instance_id": instance_id}


def declare(app, username: str) -> None:
    guid = open_tasks(app, "declare")[username]
    with app.app_context():
        task = InboxTask.by_guid(guid)
        user = db.session.scalar(select(User).where(User.username == username))
        data = raw_values(task_service.build_form(task, user))
        with engine.use_clock(at(2012, 1, 10)):
            task_service.complete_task(guid, user, data)
        db.session.commit()


def test_overlay_counts_follow_the_work_and_a_call_activity_sums_what_is_beneath_it(app, declaring):
    office = declaring["office"]
    departments = open_tasks(app, "declare")
    assert len(departments) >= 46
    with engine.use_clock(at(2012, 1, 10)):
        before = office.get("/monitor/2012/counts.json").get_json()
    assert before["counts"]["department_declaration"]["declare"] == {"open": len(departments)}
    assert before["counts"]["annual_cycle"]["phase_declaration"]["open"] == len(departments)
    assert before["counts"]["declaration"]["publish_standard"] == {"done": 1}
    assert before["totals"]["open"] == len(departments) and before["totals"]["overdue"] == 0

    declare(app, "fgw")
    with engine.use_clock(at(2012, 1, 10)):
        after = office.get("/monitor/2012/counts.json").get_json()
        page = office.get("/monitor/2012").get_data(as_text=True)
    assert after["counts"]["department_declaration"]["declare"] == {"open": len(departments) - 1, "done": 1}
    # the office's review of the declaration is now open
    assert after["counts"]["department_declaration"]["review"] == {"open": 1}
    assert after["totals"]["done"] == before["totals"]["done"] + 1
    # the matrix: the declaration phase of fgw is submitted; another department's is open
    assert '<tr data-org="fgw">' in page
    fgw_row = page.split('<tr data-org="fgw">', 1)[1].split("</tr>", 1)[0]
    assert 'data-phase="declaration" data-status="submitted"' in fgw_row
    other_row = page.split('<tr data-org="jyt">', 1)[1].split("</tr>", 1)[0]
    assert 'data-phase="declaration" data-status="open"' in other_row
    # the default diagram is the busiest phase, not the annual overview
    assert '<option value="department_declaration" selected' in page


def test_after_the_deadline_tasks_turn_yellow_then_red_and_overdue(app, declaring):
    office = declaring["office"]
    n = len(open_tasks(app, "declare"))
    with engine.use_clock(at(2012, 1, 28)):  # 4 days before: warning
        page = office.get("/monitor/2012").get_data(as_text=True)
        assert page.count('data-level="warning"') == n
    with engine.use_clock(at(2012, 2, 2, 3)):  # Thursday: the 2nd working day after Tuesday's deadline
        page = office.get("/monitor/2012").get_data(as_text=True)
        counts = office.get("/monitor/2012/counts.json").get_json()
        assert page.count('data-level="yellow"') == n and 'data-level="red"' not in page
    assert counts["counts"]["department_declaration"]["declare"] == {"open": n, "overdue": n}
    assert counts["totals"]["overdue"] == n
    with engine.use_clock(at(2012, 2, 2, 17)):  # Friday 01:00 in Beijing
        page = office.get("/monitor/2012").get_data(as_text=True)
        assert page.count('data-level="red"') == n
    assert 'data-phase="declaration" data-status="overdue"' in page


def test_configured_holidays_delay_red(app, declaring):
    office = declaring["office"]
    n = len(open_tasks(app, "declare"))
    # Saturday 4 February: red without holidays (Wednesday and Thursday were the 2 working days) …
    with engine.use_clock(at(2012, 2, 4, 2)):
        assert office.get("/monitor/2012").get_data(as_text=True).count('data-level="red"') == n
    # … yellow when those two days are holidays (JIXIAO_HOLIDAYS is comma-separated)
    app.config["HOLIDAYS"] = "2012-02-01, 2012-02-02"
    with engine.use_clock(at(2012, 2, 4, 2)):
        page = office.get("/monitor/2012").get_data(as_text=True)
    assert page.count('data-level="yellow"') == n and 'data-level="red"' not in page


def notifications_of(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(User, User.id == Notification.user_id)
            .where(User.username == username, Notification.kind == "reminder")
        )


def test_one_click_reminder_is_sent_once_and_bulk_reminders_skip_it(app, login, declaring):
    office = declaring["office"]
    tasks = open_tasks(app, "declare")
    guid = tasks["fgw"]
    with engine.use_clock(at(2012, 2, 3, 2)):
        response = office.post(f"/monitor/2012/remind/{guid}", follow_redirects=True)
        assert response.status_code == 200
        assert notifications_of(app, "fgw") == 1
        page = response.get_data(as_text=True)
        row = page.split(f'data-task="{guid}"', 1)[1].split("</tr>", 1)[0]
        assert "2012" in row  # the last reminder's time is shown
        again = office.post(f"/monitor/2012/remind/{guid}", follow_redirects=True)
        assert notifications_of(app, "fgw") == 1
        assert "对该任务发送过催办提醒" in again.get_data(as_text=True)  # "… was already sent at …"
        # everyone red is reminded except the task reminded a moment ago
        office.post("/monitor/2012/remind", data={"level": "red"})
        assert notifications_of(app, "fgw") == 1
        assert notifications_of(app, "jyt") == 1
        with app.app_context():
            reminded = db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "task.reminded")
            )
        assert reminded == len(tasks)
        assert office.post("/monitor/2012/remind", data={"level": "purple"}).status_code == 400
    # a closed task is not reminded
    declare(app, "jyt")
    with engine.use_clock(at(2012, 2, 3, 6)):
        office.post(f"/monitor/2012/remind/{tasks['jyt']}")
    assert notifications_of(app, "jyt") == 1
    # the leadership sees the monitor but does not send reminders
    leader = login("leader")
    page = leader.get("/monitor/2012").get_data(as_text=True)
    assert 'data-testid="diagram"' in page and 'data-testid="remind"' not in page
    assert leader.post(f"/monitor/2012/remind/{guid}").status_code == 403


def test_diagrams_are_served_to_the_office_and_to_whoever_may_see_the_task(app, login, declaring):
    office = declaring["office"]
    xml = office.get("/monitor/2012/diagram/department_declaration.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'id="declare"' in xml.data
    assert office.get("/monitor/2012/diagram/nonsense.bpmn").status_code == 404
    assert office.get("/monitor/1999").status_code == 404
    assert login("shenyang").get("/monitor/2012").status_code == 403
    assert login("fgw").get("/monitor/2012/counts.json").status_code == 403

    guid = open_tasks(app, "declare")["fgw"]
    fgw = login("fgw")
    mine = fgw.get(f"/tasks/{guid}/diagram.bpmn?process=department_declaration")
    assert mine.status_code == 200 and b'id="declare"' in mine.data
    assert login("jyt").get(f"/tasks/{guid}/diagram.bpmn?process=department_declaration").status_code == 404
    page = fgw.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="task-diagram"' in page
    assert f'data-bpmn-url="/tasks/{guid}/diagram.bpmn?process=department_declaration"' in page
    assert 'data-highlight="declare"' in page
    # the help link opens the department's guide at the declaration phase
    assert 'href="/help/department#declaration" data-testid="phase-help"' in page


def test_an_incident_is_shown_and_retried_from_the_monitor(app, declaring):
    office = declaring["office"]
    with app.app_context():
        instance = db.session.get(ProcessInstance, declaring["instance_id"])
        instance.status = InstanceStatus.INCIDENT
        instance.incident_message = "division by zero in script compute_totals"
        instance.incident_element = "compute_totals"
        instance.incident_at = at(2012, 1, 12)
        db.session.commit()
    with engine.use_clock(at(2012, 1, 12, 1)):
        page = office.get("/monitor/2012").get_data(as_text=True)
        assert 'data-testid="incident"' in page and "division by zero" in page
        assert 'data-testid="total-incidents">1<' in page
        done = office.post(f"/monitor/2012/retry/{declaring['instance_id']}", follow_redirects=True)
    assert 'data-testid="incident"' not in done.get_data(as_text=True)
    with app.app_context():
        instance = db.session.get(ProcessInstance, declaring["instance_id"])
        assert instance.status in (InstanceStatus.RUNNING, InstanceStatus.WAITING)
        assert instance.incident_message is None
        assert db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "instance.retried")
        )
    # retrying again finds nothing to retry
    again = office.post(f"/monitor/2012/retry/{declaring['instance_id']}", follow_redirects=True)
    assert "该流程没有需要重试的故障" in again.get_data(as_text=True)  # "no incident to retry"


def test_the_monitor_without_a_started_year(app, login):
    office = login("office")
    page = office.get("/monitor/", follow_redirects=True)
    assert page.status_code == 200
    assert 'href="/cycle/"' in page.get_data(as_text=True)
