"""`Rows(RowForm)` submits a grid without building a form per row: it must answer exactly what
`FieldList(FormField(RowForm))` answers (values, drafts, errors, rendering), and entries built after
validation must carry the errors validation found."""

from __future__ import annotations

from wtforms import Field, FieldList, Form, FormField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from workflows.forms.rows import Rows
from workflows.forms.values import FormData, clean_values, field_errors, flatten, raw_values


class Row(Form):
    code = StringField("Code")
    score = StringField("Score", validators=[DataRequired(), Length(max=5)])
    finding = SelectField("Finding", choices=[SelectChoice("ok", "OK"), SelectChoice("bad", "Bad")])
    note = TextAreaField("Note", validators=[Length(max=10)])

    def validate_note(self, field: Field) -> None:
        if self.finding.data == "bad" and not (field.data or "").strip():
            raise ValidationError("Say what was bad.")


class Plain(Form):
    rows = FieldList(FormField(Row), label="Rows")


class Fast(Form):
    rows = Rows(Row, label="Rows")


class AtLeastTwo(Form):
    rows = Rows(Row, label="Rows", min_entries=2)

    def validate_rows(self, field: Field) -> None:
        if len(field.data) > 2:
            raise ValidationError("Two rows at most.")


POSTED = flatten(
    {
        "rows": [
            {"code": "I001", "score": "3", "finding": "ok", "note": ""},
            {"code": "I002", "score": "", "finding": "bad", "note": ""},
            {"code": "I003", "score": "123456", "finding": "ok", "note": "far too long a note"},
        ]
    }
)


def _both(**kwargs):
    return Plain(**kwargs), Fast(**kwargs)


def test_submitted_rows_answer_what_the_field_list_answers():
    plain, fast = _both(formdata=POSTED)
    assert raw_values(fast) == raw_values(plain)  # a draft keeps what was typed
    assert plain.validate() is fast.validate() is False
    assert not fast.rows.built  # nothing asked for the entries
    assert field_errors(fast) == field_errors(plain)
    assert set(field_errors(fast)) == {"rows-1-score", "rows-1-note", "rows-2-score", "rows-2-note"}
    assert fast.rows.data == plain.rows.data
    assert clean_values(fast) == clean_values(plain)


def test_prefilled_rows_and_valid_rows_answer_the_same():
    data = {"rows": [{"code": "I001", "score": "2", "finding": "ok", "note": "x"}] * 2}
    plain, fast = _both(data=data)
    assert raw_values(fast) == raw_values(plain)
    formdata = flatten(data)
    plain, fast = _both(formdata=formdata)
    assert plain.validate() is fast.validate() is True
    assert field_errors(fast) == {} and clean_values(fast) == clean_values(plain)


def test_entries_built_after_validation_show_its_errors_and_render_as_before():
    plain, fast = _both(formdata=POSTED)
    plain.validate(), fast.validate()
    html = [[str(f()) for f in e.form] for e in fast.rows.entries]
    assert fast.rows.built
    assert html == [[str(f()) for f in e.form] for e in plain.rows.entries]
    assert [[f.errors for f in e.form] for e in fast.rows.entries] == [
        [f.errors for f in e.form] for e in plain.rows.entries
    ]
    assert fast.rows.entries[1].form.note.errors == ["Say what was bad."]
    assert fast.rows.type == "FieldList" and len(fast.rows.entries) == 3


def test_the_lists_own_rules_still_apply():
    form = AtLeastTwo(formdata=FormData())
    assert len(form.rows.data) == 2  # padded to min_entries, as FieldList pads
    assert form.validate() is False and "rows-0-score" in field_errors(form)
    form = AtLeastTwo(formdata=POSTED)
    assert form.validate() is False
    assert field_errors(form)["rows"] == ["Two rows at most."]
