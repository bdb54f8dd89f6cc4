"""What the role guides need from the database: the year's calendar (else the plan's months)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from models.db import db
from models.formation import Phase, YearPhase
from models.i18n import lazy_gettext as _l
from models.org import Role
from models.scheme import Scheme, SchemeYear

# One guide per role; counterpart offices hold the city role and read the city guide.
GUIDE_ROLES = [
    Role.LEADERSHIP,
    Role.OFFICE,
    Role.DEPARTMENT,
    Role.CITY,
    Role.EXPERT,
    Role.THIRD_PARTY,
    Role.ADMIN,
]
GUIDE_SUMMARIES = {
    Role.LEADERSHIP: _l("Approves the indicator system, each round's results and the annual results."),
    Role.OFFICE: _l("Runs the year: standards, the system, every round, reviews, results and feedback."),
    Role.DEPARTMENT: _l("Declares indicators, comments on the draft, scores cities and verifies on site."),
    Role.CITY: _l(
        "Cities self-report each round and receive feedback; counterpart offices comment on the draft."
    ),
    Role.EXPERT: _l("Reviews the draft indicator system when the office assigns you."),
    Role.THIRD_PARTY: _l("Reads the published indicator system and results."),
    Role.ADMIN: _l("Keeps users, roles and process definitions ready for each year."),
}
# The plan's months, shown when the year has no calendar in the database yet.
PLAN_WHEN = {
    Phase.DECLARATION: _l("January"),
    Phase.FORMATION: _l("February to the end of March"),
    Phase.HALF_YEAR: _l("June to July"),
    Phase.Q3: _l("early October"),
    Phase.YEAR_END: _l("late December to March of the next year"),
    Phase.FEEDBACK: _l("the next year, after the annual results are published"),
}


@dataclass(frozen=True)
class PhaseDates:
    phase: Phase
    opens: datetime | None
    deadline: datetime | None

    @property
    def plan(self) -> str:
        return str(PLAN_WHEN[self.phase])


def current_calendar(scheme_code: str, today: date) -> tuple[int | None, dict[Phase, PhaseDates]]:
    """The latest year up to this one whose calendar is in the database (None: show the plan's months)."""
    scheme = Scheme.by_code(scheme_code)
    rows: list[YearPhase] = []
    year = None
    if scheme is not None:
        years = db.session.scalars(
            select(SchemeYear)
            .where(
                SchemeYear.scheme_id == scheme.id,
                SchemeYear.id.in_(select(YearPhase.scheme_year_id)),
                SchemeYear.year <= today.year,
            )
            .order_by(SchemeYear.year.desc())
            .limit(1)
        ).all()
        if years:
            year = years[0].year
            rows = list(db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == years[0].id)))
    found = {r.phase: r for r in rows}
    return year, {
        p: PhaseDates(p, found[p].opens_at if p in found else None, found[p].deadline if p in found else None)
        for p in Phase
    }


def guide_role(role: Role | None) -> Role | None:
    """The guide for a user's active role (every role has one)."""
    return role if role in GUIDE_ROLES else None
