"""What the office's round review and the leadership's approvals show, all by name and read-only:
every department's score beside the city's self-report, grouped by dimension and key point, with the
deductions, their reasons and the anomalies flagged; the ranking as it would be published and its
change against the previous round; fraud findings, awards and what changed after the first submission.

A handful of queries whatever the size of the year (no query per cell): the indicators with their
tree, the cities, the round's scores, self-reports and submissions, the fraud findings."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.db import db, load
from models.evaluation import (
    EvaluationRound,
    Score,
    SelfReportItem,
    Submission,
    Verification,
    VerificationResult,
)
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, User
from models.scheme import Dimension, Indicator, KeyPoint, Level, SchemeYear
from models.workflow import InboxTask, ProcessInstance, TaskStatus
from webapp.domain.results import queries as results
from webapp.domain.rounds import queries

# A deduction (weight − score) of this share of the weight or more is flagged.
LARGE_DEDUCTION = Decimal("0.5")
# A score is far from the other cities' when it lies more than OUTLIER_DEVIATIONS standard deviations
# (of the other cities' scores, itself left out) from their mean and more than OUTLIER_MIN_SHARE of the
# weight away from it (so that near-equal scores, whose deviation is tiny, do not flag a difference of
# a few hundredths); it takes more than OUTLIER_MIN_CITIES other cities' scores to tell. Three, not two:
# with 14 cities, two flags about one score in thirty of an ordinary spread (a simulated year: 55 of
# 1,638), which would send a return to most departments; three flags what stands out (3 of 1,638).
OUTLIER_DEVIATIONS = 3
OUTLIER_MIN_SHARE = Decimal("0.1")
OUTLIER_MIN_CITIES = 3
REVIEW_FORM_KEY = "round.review"


class Flag(enum.StrEnum):
    MISSING_REPORT = "missing_report"  # the city reported nothing on the indicator
    MISSING_SCORE = "missing_score"  # the department gave no score
    LARGE_DEDUCTION = "large_deduction"
    OUTLIER = "outlier"  # far from the other cities' scores
    CHANGED = "changed"  # changed after its first submission
    LATE = "late"  # the party submitted after its deadline

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        return str(FLAG_TITLES[self])


FLAG_TITLES = {
    Flag.MISSING_REPORT: _l("Not self-reported"),
    Flag.MISSING_SCORE: _l("No score"),
    Flag.LARGE_DEDUCTION: _l("Large deduction"),
    Flag.OUTLIER: _l("Far from the other cities"),
    Flag.CHANGED: _l("Changed after submission"),
    Flag.LATE: _l("Submitted late"),
}


def flag_titles() -> dict[Flag, str]:
    """Every flag's title in the reader's language, translated once for a page of many cells."""
    return {f: f.title for f in Flag}


# What a return can mend, so the return form preselects the parties these flags point to. A late
# submission stays late whatever is sent back, and a score changed after submission is what an
# earlier return asked for: both are shown, neither preselects.
RETURNABLE = frozenset({Flag.MISSING_REPORT, Flag.MISSING_SCORE, Flag.LARGE_DEDUCTION, Flag.OUTLIER})


@dataclass(slots=True)
class Cell:
    """One city's line on one indicator: the department's score beside what the city reported."""

    score: Decimal | None
    reported: str | None
    reason: str = ""
    lost: Decimal | None = None  # weight − score
    first_score: Decimal | None = None  # when it changed after submission
    fraud: bool = False
    flags: list[Flag] = field(default_factory=list)


@dataclass(slots=True)
class MatrixRow:
    indicator: Indicator
    department: OrgUnit
    cells: list[Cell]  # in the cities' order
    flag_count: int = 0


@dataclass
class KeyPointGroup:
    key_point: KeyPoint
    rows: list[MatrixRow]
    max_total: Decimal
    subtotals: list[Decimal]  # per city, the scores that count (fraud zeroed)
    flag_count: int


@dataclass
class DimensionGroup:
    dimension: Dimension
    key_points: list[KeyPointGroup]
    max_total: Decimal
    flag_count: int


@dataclass
class Party:
    """A city or department the flags point to, with how many of each."""

    org: OrgUnit
    flags: dict[Flag, int] = field(default_factory=dict)

    @property
    def returnable(self) -> bool:
        return any(f in RETURNABLE for f in self.flags)


@dataclass
class Matrix:
    cities: list[OrgUnit]
    departments: list[OrgUnit]  # those owning indicators, in their usual order
    dimensions: list[DimensionGroup]
    flag_counts: dict[Flag, int]
    parties: dict[str, Party]  # by organisation code
    cell_count: int

    def flagged(self) -> list[tuple[MatrixRow, OrgUnit, Cell]]:
        """The flagged cells in the tree's order, each with its row and city."""
        return [
            (row, self.cities[n], cell)
            for dimension in self.dimensions
            for point in dimension.key_points
            if point.flag_count
            for row in point.rows
            if row.flag_count
            for n, cell in enumerate(row.cells)
            if cell.flags
        ]

    def to_return(self, kind: OrgKind) -> list[str]:
        """The codes of the cities (or departments) a return should go to, as the flags say."""
        orgs = self.cities if kind == OrgKind.CITY else self.departments
        return [o.code for o in orgs if o.code in self.parties and self.parties[o.code].returnable]


def _tree(scheme_year_id: int) -> list[Indicator]:
    """The year's indicators in the tree's order, with key point, level, dimension and owner."""
    indicators = db.session.scalars(
        select(Indicator)
        .where(Indicator.scheme_year_id == scheme_year_id)
        .options(
            selectinload(Indicator.key_point).selectinload(KeyPoint.level).selectinload(Level.dimension),
            selectinload(Indicator.owner),
        )
    ).all()
    return sorted(
        indicators,
        key=lambda i: (
            i.key_point.level.dimension.number,
            i.key_point.level.number,
            i.key_point.number,
            i.seq,
        ),
    )


def _outliers(values: list[tuple[int, Decimal]], weight: Decimal) -> set[int]:
    """The positions of the scores far from the other cities' (see OUTLIER_DEVIATIONS)."""
    if len(values) <= OUTLIER_MIN_CITIES:
        return set()
    floor = float(weight * OUTLIER_MIN_SHARE)
    numbers = [float(v) for _, v in values]
    total, squares, n = sum(numbers), sum(x * x for x in numbers), len(numbers)
    far = set()
    for (position, _), x in zip(values, numbers, strict=True):
        others = n - 1
        mean = (total - x) / others
        variance = max(0.0, (squares - x * x - others * mean * mean) / (others - 1))
        distance = abs(x - mean)
        if distance > floor and distance > OUTLIER_DEVIATIONS * variance**0.5:
            far.add(position)
    return far


def matrix(round_: EvaluationRound, scheme_year: SchemeYear) -> Matrix:
    """Every indicator × every city of the round, grouped by dimension and key point, flags included."""
    indicators = _tree(scheme_year.id)
    cities = results.cities()
    scores: dict[tuple[int, int], tuple[Decimal, str, int, Decimal | None]] = {
        (ind, city): (score, reason or "", changes or 0, first)
        for ind, city, score, reason, changes, first in db.session.execute(
            select(
                Score.indicator_id,
                Score.city_id,
                Score.score,
                Score.reason,
                Score.changes,
                Score.first_score,
            ).where(Score.round_id == round_.id)
        ).tuples()
    }
    reported: dict[tuple[int, int], str] = {
        (ind, city): completion
        for ind, city, completion in db.session.execute(
            select(SelfReportItem.indicator_id, SelfReportItem.city_id, SelfReportItem.completion).where(
                SelfReportItem.round_id == round_.id
            )
        ).tuples()
    }
    late = set(
        db.session.scalars(
            select(Submission.org_id).where(Submission.round_id == round_.id, Submission.late.is_(True))
        )
    )
    fraud = results.fraud_pairs(scheme_year.id)
    parties: dict[str, Party] = {}
    flag_counts: dict[Flag, int] = defaultdict(int)

    def flag(cell: Cell, what: Flag, party: OrgUnit) -> None:
        cell.flags.append(what)
        counts = parties.setdefault(party.code, Party(party)).flags
        counts[what] = counts.get(what, 0) + 1
        flag_counts[what] += 1

    rows: list[MatrixRow] = []
    for ind in indicators:
        cells = []
        present: list[tuple[int, Decimal]] = []
        for n, city in enumerate(cities):
            entry = scores.get((ind.id, city.id))
            cell = Cell(score=entry[0] if entry else None, reported=reported.get((ind.id, city.id)))
            if (ind.id, city.id) in fraud:
                cell.fraud = True
            if cell.reported is None:
                flag(cell, Flag.MISSING_REPORT, city)
            if entry is None:
                flag(cell, Flag.MISSING_SCORE, ind.owner)
            else:
                score, cell.reason, changes, first = entry
                cell.lost = ind.weight - score
                present.append((n, score))
                if cell.lost > 0 and cell.lost >= ind.weight * LARGE_DEDUCTION:
                    flag(cell, Flag.LARGE_DEDUCTION, ind.owner)
                if changes:
                    cell.first_score = first
                    flag(cell, Flag.CHANGED, ind.owner)
            cells.append(cell)
        for n in _outliers(present, ind.weight):
            flag(cells[n], Flag.OUTLIER, ind.owner)
        rows.append(MatrixRow(ind, ind.owner, cells, sum(len(c.flags) for c in cells)))
    for org_id in late:  # a party's lateness is the party's, not a cell's
        org = next((c for c in cities if c.id == org_id), None) or next(
            (i.owner for i in indicators if i.owner_id == org_id), None
        )
        if org is not None:
            parties.setdefault(org.code, Party(org)).flags[Flag.LATE] = 1
            flag_counts[Flag.LATE] += 1
    departments = sorted({i.owner_id: i.owner for i in indicators}.values(), key=lambda o: o.sort_order)
    return Matrix(
        cities=cities,
        departments=departments,
        dimensions=_grouped(rows, len(cities)),
        flag_counts={f: flag_counts[f] for f in Flag if flag_counts.get(f)},
        parties=parties,
        cell_count=len(rows) * len(cities),
    )


def _grouped(rows: list[MatrixRow], city_count: int) -> list[DimensionGroup]:
    """The rows under their key points, the key points under their dimensions (rows in tree order)."""
    dimensions: list[DimensionGroup] = []
    for row in rows:
        kp = row.indicator.key_point
        dimension = kp.level.dimension
        if not dimensions or dimensions[-1].dimension.id != dimension.id:
            dimensions.append(DimensionGroup(dimension, [], Decimal(0), 0))
        group = dimensions[-1]
        if not group.key_points or group.key_points[-1].key_point.id != kp.id:
            group.key_points.append(KeyPointGroup(kp, [], Decimal(0), [Decimal(0)] * city_count, 0))
        point = group.key_points[-1]
        point.rows.append(row)
        point.max_total += row.indicator.weight
        point.flag_count += row.flag_count
        group.max_total += row.indicator.weight
        group.flag_count += row.flag_count
        for n, cell in enumerate(row.cells):
            if cell.score is not None and not cell.fraud:  # fraud zeroes it
                point.subtotals[n] += cell.score
    return dimensions


# ---------------------------------------------------------------- the ranking as it would be published


def _dimension_order(scheme_year_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Dimension.name)
            .where(Dimension.scheme_year_id == scheme_year_id)
            .order_by(Dimension.number)
        )
    )


def _ranks_of(computed: Mapping[str, Any] | None) -> dict[str, int]:
    return {c["city"]: c["rank"] for c in (computed or {}).get("cities", [])}


def ranking(round_: EvaluationRound, computed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The round's totals, ranks and dimension totals as they would be published (computed now, nothing
    written), with each city's rank in the previous round as it was approved (or as it stands)."""
    computed = computed or results.compute_round(round_)
    previous = queries.previous_round(round_)
    before = _ranks_of(previous.results or results.compute_round(previous)) if previous is not None else {}
    dimensions = _dimension_order(round_.scheme_year_id)
    rows = []
    for entry in computed["cities"]:
        was = before.get(entry["city"])
        rows.append(
            {
                "city": entry["city"],
                "name": entry["name"],
                "rank": entry["rank"],
                "total": Decimal(entry["total"]),
                "dimensions": [Decimal(entry["dimensions"].get(d, "0")) for d in dimensions],
                "dimension_ranks": [entry["dimension_ranks"].get(d) for d in dimensions],
                "previous_rank": was,
                "change": was - entry["rank"] if was is not None else None,  # > 0: moved up
            }
        )
    return {
        "rows": rows,
        "dimensions": dimensions,
        "max_total": Decimal(computed["max_total"]),
        "previous": previous.kind if previous is not None else None,
    }


# ---------------------------------------------------------------- fraud, awards and what changed


def fraud_findings(scheme_year_id: int) -> list[dict[str, Any]]:
    """The year's fraud findings with the city, the indicator (and its key point) and the note."""
    rows = db.session.execute(
        select(Verification, Indicator, OrgUnit)
        .join(Indicator, Indicator.id == Verification.indicator_id)
        .join(OrgUnit, OrgUnit.id == Verification.city_id)
        .where(Verification.scheme_year_id == scheme_year_id, Verification.result == VerificationResult.FRAUD)
        .options(selectinload(Indicator.key_point))
        .order_by(OrgUnit.sort_order, Indicator.seq)
    ).tuples()
    return [{"city": city, "indicator": ind, "note": v.note} for v, ind, city in rows]


def awards_by_name(scheme_year_id: int, awards: Mapping[str, Iterable[str]]) -> list[dict[str, Any]]:
    """Awards {key point number: [city codes]} as key points and cities by name, in key point order."""
    points = {
        p.number: p
        for p in db.session.scalars(
            select(KeyPoint).where(
                KeyPoint.scheme_year_id == scheme_year_id, KeyPoint.number.in_([int(k) for k in awards])
            )
        )
    }
    names = {c.code: c for c in results.cities()}
    return [
        {
            "number": int(number),
            "key_point": points.get(int(number)),
            "cities": [names[code] for code in codes if code in names],
        }
        for number, codes in sorted(awards.items(), key=lambda item: int(item[0]))
    ]


def changed_scores(round_: EvaluationRound) -> list[dict[str, Any]]:
    """Scores changed after their first submission: indicator, city, department, before → after, reason."""
    cities = {c.id: c for c in results.cities()}
    scores = db.session.scalars(
        select(Score)
        .where(Score.round_id == round_.id, Score.changes > 0)
        .options(selectinload(Score.indicator).selectinload(Indicator.owner))
    ).all()
    out = [
        {
            "indicator": s.indicator,
            "department": s.indicator.owner,
            "city": cities.get(s.city_id),
            "before": s.first_score,
            "after": s.score,
            "changes": s.changes,
            "reason": s.reason,
        }
        for s in scores
    ]
    return sorted(out, key=lambda c: (c["indicator"].seq, c["city"].sort_order if c["city"] else 0))


@dataclass
class Return:
    """The office sent submissions back: when, who, why, to whom."""

    at: datetime | None
    by: User | None
    comment: str
    cities: list[OrgUnit]
    departments: list[OrgUnit]


def returns(round_: EvaluationRound) -> list[Return]:
    """The office's returns in this round (its review decisions to return), oldest first."""
    tasks = db.session.scalars(
        select(InboxTask)
        .join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
        .where(
            ProcessInstance.scheme_year_id == round_.scheme_year_id,
            InboxTask.form_key == REVIEW_FORM_KEY,
            InboxTask.scope == round_.kind.value,
            InboxTask.status == TaskStatus.COMPLETED,
        )
        .options(selectinload(InboxTask.completed_by))
        .order_by(InboxTask.completed_at, InboxTask.id)
    ).all()
    decisions = [t for t in tasks if (t.submitted or {}).get("decision") == "return"]
    codes = {
        code
        for t in decisions
        for name in ("returned_cities", "returned_departments")
        for code in (t.submitted or {}).get(name) or []
    }
    orgs = (
        {o.code: o for o in db.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
        if codes
        else {}
    )
    out = []
    for t in decisions:
        submitted = t.submitted or {}
        out.append(
            Return(
                at=t.completed_at,
                by=t.completed_by,
                comment=str(submitted.get("comment") or "").strip(),
                cities=[orgs[c] for c in submitted.get("returned_cities") or [] if c in orgs],
                departments=[orgs[c] for c in submitted.get("returned_departments") or [] if c in orgs],
            )
        )
    return out


def approval(round_: EvaluationRound) -> dict[str, Any]:
    """What the leadership approves a round on: the ranking with dimension totals and its change, the
    scores the review flagged, the fraud findings, and what the office changed after review (scores
    and returns)."""
    return {
        "round": round_,
        "ranking": ranking(round_),
        "matrix": matrix(round_, load(SchemeYear, round_.scheme_year_id)),
        "flag_titles": flag_titles(),
        "fraud": fraud_findings(round_.scheme_year_id),
        "changed_scores": changed_scores(round_),
        "returns": returns(round_),
    }


def outlier_rule() -> str:
    return str(
        _l(
            "Far from the other cities: more than %(sd)d standard deviations from their mean and more "
            "than %(share)s of the weight away.",
            sd=OUTLIER_DEVIATIONS,
            share=f"{OUTLIER_MIN_SHARE * 100:.0f}%",
        )
    )


def large_deduction_rule() -> str:
    return str(_l("Large deduction: %(share)s of the weight or more.", share=f"{LARGE_DEDUCTION * 100:.0f}%"))
