"""Results dashboards and the leadership's home page.

Most tests build a small known year cheaply: scores written straight into the score table for the three
rounds, each round's results computed and stored as the workflow would on approval. The half-year and Q3
rounds are published; the year-end round and the annual results are approved but not yet published, so
the office and the leadership see them and everyone else does not. The expected numbers are recomputed
here from the score rows, not taken from the code under test.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from models.db import db
from models.evaluation import AnnualResult, EvaluationRound, RoundKind, RoundStatus, Score
from models.org import OrgKind, OrgUnit, Role, User
from models.scheme import Scheme, SchemeYear
from models.workflow import InboxTask, TaskStatus
from webapp.domain.process.cycle import clone_scheme_year
from webapp.domain.results import dashboards, scorecard
from webapp.domain.results import queries as results
from webapp.simulation import simulate

AT = datetime(2012, 7, 20, 2, 0, tzinfo=UTC)
CENT = Decimal("0.01")
PUBLISHED = {RoundKind.HALF_YEAR: True, RoundKind.Q3: True, RoundKind.YEAR_END: False}


def _score(weight: Decimal, city_index: int, indicator_index: int, round_index: int) -> Decimal:
    """A deterministic score in [0, weight]: full marks, or 5 %, 10 % or 15 % off."""
    off = Decimal((city_index * 3 + indicator_index + round_index * 2) % 4) * Decimal("0.05")
    return (weight * (1 - off)).quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture
def known_year(app, demo) -> int:
    return store_known_year(app)


def store_known_year(app, number: int = 2012, shift: int = 0) -> int:
    """Store the three rounds' scores and results and the annual result of a year (2012, or a later one made
    from it); `shift` moves each city's scores to another city's. Return the scheme year id."""
    with app.app_context():
        scheme = Scheme.by_code("ln-cities")
        year = SchemeYear.find(scheme, number) or clone_scheme_year(SchemeYear.find(scheme, 2012), number)
        cities = results.cities()
        indicators = year.indicators()
        for round_index, kind in enumerate(RoundKind):
            round_ = EvaluationRound(
                scheme_year_id=year.id, kind=kind, report_deadline=AT, score_deadline=AT, opened_at=AT
            )
            db.session.add(round_)
            db.session.flush()
            db.session.execute(
                insert(Score),
                [
                    {
                        "round_id": round_.id,
                        "indicator_id": ind.id,
                        "city_id": city.id,
                        "score": _score(ind.weight, ci + shift, ii, round_index),
                        "reason": "",
                        "scored_at": AT,
                        "changes": 0,
                    }
                    for ci, city in enumerate(cities)
                    for ii, ind in enumerate(indicators)
                ],
            )
            round_.results = results.compute_round(round_)
            round_.status = RoundStatus.PUBLISHED if PUBLISHED[kind] else RoundStatus.APPROVED
            round_.approved_at = AT
            round_.published_at = AT if PUBLISHED[kind] else None
        db.session.add(
            AnnualResult(
                scheme_year_id=year.id,
                award_key_points=[],
                results=results.compute_annual(year, [], 3),
                approved_at=AT,
            )
        )
        db.session.commit()
        return year.id


def _expected(scheme_year_id: int):
    """Totals, dimension shares and key-point losses recomputed from the score rows."""
    year = db.session.get(SchemeYear, scheme_year_id)
    indicators = {i.id: i for i in year.indicators()}
    codes = {c.id: c.code for c in results.cities()}
    totals: dict[RoundKind, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    dims: dict[RoundKind, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    kps: dict[RoundKind, dict[tuple[str, int], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for score, round_kind in db.session.execute(
        select(Score, EvaluationRound.kind).join(EvaluationRound, EvaluationRound.id == Score.round_id)
    ):
        ind = indicators[score.indicator_id]
        city = codes[score.city_id]
        totals[round_kind][city] += score.score
        dims[round_kind][city, ind.key_point.level.dimension.name] += score.score
        kps[round_kind][city, ind.key_point.number] += score.score
    dim_weights: dict[str, Decimal] = defaultdict(Decimal)
    kp_weights: dict[int, Decimal] = defaultdict(Decimal)
    for ind in indicators.values():
        dim_weights[ind.key_point.level.dimension.name] += ind.weight
        kp_weights[ind.key_point.number] += ind.weight
    return totals, dims, kps, dim_weights, kp_weights, year


def test_the_dashboard_numbers_are_the_score_tables(app, known_year):
    with app.app_context():
        totals, dims, kps, dim_weights, kp_weights, year = _expected(known_year)
        leader = db.session.scalar(select(User).where(User.username == "leader"))
        annual_expected = {
            city: (totals[RoundKind.HALF_YEAR][city] + totals[RoundKind.Q3][city]) / 2 * year.process_weight
            + totals[RoundKind.YEAR_END][city] * year.year_end_weight
            for city in totals[RoundKind.YEAR_END]
        }
        assert year.process_rule == "mean"

        board = dashboards.build_dashboard(year, leader)
        assert board.view == "annual" and list(board.views) == ["annual", "half_year", "q3", "year_end"]
        assert {r.city: r.total for r in board.ranking} == annual_expected
        ordered = sorted(annual_expected.values(), reverse=True)
        assert [r.rank for r in board.ranking] == [ordered.index(r.total) + 1 for r in board.ranking]
        assert len(board.ranking) == 14

        # The annual view's breakdown is the year-end round's.
        assert [name for name, _w in board.dimensions] == list(dict.fromkeys(dim_weights))
        assert len(board.radar) == 14 and len(board.heatmap) == 14 and len(board.key_points) == 42
        for row in board.radar:
            for (name, weight), share in zip(board.dimensions, row.shares, strict=True):
                assert weight == dim_weights[name]
                exact = dims[RoundKind.YEAR_END][row.city, name] / weight * 100
                assert share == exact.quantize(CENT, rounding=ROUND_HALF_UP)
        for row in board.heatmap:
            for kp, lost in zip(board.key_points, row.lost, strict=True):
                assert lost == kp_weights[kp.number] - kps[RoundKind.YEAR_END][row.city, kp.number]
        assert any(lost > 0 for row in board.heatmap for lost in row.lost)

        trend = {r.city: r.totals for r in board.trend}
        assert [k for k, _t in board.trend_columns] == ["half_year", "q3", "year_end", "annual"]
        for city, values in trend.items():
            assert values == [
                totals[RoundKind.HALF_YEAR][city],
                totals[RoundKind.Q3][city],
                totals[RoundKind.YEAR_END][city],
                annual_expected[city],
            ]

        half = dashboards.build_dashboard(year, leader, "half_year")
        assert {r.city: r.total for r in half.ranking} == dict(totals[RoundKind.HALF_YEAR])
        assert half.breakdown_title == RoundKind.HALF_YEAR.title
        row = half.heatmap[0]
        assert row.lost[0] == kp_weights[half.key_points[0].number] - kps[RoundKind.HALF_YEAR][row.city, 1]

        charts = dashboards.chart_data(half)
        assert charts["ranking"]["totals"][0] == float(half.ranking[0].total.quantize(CENT, ROUND_HALF_UP))
        assert len(charts["heatmap"]["values"]) == 14 * 42


def test_a_city_sees_only_published_rounds_and_only_its_own_breakdown(app, known_year):
    with app.app_context():
        year = db.session.get(SchemeYear, known_year)
        city_user = db.session.scalar(select(User).where(User.username == "shenyang"))
        board = dashboards.build_dashboard(year, city_user)
        assert list(board.views) == ["half_year", "q3"] and board.view == "q3"
        assert [r.city for r in board.radar] == ["shenyang"] and [r.city for r in board.heatmap] == [
            "shenyang"
        ]
        assert [k for k, _t in board.trend_columns] == ["half_year", "q3"]
        for hidden in ("year_end", "annual"):
            with pytest.raises(dashboards.ViewNotVisible):
                dashboards.build_dashboard(year, city_user, hidden)
        department = db.session.scalar(select(User).where(User.username == "fgw"))
        board = dashboards.build_dashboard(year, department)
        assert len(board.ranking) == 14 and board.radar == [] and board.heatmap == []


def _chart_json(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert match, "the page carries its chart data"
    return json.loads(match.group(1))


def test_the_dashboards_page_has_each_chart_with_its_table_for_the_leadership(app, login, known_year):
    page = login("leader").get("/results/2012/dashboards")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for kind in ("ranking", "radar", "trend", "heatmap"):
        assert f'data-testid="chart-{kind}"' in html and f'data-testid="table-{kind}"' in html
    assert "js/charts.js" in html and "vendor/echarts/echarts.min.js" in html
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html
    assert 'style="' not in html, "the CSP forbids inline styles"
    data = _chart_json(html)
    assert len(data["ranking"]["cities"]) == 14 and len(data["radar"]["series"]) == 14
    assert len(data["trend"]["columns"]) == 4 and len(data["heatmap"]["keyPoints"]) == 42
    assert login("leader").get("/results/2012/dashboards?view=q3").status_code == 200


def test_others_see_only_what_the_results_pages_show_them(app, login, known_year):
    city = login("shenyang")
    html = city.get("/results/2012/dashboards").get_data(as_text=True)
    data = _chart_json(html)
    assert [s["name"] for s in data["radar"]["series"]] == ["沈阳市"]
    assert data["heatmap"]["cities"] == ["沈阳市"]
    assert 'data-testid="view-year_end"' not in html and 'data-testid="view-annual"' not in html
    for hidden in ("year_end", "annual", "nonsense"):
        refused = city.get(f"/results/2012/dashboards?view={hidden}")
        assert refused.status_code == 404 and hidden in refused.get_data(as_text=True)
        assert city.get(f"/results/2012/dashboards.xlsx?view={hidden}").status_code == 404
    counterpart = _chart_json(login("shenyang-jxb").get("/results/2012/dashboards").get_data(as_text=True))
    assert counterpart["heatmap"]["cities"] == ["沈阳市"]
    department = login("fgw").get("/results/2012/dashboards").get_data(as_text=True)
    assert 'data-testid="chart-ranking"' in department and 'data-testid="radar-hidden"' in department
    assert 'data-testid="chart-heatmap"' not in department
    assert login("expert1").get("/results/2012/dashboards").status_code == 200
    assert app.test_client().get("/results/2012/dashboards").status_code == 302  # to the sign-in page
    assert login("leader").get("/results/1999/dashboards").status_code == 404


def test_nothing_published_yet_shows_a_note_and_no_export(app, login):
    client = login("shenyang")
    page = client.get("/results/2012/dashboards").get_data(as_text=True)
    assert 'data-testid="no-results"' in page and "data-chart=" not in page
    assert client.get("/results/2012/dashboards.xlsx").status_code == 404


def test_the_export_holds_the_tables_values(app, login, known_year):
    response = login("office").get("/results/2012/dashboards.xlsx?view=half_year")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert "dashboards-2012-half_year.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(BytesIO(response.data))
    assert len(book.sheetnames) == 5  # summary, ranking, radar, trend, heat map
    with app.app_context():
        totals, dims, kps, dim_weights, kp_weights, _year = _expected(known_year)
        names = {
            c.name: c.code for c in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY))
        }
    ranking = book[book.sheetnames[1]]
    rows = list(ranking.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 14 and rows[0][0] == 1
    ordered = sorted(totals[RoundKind.HALF_YEAR].values(), reverse=True)
    assert len(ranking[2]) == 4  # rank, city, total, status: the first round has no rank change
    with app.test_request_context():  # the titles in the request's language, as the workbook has them
        maximum = sum(i.weight for i in _year.indicators())
        titles = {
            name: scorecard.status_of(totals[RoundKind.HALF_YEAR][code], maximum).title
            for name, code in names.items()
        }
    for rank, name, total, status in rows:
        assert Decimal(str(total)) == totals[RoundKind.HALF_YEAR][names[name]]
        assert status == titles[name]
        assert rank == ordered.index(totals[RoundKind.HALF_YEAR][names[name]]) + 1
    heat = book[book.sheetnames[4]]
    header = [c.value for c in heat[2]]
    first = [c.value for c in heat[3]]
    assert first[0].startswith("1. ") and Decimal(str(first[1])) == kp_weights[1]
    for column, name in enumerate(header[2:], start=2):
        assert Decimal(str(first[column])) == kp_weights[1] - kps[RoundKind.HALF_YEAR][names[name], 1]
    city_book = load_workbook(BytesIO(login("shenyang").get("/results/2012/dashboards.xlsx").data))
    city_heat = city_book[city_book.sheetnames[-1]]
    assert [c.value for c in city_heat[2]][2:] == ["沈阳市"]


def test_the_results_page_links_to_the_dashboards(app, login, known_year):
    html = login("shenyang").get("/results/2012").get_data(as_text=True)
    assert "/results/2012/dashboards" in html


# --- the leadership's home page ------------------------------------------------------------------------------


def test_the_leadership_home_shows_the_phase_the_counts_and_what_awaits_approval(app, login):
    with app.app_context():
        # The year has started and the office's declaration standard is open (a fraction of a second).
        assert simulate(2012, 5, "ln-cities", stop_at="declaration.standard")["stopped_at"]
        year = SchemeYear.find(Scheme.by_code("ln-cities"), 2012)
        [standard] = db.session.scalars(select(InboxTask).where(InboxTask.status == TaskStatus.OPEN)).all()
        # An approval waiting for the leadership, overdue: the home page reads only the inbox table.
        approval = InboxTask(
            task_guid="00000000-0000-4000-8000-00000000a001",
            instance_id=standard.instance_id,
            element_id="approve_round",
            title="审批半年考评结果",
            role=Role.LEADERSHIP,
            form_key="round.approve",
            scope="half_year",
            # where the engine would say it belongs, from the round's BPMN
            process_id="evaluation_round",
            phase="half_year",
            round="half_year",
            due_at=datetime(2012, 7, 31, tzinfo=UTC),
        )
        db.session.add(approval)
        db.session.commit()
        leader = db.session.scalar(select(User).where(User.username == "leader"))
        now = datetime(2012, 8, 1, tzinfo=UTC)
        overview = dashboards.year_overview(year, leader, now)
        rows = {p.phase.value: p for p in overview.phases}
        assert [p.phase.value for p in overview.running] == ["declaration", "half_year"]
        assert (rows["declaration"].open, rows["declaration"].overdue) == (1, 0)
        assert (rows["half_year"].open, rows["half_year"].overdue) == (1, 1)
        assert (overview.open_total, overview.overdue_total) == (2, 1)
        assert rows["formation"].state == "pending" and rows["declaration"].deadline is not None
        assert [t.task_guid for t in overview.my_tasks] == [
            approval.task_guid
        ] and overview.my_task_count == 1
        office = db.session.scalar(select(User).where(User.username == "office"))
        assert [t.form_key for t in dashboards.year_overview(year, office, now).my_tasks] == [
            "declaration.standard"
        ]
        standard_guid = standard.task_guid
    html = login("leader").get("/").get_data(as_text=True)
    assert 'data-testid="year-overview"' in html and 'data-testid="phase-progress"' in html
    running = re.findall(r'data-testid="running-phase"[^>]*>(.*?)</', html, re.S)
    assert running in (["指标申报", "半年考评"], ["Indicator declaration", "Half-year evaluation"]), running
    assert 'data-testid="open-declaration">1<' in html and 'data-testid="open-half_year">1<' in html
    assert 'data-testid="open-total">2<' in html
    assert 'data-testid="overdue-total">' in html  # counted against the real clock on the page
    assert "00000000-0000-4000-8000-00000000a001" in html and standard_guid not in html
    assert "data-chart=" not in html  # no results yet
    office_home = login("office").get("/").get_data(as_text=True)
    assert 'data-testid="year-overview"' in office_home and standard_guid in office_home
    city_home = login("shenyang").get("/").get_data(as_text=True)
    assert 'data-testid="year-overview"' not in city_home and 'data-testid="duties"' in city_home


def test_the_leadership_home_ranks_the_top_and_bottom_cities_once_results_exist(app, login, known_year):
    html = login("leader").get("/").get_data(as_text=True)
    with app.app_context():
        ranking = results.annual_result(known_year).results["cities"]
    assert 'data-testid="chart-home-ranking"' in html
    top = re.search(r'data-testid="top-cities"(.*?)</ol>', html, re.S).group(1)
    bottom = re.search(r'data-testid="bottom-cities"(.*?)</ol>', html, re.S).group(1)
    assert ranking[0]["name"] in top and ranking[-1]["name"] in bottom and ranking[-1]["name"] not in top
    assert "/results/2012/dashboards" in html
    data = json.loads(re.search(r'id="home-data">(.*?)</script>', html, re.S).group(1))
    assert data["ranking"]["cities"][0] == ranking[0]["name"] and len(data["ranking"]["totals"]) == 14


def test_a_year_not_started_has_no_running_phase_and_nothing_open(app, demo):
    with app.app_context():
        year = SchemeYear.find(Scheme.by_code("ln-cities"), 2012)
        leader = db.session.scalar(select(User).where(User.username == "leader"))
        overview = dashboards.year_overview(year, leader, datetime.now(UTC) + timedelta(days=1))
        assert overview.instance is None and overview.open_total == 0 and overview.next_phase is None
        assert [p.phase.value for p in overview.phases][0] == "declaration"
