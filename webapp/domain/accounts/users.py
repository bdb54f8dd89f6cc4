"""Administering accounts: create a user in an organisation, give and take roles, deactivate and
reactivate, reset a password. Only administrators may; every change is audited.

A password an administrator hands over (a new account's, a reset one) is temporary: it is shown to
the administrator once, never stored in the clear, and the user must replace it at the next sign-in.
A deactivated user's sessions and API tokens stop working at once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import ROLE_ORG_KINDS, OrgUnit, Role, User, UserRole
from webapp.domain import audit, errors
from webapp.domain.accounts import sessions

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_DISPLAY_NAME = 100


def _administrators_only(actor: User) -> None:
    errors.forbid_unless(actor.can_administer_users(), _l("Only administrators manage users."))


def temporary_password() -> str:
    """A password to hand over once: 12 characters from an unambiguous alphabet."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def parse_roles(values: Iterable[str]) -> tuple[list[Role], list[str]]:
    """Role codes (or a comma-separated list of them) → roles, and the codes that are none."""
    roles, unknown = [], []
    for value in values:
        for code in re.split(r"[,，、\s]+", str(value).strip()):
            if not code:
                continue
            try:
                roles.append(Role(code))
            except ValueError:
                unknown.append(code)
    return list(dict.fromkeys(roles)), unknown


def account_problems(
    org: OrgUnit | None, roles: Iterable[Role], display_name: str, email: str | None
) -> dict[str, list[str]]:
    """An account names its person, has an address that looks like one (if any), and holds only
    roles its organisation's kind allows (a department's role in a department, …)."""
    problems: dict[str, list[str]] = {}
    if not display_name.strip():
        problems["display_name"] = [str(_l("This field is required."))]
    elif len(display_name.strip()) > MAX_DISPLAY_NAME:
        problems["display_name"] = [str(_l("At most %(n)d characters.", n=MAX_DISPLAY_NAME))]
    if email and not EMAIL.fullmatch(email.strip()):
        problems["email"] = [str(_l("This is not an e-mail address."))]
    if org is None:
        problems["org"] = [str(_l("Choose the organisation."))]
        return problems
    roles = list(roles)
    if not roles:
        problems["roles"] = [str(_l("Give the user at least one role."))]
    misplaced = [r for r in roles if org.kind not in ROLE_ORG_KINDS[r]]
    if misplaced:
        problems["roles"] = [
            str(
                _l(
                    "%(org)s cannot hold the role %(role)s.",
                    org=org.short_name,
                    role="、".join(r.title for r in misplaced),
                )
            )
        ]
    return problems


def username_problems(username: str) -> list[str]:
    if not USERNAME.fullmatch(username):
        return [
            str(
                _l(
                    "2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit."
                )
            )
        ]
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username)) is not None:
        return [str(_l("The username %(name)s is taken.", name=username))]
    return []


def _active_administrators(excluding: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.active.is_(True), UserRole.role == Role.ADMIN, User.id != excluding.id)
        )
        or 0
    )


def _keep_an_administrator(user: User, keeps_admin: bool) -> None:
    if user.has_role(Role.ADMIN) and user.active and not keeps_admin and _active_administrators(user) == 0:
        raise errors.Conflict(str(_l("The last active administrator keeps the administrator role.")))


def create_user(
    actor: User,
    *,
    username: str,
    display_name: str,
    org: OrgUnit | None,
    roles: Iterable[Role],
    email: str | None = None,
) -> tuple[User, str]:
    """A new account with a temporary password (returned, to be handed over once)."""
    _administrators_only(actor)
    username, roles = username.strip().lower(), list(roles)
    problems = account_problems(org, roles, display_name, email)
    taken = username_problems(username)
    if taken:
        problems["username"] = taken
    errors.reject(problems)
    assert org is not None  # account_problems refused an account without one
    password = temporary_password()
    user = User(
        username=username, display_name=display_name.strip(), org=org, email=(email or "").strip() or None
    )
    user.set_password(password, temporary=True)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.created",
        actor,
        detail={"username": user.username, "org": org.code, "roles": [r.value for r in roles]},
    )
    return user, password


def update_user(
    actor: User,
    user: User,
    *,
    display_name: str,
    org: OrgUnit | None,
    roles: Iterable[Role],
    email: str | None = None,
) -> User:
    """Change an account's name, address, organisation and roles (give and take)."""
    _administrators_only(actor)
    roles = list(roles)
    errors.reject(account_problems(org, roles, display_name, email))
    assert org is not None
    _keep_an_administrator(user, Role.ADMIN in roles)
    before: dict[str, Any] = {"org": user.org.code, "roles": [r.value for r in user.roles]}
    user.display_name, user.email = display_name.strip(), (email or "").strip() or None
    moved = user.org_id != org.id
    user.org = org
    user.set_roles(roles)
    if moved:  # a user who changes organisation starts afresh there
        sessions.end_sessions(user)
    db.session.flush()
    audit.record(
        "user.changed",
        actor,
        detail={
            "username": user.username,
            "before": before,
            "after": {"org": org.code, "roles": [r.value for r in roles]},
        },
    )
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    """Deactivate (every session and API token stops at once) or reactivate an account."""
    _administrators_only(actor)
    if not active and user.id == actor.id:
        raise errors.Conflict(str(_l("You cannot deactivate your own account.")))
    if user.active == active:
        return user  # twice the same click does one thing
    detail: dict[str, Any] = {"username": user.username}
    if not active:
        _keep_an_administrator(user, False)
        detail.update(sessions.end_all(user).detail())
    user.active = active
    db.session.flush()
    audit.record("user.activated" if active else "user.deactivated", actor, detail=detail)
    return user


def reset_password(actor: User, user: User) -> str:
    """A new temporary password (returned, to hand over once); the user's sessions and tokens end."""
    _administrators_only(actor)
    password = temporary_password()
    user.set_password(password, temporary=True)
    ended = sessions.end_all(user)
    audit.record("user.password_reset", actor, detail={"username": user.username, **ended.detail()})
    return password


def find_user(username: str) -> User:
    user = User.by_username(username)
    if user is None:
        raise errors.NotFound(str(_l("There is no user %(name)s.", name=username)))
    return user


def find_org(code: str | None) -> OrgUnit | None:
    return OrgUnit.by_code(code) if code else None
