"""What every form field takes, whatever the form: text a database can store, and exact decimals.

`bind_field` is the forms' `Meta.bind_field` (task forms in `base.py`, the web's `FlaskForm`): it puts
`storable` first on every field, so a NUL or an unpaired surrogate (which PostgreSQL, and UTF-8
itself, refuse) is named on its field before anything reads the value, and `exact` first on every
`DecimalField`, so only a finite number with at most the field's `places` decimals goes on to its
range check (an `sNaN` there would raise, and a third decimal would be rounded away by `Numeric(8,2)`);
a text field without a length limit of its own (a grid's shown code or name, sent back hidden) gets
`TEXT_MAX`.

`size_problems` is what a draft must meet: the same length limits as a completion, and storable text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from wtforms import DecimalField, Field, FieldList, Form, FormField, StringField
from wtforms.validators import Length, StopValidation, ValidationError

from models.i18n import lazy_gettext as _l

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates no UTF-8 can encode
MAX_DIGITS = 15  # before the point: more than any Numeric column here holds
TEXT_MAX = 4000  # a text field with no length limit of its own (the longest any field allows)


def unstorable(text: str) -> bool:
    """Whether the text holds a character no database column can store (NUL, an unpaired surrogate)."""
    return UNSTORABLE.search(text) is not None


def _label(field: Field) -> str:
    return str(field.label.text) if field.label is not None else field.short_name


def storable(form: Any, field: Field) -> None:
    """Refuse text with a NUL or an unpaired surrogate, naming the field (before any other check)."""
    values = [v for v in (field.raw_data or []) if isinstance(v, str)]
    if isinstance(field.data, str):
        values.append(field.data)
    if any(unstorable(v) for v in values):
        field.errors = []
        message = _l(
            "%(field)s contains a character that cannot be stored (NUL or a broken character).",
            field=_label(field),
        )
        raise StopValidation(str(message))


def decimals(value: Decimal) -> int:
    """The decimals of a finite value, trailing zeros aside ("12.50" has 1), read from its digits
    (no context rounds them away)."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return max(0, -exponent) if any(digits) else 0


def exact(form: Any, field: Field) -> None:
    """A decimal field takes finite numbers with at most its `places` decimals, nothing else."""
    value = field.data
    if not isinstance(value, Decimal):
        return
    places = getattr(field, "places", None)
    if not value.is_finite():
        message = _l("%(field)s must be a number.", field=_label(field))
    elif value and value.adjusted() >= MAX_DIGITS:
        message = _l("%(field)s is too large.", field=_label(field))
    elif isinstance(places, int) and decimals(value) > places:
        message = _l("%(field)s takes at most %(places)s decimals.", field=_label(field), places=places)
    else:
        return
    field.data = None  # a value refused here goes no further (a range check would raise on sNaN)
    field.errors[:] = []
    raise StopValidation(str(message))


def bind_field(form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
    """Bind as WTForms does, with `storable` (and `exact` for decimals) first in the field's chain."""
    field: Field = unbound_field.bind(form=form, **options)
    if isinstance(field, FieldList | FormField):
        return field
    first: list[Any] = [storable]
    if isinstance(field, DecimalField):
        first.append(exact)
    last: list[Any] = []
    if isinstance(field, StringField) and not any(isinstance(v, Length) for v in field.validators):
        last.append(Length(max=TEXT_MAX))  # a grid's shown values come back too, and are kept
    field.validators = [*first, *field.validators, *last]
    return field


def _fields(form: Form) -> Iterator[Field]:
    """Every leaf field of the form, grids' cells included (their entries are built)."""
    for field in form:
        if isinstance(field, FormField):
            yield from _fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                if isinstance(entry, FormField):
                    yield from _fields(entry.form)
                else:
                    yield entry
        else:
            yield field


def size_problems(form: Form) -> dict[str, list[str]]:
    """What a draft may not keep: text over a field's length limit, or that cannot be stored (by flat name)."""
    problems: dict[str, list[str]] = {}
    for field in _fields(form):
        text = field.data if isinstance(field.data, str) else ""
        checks = [
            v for v in field.validators if v is storable or (isinstance(v, Length) and 0 <= v.max < len(text))
        ]
        for check in checks:
            try:
                check(form, field)
            except (ValidationError, StopValidation) as exc:
                problems[field.name] = [str(exc)]
                break
    return problems


__all__ = ["bind_field", "decimals", "exact", "size_problems", "storable", "unstorable"]
