"""Eight threads completing sibling tasks of one instance at once: each exactly once, nothing lost."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from models.db import db
from models.org import User
from models.workflow import AuditEvent, InboxTask, InstanceStatus, TaskStatus
from webapp.domain.process import tasks as task_service

DEPARTMENTS = ["fgw", "jyt", "kjt", "gat", "mzt", "czt", "rst", "gtt"]


def test_eight_threads_complete_sibling_tasks_without_losing_any(app, ctx, deploy, user):
    deploy("round_like")
    instance = task_service.start_process(
        "round_like",
        user("office"),
        business_key="concurrency",
        data={"cities": ["shenyang"], "departments": DEPARTMENTS},
    )
    db.session.commit()
    [report] = db.session.scalars(select(InboxTask).where(InboxTask.element_id == "self_report")).all()
    task_service.complete_task(report.task_guid, user("shenyang"), {"value": "1"})
    db.session.commit()
    scoring = db.session.scalars(
        select(InboxTask).where(InboxTask.element_id == "score", InboxTask.status == TaskStatus.OPEN)
    ).all()
    assert len(scoring) == len(DEPARTMENTS)
    jobs = [(t.task_guid, t.org.code) for t in scoring]

    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(guid: str, username: str) -> None:
        with app.app_context():
            try:
                actor = db.session.scalar(select(User).where(User.username == username))
                barrier.wait(timeout=30)
                task_service.complete_task(guid, actor, {"value": "7", "note": username})
                db.session.commit()
            except BaseException as exc:  # collected and asserted below
                db.session.rollback()
                errors.append(exc)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []

    db.session.expire_all()
    done = db.session.scalars(select(InboxTask).where(InboxTask.element_id == "score")).all()
    assert all(t.status == TaskStatus.COMPLETED for t in done)
    assert sorted(t.completed_by.username for t in done) == sorted(DEPARTMENTS), (
        "each completed exactly once, by its own"
    )
    records = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "test.recorded")).all()
    assert sorted(r.detail["note"] for r in records if r.detail.get("note")) == sorted(DEPARTMENTS)
    completions = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "task.completed")
    )
    assert completions == len(DEPARTMENTS) + 1
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.RUNNING
    review = db.session.scalars(select(InboxTask).where(InboxTask.element_id == "review")).all()
    assert len(review) == 1, "the workflow saw all eight completions and moved on exactly once"


def test_two_workers_never_fire_the_same_instance_twice(app, ctx, deploy, user, clock):
    deploy("phase_like")
    deploy("annual_like")
    ids = []
    for n in range(6):
        instance = task_service.start_process(
            "annual_like",
            user("office"),
            business_key=f"worker {n}",
            data={"phase_start": "2012-06-01T00:00:00+00:00", "work_due": None, "reminders": 0},
        )
        ids.append(instance.id)
    db.session.commit()
    clock.current = clock.current.replace(month=7)
    now = clock.current
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        from workflows import engine

        with app.app_context(), engine.use_clock(now):
            try:
                barrier.wait(timeout=30)
                while (instance_id := task_service.next_due_instance_id(now)) is not None:
                    task_service.fire_timers(instance_id)
                    db.session.commit()
            except BaseException as exc:
                db.session.rollback()
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    fired = db.session.scalars(
        select(AuditEvent.instance_id).where(AuditEvent.action == "instance.timers")
    ).all()
    assert sorted(fired) == sorted(ids), "every due instance fired exactly once"
    db.session.expire_all()
    work = db.session.scalars(select(InboxTask).where(InboxTask.element_id == "work")).all()
    assert sorted(t.instance.parent_instance_id for t in work) == sorted(ids), (
        "each annual instance started its phase once, as a child instance"
    )
