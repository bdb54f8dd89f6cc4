"""Validating a task's form in one pass: the form's own validators and its definition's check together,
each message once, beside its cell."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from wtforms import Form, StringField
from wtforms.validators import DataRequired

from workflows.forms import FormDefinition, TaskContext
from workflows.forms.binding import formdata, validate
from workflows.forms.rows import Rows


class Row(Form):
    code = StringField()
    score = StringField(validators=[DataRequired()])
    reason = StringField()


class Grid(Form):
    rows = Rows(Row)


def check(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    """A range and a reason rule over every row, as the score sheet's check words them."""
    problems: dict[str, list[str]] = {}
    for n, row in enumerate(form.rows.data):
        try:
            value = float(row["score"])
        except ValueError:
            problems.setdefault(f"rows-{n}-score", []).append("not a number")
            continue
        if value > 10:
            problems.setdefault(f"rows-{n}-score", []).append("more than 10")
        elif value < 10 and not row["reason"]:
            problems.setdefault(f"rows-{n}-reason", []).extend(["give a reason", "give a reason"])
    return problems


def _ctx() -> Any:
    return SimpleNamespace()


def test_an_empty_cell_a_range_and_a_missing_reason_come_back_together():
    definition = FormDefinition("test.grid", Grid, check=check)
    submitted = {
        "rows": [
            {"code": "I001", "score": "", "reason": ""},  # empty: the form's own validator
            {"code": "I002", "score": "12", "reason": ""},  # out of range: the check
            {"code": "I003", "score": "7", "reason": ""},  # no reason below full marks: the check
            {"code": "I004", "score": "10", "reason": ""},  # fine
        ]
    }
    form = Grid(formdata=formdata(submitted))
    errors = validate(definition, form, _ctx())
    assert set(errors) == {"rows-0-score", "rows-1-score", "rows-2-reason"}
    assert errors["rows-0-score"] == ["This field is required."], "the empty cell keeps only its own message"
    assert errors["rows-1-score"] == ["more than 10"]
    assert errors["rows-2-reason"] == ["give a reason"], "each message once"
    # and each message sits on its cell for the page
    entries = form.rows.entries
    assert entries[0].form.score.errors == ["This field is required."]
    assert entries[1].form.score.errors == ["more than 10"]
    assert entries[2].form.reason.errors == ["give a reason"]
    assert entries[3].form.score.errors == [] and entries[3].form.reason.errors == []


def test_a_check_message_the_form_already_gives_is_not_repeated():
    def same(form: Form, ctx: TaskContext) -> dict[str, list[str]]:
        return {"": ["rows changed"], "rows-0-score": ["This field is required."]}

    definition = FormDefinition("test.same", Grid, check=same)
    form = Grid(formdata=formdata({"rows": [{"code": "I001", "score": "", "reason": ""}]}))
    errors = validate(definition, form, _ctx())
    assert errors == {"rows-0-score": ["This field is required."], "": ["rows changed"]}


def test_a_valid_form_is_checked_as_before():
    definition = FormDefinition("test.valid", Grid, check=check)
    form = Grid(formdata=formdata({"rows": [{"code": "I001", "score": "10", "reason": ""}]}))
    assert validate(definition, form, _ctx()) == {}
