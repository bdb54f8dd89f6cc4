"""What happens in processes, for the domain to act on, without the process layer knowing who listens:

- messages a process throws and nothing in it catches (e.g. a deadline reminder): BPMN decides
  when; the handler registered under the message name writes the tables (flush only);
- happenings of the runtime's users (`TASKS_ARRIVED`: new inbox rows), published to every
  subscriber.

Handlers and subscribers are registered at start-up, in one place (`webapp.domain.register`).
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


# New inbox rows: publish(TASKS_ARRIVED, tasks=[InboxTask…], now=datetime, cause=InboxTask | None);
# `cause` is the completed task whose step made them (a return, when it returned something).
TASKS_ARRIVED = "tasks.arrived"
Subscriber = Callable[..., object]  # what it returns is not read
SUBSCRIBERS: dict[str, list[Subscriber]] = {}


def subscribe(topic: str, subscriber: Subscriber) -> None:
    """Call `subscriber(**payload)` whenever `topic` is published (registering twice is once)."""
    listeners = SUBSCRIBERS.setdefault(topic, [])
    if subscriber not in listeners:
        listeners.append(subscriber)


def publish(topic: str, **payload: Any) -> None:
    for subscriber in SUBSCRIBERS.get(topic, []):
        subscriber(**payload)
