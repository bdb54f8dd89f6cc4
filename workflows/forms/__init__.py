"""The forms user tasks name by their formKey: one WTForms definition per key serves the web page,
the API's JSON Schema and validation alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wtforms import Form, SelectChoice

# A built task form, and one choice of its select fields (value, label), for the adapters that set
# a form's choices and read its fields: the domain names forms through here, never WTForms itself.
TaskForm = Form
Choice = SelectChoice

if TYPE_CHECKING:
    from models.org import User
    from models.workflow import InboxTask, ProcessInstance


@dataclass
class TaskContext:
    """What a form's handler may use: the task row, its instance, the acting user and the time.

    One context serves a whole request (building, checking and handling the form), so what the
    definition reads from the tables once (the year's indicators, the cities) it keeps in `memo`.
    """

    task: InboxTask
    instance: ProcessInstance
    user: User
    now: datetime
    memo: dict[str, Any] = field(default_factory=dict)

    def remember(self, key: str, load: Callable[[], Any]) -> Any:
        """`load()` the first time `key` is asked for in this request, the same value afterwards."""
        if key not in self.memo:
            self.memo[key] = load()
        return self.memo[key]


Handler = Callable[[TaskContext, dict[str, Any]], dict[str, Any] | None]
Prefill = Callable[[TaskContext], dict[str, Any]]
Setup = Callable[[Form, TaskContext], None]
Check = Callable[[Form, TaskContext], dict[str, list[str]]]
Context = Callable[[TaskContext], dict[str, Any]]


@dataclass(frozen=True)
class FormDefinition:
    key: str
    form_class: type[Form]
    # Values (by field name) handed to the workflow as routing data, e.g. ("decision",).
    routing: tuple[str, ...] = ()
    # The names the handler adds to the routing data (what later steps branch or fan out over).
    provides: tuple[str, ...] = ()
    # Writes the domain records for a submission (flush only) and may return more routing values.
    handler: Handler | None = None
    # Initial values for a form that has no draft yet, from the domain tables.
    prefill: Prefill | None = None
    # Adjusts a built form to its task (choices that depend on the year, …).
    setup: Setup | None = None
    # Checks that need the database, run with the form's own validators (even when some fail, so every
    # error comes back at once; `binding.validate` keeps a failed field's own message): {field or "": [messages]}.
    check: Check | None = None
    # Read-only material shown above the form (a template under templates/tasks/context/) and its data.
    context: Context | None = None
    template: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # What the form asks, for people (a lazy translation): how the modeler names a form no task uses yet.
    title: str = ""


REGISTRY: dict[str, FormDefinition] = {}


def register(definition: FormDefinition) -> FormDefinition:
    existing = REGISTRY.get(definition.key)
    if existing is not None and existing.form_class is not definition.form_class:
        raise ValueError(f"form key {definition.key!r} is already registered")
    REGISTRY[definition.key] = definition
    return definition


def get(key: str) -> FormDefinition:
    try:
        return REGISTRY[key]
    except KeyError:
        raise LookupError(f"no form is registered under the key {key!r}") from None


def known_keys() -> set[str]:
    return set(REGISTRY)


def routed_names(keys: set[str] | None = None) -> set[str]:
    """The names the forms under these keys (all, by default) hand to the workflow."""
    found: set[str] = set()
    for key, definition in REGISTRY.items():
        if keys is None or key in keys:
            found.update(definition.routing, definition.provides)
    return found


from workflows.forms import generic  # noqa: E402,F401  (registers the built-in forms)
