"""Organisation units, users, their roles, and login attempts."""

from __future__ import annotations

import enum
import functools
import secrets
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models.db import Model, UTCDateTime, db, enum_column, utcnow
from models.i18n import lazy_gettext as _l

# werkzeug's method for new password hashes: scrypt at its default cost (N=2**15, r=8, p=1, about 0.1 s
# here). A stored hash names its own parameters, so checking it always costs what making it did. The
# test suite, which signs in thousands of times, makes its hashes cheaper (tests/conftest.py).
PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method name, not a password)


def hash_password(password: str) -> str:
    """A salted hash of the password, made with `PASSWORD_HASH_METHOD`."""
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def check_password_of_nobody(password: str) -> None:
    """Spend on a password with no account the time a real check takes, so that a wrong username
    answers no faster than a wrong password."""
    check_password_hash(_nobody_hash(PASSWORD_HASH_METHOD), password)


@functools.cache
def _nobody_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


class OrgKind(enum.StrEnum):
    LEADERSHIP = "leadership"
    OFFICE = "office"
    DEPARTMENT = "department"
    CITY = "city"
    COUNTERPART = "counterpart"  # a city's counterpart department (承接部门)
    EXPERT = "expert"
    THIRD_PARTY = "third_party"
    SYSTEM = "system"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(ORG_KIND_TITLES[self])


ORG_KIND_TITLES = {
    OrgKind.LEADERSHIP: _l("Leadership group"),
    OrgKind.OFFICE: _l("Performance office"),
    OrgKind.DEPARTMENT: _l("Evaluating department"),
    OrgKind.CITY: _l("City government"),
    OrgKind.COUNTERPART: _l("City counterpart department"),
    OrgKind.EXPERT: _l("Expert panel"),
    OrgKind.THIRD_PARTY: _l("Third-party evaluator"),
    OrgKind.SYSTEM: _l("System administration"),
}


class Role(enum.StrEnum):
    """Role codes; BPMN lanes are named by these."""

    LEADERSHIP = "leadership"
    OFFICE = "office"
    DEPARTMENT = "department"
    CITY = "city"
    EXPERT = "expert"
    THIRD_PARTY = "third_party"
    ADMIN = "admin"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(ROLE_TITLES[self])


ROLE_TITLES = {
    Role.LEADERSHIP: _l("Leadership group"),
    Role.OFFICE: _l("Performance office"),
    Role.DEPARTMENT: _l("Evaluating department"),
    Role.CITY: _l("City"),
    Role.EXPERT: _l("Expert"),
    Role.THIRD_PARTY: _l("Third-party evaluator"),
    Role.ADMIN: _l("System administrator"),
}

# Roles whose holders oversee every organisation's pages, not only their own.
OVERSIGHT_ROLES = frozenset({Role.LEADERSHIP, Role.OFFICE, Role.ADMIN})


# Who manages processes (starts years, opens phases early, retries incidents, reminds).
PROCESS_MANAGERS = (Role.OFFICE, Role.ADMIN)

# The organisations a role's holder may belong to: a department's role in a department, a city's in
# the city or one of its counterpart departments; an administrator anywhere.
ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.LEADERSHIP: frozenset({OrgKind.LEADERSHIP}),
    Role.OFFICE: frozenset({OrgKind.OFFICE}),
    Role.DEPARTMENT: frozenset({OrgKind.DEPARTMENT}),
    Role.CITY: frozenset({OrgKind.CITY, OrgKind.COUNTERPART}),
    Role.EXPERT: frozenset({OrgKind.EXPERT}),
    Role.THIRD_PARTY: frozenset({OrgKind.THIRD_PARTY}),
    Role.ADMIN: frozenset(OrgKind),
}


class OrgUnit(Model):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind", 32), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="OrgUnit.sort_order")
    users: Mapped[list[User]] = relationship(back_populates="org", order_by="User.username")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"

    def can_view(self, user: User) -> bool:
        """Members of one organisation (a city with its counterpart departments) see its units; oversight sees all."""
        if user.has_any_role(OVERSIGHT_ROLES):
            return True
        return self.root() is user.org.root()

    def details_visible_to(self, user: User) -> bool:
        """A city's detailed results: the city itself (and its counterparts), and the insiders."""
        return user.is_insider() or self.root() is user.org.root()

    def root(self) -> OrgUnit:
        """The top unit this one belongs to (a counterpart department's city; itself when it has no parent)."""
        unit = self
        while unit.parent is not None:
            unit = unit.parent
        return unit

    @classmethod
    def by_code(cls, code: str) -> OrgUnit | None:
        return db.session.scalar(select(cls).where(cls.code == code))


class UserRole(Model):
    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role", 32))


class User(Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # where notifications are e-mailed when SMTP is configured; none: in-app only
    email: Mapped[str | None] = mapped_column(String(254))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # set when an administrator created the account or reset its password: the user must choose
    # their own at the next sign-in before doing anything else (the API refuses them a token)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[OrgUnit] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", order_by="UserRole.id", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Flask-Login stores this at login_user; `webapp.security.sign_in` puts the key of the
        # user's new `UserSession` in its place, and the user loader reads only such keys.
        return f"user:{self.id}"

    # Domain --------------------------------------------------------------
    @property
    def roles(self) -> list[Role]:
        return [r.role for r in self.role_rows]

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def has_any_role(self, roles: Collection[Role]) -> bool:
        return any(r in roles for r in self.roles)

    def can_manage_processes(self) -> bool:
        """Start years and processes, open phases early, deliver messages, retry incidents, remind."""
        return self.has_any_role(PROCESS_MANAGERS)

    def can_administer_users(self) -> bool:
        """Create accounts, give and take roles, deactivate, reset passwords, import users."""
        return self.has_role(Role.ADMIN)

    def can_revise_processes(self) -> bool:
        """Validate and deploy BPMN definitions, prepare next year's (the administrators)."""
        return self.has_role(Role.ADMIN)

    def is_insider(self) -> bool:
        """The office, the leadership and admins: they see approved results before publication."""
        return self.has_any_role(OVERSIGHT_ROLES)

    def set_roles(self, roles: Iterable[Role | str]) -> None:
        wanted = list(dict.fromkeys(Role(r) for r in roles))
        self.role_rows = [row for row in self.role_rows if row.role in wanted]
        have = {row.role for row in self.role_rows}
        self.role_rows.extend(UserRole(role=r) for r in wanted if r not in have)

    def set_password(
        self, password: str, *, password_hash: str | None = None, temporary: bool = False
    ) -> None:
        """Store a new password's hash; a temporary one (an administrator's) must be replaced by the
        user at their next sign-in. The verbs that call this end the user's sessions and tokens
        (`webapp.domain.accounts.sessions.end_all`)."""
        self.password_hash = password_hash or hash_password(password)
        self.password_changed_at = utcnow()
        self.must_change_password = temporary

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def by_username(cls, username: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.username == username))


class LoginAttempt(Model):
    """One password check; recent failures slow an account from an address down (see
    `webapp.domain.accounts.operations.ThrottlePolicy`)."""

    __tablename__ = "login_attempt"
    # The slow-down counts one account's and one address's rows within the last minutes: each index
    # leads with the name and ends with the time, so a count reads only the window's rows.
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UserSession(Model):
    """One signed-in browser. Its cookie carries the session's key (only the key's hash is stored),
    so signing out ends this session on the server, and a password change, a deactivation or "sign
    out everywhere" ends every session of the user (`webapp.domain.accounts.sessions`)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what the account page shows so that a user tells their sessions apart
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()

    def belongs_to(self, user: User) -> bool:
        return self.user_id == user.id


class ApiToken(Model):
    """A bearer token for the task API; only its hash is stored, and its first characters (`prefix`)
    so that its owner can tell it apart on the account page."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def belongs_to(self, user: User) -> bool:
        return self.user_id == user.id
