"""A half-year published, then fraud found at the year-end verification: the scenario of the published-
results tests (domain and web), driven through the rounds' verbs alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from models.db import db
from models.evaluation import EvaluationRound, RoundKind
from models.org import OrgKind, OrgUnit
from models.scheme import Indicator, SchemeYear
from tests.domain.lookup import user
from webapp.domain.results import queries as results
from webapp.domain.rounds import operations as rounds

OPENED_AT = datetime(2012, 6, 1, 2, 0, tzinfo=UTC)
PUBLISHED_AT = datetime(2012, 7, 10, 2, 0, tzinfo=UTC)
APPROVED_AT = datetime(2013, 3, 20, 2, 30, tzinfo=UTC)
STEP = Decimal("0.5")  # in the half-year the n-th city (0-based) loses n × STEP: ranks 1 … 14


def owners(year: SchemeYear) -> list[OrgUnit]:
    ids = set(db.session.scalars(select(Indicator.owner_id).where(Indicator.scheme_year_id == year.id)))
    return [
        o
        for o in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT))
        if o.id in ids
    ]


def deducted_indicator(year: SchemeYear) -> Indicator:
    """The indicator the half-year's deductions fall on."""
    return next(i for i in year.indicators() if i.weight >= 14 * STEP)


def fraud_indicator(year: SchemeYear) -> Indicator:
    """An indicator worth more than the half-year's spread, so fraud on it moves a city to the bottom."""
    deducted = deducted_indicator(year)
    return next(i for i in year.indicators() if i.weight > 14 * STEP and i.id != deducted.id)


def score_round(year: SchemeYear, round_: EvaluationRound, lost: dict[tuple[str, str], Decimal]) -> None:
    """Every department scores full marks but for the points `lost` by (indicator code, city code)."""
    cities = results.cities()
    for department in owners(year):
        rows = []
        for ind in year.indicators():
            if ind.owner_id != department.id:
                continue
            for city in cities:
                off = lost.get((ind.code, city.code), Decimal(0))
                rows.append(
                    {
                        "code": ind.code,
                        "city": city.short_name,
                        "score": str(ind.weight - off),
                        "reason": "进度滞后" if off else "",
                    }
                )
        rounds.submit_scores(round_, department, rows, user(department.code), round_.opened_at)


def no_advice() -> list[dict]:
    """The feedback grid with "no rectification advice" chosen for every city."""
    return [{"city": c.short_name, "advice": "", "no_advice": True} for c in results.cities()]


def publish_half_year(year: SchemeYear) -> EvaluationRound:
    """A half-year round with 14 distinct totals, approved and published."""
    round_ = rounds.open_round(
        year, RoundKind.HALF_YEAR, date(2012, 6, 20), date(2012, 6, 28), user("office"), OPENED_AT
    )
    code = deducted_indicator(year).code
    score_round(year, round_, {(code, c.code): n * STEP for n, c in enumerate(results.cities()) if n})
    rounds.approve_round(round_, user("leader"), PUBLISHED_AT)
    rounds.publish_round(round_, no_advice(), user("office"), PUBLISHED_AT)
    return round_


def approve_the_year(year: SchemeYear, fraud: tuple[Indicator, OrgUnit] | None) -> None:
    """The year-end round at full marks, verified (with the one fraud finding, if any), and approved."""
    round_ = rounds.open_round(
        year, RoundKind.YEAR_END, date(2012, 12, 20), date(2012, 12, 28), user("office"), PUBLISHED_AT
    )
    score_round(year, round_, {})
    for department in owners(year):
        rows = [
            {
                "code": ind.code,
                "city": city.short_name,
                "result": "fraud"
                if fraud and (ind.id, city.id) == (fraud[0].id, fraud[1].id)
                else "verified",
                "note": "",
            }
            for ind in year.indicators()
            if ind.owner_id == department.id
            for city in results.cities()
        ]
        rounds.record_verification(year, department, rows, user(department.code), APPROVED_AT)
    rounds.propose_awards(year, [], 3, "", user("office"))
    rounds.approve_year(year, user("leader"), APPROVED_AT)
