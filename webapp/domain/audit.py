"""Append-only audit records, written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.db import db, utcnow
from models.org import User
from models.workflow import AuditEvent


def record(
    action: str,
    actor: User | None,
    *,
    instance_id: int | None = None,
    task_guid: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        instance_id=instance_id,
        task_guid=task_guid,
        detail=detail or {},
        at=at or utcnow(),
    )
    db.session.add(event)
    return event
