"""Results dashboards (ranking, dimension radar, trend over the rounds and over the years, key-point heat
map) and the year overview on the leadership's home page.

They follow the scorecard conventions of `scorecard`: each total and score has a status against the
thresholds there, each rank its change since the round before, and each chart drills into the city's page.

Everything is read from the stored results (each round's approved snapshot and the annual result), filtered
by the same visibility rules as the results pages (`webapp.domain.results.feedback`): a round or the year only once
the user may see it, and a city's dimensions and key points only for that city and the insiders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import format_datetime
from sqlalchemy import select

from models.db import db
from models.evaluation import RoundKind
from models.formation import Phase, YearPhase
from models.i18n import gettext as _
from models.org import OrgUnit, User
from models.rules import scoring
from models.scheme import SchemeYear
from models.workflow import InboxTask, InstanceStatus, ProcessInstance, TaskStatus, inbox_query, year_tasks
from webapp.domain.errors import NotFound
from webapp.domain.numbers import plain
from webapp.domain.process import cycle as cycle_service
from webapp.domain.results import document, feedback, scorecard
from webapp.domain.results import queries as results
from webapp.domain.results.scorecard import Status
from webapp.domain.results.xlsx import render_xlsx
from webapp.domain.system import queries as indicator_service

ANNUAL = scorecard.ANNUAL
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


class ViewNotVisible(NotFound):
    """The chosen round (or the year) has no results this user may see."""


@dataclass(frozen=True)
class RankingRow:
    city: str
    name: str
    total: Decimal
    rank: int
    status: Status  # the total against the most it could be
    change: int | None = None  # places moved since the previous round (positive: up); None: no earlier one
    details: bool = False  # the user may open the city's page

    @property
    def change_text(self) -> str:
        return scorecard.change_text(self.change)

    @property
    def change_title(self) -> str:
        return scorecard.change_title(self.change)


@dataclass(frozen=True)
class RadarRow:
    city: str
    name: str
    scores: list[Decimal]  # one per dimension, in the dashboard's dimension order
    shares: list[Decimal]  # score as a percentage of the dimension's weight, 2 decimals


@dataclass(frozen=True)
class TrendRow:
    city: str
    name: str
    totals: list[Decimal | None]  # one per trend column; None where the user may not see it
    details: bool = False  # the user may open the city's pages


@dataclass(frozen=True)
class YearsRow:
    city: str
    name: str
    totals: list[Decimal | None]  # the annual total of each year; None where the city had none
    ranks: list[int | None]


@dataclass(frozen=True)
class YearsTrend:
    """Each city's annual total and rank over the scheme's years (those the user may see, up to this one)."""

    years: list[int]
    maxima: list[Decimal]  # the most an annual total could be, each year
    rows: list[YearsRow]

    @property
    def enough(self) -> bool:
        """A trend needs two years at least."""
        return len(self.years) >= 2


@dataclass(frozen=True)
class HeatRow:
    city: str
    name: str
    lost: list[Decimal]  # points lost per key point, in the dashboard's key point order


@dataclass(frozen=True)
class KeyPointColumn:
    number: int
    name: str
    weight: Decimal


@dataclass(frozen=True)
class Dashboard:
    year: int
    view: str  # "annual" or a round kind
    views: dict[str, str]  # every view the user may choose: key -> title
    breakdown_title: str  # the round whose dimensions and key points are shown ("" when none)
    ranking: list[RankingRow]
    dimensions: list[tuple[str, Decimal]]  # (name, weight)
    radar: list[RadarRow]
    trend_columns: list[tuple[str, str]]  # (key, title)
    trend: list[TrendRow]
    key_points: list[KeyPointColumn]
    heatmap: list[HeatRow]
    details_limited: bool  # some cities' dimensions and key points are hidden from this user
    max_total: Decimal = Decimal(0)  # the most a total of this view could be
    previous_title: str = ""  # the result set the rank changes compare with ("" when none)
    link_round: str | None = None  # the round a city's page shows for this view (None: not visible)
    trend_maxima: list[Decimal] = field(default_factory=list)  # per trend column
    years: YearsTrend = field(default_factory=lambda: YearsTrend([], [], []))

    @property
    def view_title(self) -> str:
        return self.views[self.view]


def _title(key: str) -> str:
    return _("Annual results") if key == ANNUAL else RoundKind(key).title


def visible_views(scheme_year: SchemeYear, user: User) -> dict[str, str]:
    """The year's result sets the user may see: the annual results first, then each round in order."""
    views = {ANNUAL: _title(ANNUAL)} if feedback.annual_visible(scheme_year.id, user) else {}
    for kind, round_ in feedback.rounds_of(scheme_year).items():
        if feedback.round_visible(round_, user):
            views[kind.value] = _title(kind.value)
    return views


def _stored_results(scheme_year: SchemeYear, views: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The stored results of each visible view (a round's approved snapshot, or the annual result)."""
    rounds = feedback.rounds_of(scheme_year)
    annual = results.annual_result(scheme_year.id)
    stored: dict[str, dict[str, Any]] = {}
    for key in views:
        if key == ANNUAL:
            data = annual.results if annual is not None else None
        else:
            data = rounds[RoundKind(key)].results
        if data is not None:  # visible views always have results
            stored[key] = data
    return stored


def _maximum(data: dict[str, Any], scheme_year: SchemeYear, total_weight: Decimal) -> Decimal:
    """The most a total of stored results could be: a round's stored maximum, or the year's weighted one."""
    if "max_total" in data:
        return Decimal(data["max_total"])
    return total_weight * (scheme_year.process_weight + scheme_year.year_end_weight)


def _share(score: Decimal, weight: Decimal) -> Decimal:
    if weight == 0:
        return Decimal(0)
    return (score / weight * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def _breakdown_rows(
    breakdown: dict[str, Any],
    cities: list[OrgUnit],
    dimensions: list[tuple[str, Decimal]],
    key_points: list[KeyPointColumn],
) -> tuple[list[RadarRow], list[HeatRow]]:
    """Each city's dimension shares and key-point losses in a round's stored results."""
    entries = {e["city"]: e for e in breakdown["cities"]}
    kp_scores = breakdown["key_points"]
    radar: list[RadarRow] = []
    heatmap: list[HeatRow] = []
    for city in cities:
        entry = entries.get(city.code)
        if entry is None:
            continue
        scores = [Decimal(entry["dimensions"].get(name, "0")) for name, _w in dimensions]
        shares = [_share(s, w) for s, (_n, w) in zip(scores, dimensions, strict=True)]
        radar.append(RadarRow(city.code, city.name, scores, shares))
        lost = [
            scoring.lost_points(kp.weight, Decimal(kp_scores.get(str(kp.number), {}).get(city.code, "0")))
            for kp in key_points
        ]
        heatmap.append(HeatRow(city.code, city.name, lost))
    return radar, heatmap


def build_dashboard(scheme_year: SchemeYear, user: User, view: str | None = None) -> Dashboard | None:
    """The dashboards of a year as the user may see them; None when nothing is visible yet.

    `view` is "annual" or a round kind (default: the annual results, else the latest visible round);
    one the user may not see raises ViewNotVisible.
    """
    views = visible_views(scheme_year, user)
    if view is not None and view not in views:
        raise ViewNotVisible(view)
    if not views:
        return None
    if view is None:
        view = ANNUAL if ANNUAL in views else list(views)[-1]
    stored = _stored_results(scheme_year, views)
    cities = results.cities()
    detailed = [c for c in cities if c.details_visible_to(user)]
    may_open = {c.code for c in detailed}
    dims = indicator_service.load_dimensions(scheme_year)
    sums = indicator_service.subtotals(dims)
    dimensions = [(d.name, sums.dimensions[d.id]) for d in dims]
    total_weight = sum((w for _n, w in dimensions), Decimal(0))
    maxima = {key: _maximum(data, scheme_year, total_weight) for key, data in stored.items()}
    changes = scorecard.changes_by_view(stored)
    previous = scorecard.previous_view(view, list(stored))
    ranking = [
        RankingRow(
            row["city"],
            row["name"],
            Decimal(row["total"]),
            row["rank"],
            scorecard.status_of(row["total"], maxima[view]),
            changes[view].get(row["city"]),
            row["city"] in may_open,
        )
        for row in stored[view]["cities"]
    ]
    # The annual results have no breakdown of their own: the year-end round's is the year's.
    breakdown_kind = RoundKind.YEAR_END if view == ANNUAL else RoundKind(view)
    breakdown = stored.get(breakdown_kind.value)
    key_points = [
        KeyPointColumn(kp.number, kp.name, sums.key_points[kp.id])
        for d in dims
        for lv in d.levels
        for kp in lv.key_points
    ]
    key_points.sort(key=lambda k: k.number)
    radar, heatmap = _breakdown_rows(breakdown, detailed, dimensions, key_points) if breakdown else ([], [])
    order: list[str] = [*(k.value for k in RoundKind), ANNUAL]
    trend_columns = [(key, views[key]) for key in order if key in views]
    totals = {
        key: {e["city"]: Decimal(e["total"]) for e in stored[key]["cities"]} for key, _t in trend_columns
    }
    trend = [
        TrendRow(c.code, c.name, [totals[key].get(c.code) for key, _t in trend_columns], c.code in may_open)
        for c in cities
    ]
    return Dashboard(
        year=scheme_year.year,
        view=view,
        views=views,
        breakdown_title=_title(breakdown_kind.value) if breakdown is not None else "",
        ranking=ranking,
        dimensions=dimensions,
        radar=radar,
        trend_columns=trend_columns,
        trend=trend,
        key_points=key_points,
        heatmap=heatmap,
        details_limited=len(detailed) < len(cities),
        max_total=maxima[view],
        previous_title=_title(previous) if previous else "",
        link_round=breakdown_kind.value if breakdown is not None else None,
        trend_maxima=[maxima[key] for key, _t in trend_columns],
        years=years_trend(scheme_year, user, cities, total_weight),
    )


def years_trend(
    scheme_year: SchemeYear, user: User, cities: list[OrgUnit], total_weight: Decimal
) -> YearsTrend:
    """The annual results of the scheme's years up to this one that the user may see, city by city."""
    years: list[int] = []
    maxima: list[Decimal] = []
    by_year: list[dict[str, dict[str, Any]]] = []
    for number in indicator_service.list_years(scheme_year.scheme.code):
        if number > scheme_year.year:
            break
        year = scheme_year if number == scheme_year.year else SchemeYear.find(scheme_year.scheme, number)
        annual = results.annual_result(year.id) if year is not None else None
        if year is None or annual is None or annual.results is None or not annual.results_visible_to(user):
            continue
        years.append(number)
        # the current year's maximum is this dashboard's; an earlier year's is its stored year-end's
        year_end = feedback.rounds_of(year).get(RoundKind.YEAR_END) if year is not scheme_year else None
        weight = Decimal(year_end.results["max_total"]) if year_end and year_end.results else total_weight
        maxima.append(_maximum({}, year, weight))
        by_year.append({e["city"]: e for e in annual.results["cities"]})
    rows = [
        YearsRow(
            c.code,
            c.name,
            [Decimal(y[c.code]["total"]) if c.code in y else None for y in by_year],
            [int(y[c.code]["rank"]) if c.code in y else None for y in by_year],
        )
        for c in cities
    ]
    return YearsTrend(years, maxima, rows)


def _number(value: Decimal | None) -> int | float | None:
    """A chart's value: rounded as pages show it (half up, two decimals)."""
    return None if value is None else plain(scoring.display(value))


@dataclass(frozen=True)
class Links:
    """How the web spells the pages a chart drills into (the domain builds no URLs)."""

    city: Callable[[str, str], str]  # (round kind, city code) -> the city's results in that round
    year: Callable[[int], str]  # year -> that year's dashboards


def _axis_start(values: list[Decimal | None]) -> int:
    """Where a line chart's value axis starts: a round ten below the lowest value (never below zero)."""
    lowest = min((v for v in values if v is not None), default=Decimal(0))
    return max(0, int((lowest - 5) // 10) * 10)


def _axis(name: str, start: int) -> dict[str, Any]:
    """A value axis that says where it starts when that is not zero."""
    if start:
        name = _("%(name)s (axis from %(start)d)", name=name, start=start)
    return {"min": start, "name": name}


def _status_data(statuses: list[Status]) -> dict[str, Any]:
    return {
        "statusTitles": [s.title for s in statuses],
        "colors": [s.color for s in statuses],
    }


def ranking_chart(
    rows: list[RankingRow], link_round: str | None = None, links: Links | None = None
) -> dict[str, Any]:
    """The ranking's bars (from zero), coloured by status, each naming its rank change and its city's page."""
    return {
        "cities": [r.name for r in rows],
        "ranks": [r.rank for r in rows],
        "totals": [_number(r.total) for r in rows],
        "changes": [r.change_text for r in rows],
        **_status_data([r.status for r in rows]),
        "urls": [
            links.city(link_round, r.city) if links and link_round and r.details else None for r in rows
        ],
        "axis": {"min": 0, "name": _("Total")},
        "rankLabel": _("Rank"),
        "totalLabel": _("Total"),
        "statusLabel": _("Status"),
    }


def _trend_url(links: Links | None, key: str, d: Dashboard, row: TrendRow) -> str | None:
    kind = (d.link_round if key == ANNUAL else key) if row.details else None
    return links.city(kind, row.city) if links and kind else None


def chart_data(d: Dashboard, links: Links | None = None) -> dict[str, Any]:
    """The numbers the charts draw (2 decimals, as the tables show them) with their translated labels, the
    axes' starts and the pages a click on a bar, point or cell opens (given `links`)."""
    # The radar starts a little below the lowest share, so cities that all score highly still differ.
    lowest = min((share for r in d.radar for share in r.shares), default=Decimal(0))
    radar_min = max(0, int((lowest - 5) // 10) * 10)

    def city_url(code: str) -> str | None:
        return links.city(d.link_round, code) if links and d.link_round else None

    trend_start = _axis_start([t for r in d.trend for t in r.totals])
    data: dict[str, Any] = {
        "ranking": {**ranking_chart(d.ranking, d.link_round, links), "title": d.view_title},
        "radar": {
            "indicators": [{"name": name, "min": radar_min, "max": 100} for name, _w in d.dimensions],
            "series": [
                {"name": r.name, "values": [_number(s) for s in r.shares], "url": city_url(r.city)}
                for r in d.radar
            ],
            "unit": "%",
            "min": radar_min,
        },
        "trend": {
            "columns": [title for _k, title in d.trend_columns],
            "series": [
                {
                    "name": r.name,
                    "values": [_number(t) for t in r.totals],
                    "urls": [_trend_url(links, key, d, r) for key, _t in d.trend_columns],
                }
                for r in d.trend
            ],
            "axis": _axis(_("Total"), trend_start),
        },
        "heatmap": {
            # the key points by name (the rows), the cities across
            "keyPoints": [k.name for k in d.key_points],
            "keyPointNames": [f"{k.number}. {k.name}" for k in d.key_points],
            "cities": [r.name for r in d.heatmap],
            "values": [
                [x, y, _number(lost)] for x, r in enumerate(d.heatmap) for y, lost in enumerate(r.lost)
            ],
            "urls": [city_url(r.city) for r in d.heatmap],
            "label": _("Points lost"),
        },
    }
    if d.years.enough:
        data["years"] = {
            "columns": [str(y) for y in d.years.years],
            "series": [
                {"name": r.name, "values": [_number(t) for t in r.totals], "ranks": r.ranks}
                for r in d.years.rows
            ],
            "urls": [links.year(y) if links else None for y in d.years.years],
            "axis": _axis(_("Annual total"), _axis_start([t for r in d.years.rows for t in r.totals])),
            "rankLabel": _("Rank"),
        }
    return data


# --- the tables beside the charts, also the workbook's sheets ----------------------------------------------


def tables(d: Dashboard) -> dict[str, document.Table]:
    """The dashboard's tables by chart (the charts' numbers, exact) in the reports' table shape; the
    ranking carries each city's status and, after the first round, its rank change."""
    compared = bool(d.previous_title)
    out = {
        "ranking": document.Table(
            _("Ranking: %(view)s", view=d.view_title),
            (
                _("Rank"),
                *([_("Since %(view)s", view=d.previous_title)] if compared else []),
                _("City"),
                _("Total"),
                _("Status"),
            ),
            (24, *([22] if compared else []), 70, 40, 30),
            [
                (r.rank, *([r.change_text] if compared else []), r.name, r.total, r.status.title)
                for r in d.ranking
            ],
        )
    }
    if d.radar:
        out["radar"] = document.Table(
            _("Share of each dimension's weight (%%): %(round)s", round=d.breakdown_title),
            (_("City"), *(name for name, _w in d.dimensions)),
            _widths(len(d.dimensions)),
            [(r.name, *r.shares) for r in d.radar],
        )
    out["trend"] = document.Table(
        _("Totals by round"),
        (_("City"), *(title for _k, title in d.trend_columns)),
        _widths(len(d.trend_columns)),
        [(r.name, *(t if t is not None else "" for t in r.totals)) for r in d.trend],
    )
    if d.heatmap:
        out["heatmap"] = document.Table(
            _("Points lost by key point: %(round)s", round=d.breakdown_title),
            (_("Key point"), _("Weight"), *(r.name for r in d.heatmap)),
            (40, 14, *([12] * len(d.heatmap))),
            [
                (f"{k.number}. {k.name}", k.weight, *(r.lost[i] for r in d.heatmap))
                for i, k in enumerate(d.key_points)
            ],
        )
    if d.years.enough:
        out["years"] = document.Table(
            _("Annual totals and ranks over the years"),
            (
                _("City"),
                *(
                    h
                    for y in d.years.years
                    for h in (_("%(year)d total", year=y), _("%(year)d rank", year=y))
                ),
            ),
            _widths(2 * len(d.years.years)),
            [
                (
                    r.name,
                    *(
                        c
                        for t, rank in zip(r.totals, r.ranks, strict=True)
                        for c in (t if t is not None else "", rank if rank is not None else "")
                    ),
                )
                for r in d.years.rows
            ],
        )
    return out


def table_statuses(d: Dashboard) -> dict[str, dict[tuple[int, int], Status]]:
    """The status of each scored cell of the tables (row, column), by table: dimension shares, totals by
    round and by year, and each key point's score (its weight less the points lost)."""
    out: dict[str, dict[tuple[int, int], Status]] = {
        "radar": {
            (i, j + 1): scorecard.status_of_share(share)
            for i, r in enumerate(d.radar)
            for j, share in enumerate(r.shares)
        },
        "trend": {
            (i, j + 1): scorecard.status_of(t, d.trend_maxima[j])
            for i, r in enumerate(d.trend)
            for j, t in enumerate(r.totals)
            if t is not None
        },
        "heatmap": {
            (i, j + 2): scorecard.status_of(k.weight - r.lost[i], k.weight)
            for i, k in enumerate(d.key_points)
            for j, r in enumerate(d.heatmap)
        },
        "years": {
            (i, 2 * j + 1): scorecard.status_of(t, d.years.maxima[j])
            for i, r in enumerate(d.years.rows)
            for j, t in enumerate(r.totals)
            if t is not None
        },
    }
    return out


def _widths(columns: int) -> tuple[int, ...]:
    return (40, *([max(14, 140 // max(columns, 1))] * columns))


def dashboard_xlsx(d: Dashboard, now: datetime) -> bytes:
    """The dashboard's tables as a workbook (summary sheet, then one sheet per table)."""
    doc = document.Document(
        title=_("%(year)d results dashboards: %(view)s", year=d.year, view=d.view_title),
        summary=_("Cities ranked: %(cities)d.", cities=len(d.ranking)),
        facts=[(_("Year"), d.year), (_("Results"), d.view_title), (_("Cities evaluated"), len(d.ranking))],
        tables=list(tables(d).values()),
        advice=None,
        generated=_("Generated %(time)s", time=format_datetime(now, "yyyy-MM-dd HH:mm")),
    )
    return render_xlsx(doc)


# --- the year on one screen (the leadership's home page) ---------------------------------------------------


@dataclass
class PhaseRow:
    phase: Phase
    opens_at: datetime | None
    deadline: datetime | None
    open: int = 0
    overdue: int = 0
    completed: int = 0

    @property
    def state(self) -> str:
        if self.open:
            return "running"
        return "done" if self.completed else "pending"


@dataclass
class YearOverview:
    scheme_year: SchemeYear
    instance: ProcessInstance | None
    phases: list[PhaseRow]
    my_tasks: list[InboxTask]
    my_task_count: int
    ranking: list[RankingRow] = field(default_factory=list)
    ranking_title: str = ""
    previous_title: str = ""  # what the ranking's changes compare with
    link_round: str | None = None  # the round a city's page shows for the ranking

    @property
    def running(self) -> list[PhaseRow]:
        return [p for p in self.phases if p.state == "running"]

    @property
    def next_phase(self) -> PhaseRow | None:
        """The first phase not yet begun while the year waits for it."""
        if self.instance is None or self.instance.status == InstanceStatus.COMPLETED or self.running:
            return None
        return next((p for p in self.phases if p.state == "pending"), None)

    @property
    def open_total(self) -> int:
        return sum(p.open for p in self.phases)

    @property
    def overdue_total(self) -> int:
        return sum(p.overdue for p in self.phases)

    @property
    def top(self) -> list[RankingRow]:
        return self.ranking[:3]

    @property
    def bottom(self) -> list[RankingRow]:
        return self.ranking[3:][-3:]


def current_year(scheme_code: str) -> SchemeYear | None:
    """The year being run: the latest one whose cycle has started, else the latest year."""
    years = [
        indicator_service.find_scheme_year(scheme_code, y) for y in indicator_service.list_years(scheme_code)
    ]
    started = [y for y in years if cycle_service.annual_instance(y) is not None]
    return (started or years)[-1] if years else None


def year_overview(scheme_year: SchemeYear, user: User, now: datetime, task_limit: int = 8) -> YearOverview:
    """Phases with their calendar and task counts, the user's open tasks, and the latest visible ranking."""
    instance = cycle_service.annual_instance(scheme_year)
    calendar = {
        p.phase: p
        for p in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == scheme_year.id))
    }
    rows = {
        phase: PhaseRow(
            phase,
            calendar[phase].opens_at if phase in calendar else None,
            calendar[phase].deadline if phase in calendar else None,
        )
        for phase in Phase
    }
    if instance is not None:
        counts: Counter[tuple[Phase, str]] = Counter()
        tasks = db.session.execute(
            year_tasks(scheme_year.id)
            .where(InboxTask.status != TaskStatus.CANCELLED, InboxTask.phase != "")
            .with_only_columns(InboxTask.phase, InboxTask.status, InboxTask.due_at)
        ).all()
        for value, status, due_at in tasks:
            phase = Phase(value)
            if status == TaskStatus.OPEN:
                counts[phase, "open"] += 1
                if due_at is not None and due_at < now:
                    counts[phase, "overdue"] += 1
            else:
                counts[phase, "completed"] += 1
        for (phase, what), n in counts.items():
            setattr(rows[phase], what, n)
    mine = inbox_query(user)
    my_tasks = list(db.session.scalars(mine.limit(task_limit)))
    my_count = db.session.scalar(mine.order_by(None).with_only_columns(db.func.count())) or 0
    overview = YearOverview(scheme_year, instance, list(rows.values()), my_tasks, my_count)
    try:
        dashboard = build_dashboard(scheme_year, user)
    except ViewNotVisible:  # pragma: no cover - no view was asked for
        dashboard = None
    if dashboard is not None:
        overview.ranking = dashboard.ranking
        overview.ranking_title = dashboard.view_title
        overview.previous_title = dashboard.previous_title
        overview.link_round = dashboard.link_round
    return overview
