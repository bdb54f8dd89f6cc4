"""JSON Schema (2020-12) for a WTForms form, so the API and the web share one definition."""

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

SKIPPED = {"csrf_token", "submit"}


def _field_schema(field: Field) -> dict[str, Any]:
    if isinstance(field, FormField):
        return form_schema(field.form)
    if isinstance(field, FieldList):
        entry = field.append_entry() if not field.entries else field.entries[0]
        schema: dict[str, Any] = {"type": "array", "items": _field_schema(entry)}
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
    elif isinstance(field, DateTimeField):
        schema.update(type="string", format="date-time")
    elif isinstance(field, DateField):
        schema.update(type="string", format="date")
    elif isinstance(field, SelectMultipleField):
        schema.update(type="array", items={"enum": [value for value, _label in _choices(field)]})
    elif isinstance(field, SelectField):
        schema.update(type="string", enum=[value for value, _label in _choices(field)])
        schema["x-labels"] = dict(_choices(field))
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


def _choices(field: SelectField) -> list[tuple[str, str]]:
    out = []
    for choice in field.choices or []:
        value, label = (choice.value, choice.label) if hasattr(choice, "value") else (choice[0], choice[1])
        out.append((str(value), str(label)))
    return out


def _required(field: Field) -> bool:
    return any(isinstance(v, DataRequired | InputRequired) for v in field.validators) and not any(
        isinstance(v, Optional) for v in field.validators
    )


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
    schema = form_schema(form_class())
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
