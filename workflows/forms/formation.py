"""Forms of forming the system (by end of March): the draft, comments, their handling, approval, revision."""

from __future__ import annotations

from wtforms import (
    DateField,
    Field,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from models.formation import HANDLING_TITLES, Handling
from models.i18n import lazy_gettext as _l
from workflows.forms.base import Form
from workflows.forms.fields import DisplayField
from workflows.forms.generic import ApprovalForm
from workflows.forms.rows import Rows


class DraftForm(Form):
    experts = SelectMultipleField(_l("Experts who review the draft"), choices=[], validators=[DataRequired()])
    solicitation_deadline = DateField(_l("Deadline for comments"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class CommentRowForm(Form):
    code = DisplayField(_l("Code"))
    indicator = DisplayField(_l("Indicator"))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])


class CommentForm(Form):
    general = TextAreaField(_l("General comment"), validators=[Length(max=4000)])
    rows = Rows(CommentRowForm, key=("code",), label=_l("Comments per indicator"))


# the lazy titles: choices are built at import, before any request has a language
HANDLING_CHOICES = [SelectChoice("", "—")] + [
    SelectChoice(h.value, HANDLING_TITLES[h]) for h in Handling if h != Handling.PENDING
]


class HandlingRowForm(Form):
    comment_id = DisplayField(_l("No."))
    comment = DisplayField(_l("Comment"))
    handling = SelectField(_l("Handling"), choices=HANDLING_CHOICES, validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])

    def validate_handling(self, field: Field) -> None:
        if field.data not in {h.value for h in Handling if h != Handling.PENDING}:
            raise ValidationError(_l("Say how the comment was handled."))

    def validate_reason(self, field: Field) -> None:
        if self.handling.data in (Handling.PARTLY, Handling.NOT_ADOPTED) and not (field.data or "").strip():
            raise ValidationError(_l("Give the reason when a comment is not (fully) adopted."))


class HandleForm(Form):
    rows = Rows(HandlingRowForm, key=("comment_id",), label=_l("Comments and how they were handled"))
    note = TextAreaField(_l("Note to the leadership group"), validators=[Length(max=2000)])


class RevisionForm(Form):
    reason = TextAreaField(_l("Reason for the revision"), validators=[DataRequired(), Length(max=4000)])


__all__ = ["ApprovalForm", "CommentForm", "DraftForm", "HandleForm", "RevisionForm"]
