"""Organisations and users as the directory pages show them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.db import db
from models.org import OrgKind, OrgUnit, User


def units_by_kind() -> dict[OrgKind, list[OrgUnit]]:
    """The top-level organisations grouped by kind, in the kinds' order."""
    units = db.session.scalars(
        select(OrgUnit)
        .where(OrgUnit.parent_id.is_(None))
        .order_by(OrgUnit.kind, OrgUnit.sort_order, OrgUnit.code)
    ).all()
    by_kind: dict[OrgKind, list[OrgUnit]] = {}
    for unit in units:
        by_kind.setdefault(unit.kind, []).append(unit)
    return {kind: by_kind[kind] for kind in OrgKind if kind in by_kind}


def members(unit: OrgUnit) -> list[User]:
    """The unit's users with their roles."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.org_id == unit.id)
            .order_by(User.username)
            .options(selectinload(User.role_rows))
        )
    )


def all_users() -> list[User]:
    """Every account with its organisation and roles, by organisation."""
    return list(
        db.session.scalars(
            select(User)
            .join(User.org)
            .order_by(OrgUnit.kind, OrgUnit.sort_order, User.username)
            .options(selectinload(User.org), selectinload(User.role_rows))
        )
    )


def all_units() -> list[OrgUnit]:
    """Every organisation (counterpart departments too), by kind and in their usual order."""
    return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.kind, OrgUnit.sort_order, OrgUnit.code)))
