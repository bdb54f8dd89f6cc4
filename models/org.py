"""Organisation units, users, their roles, and login attempts."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models.db import Model, UTCDateTime, db, enum_column, utcnow
from models.i18n import lazy_gettext as _l


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
    # Rotated on password change so that every other session of the user ends.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_hex(16))
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
        return self.session_token

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
        """A new password ends every other session; a temporary one (an administrator's) must be
        replaced by the user at their next sign-in."""
        self.password_hash = password_hash or generate_password_hash(password)
        self.end_sessions()
        self.password_changed_at = utcnow()
        self.must_change_password = temporary

    def end_sessions(self) -> None:
        """Sign the user out everywhere: a session names the token, so a new token ends them all."""
        self.session_token = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def by_username(cls, username: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.username == username))

    @classmethod
    def by_session_token(cls, token: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.session_token == token))


class LoginAttempt(Model):
    """One password check; failures within a window slow the account and the address down."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ApiToken(Model):
    """A bearer token for the task API; only its hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
