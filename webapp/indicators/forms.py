from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange

from models.i18n import lazy_gettext as _l
from webapp.forms import FlaskForm


class IndicatorForm(FlaskForm):
    key_point = SelectField(_l("Key point"), choices=[], validators=[DataRequired()])
    name = StringField(_l("Indicator"), validators=[DataRequired(), Length(max=200)])
    weight = DecimalField(
        _l("Weight"), places=2, validators=[DataRequired(), NumberRange(min=0.01, max=1000)]
    )
    owner = SelectField(_l("Owner department"), choices=[], validators=[DataRequired()])
    co_owners = SelectMultipleField(
        _l("Co-owner departments"),
        choices=[],
        # static/js/multiselect.js turns the long list into a filter box over checkboxes
        render_kw={
            "data-multi-select": "",
            "size": 8,
            "data-filter-placeholder": _l("Type to filter the departments"),
            "data-chosen-label": _l("%(n)s chosen", n="{n}"),
        },
    )
    unit = StringField(_l("Unit"), validators=[Length(max=32)])
    scoring_rule = TextAreaField(_l("Scoring rule"), validators=[Length(max=4000)])


class ImportForm(FlaskForm):
    workbook = FileField(_l("Excel workbook (.xlsx)"), validators=[FileRequired()])
