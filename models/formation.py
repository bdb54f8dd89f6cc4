"""Forming a year's indicator system: the calendar, the declaration call, declarations, comments,
approved revisions, and notifications to participants."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import JSONText, Model, UTCDateTime, db, enum_column, utcnow
from models.i18n import lazy_gettext as _l
from models.org import OVERSIGHT_ROLES, OrgUnit, User
from models.scheme import KeyPoint, SchemeYear


class Phase(enum.StrEnum):
    """The year's phases in the plan's order."""

    DECLARATION = "declaration"
    FORMATION = "formation"
    HALF_YEAR = "half_year"
    Q3 = "q3"
    YEAR_END = "year_end"
    FEEDBACK = "feedback"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(PHASE_TITLES[self])


PHASE_TITLES = {
    Phase.DECLARATION: _l("Indicator declaration"),
    Phase.FORMATION: _l("Forming the indicator system"),
    Phase.HALF_YEAR: _l("Half-year evaluation"),
    Phase.Q3: _l("Third-quarter evaluation"),
    Phase.YEAR_END: _l("Year-end evaluation"),
    Phase.FEEDBACK: _l("Results feedback"),
}


class YearPhase(Model):
    """When a phase of a year opens (its timer) and its deadline."""

    __tablename__ = "year_phase"
    __table_args__ = (
        UniqueConstraint("scheme_year_id", "phase"),
        CheckConstraint("deadline > opens_at", name="deadline_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    phase: Mapped[Phase] = mapped_column(enum_column(Phase, "phase"))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)


class DeclarationCall(Model):
    """The declaration standard the office publishes for a year (申报标准)."""

    __tablename__ = "declaration_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), unique=True)
    basis: Mapped[str] = mapped_column(Text)
    quantifiability: Mapped[str] = mapped_column(Text)
    decomposition: Mapped[str] = mapped_column(Text)
    rewards_penalties: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    @classmethod
    def for_year(cls, scheme_year_id: int) -> DeclarationCall | None:
        return db.session.scalar(select(cls).where(cls.scheme_year_id == scheme_year_id))


class DeclarationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(DECLARATION_STATUS_TITLES[self])


DECLARATION_STATUS_TITLES = {
    DeclarationStatus.SUBMITTED: _l("Submitted"),
    DeclarationStatus.RETURNED: _l("Returned"),
    DeclarationStatus.ACCEPTED: _l("Accepted"),
}


class Declaration(Model):
    """One department's declaration for a year; resubmissions replace its indicators."""

    __tablename__ = "declaration"
    __table_args__ = (UniqueConstraint("scheme_year_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[DeclarationStatus] = mapped_column(enum_column(DeclarationStatus, "declaration_status"))
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_comment: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[OrgUnit] = relationship()
    items: Mapped[list[DeclaredIndicator]] = relationship(
        back_populates="declaration", order_by="DeclaredIndicator.seq", cascade="all, delete-orphan"
    )

    @classmethod
    def find(cls, scheme_year_id: int, department_id: int) -> Declaration | None:
        return db.session.scalar(
            select(cls).where(cls.scheme_year_id == scheme_year_id, cls.department_id == department_id)
        )


class DeclaredIndicator(Model):
    __tablename__ = "declared_indicator"
    __table_args__ = (CheckConstraint("proposed_weight > 0", name="weight_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    # by number, not by row: the office may rebuild the tiers (Excel import) without losing declarations
    key_point_number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    proposed_weight: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    basis_document: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(32), default="")
    target: Mapped[str] = mapped_column(
        Text, default=""
    )  # the target, with per-city figures where they differ
    data_source: Mapped[str] = mapped_column(Text, default="")

    declaration: Mapped[Declaration] = relationship(back_populates="items")

    @property
    def key_point(self) -> KeyPoint | None:
        return db.session.scalar(
            select(KeyPoint).where(
                KeyPoint.scheme_year_id == self.declaration.scheme_year_id,
                KeyPoint.number == self.key_point_number,
            )
        )


class DeclarationFile(Model):
    """A file a department sends with its declaration for a year (the basis documents it cites).

    Kept by year and department, not by `Declaration` row: a department attaches files before its
    first submission, when no row exists yet, and a resubmission after a return keeps them. The bytes
    are stored as evidence is (instance/evidence/, named by their SHA-256) and served only through a
    view that checks `can_view`.
    """

    __tablename__ = "declaration_file"
    __table_args__ = (
        CheckConstraint("size > 0", name="size_positive"),
        Index("ix_declaration_file_year_department", "scheme_year_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[OrgUnit] = relationship()

    def can_view(self, user: User) -> bool:
        """The declaring department, and the office, leadership and admins who review and approve."""
        return user.has_any_role(OVERSIGHT_ROLES) or user.org_id == self.department_id


class CommentSource(enum.StrEnum):
    EXPERT = "expert"
    DEPARTMENT = "department"
    CITY = "city"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(COMMENT_SOURCE_TITLES[self])


COMMENT_SOURCE_TITLES = {
    CommentSource.EXPERT: _l("Expert"),
    CommentSource.DEPARTMENT: _l("Evaluating department"),
    CommentSource.CITY: _l("City"),
}


class Handling(enum.StrEnum):
    PENDING = "pending"
    ADOPTED = "adopted"
    PARTLY = "partly"
    NOT_ADOPTED = "not_adopted"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(HANDLING_TITLES[self])


HANDLING_TITLES = {
    Handling.PENDING: _l("Not yet handled"),
    Handling.ADOPTED: _l("Adopted"),
    Handling.PARTLY: _l("Partly adopted"),
    Handling.NOT_ADOPTED: _l("Not adopted"),
}


class SystemComment(Model):
    """A comment on the draft system (per indicator, or general), and how the office handled it."""

    __tablename__ = "system_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    indicator_code: Mapped[str] = mapped_column(String(16), default="")  # "" for a general comment
    indicator_name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[CommentSource] = mapped_column(enum_column(CommentSource, "comment_source"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    author_org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    handling: Mapped[Handling] = mapped_column(enum_column(Handling, "handling"), default=Handling.PENDING)
    handling_reason: Mapped[str] = mapped_column(Text, default="")
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    author_org: Mapped[OrgUnit] = relationship()


class SystemRevision(Model):
    """An approved version of a year's system: revision 1 is the first approval; every later one is kept."""

    __tablename__ = "system_revision"
    __table_args__ = (UniqueConstraint("scheme_year_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict] = mapped_column(JSONText)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    approved_by: Mapped[User | None] = relationship()

    @classmethod
    def latest(cls, scheme_year_id: int) -> SystemRevision | None:
        return db.session.scalar(
            select(cls).where(cls.scheme_year_id == scheme_year_id).order_by(cls.number.desc()).limit(1)
        )


__all__ = [
    "CommentSource",
    "Declaration",
    "DeclarationCall",
    "DeclarationStatus",
    "DeclaredIndicator",
    "Handling",
    "Phase",
    "SchemeYear",
    "SystemComment",
    "SystemRevision",
    "YearPhase",
]
