"""The administrator's forms: an account (its person, organisation and roles), and a users workbook."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models.i18n import lazy_gettext as _l
from webapp.forms import FlaskForm


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccountForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Lowercase letters, digits, dots, dashes or underscores; it cannot be changed later."),
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    org = SelectField(_l("Organisation"), choices=[], validators=[DataRequired()])
    roles = CheckboxesField(_l("Roles"), choices=[], validators=[DataRequired()])
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=254)],
        description=_l("Notifications are also e-mailed here when the server sends mail."),
    )
    submit = SubmitField(_l("Save"))


class ImportForm(FlaskForm):
    workbook = FileField(_l("Users workbook (.xlsx)"), validators=[DataRequired()])
    submit = SubmitField(_l("Import"))


class DiagramUploadForm(FlaskForm):
    diagram = FileField(_l("Revised diagram (.bpmn)"), validators=[DataRequired()])
    submit = SubmitField(_l("Save as the draft"))


class DeployForm(FlaskForm):
    comment = StringField(
        _l("What changed"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("Shown in the version list beside who deployed it and when."),
    )
    submit = SubmitField(_l("Deploy"))
