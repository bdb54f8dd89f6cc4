"""The one place where the domain plugs into the process layer, at start-up: the form-key handlers
of every phase's user tasks, the handlers of the messages processes throw, and who is told when new
tasks arrive. `create_app` calls `register_all()`; nothing registers itself on import."""

from __future__ import annotations

from webapp.domain import notifications
from webapp.domain.rounds import adapters as rounds
from webapp.domain.system import adapters as system
from workflows import events, forms


def register_all() -> None:
    for definition in (*system.FORMS, *rounds.FORMS):
        forms.register(definition)
    events.on("reminder")(notifications.remind)
    events.subscribe(events.TASKS_ARRIVED, notifications.notify_arrivals)
