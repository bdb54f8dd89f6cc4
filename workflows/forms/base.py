"""The base of every task form: WTForms' own messages ("This field is required.", "Number must be
between …", "Not a valid decimal value.") come in the reader's language, from our catalogue, like the
forms' own messages do; row forms built inside grids get them too, since each form class asks."""

from __future__ import annotations

from typing import Any

from wtforms import Form as _Form

from models.i18n import form_translations
from workflows.forms import inputs


class Form(_Form):
    class Meta:
        def get_translations(self, form: Any) -> Any:
            return form_translations

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            return inputs.bind_field(form, unbound_field, options)
