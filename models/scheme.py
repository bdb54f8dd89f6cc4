"""Evaluation schemes, their years, and each year's indicator tree.

Every year-scoped record hangs off a SchemeYear, so several schemes (province → cities,
province → counties, city → counties) can run side by side on one deployment.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from models.db import Model, db, enum_column
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, Role, User

TOTAL_WEIGHT = Decimal(1000)
Weight = Numeric(8, 2)


class YearStatus(enum.StrEnum):
    DRAFT = "draft"  # being formed; the office edits the tiers and indicators
    APPROVED = "approved"  # frozen and published; changes only through a revision
    REVISING = "revising"  # a formal revision is open; the last approved revision stays in force
    CLOSED = "closed"

    @property
    def editable(self) -> bool:
        return self in (YearStatus.DRAFT, YearStatus.REVISING)

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(YEAR_STATUS_TITLES[self])


YEAR_STATUS_TITLES = {
    YearStatus.DRAFT: _l("Being drafted"),
    YearStatus.APPROVED: _l("Approved and in force"),
    YearStatus.REVISING: _l("Under revision"),
    YearStatus.CLOSED: _l("Closed"),
}


class Scheme(Model):
    """A standing evaluation arrangement, e.g. the province evaluating its cities."""

    __tablename__ = "scheme"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    evaluator_org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    evaluated_kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind", 32))

    evaluator_org: Mapped[OrgUnit] = relationship()
    years: Mapped[list[SchemeYear]] = relationship(back_populates="scheme", order_by="SchemeYear.year")

    @classmethod
    def by_code(cls, code: str) -> Scheme | None:
        return db.session.scalar(select(cls).where(cls.code == code))


class SchemeYear(Model):
    """One scheme's year: its rules and its indicator system."""

    __tablename__ = "scheme_year"
    __table_args__ = (
        UniqueConstraint("scheme_id", "year"),
        CheckConstraint("year BETWEEN 2000 AND 2999", name="year_range"),
        CheckConstraint(
            "process_weight >= 0 AND year_end_weight >= 0 AND ABS(process_weight + year_end_weight - 1) < 0.0001",
            name="round_weights_sum_to_one",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[YearStatus] = mapped_column(
        enum_column(YearStatus, "year_status", 16),
        default=YearStatus.DRAFT,
    )
    total_weight: Mapped[Decimal] = mapped_column(Weight, default=TOTAL_WEIGHT)
    # annual total = process × process_weight + year-end × year_end_weight (the plan: 20% / 80%)
    process_weight: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.2"))
    year_end_weight: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.8"))
    # how the half-year and third-quarter totals make the process score
    process_rule: Mapped[str] = mapped_column(String(32), default="mean")
    # a city with fraud found on any indicator of a key point is not eligible for that key point's
    # excellence award: it is left out of the key point's ranking (the plan is silent; on by default)
    fraud_bars_award: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    scheme: Mapped[Scheme] = relationship(back_populates="years")
    dimensions: Mapped[list[Dimension]] = relationship(
        back_populates="scheme_year", order_by="Dimension.number", cascade="all, delete-orphan"
    )

    @classmethod
    def find(cls, scheme: Scheme, year: int) -> SchemeYear | None:
        return db.session.scalar(select(cls).where(cls.scheme_id == scheme.id, cls.year == year))

    def can_view_system(self, user: User) -> bool:
        """Drafts are for the office, the leadership, experts and admins; approved systems for everyone."""
        if self.status != YearStatus.DRAFT:
            return True
        return user.has_any_role((Role.OFFICE, Role.LEADERSHIP, Role.EXPERT, Role.ADMIN))

    def can_edit_system(self, user: User) -> bool:
        """The office edits a draft or a system under revision; a frozen system nobody edits."""
        return self.status.editable and user.has_role(Role.OFFICE)

    def indicators(self) -> list[Indicator]:
        return list(
            db.session.scalars(
                select(Indicator)
                .where(Indicator.scheme_year_id == self.id)
                .order_by(Indicator.seq)
                .options(
                    # the results read each indicator's dimension: two small queries, not one per level
                    selectinload(Indicator.key_point)
                    .selectinload(KeyPoint.level)
                    .selectinload(Level.dimension),
                    selectinload(Indicator.owner),
                )
            )
        )


class Dimension(Model):
    """考评维度."""

    __tablename__ = "dimension"
    __table_args__ = (
        UniqueConstraint("scheme_year_id", "number"),
        UniqueConstraint("scheme_year_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))

    scheme_year: Mapped[SchemeYear] = relationship(back_populates="dimensions")
    levels: Mapped[list[Level]] = relationship(
        back_populates="dimension", order_by="Level.number", cascade="all, delete-orphan"
    )


class Level(Model):
    """考评层面; numbered through the whole year, as the plan does ((一)…(十四))."""

    __tablename__ = "level"
    __table_args__ = (
        UniqueConstraint("scheme_year_id", "number"),
        UniqueConstraint("scheme_year_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    dimension_id: Mapped[int] = mapped_column(ForeignKey("dimension.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))

    scheme_year: Mapped[SchemeYear] = relationship()
    dimension: Mapped[Dimension] = relationship(back_populates="levels")
    key_points: Mapped[list[KeyPoint]] = relationship(
        back_populates="level", order_by="KeyPoint.number", cascade="all, delete-orphan"
    )


class KeyPoint(Model):
    """考评要点; numbered 1…N through the whole year."""

    __tablename__ = "key_point"
    __table_args__ = (UniqueConstraint("scheme_year_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("level.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))

    scheme_year: Mapped[SchemeYear] = relationship()
    level: Mapped[Level] = relationship(back_populates="key_points")
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="key_point", order_by="Indicator.seq", cascade="all, delete-orphan"
    )


class IndicatorCoOwner(Model):
    __tablename__ = "indicator_co_owner"
    __table_args__ = (UniqueConstraint("indicator_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)

    org: Mapped[OrgUnit] = relationship()


class Indicator(Model):
    """考评指标: a weighted item with one lead owner department."""

    __tablename__ = "indicator"
    __table_args__ = (
        UniqueConstraint("scheme_year_id", "code"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    key_point_id: Mapped[int] = mapped_column(ForeignKey("key_point.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[Decimal] = mapped_column(Weight)
    owner_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit: Mapped[str] = mapped_column(String(32), default="")
    scoring_rule: Mapped[str] = mapped_column(Text, default="")

    scheme_year: Mapped[SchemeYear] = relationship()
    key_point: Mapped[KeyPoint] = relationship(back_populates="indicators")
    owner: Mapped[OrgUnit] = relationship()
    co_owner_rows: Mapped[list[IndicatorCoOwner]] = relationship(cascade="all, delete-orphan")

    @property
    def co_owners(self) -> list[OrgUnit]:
        return [row.org for row in self.co_owner_rows]
