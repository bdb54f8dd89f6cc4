"""Forms of the evaluation rounds: opening, self-report, scoring, verification, review, aggregation, feedback."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError

from models.evaluation import VERIFICATION_TITLES, VerificationResult
from models.i18n import lazy_gettext as _l
from workflows.forms.base import Form
from workflows.forms.fields import DisplayField
from workflows.forms.generic import ApprovalForm
from workflows.forms.rows import Rows


class OpenRoundForm(Form):
    report_deadline = DateField(_l("Self-reports due"), validators=[DataRequired()])
    score_deadline = DateField(_l("Scores due"), validators=[DataRequired()])

    def validate_score_deadline(self, field: Field) -> None:
        if self.report_deadline.data and field.data and field.data < self.report_deadline.data:
            raise ValidationError(_l("Scores cannot be due before the self-reports."))


class ReportRowForm(Form):
    code = DisplayField(_l("Code"))
    indicator = DisplayField(_l("Indicator"))
    target = DisplayField(_l("Target"))
    unit = DisplayField(_l("Unit"))
    previous = DisplayField(_l("Last round"))
    completion = StringField(_l("Completion"), validators=[DataRequired(), Length(max=200)])
    narrative = TextAreaField(_l("Explanation"), validators=[Length(max=2000)])


class SelfReportForm(Form):
    rows = Rows(ReportRowForm, key=("code",), label=_l("Completion of each indicator"))


class ScoreRowForm(Form):
    code = DisplayField(_l("Code"))
    city = DisplayField(_l("City"))
    reported = DisplayField(_l("Self-report"))
    score = StringField(_l("Score"), validators=[DataRequired(), Length(max=20)])
    reason = TextAreaField(_l("Reason below full marks"), validators=[Length(max=2000)])


class ScoreForm(Form):
    rows = Rows(ScoreRowForm, key=("code", "city"), label=_l("Scores"))


# the lazy titles: choices are built at import, before any request has a language
VERIFICATION_CHOICES = [SelectChoice(v.value, VERIFICATION_TITLES[v]) for v in VerificationResult]


class VerifyRowForm(Form):
    code = DisplayField(_l("Code"))
    city = DisplayField(_l("City"))
    result = SelectField(_l("Finding"), choices=VERIFICATION_CHOICES, validate_choice=True)
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])

    def validate_note(self, field: Field) -> None:
        if self.result.data != VerificationResult.VERIFIED and not (field.data or "").strip():
            raise ValidationError(_l("Describe what was found."))


class VerifyForm(Form):
    rows = Rows(VerifyRowForm, key=("code", "city"), label=_l("On-site verification"))


class ReviewForm(ApprovalForm):
    returned_cities = SelectMultipleField(_l("Return to these cities"), choices=[], validate_choice=False)
    returned_departments = SelectMultipleField(
        _l("Return to these departments"), choices=[], validate_choice=False
    )

    def validate_returned_cities(self, field: Field) -> None:
        if self.decision.data == "return" and not (field.data or self.returned_departments.data):
            raise ValidationError(_l("Choose who gets their submission back."))


class AggregateForm(Form):
    award_key_points = SelectMultipleField(
        _l("Key points with excellence awards"), choices=[], validators=[DataRequired()]
    )
    award_top_n = IntegerField(
        _l("Awards per key point"), default=3, validators=[DataRequired(), NumberRange(min=1, max=14)]
    )
    proposal = TextAreaField(_l("Commendation proposal"), validators=[DataRequired(), Length(max=4000)])


class AdviceRowForm(Form):
    city = DisplayField(_l("City"))
    summary = DisplayField(_l("Result"))
    advice = TextAreaField(_l("Rectification advice"), validators=[Length(max=4000)])
    # a city without advice is a choice the office makes, never a row left empty (rounds.queries.advice_problems)
    no_advice = BooleanField(_l("No rectification advice"))


class AdviceForm(Form):
    rows = Rows(AdviceRowForm, key=("city",), label=_l("Advice to each city"))
