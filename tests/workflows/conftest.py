"""Fixtures for the runtime tests: test forms, test diagrams, a movable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from wtforms import DecimalField, FieldList, Form, FormField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from models.db import db
from models.org import User
from webapp.domain import audit
from workflows import engine, forms

BPMN = Path(__file__).resolve().parents[1] / "data" / "bpmn"


class ReportForm(Form):
    value = DecimalField("Value", validators=[InputRequired(), NumberRange(min=0, max=100)])
    note = TextAreaField("Note", validators=[Length(max=200)])


class RowForm(Form):
    code = StringField("Code", validators=[DataRequired()])
    score = DecimalField("Score", validators=[InputRequired(), NumberRange(min=0, max=10)])


class GridForm(Form):
    rows = FieldList(FormField(RowForm), min_entries=1)


def record_report(ctx, values):
    """A domain write: the test's stand-in for the real tables later phases fill."""
    audit.record(
        "test.recorded", ctx.user, instance_id=ctx.instance.id, task_guid=ctx.task.task_guid, detail=values
    )
    return None


forms.register(forms.FormDefinition("test.report", ReportForm, routing=("value",), handler=record_report))
forms.register(forms.FormDefinition("test.grid", GridForm))


@pytest.fixture
def deploy(ctx):
    """deploy("round_like") stores tests/data/bpmn/round_like.bpmn as the newest version."""

    def _deploy(name: str, **kwargs):
        definition, _ = engine.deploy(
            (BPMN / f"{name}.bpmn").read_bytes(),
            source_name=f"{name}.bpmn",
            known_forms=forms.known_keys(),
            **kwargs,
        )
        db.session.commit()
        return definition

    return _deploy


@pytest.fixture
def user(ctx, demo):
    return lambda username: db.session.scalar(db.select(User).where(User.username == username))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock():
    c = Clock(datetime(2012, 1, 4, 9, 0, tzinfo=UTC))
    with engine.use_clock(c):
        yield c
