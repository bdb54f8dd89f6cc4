"""Forms every phase uses: a decision with a comment, and an acknowledgement."""

from __future__ import annotations

from wtforms import Field, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from models.i18n import lazy_gettext as _l
from workflows.forms import FormDefinition, register
from workflows.forms.base import Form

DECISIONS = [SelectChoice("approve", _l("Approve")), SelectChoice("return", _l("Return for revision"))]


class ApprovalForm(Form):
    # No decision is preselected: a bare submit is refused, naming the field, and the approver chooses.
    decision = SelectField(
        _l("Decision"),
        choices=[SelectChoice("", _l("Choose approve or return…")), *DECISIONS],
        validators=[DataRequired(message=_l("Choose whether to approve or to return."))],
    )
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_comment(self, field: Field) -> None:
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(_l("Say what should be revised when returning."))


class AcknowledgeForm(Form):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])


APPROVAL = register(
    FormDefinition(
        "approval", ApprovalForm, routing=("decision",), title=_l("Approve or return, with a comment")
    )
)
ACKNOWLEDGE = register(
    FormDefinition("acknowledge", AcknowledgeForm, title=_l("Acknowledge, with an optional comment"))
)
