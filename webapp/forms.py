"""The base of the web's own forms (FlaskForm): WTForms' messages from our catalogue, as the task
forms have them (`workflows/forms/base.py`), rather than from WTForms' own Chinese catalogue."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm as _FlaskForm

from models.i18n import form_translations
from workflows.forms import inputs


class FlaskForm(_FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> Any:
            return form_translations

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            return inputs.bind_field(form, unbound_field, options)
