"""Notifications to users: fanned out to every user of an org and role when the event happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.db import db
from models.formation import Notification
from models.org import OrgUnit, Role, User, UserRole
from models.workflow import ProcessInstance
from workflows import events


def notify(users: list[User], kind: str, text: str, link: str = "", now: datetime | None = None) -> int:
    for user in users:
        db.session.add(
            Notification(
                user_id=user.id, kind=kind, text=text, link=link, **({"created_at": now} if now else {})
            )
        )
    db.session.flush()
    return len(users)


def users_of(org_code: str | None = None, role: Role | None = None) -> list[User]:
    query = select(User).where(User.active.is_(True))
    if org_code:
        query = query.join(User.org).where(OrgUnit.code == org_code)
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    return list(db.session.scalars(query.order_by(User.id)))


@events.on("reminder")
def remind(instance: ProcessInstance, payload: dict[str, Any], now: datetime) -> None:
    """A deadline passed with the task still open: tell the org's users (and, through the inbox, the office)."""
    role = Role(payload["role"]) if payload.get("role") else None
    text = str(payload.get("text") or "")
    notify(users_of(payload.get("org"), role), "reminder", text, str(payload.get("link") or "/inbox/"), now)
