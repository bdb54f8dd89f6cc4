"""Moving form values between nested JSON (drafts, the API) and flat form data (WTForms)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from wtforms import Field, FieldList, Form, FormField

from workflows.forms.rows import Rows

SKIPPED = {"csrf_token", "submit"}


class FormData(dict[str, list[str]]):
    """Flat form data (name → its values), what WTForms reads from a post."""

    def getlist(self, key: str) -> list[str]:
        return self.get(key, [])

    def add(self, key: str, value: str) -> None:
        self.setdefault(key, []).append(value)


def flatten(values: dict[str, Any] | None, prefix: str = "") -> FormData:
    """{"rows": [{"score": 3}]} → rows-0-score=3, as WTForms names nested fields."""
    flat = FormData()

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{name}-{key}" if name else str(key))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, inner in enumerate(value):
                walk(inner, f"{name}-{index}")
        elif isinstance(value, list):
            for inner in value:
                flat.add(name, _text(inner))
        elif isinstance(value, bool):
            if value:
                flat.add(name, "y")
        elif value is not None:
            flat.add(name, _text(value))

    walk(values or {}, prefix)
    return flat


def _text(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def raw_values(form: Form) -> dict[str, Any]:
    """What the user typed, field by field (for drafts: invalid input is kept as typed)."""
    out: dict[str, Any] = {}
    for field in form:
        if field.short_name in SKIPPED:
            continue
        if isinstance(field, FormField):
            out[field.short_name] = raw_values(field.form)
        elif isinstance(field, Rows) and not field.built:
            out[field.short_name] = [
                {name: _raw_value(*cell) for name, cell in row.raw.items() if name not in SKIPPED}
                for row in field.results()
            ]
        elif isinstance(field, FieldList):
            out[field.short_name] = [
                raw_values(e.form) if isinstance(e, FormField) else _raw(e) for e in field.entries
            ]
        else:
            out[field.short_name] = _raw(field)
    return out


def _raw(field: Field) -> Any:
    return _raw_value(field.type, field.raw_data, field.data)


def _raw_value(kind: str, raw_data: list[Any] | None, data: Any) -> Any:
    if kind == "BooleanField":
        return bool(data)
    if raw_data:
        return raw_data if kind == "SelectMultipleField" else raw_data[0]
    return _plain(data)


def clean_values(form: Form) -> dict[str, Any]:
    """The validated data as JSON-able values (Decimals and dates as text)."""
    out: dict[str, Any] = {}
    for field in form:
        if field.short_name in SKIPPED:
            continue
        if isinstance(field, FormField):
            out[field.short_name] = clean_values(field.form)
        elif isinstance(field, Rows) and not field.built:
            out[field.short_name] = [
                {name: _plain(value) for name, value in row.items() if name not in SKIPPED}
                for row in field.data
            ]
        elif isinstance(field, FieldList):
            out[field.short_name] = [
                clean_values(e.form) if isinstance(e, FormField) else _plain(e.data) for e in field.entries
            ]
        else:
            out[field.short_name] = _plain(field.data)
    return out


def field_errors(form: Form) -> dict[str, list[str]]:
    """Errors keyed by the flat field name (rows-0-score), messages as text."""
    errors: dict[str, list[str]] = {}

    def walk(f: Field) -> None:
        if isinstance(f, Rows) and not f.built:
            errors.update({name: [str(e) for e in messages] for name, messages in f.error_names().items()})
            own = [str(e) for e in f.errors if not isinstance(e, dict)]  # the list's own validators
            if own:
                errors[f.name] = own
        elif isinstance(f, FormField):
            for inner in f.form:
                walk(inner)
        elif isinstance(f, FieldList):
            for entry in f.entries:
                walk(entry)
        elif f.errors:
            errors[f.name] = [str(e) for e in f.errors]

    for field in form:
        walk(field)
    for message in getattr(form, "form_errors", []) or []:
        errors.setdefault("", []).append(str(message))
    return errors
