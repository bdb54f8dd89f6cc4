"""The simulation works on its own year: simulating 2013 beside a running 2012 (next year prepared
while this one runs) neither completes 2012's tasks nor fires 2012's timers."""

from __future__ import annotations

from sqlalchemy import select

from models.db import db
from models.workflow import InboxTask, ProcessInstance, TaskStatus, year_tasks
from webapp import simulation


def _state(scheme_year_id: int) -> tuple[list[str], list[tuple]]:
    """The year's open tasks, and each instance's status and next timer."""
    tasks = db.session.scalars(
        year_tasks(scheme_year_id)
        .where(InboxTask.status == TaskStatus.OPEN)
        .with_only_columns(InboxTask.task_guid)
    ).all()
    instances = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.due_at)
        .where(ProcessInstance.scheme_year_id == scheme_year_id)
        .order_by(ProcessInstance.id)
    ).all()
    return sorted(tasks), [tuple(row) for row in instances]


def test_simulating_next_year_leaves_this_running_year_alone(ctx, demo):
    this_year = simulation.begin(2012, 5, "ln-cities")
    assert simulation.advance(this_year, stop_at="declaration.declare")
    before = _state(this_year.annual.scheme_year_id)
    assert before[0], "2012's departments are declaring"

    next_year = simulation.begin(2013, 5, "ln-cities")
    assert simulation.advance(next_year, stop_at="declaration.declare")  # its clock passes 2012's deadlines
    assert next_year.clock > max(due for _id, _status, due in before[1] if due is not None)
    assert _state(next_year.annual.scheme_year_id)[0], "2013's departments are declaring"
    assert _state(this_year.annual.scheme_year_id) == before
