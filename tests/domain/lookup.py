"""Finding the demo's users and organisations by name, and counting rows, for the verb tests."""

from __future__ import annotations

from sqlalchemy import func, select

from models.db import db
from models.org import OrgUnit, User


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def org(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
