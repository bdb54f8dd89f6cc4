"""Forms of the declaration phase (January): the standard, a department's declaration, the review."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from models.i18n import lazy_gettext as _l
from workflows.forms.base import Form

if TYPE_CHECKING:
    from models.scheme import KeyPoint


class StandardForm(Form):
    basis = TextAreaField(
        _l("Basis (what indicators must rest on)"), validators=[DataRequired(), Length(max=4000)]
    )
    quantifiability = TextAreaField(_l("Quantifiability"), validators=[DataRequired(), Length(max=4000)])
    decomposition = TextAreaField(
        _l("Decomposition to the cities"), validators=[DataRequired(), Length(max=4000)]
    )
    rewards_penalties = TextAreaField(
        _l("Rewards and penalties"), validators=[DataRequired(), Length(max=4000)]
    )
    deadline = DateField(_l("Declaration deadline"), validators=[DataRequired()])


class DeclaredRowForm(Form):
    key_point = SelectField(_l("Key point"), choices=[], validators=[Optional()], validate_choice=False)
    name = StringField(_l("Indicator"), validators=[Length(max=200)])
    proposed_weight = DecimalField(
        _l("Proposed weight"), places=2, validators=[Optional(), NumberRange(min=0.01, max=1000)]
    )
    unit = StringField(_l("Unit"), validators=[Length(max=32)])
    method = TextAreaField(_l("Measurement method"), validators=[Length(max=2000)])
    target = TextAreaField(_l("Target (per city where they differ)"), validators=[Length(max=2000)])
    basis_document = TextAreaField(_l("Basis document"), validators=[Length(max=2000)])
    data_source = StringField(_l("Data source"), validators=[Length(max=500)])

    def is_blank(self) -> bool:
        return not (self.name.data or "").strip() and self.proposed_weight.data is None

    def validate(self, extra_validators: Mapping[str, Sequence[Callable[..., object]]] | None = None) -> bool:
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        for field, message in (
            (self.name, _l("Name the indicator.")),
            (self.key_point, _l("Choose the key point.")),
            (self.proposed_weight, _l("Propose a weight.")),
        ):
            if field.data in (None, "") and not field.errors:  # a refused value has its message
                field.errors = [*field.errors, message]
                ok = False
        if self.key_point.data and self.key_point.data not in {str(c.value) for c in self.key_point.choices}:
            self.key_point.errors = [*self.key_point.errors, _l("Choose a key point from the list.")]
            ok = False
        return ok


class DeclarationForm(Form):
    indicators = FieldList(FormField(DeclaredRowForm), label=_l("Declared indicators"), min_entries=1)
    note = TextAreaField(_l("Note to the office"), validators=[Length(max=2000)])

    def validate_indicators(self, field: FieldList) -> None:
        if all(entry.form.is_blank() for entry in field.entries):
            raise ValidationError(_l("Declare at least one indicator."))


def key_point_choices(points: Iterable[KeyPoint]) -> list[SelectChoice]:
    return [SelectChoice("", "—")] + [SelectChoice(str(p.number), f"{p.number}. {p.name}") for p in points]
