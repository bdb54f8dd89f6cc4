"""`flask worker --once` fires due timers and prunes ended sessions; `flask workflows deploy` versions
definitions; `flask users prune` prunes on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models.db import db, utcnow
from models.org import User, UserSession
from models.workflow import InboxTask, InstanceStatus, ProcessInstance, TaskStatus
from tests.workflows.conftest import BPMN
from webapp.domain.accounts import sessions
from webapp.domain.process import tasks as task_service
from workflows import engine


def test_worker_once_fires_due_timers(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["workflows", "deploy", str(BPMN / "phase_like.bpmn"), str(BPMN / "annual_like.bpmn")]
    )
    assert result.exit_code == 0, result.output
    assert "deployed" in result.output
    assert "unchanged" in runner.invoke(args=["workflows", "deploy", str(BPMN / "phase_like.bpmn")]).output
    with app.app_context(), engine.use_clock(datetime(2012, 1, 1, tzinfo=UTC)):
        office = db.session.scalar(select(User).where(User.username == "office"))
        instance = task_service.start_process(
            "annual_like",
            office,
            business_key="worker",
            data={"phase_start": "2012-06-01T00:00:00+00:00", "work_due": None, "reminders": 0},
        )
        db.session.commit()
        instance_id = instance.id
        assert instance.status == InstanceStatus.WAITING

    # Real time is long past 2012, so the timer is due now.
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "fired timers of 1 instance" in result.output
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == InstanceStatus.RUNNING
        open_tasks = db.session.scalars(select(InboxTask).where(InboxTask.status == TaskStatus.OPEN)).all()
        assert [t.element_id for t in open_tasks] == ["work"]
    assert "fired" not in runner.invoke(args=["worker", "--once"]).output


def test_worker_leaves_instances_whose_time_has_not_come(app, demo):
    runner = app.test_cli_runner()
    runner.invoke(args=["workflows", "deploy", str(BPMN / "phase_like.bpmn"), str(BPMN / "annual_like.bpmn")])
    with app.app_context(), engine.use_clock(datetime(2012, 1, 1, tzinfo=UTC)):
        office = db.session.scalar(select(User).where(User.username == "office"))
        task_service.start_process(
            "annual_like",
            office,
            business_key="future",
            data={"phase_start": "2999-01-01T00:00:00+00:00", "work_due": None, "reminders": 0},
        )
        db.session.commit()
    assert "fired" not in runner.invoke(args=["worker", "--once"]).output


def test_deploying_a_broken_file_says_which_element_and_stores_nothing(app, demo):
    result = app.test_cli_runner().invoke(args=["workflows", "deploy", str(BPMN / "unsafe_condition.bpmn")])
    assert result.exit_code != 0
    assert "f_evil" in result.output


def test_the_worker_and_users_prune_delete_ended_sessions_a_month_on(app, demo):
    def ended_session(key: str) -> None:
        with app.app_context():
            office = db.session.scalar(select(User).where(User.username == "office"))
            long_ago = utcnow() - sessions.KEEP_ENDED - timedelta(days=1)
            db.session.add(
                UserSession(
                    user_id=office.id,
                    key_hash=key,
                    created_at=long_ago,
                    last_seen_at=long_ago,
                    revoked_at=long_ago,
                )
            )
            db.session.commit()

    def remaining(key: str) -> int:
        with app.app_context():
            return len(db.session.scalars(select(UserSession).where(UserSession.key_hash == key)).all())

    runner = app.test_cli_runner()
    ended_session("ended-1")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "pruned 1 session(s), 0 token(s), 0 login attempt(s)" in result.output
    assert remaining("ended-1") == 0

    ended_session("ended-2")
    result = runner.invoke(args=["users", "prune"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "pruned 1 session(s), 0 token(s), 0 login attempt(s)"
    assert remaining("ended-2") == 0
    assert "pruned 0 session(s)" in runner.invoke(args=["users", "prune"]).output
