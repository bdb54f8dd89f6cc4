"""Domain handlers for messages a process throws and nothing in it catches (e.g. a deadline reminder).

BPMN decides when; the handler registered under the message name writes the tables (flush only).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.workflow import ProcessInstance

EventHandler = Callable[["ProcessInstance", dict[str, Any], datetime], None]
HANDLERS: dict[str, EventHandler] = {}


def on(name: str) -> Callable[[EventHandler], EventHandler]:
    def register(handler: EventHandler) -> EventHandler:
        HANDLERS[name] = handler
        return handler

    return register


def dispatch(events: list[tuple[ProcessInstance, str, dict[str, Any]]], now: datetime) -> list[str]:
    """Run the handler of each (instance that threw it, name, payload); returns the names that had
    none (kept in the audit record)."""
    unhandled = []
    for instance, name, payload in events:
        handler = HANDLERS.get(name)
        if handler is None:
            unhandled.append(name)
        else:
            handler(instance, payload, now)
    return unhandled
