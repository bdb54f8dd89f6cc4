"""Notifications: the bell and the list (own only, mark read once), a notification when a task arrives,
is returned, nears its deadline or results are published, the office's reminder, and e-mail copies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, format_date
from sqlalchemy import func, select

from models.db import db, utcnow
from models.evaluation import EvaluationRound, RoundKind, RoundStatus
from models.notification import Notification
from models.org import OrgKind, Role, User
from models.scheme import Scheme, SchemeYear
from models.workflow import AuditEvent, InboxTask, TaskStatus
from tests.conftest import csrf_token_from
from webapp import mail
from webapp.domain import errors
from webapp.domain import notifications as notification_service
from webapp.domain.process import tasks as task_service
from webapp.domain.results import queries as results
from workflows import engine, forms
from workflows.forms import TaskContext

# A city does something (optionally assigned to one user, with a due date), the office checks it and
# approves or returns it: the cheapest flow with an arrival, a return and a deadline.
FLOW = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_notify_like" targetNamespace="http://jixiao/test">
  <bpmn:process id="notify_like" name="Notification test process" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_city" name="city"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_office" name="office">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>checked</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="Report the figures">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="approval" />
          <spiffworkflow:property name="org" value="city" />
          <spiffworkflow:property name="due" value="due" />
          <spiffworkflow:property name="assignee" value="assignee" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="check" />
    <bpmn:userTask id="check" name="Check the figures">
      <bpmn:extensionElements>
        <spiffworkflow:properties><spiffworkflow:property name="formKey" value="approval" /></spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="checked" />
    <bpmn:exclusiveGateway id="checked" default="f_back" />
    <bpmn:sequenceFlow id="f_done" sourceRef="checked" targetRef="end">
      <bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_back" sourceRef="checked" targetRef="work" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""
NOW = datetime(2012, 6, 20, 2, tzinfo=UTC)


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def notes(kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


@pytest.fixture
def flow(ctx, demo):
    engine.deploy(FLOW, source_name="notify_like.bpmn", known_forms=forms.known_keys())
    db.session.commit()

    def start(city: str = "shenyang", due: datetime | None = None, assignee: str = "") -> InboxTask:
        with engine.use_clock(NOW):
            instance = task_service.start_process(
                "notify_like",
                user("office"),
                business_key=f"test:notify:{city}",
                data={"city": city, "due": due.isoformat() if due else "", "assignee": assignee},
            )
        db.session.commit()
        return db.session.scalar(
            select(InboxTask).where(InboxTask.instance_id == instance.id, InboxTask.status == TaskStatus.OPEN)
        )

    return start


def complete(task: InboxTask, username: str, data: dict) -> list[InboxTask]:
    with engine.use_clock(NOW):
        done = task_service.complete_task(task.task_guid, user(username), data)
    db.session.commit()
    return db.session.scalars(
        select(InboxTask).where(
            InboxTask.instance_id == done.task.instance_id, InboxTask.status == TaskStatus.OPEN
        )
    ).all()


# ---------------------------------------------------------------- when notifications are made


def test_a_task_arriving_notifies_the_users_of_its_org_and_role_with_its_link_and_due_date(flow):
    task = flow(due=NOW + timedelta(days=10))
    [note] = notes("task")
    assert user("shenyang").id == note.user_id, "the city's users only, not its counterpart offices"
    assert note.link == f"/tasks/{task.task_guid}" and note.created_at == NOW
    assert en(note) == f"New task: Report the figures, due {_day(task.due_at)}"

    # The city completes it: the office's users (any org) are told of the check.
    complete(task, "shenyang", {"decision": "approve"})
    office_notes = notes("task")[1:]
    office_users = {u.username for u in notification_service.users_of(role=Role.OFFICE)}
    assert {db.session.get(User, n.user_id).username for n in office_notes} == office_users


def test_an_assigned_task_notifies_only_its_assignee(flow):
    flow(assignee="shenyang")
    assert [db.session.get(User, n.user_id).username for n in notes("task")] == ["shenyang"]


def test_a_returned_task_says_it_was_returned_and_why(flow):
    task = flow()
    [check] = complete(task, "shenyang", {"decision": "approve"})
    [again] = complete(check, "office", {"decision": "return", "comment": "Figures for May are missing."})
    [returned] = notes("returned")
    assert returned.user_id == user("shenyang").id and returned.link == f"/tasks/{again.task_guid}"
    assert en(returned) == ("Returned to you: Report the figures. Reason: Figures for May are missing.")


def test_deadline_warning_is_sent_once_five_days_before(flow):
    soon = flow("shenyang", due=NOW + timedelta(days=4))
    flow("dalian", due=NOW + timedelta(days=9))
    assert notification_service.send_deadline_warnings(NOW) == 1
    assert notification_service.send_deadline_warnings(NOW) == 0, "running twice sends once"
    db.session.commit()
    [warning] = notes("deadline")
    assert warning.user_id == user("shenyang").id and warning.key == f"deadline:{soon.task_guid}"
    assert "is due" in en(warning)
    # Four days later the Dalian task is within five days of its deadline too.
    assert notification_service.send_deadline_warnings(NOW + timedelta(days=4)) == 1
    assert len(notes("deadline")) == 2


def test_a_second_workers_duplicate_warning_is_dropped_by_the_unique_key(flow):
    task = flow(due=NOW + timedelta(days=2))
    shenyang = user("shenyang")
    note = notification_service.Note([shenyang], "deadline", "x", key=f"deadline:{task.task_guid}")
    assert notification_service.write([note], NOW) == 1
    assert notification_service.write([note], NOW) == 0  # as if another worker had selected the same task
    db.session.commit()
    assert len(notes("deadline")) == 1


def test_the_worker_sends_the_deadline_warnings(flow, app):
    flow(due=utcnow() + timedelta(days=3))
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "warned of 1 task deadline" in first.output
    second = runner.invoke(args=["worker", "--once"])
    assert "warned" not in second.output
    assert len(notes("deadline")) == 1


def test_published_results_notify_city_and_department_users(ctx, demo):
    year = _scheme_year()
    db.session.add(
        EvaluationRound(
            scheme_year_id=year.id,
            kind=RoundKind.HALF_YEAR,
            status=RoundStatus.APPROVED,
            report_deadline=NOW,
            score_deadline=NOW,
        )
    )
    db.session.flush()
    publish = forms.get("round.feedback").handler
    context = TaskContext(
        task=SimpleNamespace(scope="half_year"),
        instance=SimpleNamespace(scheme_year_id=year.id),
        user=user("office"),
        now=NOW,
    )
    publish(context, {"rows": [{"city": c.short_name, "no_advice": True} for c in results.cities()]})
    db.session.commit()
    told = {db.session.get(User, n.user_id) for n in notes("results_published")}
    kinds = {u.org.kind for u in told}
    assert kinds == {OrgKind.CITY, OrgKind.COUNTERPART, OrgKind.DEPARTMENT}
    assert user("shenyang") in told and user("fgw") in told and user("leader") not in told
    note = notes("results_published")[0]
    assert note.link == "/results/2012"
    assert en(note) == "Results of the 2012 Half-year evaluation are published."


def test_the_bpmn_deadline_reminder_is_rendered_in_the_readers_language(ctx, demo):
    handler = notification_service.remind
    handler(None, {"org": "fgw", "role": "department", "kind": "declaration_overdue"}, NOW)
    db.session.commit()
    [note] = notes("reminder")
    assert en(note).startswith("The declaration deadline has passed")


# ---------------------------------------------------------------- the office's reminder


def test_send_reminder_notifies_the_tasks_users_and_records_an_audit_event(flow):
    task = flow(due=NOW + timedelta(days=1))
    office = user("office")
    assert notification_service.send_reminder(task, office, NOW) == 1
    db.session.commit()
    [note] = notes("reminder")
    assert note.user_id == user("shenyang").id and note.link == f"/tasks/{task.task_guid}"
    assert en(note).startswith(f"Reminder from {office.display_name}: Report the figures")
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.reminded")).all()
    assert event.actor_id == office.id and event.task_guid == task.task_guid
    assert event.detail["notified"] == ["shenyang"]


def test_only_the_office_reminds_and_only_of_open_tasks(flow):
    task = flow()
    with pytest.raises(errors.Forbidden):
        notification_service.send_reminder(task, user("dalian"), NOW)
    complete(task, "shenyang", {"decision": "approve"})
    with pytest.raises(errors.Conflict):
        notification_service.send_reminder(task, user("office"), NOW)
    assert notes("reminder") == []


# ---------------------------------------------------------------- e-mail


class FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.fail:
            raise ConnectionRefusedError("no server")
        self.host, self.port = host, port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        self.tls = True

    def login(self, username, password):
        self.login_as = username

    def send_message(self, message):
        FakeSMTP.sent.append((self.host, self.port, message))


@pytest.fixture
def smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.fail = [], False
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


@pytest.fixture
def mail_app(app_factory):
    return app_factory(
        MAIL_SERVER="smtp.example.test",
        MAIL_PORT=2525,
        MAIL_FROM="jixiao@example.test",
        MAIL_BASE_URL="https://jixiao.example.test",
    )


def _with_address(username: str, address: str) -> None:
    user(username).email = address
    db.session.commit()


def test_an_email_goes_out_after_the_commit_when_smtp_is_configured(mail_app, smtp):
    from webapp.demo.load import load_demo

    with mail_app.app_context():
        load_demo("Demo-pass-2012!", "test")
        db.session.commit()
        _with_address("shenyang", "shenyang@example.test")
        engine.deploy(FLOW, source_name="notify_like.bpmn", known_forms=forms.known_keys())
        db.session.commit()
        with engine.use_clock(NOW):
            task_service.start_process(
                "notify_like",
                user("office"),
                business_key="mail",
                data={"city": "shenyang", "due": "", "assignee": ""},
            )
            assert smtp.sent == [], "nothing is sent before the transaction commits"
            db.session.commit()
        [(host, port, message)] = smtp.sent
        assert (host, port) == ("smtp.example.test", 2525)
        assert message["To"] == "shenyang@example.test" and message["From"] == "jixiao@example.test"
        assert "新任务" in message["Subject"] or "New task" in message["Subject"]
        task = db.session.scalar(select(InboxTask).where(InboxTask.status == TaskStatus.OPEN))
        assert f"https://jixiao.example.test/tasks/{task.task_guid}" in message.get_content()

        # The office's reminder is e-mailed too, and the audit names who got it.
        assert notification_service.send_reminder(task, user("office"), NOW) == 1
        db.session.commit()
        assert len(smtp.sent) == 2
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "task.reminded"))
        assert event.detail["emailed"] == ["shenyang"]


def test_a_rolled_back_transaction_sends_nothing_and_a_failed_send_never_breaks_the_task(
    mail_app, smtp, caplog
):
    from webapp.demo.load import load_demo

    with mail_app.app_context():
        load_demo("Demo-pass-2012!", "test")
        db.session.commit()
        _with_address("shenyang", "shenyang@example.test")
        notification_service.notify([user("shenyang")], "task", "x", "/inbox/", NOW)
        db.session.rollback()
        db.session.commit()
        assert smtp.sent == []

        smtp.fail = True
        notification_service.notify([user("shenyang")], "task", "x", "/inbox/", NOW)
        db.session.commit()  # the SMTP server is down: logged, not raised
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
        assert "SMTP server smtp.example.test unavailable" in caplog.text


def test_a_deadline_warning_is_e_mailed_once(mail_app, smtp):
    from webapp.demo.load import load_demo

    with mail_app.app_context():
        load_demo("Demo-pass-2012!", "test")
        db.session.commit()
        _with_address("shenyang", "shenyang@example.test")
        engine.deploy(FLOW, source_name="notify_like.bpmn", known_forms=forms.known_keys())
        due = (NOW + timedelta(days=2)).isoformat()
        with engine.use_clock(NOW):
            task_service.start_process(
                "notify_like",
                user("office"),
                business_key="due",
                data={"city": "shenyang", "due": due, "assignee": ""},
            )
        db.session.commit()
        for _ in range(2):
            notification_service.send_deadline_warnings(NOW)
            db.session.commit()
        subjects = [message["Subject"] for _host, _port, message in smtp.sent]
        assert len(subjects) == 2, "the arrival and one deadline warning"


def test_no_email_without_smtp_configuration(flow, smtp):
    _with_address("shenyang", "shenyang@example.test")
    flow()
    assert len(notes("task")) == 1 and smtp.sent == []


# ---------------------------------------------------------------- the bell, the list, marking read


def _add(username: str, n: int = 1, link: str = "/inbox/") -> list[int]:
    recipient = user(username)
    for i in range(n):
        notification_service.notify([recipient], "task", f"Message {i}", link, NOW + timedelta(minutes=i))
    db.session.commit()
    return list(
        db.session.scalars(
            select(Notification.id).where(Notification.user_id == recipient.id).order_by(Notification.id)
        )
    )


def test_the_bell_shows_the_unread_count_and_the_latest(app, login):
    client = login("shenyang")
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="bell"' in page and 'data-testid="unread-count"' not in page
    with app.app_context():
        _add("shenyang", 7)
        _add("dalian", 3)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">7<', page)
    menu = page[page.index('data-testid="bell-menu"') : page.index('data-testid="all-notifications"')]
    assert menu.count('data-testid="bell-item"') == 5
    positions = [menu.index(f"Message {i}") for i in (6, 5, 4, 3, 2)]
    assert positions == sorted(positions) and "Message 1" not in menu and "Message 0" not in menu


def test_the_list_is_the_users_own_newest_first_and_paginated(app, login):
    with app.app_context():
        _add("shenyang", 25)
        _add("dalian", 2)
    client = login("shenyang")
    first = client.get("/notifications/").get_data(as_text=True)
    assert (
        first.count('data-testid="notification"') == 20 and "Message 24" in first and "Message 4" not in first
    )
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert second.count('data-testid="notification"') == 5 and "Message 0" in second
    refused = client.get("/notifications/?page=x")
    assert refused.status_code == 422 and "page" in refused.get_data(as_text=True), "a bad page is named"


def test_mark_read_is_idempotent_and_only_for_the_owner(app, login):
    with app.app_context():
        [mine] = _add("shenyang")
        [theirs] = _add("dalian")
    client = login("shenyang")
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    assert client.post(f"/notifications/{mine}/read").status_code == 302
    with app.app_context():
        first = db.session.get(Notification, mine).read_at
        assert first is not None and db.session.get(Notification, theirs).read_at is None
    assert client.post(f"/notifications/{mine}/read").status_code == 302
    with app.app_context():
        assert db.session.get(Notification, mine).read_at == first, "a second click changes nothing"
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'data-unread="false"' in page and 'data-testid="unread-count"' not in page
    assert client.get(f"/notifications/{mine}/read").status_code == 405


def test_opening_a_notification_marks_it_read_and_goes_to_its_target(app, login):
    with app.app_context():
        [n] = _add("shenyang", link="/results/2012")
        outside = _add("shenyang", link="https://evil.example/")[-1]
    client = login("shenyang")
    response = client.post(f"/notifications/{n}/read", data={"open": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/results/2012"
    response = client.post(f"/notifications/{outside}/read", data={"open": "1"})
    assert response.headers["Location"].endswith("/notifications/"), "only links on this site are followed"


def test_mark_all_read_touches_only_the_users_own(app, login):
    with app.app_context():
        _add("shenyang", 3)
        _add("dalian", 2)
    client = login("shenyang")
    assert client.post("/notifications/read-all").status_code == 302
    assert client.post("/notifications/read-all").status_code == 302
    with app.app_context():
        assert notification_service.unread_count(user("shenyang")) == 0
        assert notification_service.unread_count(user("dalian")) == 2


def test_marking_read_needs_the_csrf_token(app_factory):
    from tests.conftest import DEMO_PASSWORD
    from webapp.demo.load import load_demo

    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo(DEMO_PASSWORD, "test")
        db.session.commit()
        [n] = _add("shenyang")
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "shenyang", "password": DEMO_PASSWORD, "csrf_token": token})
    assert client.post(f"/notifications/{n}/read").status_code == 400
    token = csrf_token_from(client.get("/notifications/").get_data(as_text=True))
    assert client.post(f"/notifications/{n}/read", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(Notification, n).read_at is not None


@pytest.mark.parametrize(
    "username", ["leader", "office", "fgw", "shenyang", "shenyang-jxb", "expert1", "thirdparty", "admin"]
)
def test_every_role_has_the_bell_and_its_notifications_page(login, username):
    client = login(username)
    assert 'data-testid="bell"' in client.get("/").get_data(as_text=True)
    assert client.get("/notifications/").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(client, demo):
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read-all").status_code == 302


# ---------------------------------------------------------------- helpers


def _day(value: datetime) -> str:
    with force_locale("en"):
        return format_date(value, "medium")


def en(note: Notification) -> str:
    """The notification as an English reader sees it."""
    with force_locale("en"):
        return notification_service.render(note)


def _scheme_year() -> SchemeYear:
    scheme = Scheme.by_code("ln-cities")
    return db.session.scalar(
        select(SchemeYear).where(SchemeYear.scheme_id == scheme.id, SchemeYear.year == 2012)
    )
