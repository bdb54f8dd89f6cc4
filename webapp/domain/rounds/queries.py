"""What the rounds read: the rows each grid shows (a city's self-report, a department's scores and
verification, the feedback), the review's completeness and anomalies, and the rules a grid's rows
must meet (the verbs enforce them; the forms show their messages beside the cells)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from models.db import db, once_per_transaction
from models.evaluation import (
    CityFeedback,
    EvaluationRound,
    RoundKind,
    Score,
    SelfReportItem,
    Submission,
    SubmissionStatus,
    Verification,
    VerificationResult,
)
from models.formation import Declaration, DeclarationStatus, DeclaredIndicator, Phase, YearPhase
from models.i18n import lazy_gettext as _l
from models.org import OrgUnit
from models.rules import scoring
from models.scheme import Indicator, KeyPoint
from webapp.domain.localtime import LOCAL
from webapp.domain.results import queries as results
from webapp.domain.system import queries as system_queries

PHASE_OF_ROUND = {
    RoundKind.HALF_YEAR: Phase.HALF_YEAR,
    RoundKind.Q3: Phase.Q3,
    RoundKind.YEAR_END: Phase.YEAR_END,
}
Row = Mapping[str, Any]
NONE = "—"  # what a grid shows for a value that does not exist (no target, no round before)


# ---------------------------------------------------------------- the year's lists


def indicator_ids(scheme_year_id: int) -> dict[str, int]:
    """Code → id of the year's indicators (what a grid's rows name), read once per transaction."""
    return once_per_transaction(
        ("indicator_ids", scheme_year_id),
        lambda: dict(
            db.session.execute(
                select(Indicator.code, Indicator.id).where(Indicator.scheme_year_id == scheme_year_id)
            )
            .tuples()
            .all()
        ),
    )


def owned_indicators(scheme_year_id: int, department: OrgUnit) -> dict[str, Indicator]:
    """The department's indicators of the year by code, in the tree's order (read once per
    transaction: a score sheet's check and its verb both ask)."""
    return once_per_transaction(
        ("owned_indicators", scheme_year_id, department.id),
        lambda: {
            i.code: i
            for i in db.session.scalars(
                select(Indicator)
                .join(KeyPoint, KeyPoint.id == Indicator.key_point_id)
                .where(Indicator.scheme_year_id == scheme_year_id, Indicator.owner_id == department.id)
                .order_by(KeyPoint.number, Indicator.seq)
            )
        },
    )


def cities_by_name() -> dict[str, OrgUnit]:
    """The cities by short name (how a grid's rows name them), read once per transaction."""
    return once_per_transaction(("cities_by_name",), lambda: {c.short_name: c for c in results.cities()})


def label(indicator: Indicator) -> str:
    return f"{indicator.name}（{system_queries.points_text(indicator.weight)}）"


def declared_targets(scheme_year_id: int) -> dict[tuple[int, str], str]:
    """The targets departments declared for their indicators: (department, indicator name) → target."""
    rows = db.session.execute(
        select(Declaration.department_id, DeclaredIndicator.name, DeclaredIndicator.target)
        .join(DeclaredIndicator, DeclaredIndicator.declaration_id == Declaration.id)
        .where(Declaration.scheme_year_id == scheme_year_id, Declaration.status == DeclarationStatus.ACCEPTED)
    ).all()
    return {(dept, name): target for dept, name, target in rows if target}


# ---------------------------------------------------------------- the rules a grid's rows meet


def _changed(message: Any) -> dict[str, list[str]]:
    return {"": [str(message)]}


def deadline_problems(report: date | None, score: date | None, now: datetime) -> dict[str, list[str]]:
    """Both deadlines are days to come."""
    today = now.astimezone(LOCAL).date()
    problems = {}
    for name, value in (("report_deadline", report), ("score_deadline", score)):
        if value is not None and value < today:
            problems[name] = [str(_l("The date must be in the future."))]
    return problems


def report_problems(indicators: Mapping[str, int], rows: Sequence[Row]) -> dict[str, list[str]]:
    """A self-report names exactly the year's indicators, each with its completion."""
    if {row.get("code") for row in rows} != set(indicators) or len(rows) != len(indicators):
        return _changed(_l("The list of indicators changed; reload the page."))
    return {
        f"rows-{n}-completion": [str(_l("This field is required."))]
        for n, row in enumerate(rows)
        if not str(row.get("completion") or "").strip()
    }


def score_problems(
    owned: Mapping[str, Indicator], cities: Mapping[str, OrgUnit], rows: Sequence[Row]
) -> dict[str, list[str]]:
    """A department's scores name each of its indicators in each city once; a score is a number from
    0 to the indicator's weight, never clamped; below full marks it needs a reason."""
    expected = {(code, city) for code in owned for city in cities}
    if {(row.get("code"), row.get("city")) for row in rows} != expected or len(rows) != len(expected):
        return _changed(_l("The list of scores changed; reload the page."))
    problems: dict[str, list[str]] = {}
    for n, row in enumerate(rows):
        ind = owned[row["code"]]

        def subject(ind: Indicator = ind, row: Row = row) -> str:  # translated only when a row needs it
            return str(_l("Indicator %(code)s, %(city)s", code=ind.code, city=cities[row["city"]].name))

        try:
            value = scoring.as_score(row.get("score", ""))
            scoring.check_score(value, ind.weight)
        except (scoring.InvalidScore, scoring.ScoreOutOfRange) as exc:
            problems.setdefault(f"rows-{n}-score", []).append(f"{subject()}: {exc}")
            continue
        if value < ind.weight and not (row.get("reason") or "").strip():
            message = str(_l("%(subject)s: give the reason for scoring below full marks.", subject=subject()))
            problems.setdefault(f"rows-{n}-reason", []).append(message)
    return problems


def verification_problems(
    owned: Mapping[str, Indicator], cities: Mapping[str, OrgUnit], rows: Sequence[Row]
) -> dict[str, list[str]]:
    """A verification names each of the department's indicators in each city once, with a known result."""
    expected = {(code, city) for code in owned for city in cities}
    if {(row.get("code"), row.get("city")) for row in rows} != expected or len(rows) != len(expected):
        return _changed(_l("The list of scores changed; reload the page."))
    known = {r.value for r in VerificationResult}
    return {
        f"rows-{n}-result": [str(_l("Not a valid choice."))]
        for n, row in enumerate(rows)
        if row.get("result") not in known
    }


# ---------------------------------------------------------------- what each grid shows


def open_round_defaults(scheme_year_id: int, kind: RoundKind, now: datetime) -> dict[str, date]:
    """Deadlines to propose when the office opens a round: a fortnight before the phase's end for the
    cities, three days before it for the departments (never in the past)."""
    phase = db.session.scalar(
        select(YearPhase).where(
            YearPhase.scheme_year_id == scheme_year_id, YearPhase.phase == PHASE_OF_ROUND[kind]
        )
    )
    today = now.astimezone(LOCAL).date()
    deadline = phase.deadline.astimezone(LOCAL).date() if phase else today + timedelta(days=30)
    report = max(today + timedelta(days=7), deadline - timedelta(days=14))
    return {"report_deadline": report, "score_deadline": max(report, deadline - timedelta(days=3))}


def tree_order(indicators: Sequence[Indicator]) -> list[Indicator]:
    """The indicators as the tree lists them: by key point (numbered through the tree), then in order."""
    return sorted(indicators, key=lambda i: (i.key_point.number, i.seq))


def previous_round(round_: EvaluationRound) -> EvaluationRound | None:
    """The round before this one in its year (none before the half-year)."""
    kinds = list(RoundKind)
    index = kinds.index(round_.kind)
    return EvaluationRound.find(round_.scheme_year_id, kinds[index - 1]) if index else None


def _reported(round_: EvaluationRound | None, city: OrgUnit) -> dict[int, SelfReportItem]:
    if round_ is None:
        return {}
    return {
        i.indicator_id: i
        for i in db.session.scalars(
            select(SelfReportItem).where(
                SelfReportItem.round_id == round_.id, SelfReportItem.city_id == city.id
            )
        )
    }


def self_report_rows(
    round_: EvaluationRound, city: OrgUnit, indicators: Sequence[Indicator]
) -> list[dict[str, Any]]:
    """Every indicator in the tree's order with its key point, declared target, unit, what the city
    reported in the round before (— when there is none) and what it reported so far."""
    items = _reported(round_, city)
    before = _reported(previous_round(round_), city)
    targets = declared_targets(round_.scheme_year_id)
    rows = []
    for ind in tree_order(indicators):
        item, previous = items.get(ind.id), before.get(ind.id)
        rows.append(
            {
                "code": ind.code,
                "indicator": f"{ind.key_point.number}. {ind.key_point.name} › {label(ind)}",
                "target": targets.get((ind.owner_id, ind.name)) or NONE,
                "unit": ind.unit or NONE,
                "previous": previous.completion if previous else NONE,
                "completion": item.completion if item else "",
                "narrative": item.narrative if item else "",
            }
        )
    return rows


def score_rows(
    round_: EvaluationRound, owned: Sequence[Indicator], cities: Sequence[OrgUnit]
) -> list[dict[str, Any]]:
    """Each owned indicator in each city: what the city reported (and any fraud), the score so far."""
    ids = [i.id for i in owned]
    scores = {
        (s.indicator_id, s.city_id): s
        for s in db.session.scalars(
            select(Score).where(Score.round_id == round_.id, Score.indicator_id.in_(ids))
        )
    }
    reported = {
        (r.indicator_id, r.city_id): r
        for r in db.session.scalars(
            select(SelfReportItem).where(
                SelfReportItem.round_id == round_.id, SelfReportItem.indicator_id.in_(ids)
            )
        )
    }
    fraud = results.fraud_pairs(round_.scheme_year_id)
    rows = []
    for ind in owned:
        for city in cities:
            s, r = scores.get((ind.id, city.id)), reported.get((ind.id, city.id))
            shown = r.completion if r else str(_l("not reported"))
            if (ind.id, city.id) in fraud:
                shown = str(_l("%(reported)s · fraud found: scores 0 for the year", reported=shown))
            rows.append(
                {
                    "code": ind.code,
                    "city": city.short_name,
                    "reported": shown,
                    "score": str(s.score) if s else "",
                    "reason": s.reason if s else "",
                }
            )
    return rows


def verification_rows(
    scheme_year_id: int, owned: Sequence[Indicator], cities: Sequence[OrgUnit]
) -> list[dict[str, Any]]:
    """Each owned indicator in each city with its verification so far (verified unless found otherwise)."""
    found = {
        (v.indicator_id, v.city_id): v
        for v in db.session.scalars(
            select(Verification).where(
                Verification.scheme_year_id == scheme_year_id,
                Verification.indicator_id.in_([i.id for i in owned]),
            )
        )
    }
    rows = []
    for ind in owned:
        for city in cities:
            v = found.get((ind.id, city.id))
            rows.append(
                {
                    "code": ind.code,
                    "city": city.short_name,
                    "result": v.result.value if v else VerificationResult.VERIFIED.value,
                    "note": v.note if v else "",
                }
            )
    return rows


def summary(entry: Mapping[str, Any]) -> str:
    return str(
        _l(
            "Total %(total)s, rank %(rank)d",
            total=scoring.display(Decimal(entry["total"])),
            rank=entry["rank"],
        )
    )


def advice_rows(results_snapshot: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A row per city with its result's summary, for the office's advice."""
    entries = {e["city"]: e for e in (results_snapshot or {}).get("cities", [])}
    return [
        {"city": c.short_name, "summary": summary(entries[c.code]) if c.code in entries else "", "advice": ""}
        for c in results.cities()
    ]


NO_ADVICE = _l("No rectification advice")


def advice_problems(cities: Mapping[str, OrgUnit], rows: Sequence[Row]) -> dict[str, list[str]]:
    """The office's advice names every city once, and each city has its advice or the explicit choice
    of none (`no_advice`), not both: feedback is never published with a city forgotten."""
    if not rows:
        return _changed(_l("Give each city its advice, or tick “%(none)s”.", none=NO_ADVICE))
    if sorted(str(row.get("city")) for row in rows) != sorted(cities):
        return _changed(_l("The list of cities changed; reload the page."))
    problems: dict[str, list[str]] = {}
    for n, row in enumerate(rows):
        written, none = bool(str(row.get("advice") or "").strip()), bool(row.get("no_advice"))
        if not written and not none:
            message = _l("%(city)s: write the advice, or tick “%(none)s”.", city=row["city"], none=NO_ADVICE)
            problems[f"rows-{n}-advice"] = [str(message)]
        elif written and none:
            message = _l(
                "%(city)s: the advice is written, so untick “%(none)s”.", city=row["city"], none=NO_ADVICE
            )
            problems[f"rows-{n}-no_advice"] = [str(message)]
    return problems


def city_feedback(scheme_year_id: int, kind: str, city_id: int) -> CityFeedback | None:
    return db.session.scalar(
        select(CityFeedback).where(
            CityFeedback.scheme_year_id == scheme_year_id,
            CityFeedback.round_kind == kind,
            CityFeedback.city_id == city_id,
        )
    )


# ---------------------------------------------------------------- the review


def missing_score_count(round_: EvaluationRound) -> int:
    """How many (indicator, city) pairs of the round have no score yet (two COUNTs, no rows read)."""
    indicators = db.session.scalar(
        select(func.count()).select_from(Indicator).where(Indicator.scheme_year_id == round_.scheme_year_id)
    )
    expected = (indicators or 0) * len(results.cities())
    have = db.session.scalar(select(func.count()).select_from(Score).where(Score.round_id == round_.id)) or 0
    return max(0, expected - have)


def review(round_: EvaluationRound) -> dict[str, Any]:
    """Completeness: cities without a self-report, missing scores, late and returned submissions (the
    scores themselves and their anomalies are `review.matrix`)."""
    submissions = {
        (s.org_id, s.kind): s
        for s in db.session.scalars(select(Submission).where(Submission.round_id == round_.id))
    }
    return {
        "round": round_,
        "missing_reports": [c for c in results.cities() if (c.id, "self_report") not in submissions],
        "late": [s for s in submissions.values() if s.late],
        "returned": [s for s in submissions.values() if s.status == SubmissionStatus.RETURNED],
        "missing_score_count": missing_score_count(round_),
    }
