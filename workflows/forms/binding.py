"""A task's form bound to its data: built from what was submitted, the saved draft or the form's
prefill, then validated by its own validators and its definition's database checks. The task verbs
call this; they never touch WTForms themselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import Form

from workflows.forms import FormDefinition, TaskContext
from workflows.forms.values import FormData, field_errors, flatten


def formdata(data: Mapping[str, Any] | None) -> FormData:
    """Web posts arrive flat (name → values, with `getlist`), the API nested (JSON): both become flat
    form data."""
    if data is not None and hasattr(data, "getlist"):
        return FormData({key: list(data.getlist(key)) for key in data})
    return flatten(dict(data or {}))


def build(
    definition: FormDefinition, ctx: TaskContext, submitted: FormData | None, draft: dict[str, Any] | None
) -> Form:
    if submitted is not None:
        form = definition.form_class(formdata=submitted)
    elif draft is not None:
        form = definition.form_class(formdata=flatten(draft))
    elif definition.prefill is not None:
        form = definition.form_class(data=definition.prefill(ctx))
    else:
        form = definition.form_class()
    if definition.setup is not None:
        definition.setup(form, ctx)
    return form


def validate(definition: FormDefinition, form: Form, ctx: TaskContext) -> dict[str, list[str]]:
    """The form's own validators, then the definition's database checks; {} when all is well."""
    valid = form.validate()
    errors = field_errors(form) if not valid else {}
    if valid and definition.check is not None:
        for name, messages in definition.check(form, ctx).items():
            errors.setdefault(name, []).extend(messages)
            field = getattr(form, name, None) if name else None
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, *messages]
    return errors
