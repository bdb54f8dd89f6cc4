"""Fields the generic task page needs beyond WTForms' own."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from wtforms import Field, StringField


class DisplayWidget:
    """Shows the value as text and sends it back unchanged in a hidden input."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        # Markup.format escapes every argument.
        return Markup(
            '<span class="form-display" id="{0}-display">{1}</span><input type="hidden" id="{0}" name="{2}" value="{1}">'
        ).format(field.id, field._value(), field.name)


class DisplayField(StringField):
    """A read-only value shown in a row (an indicator's code and name in a grid, …)."""

    widget = DisplayWidget()
    read_only = True
