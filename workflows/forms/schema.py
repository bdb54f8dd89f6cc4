"""JSON Schema (2020-12) for a WTForms form, so the API and the web share one definition.

`json_schema(FormClass)` describes a form in general; `task_schema(form)` describes one built form,
with the choices its task's setup gave it (the experts of the year, the key points, …)."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from workflows.forms.rows import Rows

SKIPPED = {"csrf_token", "submit"}


def _field_schema(field: Field) -> dict[str, Any]:
    if isinstance(field, FormField):
        return form_schema(field.form)
    if isinstance(field, Rows):  # a grid: one row form describes every row (built fresh, cheaply)
        schema: dict[str, Any] = {"type": "array", "items": form_schema(field.form_class())}
        if field.label and field.label.text:
            schema["title"] = str(field.label.text)
        return schema
    if isinstance(field, FieldList):
        entry = field.append_entry() if not field.entries else field.entries[0]
        schema = {"type": "array", "items": _field_schema(entry)}
        if field.label and field.label.text:
            schema["title"] = str(field.label.text)
        if field.min_entries:
            schema["minItems"] = field.min_entries
        if field.max_entries:
            schema["maxItems"] = field.max_entries
        return schema
    schema = {"title": str(field.label.text)}
    if field.description:
        schema["description"] = str(field.description)
    if isinstance(field, BooleanField):
        schema["type"] = "boolean"
    elif isinstance(field, IntegerField):
        schema["type"] = "integer"
    elif isinstance(field, DecimalField | FloatField):
        schema["type"] = ["number", "string"]
        schema["format"] = "decimal"
    elif isinstance(field, DateField):  # before DateTimeField, which it extends: YYYY-MM-DD only
        schema.update(type="string", format="date")
    elif isinstance(field, DateTimeField):
        schema.update(type="string", format="date-time")
    elif isinstance(field, SelectMultipleField):
        choices = _choices(field, blank=False)
        schema.update(type="array", items=_enum(choices), uniqueItems=True)
        if _required(field):
            schema["minItems"] = 1
    elif isinstance(field, SelectField):
        schema.update(
            type="string", **_enum(_choices(field, blank=not _required(field) and _optional(field)))
        )
    else:
        schema["type"] = "string"
    for v in field.validators:
        if isinstance(v, Length):
            if v.min is not None and v.min > 0:
                schema["minLength"] = v.min
            if v.max is not None and v.max >= 0:
                schema["maxLength"] = v.max
        elif isinstance(v, NumberRange):
            if v.min is not None:
                schema["minimum"] = float(v.min) if not isinstance(v.min, int) else v.min
            if v.max is not None:
                schema["maximum"] = float(v.max) if not isinstance(v.max, int) else v.max
    return schema


def _choices(field: SelectField, blank: bool = True) -> list[tuple[str, str]]:
    """The field's (value, label) choices; without the empty "—" placeholder unless `blank`."""
    out = []
    for choice in field.choices or []:
        value, label = (choice.value, choice.label) if hasattr(choice, "value") else (choice[0], choice[1])
        if blank or str(value) != "":
            out.append((str(value), str(label)))
    return out


def _enum(choices: list[tuple[str, str]]) -> dict[str, Any]:
    """The values a choice takes, with their labels beside them in the same order (`x-enumNames`, as
    react-jsonschema-form reads them) and as `oneOf` const/title pairs (standard JSON Schema)."""
    return {
        "enum": [value for value, _label in choices],
        "x-enumNames": [label for _value, label in choices],
        "oneOf": [{"const": value, "title": label} for value, label in choices],
    }


def _optional(field: Field) -> bool:
    return any(isinstance(v, Optional) for v in field.validators)


def _required(field: Field) -> bool:
    return any(isinstance(v, DataRequired | InputRequired) for v in field.validators) and not _optional(field)


def form_schema(form: Form) -> dict[str, Any]:
    properties, required = {}, []
    for field in form:
        if field.name.split("-")[-1] in SKIPPED:
            continue
        name = field.short_name
        properties[name] = _field_schema(field)
        if not isinstance(field, FormField | FieldList) and _required(field):
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def json_schema(form_class: type[Form]) -> dict[str, Any]:
    return task_schema(form_class())


def task_schema(form: Form) -> dict[str, Any]:
    """The schema of a built form: its select fields offer the choices its task gave them."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **form_schema(form)}
