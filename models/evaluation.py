"""The evaluation rounds: self-reports, scores, year-end verification, and approved results."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import JSONText, Model, UTCDateTime, db, enum_column, utcnow
from models.i18n import gettext
from models.i18n import lazy_gettext as _l
from models.org import OVERSIGHT_ROLES, OrgUnit, Role, User
from models.scheme import Indicator


class RoundKind(enum.StrEnum):
    HALF_YEAR = "half_year"
    Q3 = "q3"
    YEAR_END = "year_end"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(ROUND_TITLES[self])


ROUND_TITLES = {
    RoundKind.HALF_YEAR: _l("Half-year evaluation"),
    RoundKind.Q3: _l("Third-quarter evaluation"),
    RoundKind.YEAR_END: _l("Year-end evaluation"),
}


class RoundStatus(enum.StrEnum):
    OPEN = "open"  # cities report, departments score, the office reviews
    APPROVED = "approved"  # the leadership approved the results
    PUBLISHED = "published"  # every participant sees them

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(ROUND_STATUS_TITLES[self])


ROUND_STATUS_TITLES = {
    RoundStatus.OPEN: _l("In progress"),
    RoundStatus.APPROVED: _l("Approved"),
    RoundStatus.PUBLISHED: _l("Published"),
}


class EvaluationRound(Model):
    __tablename__ = "evaluation_round"
    __table_args__ = (UniqueConstraint("scheme_year_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RoundKind] = mapped_column(enum_column(RoundKind, "round_kind"))
    status: Mapped[RoundStatus] = mapped_column(
        enum_column(RoundStatus, "round_status"), default=RoundStatus.OPEN
    )
    report_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    score_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the approved results (totals, ranks, dimension scores, lost points), kept as approved; once the
    # round is published they change only with a correction, and equal its latest publication's
    results: Mapped[dict | None] = mapped_column(JSONText)

    publications: Mapped[list[RoundPublication]] = relationship(
        back_populates="round",
        order_by="RoundPublication.version",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def results_visible_to(self, user: User) -> bool:
        """Approved results are for the office and the leadership; published ones for every participant."""
        if self.results is None:
            return False
        return self.status == RoundStatus.PUBLISHED or user.is_insider()

    def can_report(self, user: User, city: OrgUnit) -> bool:
        """A city's users report for their city while the round is open."""
        return self.status == RoundStatus.OPEN and user.has_role(Role.CITY) and user.org_id == city.id

    def can_score(self, user: User, department: OrgUnit) -> bool:
        """A department's users score its indicators while the round is open."""
        return (
            self.status == RoundStatus.OPEN
            and user.has_role(Role.DEPARTMENT)
            and user.org_id == department.id
        )

    @classmethod
    def find(cls, scheme_year_id: int, kind: RoundKind) -> EvaluationRound | None:
        return db.session.scalar(select(cls).where(cls.scheme_year_id == scheme_year_id, cls.kind == kind))


class PublicationKind(enum.StrEnum):
    PUBLICATION = "publication"  # what the office published
    CORRECTION = "correction"  # a later change to published figures (e.g. fraud found at year end)

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(PUBLICATION_KIND_TITLES[self])


PUBLICATION_KIND_TITLES = {
    PublicationKind.PUBLICATION: _l("Publication"),
    PublicationKind.CORRECTION: _l("Correction"),
}


class RoundPublication(Model):
    """One published version of a round's results, frozen as published: version 1 when the office
    publishes the round, a correction for each later change of its figures, with the reason.

    `reason` is an English msgid rendered with `reason_params` in the reader's language (`reason_text`);
    `cities` are the cities whose figures or rank differ from the version before.
    """

    __tablename__ = "round_publication"
    __table_args__ = (
        UniqueConstraint("round_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PublicationKind] = mapped_column(enum_column(PublicationKind, "publication_kind"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    results: Mapped[dict] = mapped_column(JSONText)
    reason: Mapped[str] = mapped_column(Text, default="")
    reason_params: Mapped[dict | None] = mapped_column(JSONText)
    cities: Mapped[list] = mapped_column(JSONText, default=list)

    round: Mapped[EvaluationRound] = relationship(back_populates="publications")

    @property
    def reason_text(self) -> str:
        """The reason in the current language ("" for a first publication)."""
        if not self.reason or self.reason_params is None:
            return self.reason
        try:
            return gettext(self.reason, **self.reason_params)
        except (KeyError, ValueError, TypeError):  # a msgid whose placeholders changed since it was stored
            return self.reason


class SubmissionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(
            {SubmissionStatus.SUBMITTED: _l("Submitted"), SubmissionStatus.RETURNED: _l("Returned")}[self]
        )


class Submission(Model):
    """A city's self-report or a department's score sheet in a round (who, when, late, returned)."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("round_id", "org_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(16))  # self_report | scores | verification
    status: Mapped[SubmissionStatus] = mapped_column(enum_column(SubmissionStatus, "submission_status"))
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    late: Mapped[bool] = mapped_column(default=False)
    return_comment: Mapped[str] = mapped_column(Text, default="")

    org: Mapped[OrgUnit] = relationship()


class SelfReportItem(Model):
    """A city's completion of one indicator in a round (自评)."""

    __tablename__ = "self_report_item"
    __table_args__ = (UniqueConstraint("round_id", "city_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    completion: Mapped[str] = mapped_column(String(200))
    narrative: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Score(Model):
    """A department's score for one city on one indicator in a round; never above the weight."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("round_id", "indicator_id", "city_id"),
        CheckConstraint("score >= 0", name="score_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    score: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    reason: Mapped[str] = mapped_column(Text, default="")
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # how often it was changed after its first submission (the office's review flags it)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    first_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))

    indicator: Mapped[Indicator] = relationship()


class VerificationResult(enum.StrEnum):
    VERIFIED = "verified"
    DISCREPANCY = "discrepancy"
    FRAUD = "fraud"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(VERIFICATION_TITLES[self])


VERIFICATION_TITLES = {
    VerificationResult.VERIFIED: _l("Verified"),
    VerificationResult.DISCREPANCY: _l("Discrepancy"),
    VerificationResult.FRAUD: _l("Fraud"),
}


class Verification(Model):
    """Year-end on-site verification (实地察访核验) of one city's indicator; fraud zeroes it for the year."""

    __tablename__ = "verification"
    __table_args__ = (UniqueConstraint("scheme_year_id", "indicator_id", "city_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    city_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    result: Mapped[VerificationResult] = mapped_column(enum_column(VerificationResult, "verification_result"))
    note: Mapped[str] = mapped_column(Text, default="")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnnualResult(Model):
    """A year's approved annual results with the commendation proposal; published once approved."""

    __tablename__ = "annual_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), unique=True)
    award_key_points: Mapped[list] = mapped_column(JSONText, default=list)  # key point numbers designated
    award_top_n: Mapped[int] = mapped_column(Integer, default=3)
    proposal: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[dict | None] = mapped_column(JSONText)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def results_visible_to(self, user: User) -> bool:
        """Approved annual results are for the insiders; published ones for every participant."""
        if self.results is None:
            return False
        return self.published_at is not None or user.is_insider()


class CityFeedback(Model):
    """The office's rectification advice (整改意见) to a city for a round, or for the year (round None)."""

    __tablename__ = "city_feedback"
    __table_args__ = (UniqueConstraint("scheme_year_id", "round_kind", "city_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_year_id: Mapped[int] = mapped_column(ForeignKey("scheme_year.id", ondelete="CASCADE"), index=True)
    round_kind: Mapped[str] = mapped_column(String(16))  # half_year | q3 | year_end | annual
    city_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    advice: Mapped[str] = mapped_column(Text, default="")
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Evidence(Model):
    """A file backing a city's self-report or a department's verification of one indicator.

    The bytes live outside the web root (instance/evidence/, named by their SHA-256) and are served
    only through a view that checks `can_view`.
    """

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the uploading organisation
    kind: Mapped[str] = mapped_column(String(16))  # self_report | verification
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    task_guid: Mapped[str] = mapped_column(String(36), default="")

    indicator: Mapped[Indicator] = relationship()
    city: Mapped[OrgUnit] = relationship(foreign_keys=[city_id])
    org: Mapped[OrgUnit] = relationship(foreign_keys=[org_id])

    def can_view(self, user: User) -> bool:
        """The uploading organisation, the indicator's departments, and the office, leadership and admins."""
        if user.has_any_role(OVERSIGHT_ROLES):
            return True
        if user.org.root() is self.org.root():
            return True
        owners = {self.indicator.owner_id, *(o.id for o in self.indicator.co_owners)}
        return user.org_id in owners
