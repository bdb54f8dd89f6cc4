"""A task's form bound to its data: built from what was submitted, the saved draft or the form's
prefill, then validated by its own validators and its definition's database checks. The task verbs
call this; they never touch WTForms themselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import FieldList, Form, FormField

from workflows.forms import FormDefinition, TaskContext, inputs
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
    """The form's own validators and the definition's database checks, in one pass; {} when all is well.

    The checks run even when some fields failed, so a grid's empty cells, out-of-range scores and
    missing reasons come back together. A field that failed its own validators keeps only their
    messages (a check's rule is about a value that parsed); no message is given twice.
    """
    valid = form.validate()
    errors = field_errors(form) if not valid else {}
    if definition.check is None:
        return errors
    failed = {name for name in errors if name}
    for name, messages in definition.check(form, ctx).items():
        if name in failed:
            continue
        known = errors.setdefault(name, [])
        new = [m for m in dict.fromkeys(messages) if m not in known]
        known.extend(new)
        if not known:
            del errors[name]
        field = _field(form, name) if name and new else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *new]
    return errors


def draft_problems(form: Form) -> dict[str, list[str]]:
    """What a draft may not keep, though it keeps invalid input: text over a field's length limit (the
    same limits as a completion) or that no column can store; {} when it may be saved."""
    return inputs.size_problems(form)


def _field(form: Form, name: str) -> Any:
    """The field a flat name (deadline, rows-3-score) names, building a grid's entries when needed."""
    field = getattr(form, name, None)
    if field is not None or "-" not in name:
        return field
    head, _sep, rest = name.partition("-")
    index, _sep, inner = rest.partition("-")
    rows = getattr(form, head, None)
    if not isinstance(rows, FieldList) or not index.isdigit() or int(index) >= len(rows.entries):
        return None
    entry = rows.entries[int(index)]
    if isinstance(entry, FormField):
        return _field(entry.form, inner) if inner else None
    return entry if not inner else None
