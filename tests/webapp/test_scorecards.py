"""Scorecard views of the results: statuses against the thresholds, rank changes between rounds, the trend
over the years, axes from zero, the heat map by key-point name, and the drill-down from each chart.

The year is the known one of test_dashboards (scores written straight into the score table, each round's
results computed and stored); a second year is the same, cloned from 2012 with each city's scores moved
to another city. Expectations are recomputed from the stored results, not taken from the code under test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models.db import db
from models.evaluation import EvaluationRound, RoundKind
from models.org import User
from models.scheme import Scheme, SchemeYear
from tests.webapp.test_dashboards import store_known_year
from webapp.domain.results import dashboards, scorecard
from webapp.domain.results import queries as results
from webapp.domain.results.scorecard import Status
from webapp.domain.system import queries as indicator_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def known_year(app, demo) -> int:
    return store_known_year(app)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _year(number: int = 2012) -> SchemeYear:
    return SchemeYear.find(Scheme.by_code("ln-cities"), number)


def _ranks(year: SchemeYear, kind: RoundKind) -> dict[str, int]:
    return {e["city"]: e["rank"] for e in EvaluationRound.find(year.id, kind).results["cities"]}


def _chart_json(html: str, source: str = "dashboard-data") -> dict:
    match = re.search(rf'<script type="application/json" id="{source}">(.*?)</script>', html, re.S)
    assert match, "the page carries its chart data"
    return json.loads(match.group(1))


# --- the pure rules ----------------------------------------------------------------------------------------


def test_a_status_follows_the_documented_thresholds():
    cases = {
        ("10", "10"): Status.GOOD,
        ("9.5", "10"): Status.GOOD,
        ("9.49", "10"): Status.WATCH,
        ("8", "10"): Status.WATCH,
        ("7.99", "10"): Status.POOR,
        ("0", "10"): Status.POOR,
        ("0", "0"): Status.GOOD,  # nothing to lose
        ("950", "1000"): Status.GOOD,
        ("949.99", "1000"): Status.WATCH,
    }
    for (score, maximum), expected in cases.items():
        assert scorecard.status_of(Decimal(score), Decimal(maximum)) is expected, (score, maximum)
    assert scorecard.status_of_share(Decimal("95.00")) is Status.GOOD
    assert scorecard.status_of_share(Decimal("94.99")) is Status.WATCH
    assert scorecard.status_of_share(Decimal("79.99")) is Status.POOR


def test_each_status_has_its_own_icon_and_title_and_the_legend_names_the_thresholds(app):
    with app.test_request_context():
        legend = scorecard.legend()
        assert legend == [Status.GOOD, Status.WATCH, Status.POOR]
        assert len({s.icon for s in legend}) == 3 and len({s.title for s in legend}) == 3
        assert len({s.color for s in legend}) == 3 and {s.tone for s in legend} == {
            "success",
            "warning",
            "danger",
        }
        assert "95" in Status.GOOD.rule and "80" in Status.WATCH.rule and "95" in Status.WATCH.rule
        assert "80" in Status.POOR.rule


def test_rank_changes_compare_each_ranking_with_the_one_before():
    before = {"a": 1, "b": 2, "c": 3}
    after = {"a": 3, "b": 1, "c": 2, "d": 4}
    assert scorecard.rank_changes(before, after) == {"a": -2, "b": 1, "c": 1, "d": None}
    assert scorecard.rank_changes(None, after) == dict.fromkeys(after)
    assert [scorecard.change_text(n) for n in (2, -1, 0, None)] == ["↑2", "↓1", "—", ""]
    assert scorecard.previous_view("q3", ["half_year", "q3"]) == "half_year"
    assert scorecard.previous_view("annual", ["half_year", "q3", "year_end", "annual"]) == "year_end"
    assert scorecard.previous_view("year_end", ["year_end", "annual"]) is None  # Q3 not available
    assert scorecard.previous_view("half_year", ["half_year", "q3"]) is None


# --- the dashboards ----------------------------------------------------------------------------------------


def test_rank_changes_between_rounds_on_the_dashboard_and_in_its_export(app, login, known_year):
    with app.app_context():
        year, leader = _year(), _user("leader")
        half, q3 = _ranks(year, RoundKind.HALF_YEAR), _ranks(year, RoundKind.Q3)
        year_end = _ranks(year, RoundKind.YEAR_END)
        annual = {e["city"]: e["rank"] for e in results.annual_result(year.id).results["cities"]}
        board = dashboards.build_dashboard(year, leader, "q3")
        assert board.previous_title == RoundKind.HALF_YEAR.title
        assert {r.city: r.change for r in board.ranking} == {c: half[c] - q3[c] for c in q3}
        assert any(r.change for r in board.ranking), "the known year's ranks move between rounds"
        assert all(r.change is None for r in dashboards.build_dashboard(year, leader, "half_year").ranking)
        yearly = dashboards.build_dashboard(year, leader, "annual")
        assert {r.city: r.change for r in yearly.ranking} == {c: year_end[c] - annual[c] for c in annual}
        data = dashboards.chart_data(board)
        assert data["ranking"]["changes"] == [
            scorecard.change_text(half[r.city] - q3[r.city]) for r in board.ranking
        ]
        moved = next(r for r in board.ranking if r.change)

    html = login("leader").get("/results/2012/dashboards?view=q3").get_data(as_text=True)
    row = re.search(rf'<tr data-city="{moved.city}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-testid="rank-change"' in row and scorecard.change_text(moved.change) in row

    book = load_workbook(BytesIO(login("office").get("/results/2012/dashboards.xlsx?view=q3").data))
    sheet = book[book.sheetnames[1]]
    assert len(sheet[2]) == 5  # rank, change since the half-year, city, total, status
    with app.test_request_context():  # the titles in the request's language, as the workbook has them
        names = {c.name: c.code for c in results.cities()}
        titles = {s.title for s in Status}
    for rank, change, name, _total, status in sheet.iter_rows(min_row=3, values_only=True):
        code = names[name]
        assert rank == q3[code] and (change or "") == scorecard.change_text(half[code] - q3[code])
        assert status in titles


def test_the_results_page_shows_the_rank_changes_of_each_round(app, login, known_year):
    with app.app_context():
        year = _year()
        half, q3 = _ranks(year, RoundKind.HALF_YEAR), _ranks(year, RoundKind.Q3)
    html = login("shenyang").get("/results/2012").get_data(as_text=True)
    card = re.search(r'data-testid="round-q3"(.*?)</table>', html, re.S).group(1)
    for city, rank in q3.items():
        row = re.search(rf'<tr data-city="{city}">(.*?)</tr>', card, re.S).group(1)
        text = scorecard.change_text(half[city] - rank)
        if text:
            assert text in row, city
        else:
            assert 'data-testid="rank-change"' not in row
    half_card = re.search(r'data-testid="round-half_year"(.*?)</table>', html, re.S).group(1)
    assert 'data-testid="rank-change"' not in half_card  # the first round has nothing before it
    assert 'data-testid="status-legend"' in html and "data-status=" in card


def test_totals_and_cells_are_coloured_by_status_with_a_legend(app, login, known_year):
    with app.app_context():
        year = _year()
        board = dashboards.build_dashboard(year, _user("leader"), "year_end")
        maximum = sum(i.weight for i in year.indicators())
        stored = {
            e["city"]: Decimal(e["total"])
            for e in EvaluationRound.find(year.id, RoundKind.YEAR_END).results["cities"]
        }
        assert board.max_total == maximum
        assert {r.city: r.status for r in board.ranking} == {
            c: scorecard.status_of(t, maximum) for c, t in stored.items()
        }
        bars = dashboards.chart_data(board)["ranking"]
        assert bars["colors"] == [r.status.color for r in board.ranking]
        assert bars["statusTitles"] == [r.status.title for r in board.ranking]
        statuses = dashboards.table_statuses(board)
        for i, row in enumerate(board.radar):
            for j, share in enumerate(row.shares):
                assert statuses["radar"][i, j + 1] is scorecard.status_of_share(share)
        for i, kp in enumerate(board.key_points):
            for j, row in enumerate(board.heatmap):
                assert statuses["heatmap"][i, j + 2] is scorecard.status_of(
                    kp.weight - row.lost[i], kp.weight
                )
        kinds = {s for table in statuses.values() for s in table.values()}
        assert Status.GOOD in kinds and Status.WATCH in kinds, "the known year has both"
        lines = EvaluationRound.find(year.id, RoundKind.YEAR_END).results["cities"][0]["lines"]
        weights = {i.code: i.weight for i in year.indicators()}
        worst = min(lines, key=lambda line: Decimal(line["score"]) / weights[line["code"]])
        first_city = EvaluationRound.find(year.id, RoundKind.YEAR_END).results["cities"][0]["city"]

    client = login("leader")
    html = client.get("/results/2012/dashboards?view=year_end").get_data(as_text=True)
    legend = re.search(r'data-testid="status-legend"(.*?)</p>', html, re.S).group(1)
    assert "95" in legend and "80" in legend and legend.count("bi-") == 3
    ranking = re.search(r'data-testid="table-ranking"(.*?)</table>', html, re.S).group(1)
    for r in board.ranking:
        row = re.search(rf'<tr data-city="{r.city}">(.*?)</tr>', ranking, re.S).group(1)
        assert f"table-{r.status.tone}" in row and f'data-status="{r.status.value}"' in row
    radar = re.search(r'data-testid="table-radar"(.*?)</table>', html, re.S).group(1)
    assert radar.count('data-status="') == len(board.radar) * len(board.dimensions)
    assert 'class="visually-hidden">' in radar, "never by colour alone"
    # a city's page marks each indicator's score
    city_page = client.get(f"/results/2012/year_end/city/{first_city}").get_data(as_text=True)
    expected = scorecard.status_of(Decimal(worst["score"]), weights[worst["code"]])
    row = re.search(rf"<code>{worst['code']}</code>(.*?)</tr>", city_page, re.S).group(1)
    assert f'data-status="{expected.value}"' in row and 'data-testid="status-legend"' in city_page


def test_the_heat_map_is_labelled_by_key_point_names(app, login, known_year):
    with app.app_context():
        points = indicator_service.key_points(_year())
    data = _chart_json(login("leader").get("/results/2012/dashboards").get_data(as_text=True))
    assert data["heatmap"]["keyPoints"] == [p.name for p in points]
    assert data["heatmap"]["keyPointNames"] == [f"{p.number}. {p.name}" for p in points]
    assert not any(label.isdigit() for label in data["heatmap"]["keyPoints"])
    # [city, key point, points lost]: the cities across, the key points down
    assert {v[0] for v in data["heatmap"]["values"]} == set(range(len(data["heatmap"]["cities"])))
    assert {v[1] for v in data["heatmap"]["values"]} == set(range(len(points)))


def test_charts_carry_their_drill_down_urls(app, login, known_year):
    leader = login("leader")
    data = _chart_json(leader.get("/results/2012/dashboards").get_data(as_text=True))
    with app.app_context():
        codes = [e["city"] for e in results.annual_result(_year().id).results["cities"]]
        order = [c.code for c in results.cities()]
    # the annual results' breakdown is the year-end round's: a bar opens the city's year-end page
    assert data["ranking"]["urls"] == [f"/results/2012/year_end/city/{c}" for c in codes]
    assert data["heatmap"]["urls"] == [f"/results/2012/year_end/city/{c}" for c in order]
    assert [s["url"] for s in data["radar"]["series"]] == [f"/results/2012/year_end/city/{c}" for c in order]
    first = data["trend"]["series"][0]["urls"]
    assert first == [
        f"/results/2012/{k}/city/{order[0]}" for k in ("half_year", "q3", "year_end", "year_end")
    ]
    assert leader.get(data["ranking"]["urls"][0]).status_code == 200
    q3 = _chart_json(leader.get("/results/2012/dashboards?view=q3").get_data(as_text=True))
    assert q3["ranking"]["urls"][0].startswith("/results/2012/q3/city/")

    # a city opens only its own page; a department has no city's details to open
    city = _chart_json(login("shenyang").get("/results/2012/dashboards").get_data(as_text=True))
    assert [u for u in city["ranking"]["urls"] if u] == ["/results/2012/q3/city/shenyang"]
    department = _chart_json(login("fgw").get("/results/2012/dashboards").get_data(as_text=True))
    assert department["ranking"]["urls"] == [None] * 14
    # the table beside the chart holds the same links, for the keyboard
    html = leader.get("/results/2012/dashboards").get_data(as_text=True)
    assert f'href="/results/2012/year_end/city/{codes[0]}" data-testid="city-link-{codes[0]}"' in html
    home = _chart_json(leader.get("/").get_data(as_text=True), "home-data")
    assert home["ranking"]["urls"] == data["ranking"]["urls"]


def test_bars_start_at_zero_and_other_axes_say_where_they_start(app, login, known_year):
    data = _chart_json(login("leader").get("/results/2012/dashboards").get_data(as_text=True))
    assert data["ranking"]["axis"]["min"] == 0
    trend = data["trend"]["axis"]
    lowest = min(v for s in data["trend"]["series"] for v in s["values"] if v is not None)
    assert 0 < trend["min"] <= lowest and str(trend["min"]) in trend["name"]
    assert 0 < data["radar"]["min"] <= min(v for s in data["radar"]["series"] for v in s["values"])
    assert all(i["min"] == data["radar"]["min"] for i in data["radar"]["indicators"])

    # what charts.js hands ECharts: run in Node with a stand-in ECharts
    drawn = _draw(data)
    assert (
        drawn["ranking"]["option"]["xAxis"]["min"] == 0 and "scale" not in drawn["ranking"]["option"]["xAxis"]
    )
    assert (
        drawn["trend"]["option"]["yAxis"]["min"] == trend["min"]
        and drawn["trend"]["option"]["yAxis"]["name"] == trend["name"]
    )
    assert drawn["heatmap"]["option"]["yAxis"]["data"] == data["heatmap"]["keyPoints"]
    assert drawn["heatmap"]["height"], "a heat map of 42 key points is made tall enough to read"
    # a click on the first bar, series, point or cell opens its page
    assert drawn["ranking"]["opens"] == data["ranking"]["urls"][0]
    assert drawn["radar"]["opens"] == data["radar"]["series"][0]["url"]
    assert drawn["trend"]["opens"] == data["trend"]["series"][0]["urls"][0]
    assert drawn["heatmap"]["opens"] == data["heatmap"]["urls"][0]
    colours = [item["itemStyle"]["color"] for item in drawn["ranking"]["option"]["series"][0]["data"]]
    assert colours == data["ranking"]["colors"]


def _draw(data: dict) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is needed (the README's requirements)"
    result = subprocess.run(  # noqa: S603 - our own script over our own data
        [node, "tests/js/charts.mjs"],
        cwd=ROOT,
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- over the years ----------------------------------------------------------------------------------------


def test_one_year_has_no_trend_over_the_years_but_a_note(app, login, known_year):
    html = login("leader").get("/results/2012/dashboards").get_data(as_text=True)
    assert 'data-testid="years-need-two"' in html and 'data-chart="years"' not in html
    assert "years" not in _chart_json(html)


def test_a_second_year_shows_each_citys_total_and_rank_over_the_years(app, login, known_year):
    second = store_known_year(app, 2013, shift=1)
    with app.app_context():
        first_annual = {e["city"]: e for e in results.annual_result(known_year).results["cities"]}
        second_annual = {e["city"]: e for e in results.annual_result(second).results["cities"]}
        assert {c: e["rank"] for c, e in first_annual.items()} != {
            c: e["rank"] for c, e in second_annual.items()
        }
        board = dashboards.build_dashboard(_year(2013), _user("leader"))
        assert board.years.years == [2012, 2013] and board.years.enough
        for row in board.years.rows:
            assert row.totals == [
                Decimal(first_annual[row.city]["total"]),
                Decimal(second_annual[row.city]["total"]),
            ]
            assert row.ranks == [first_annual[row.city]["rank"], second_annual[row.city]["rank"]]
        # 2012's dashboards look back, never forward
        assert dashboards.build_dashboard(_year(2012), _user("leader")).years.years == [2012]
        # the annual results are not published: a city sees no year of them
        assert dashboards.build_dashboard(_year(2013), _user("shenyang")).years.years == []

    client = login("leader")
    html = client.get("/results/2013/dashboards").get_data(as_text=True)
    data = _chart_json(html)
    assert data["years"]["columns"] == ["2012", "2013"]
    assert data["years"]["urls"] == ["/results/2012/dashboards", "/results/2013/dashboards"]
    assert data["years"]["axis"]["min"] <= min(v for s in data["years"]["series"] for v in s["values"])
    shenyang = next(s for s in data["years"]["series"] if s["name"] == "沈阳市")
    assert shenyang["ranks"] == [first_annual["shenyang"]["rank"], second_annual["shenyang"]["rank"]]
    assert 'data-chart="years"' in html and 'data-testid="table-years"' in html
    assert 'data-testid="years-need-two"' not in html
    book = load_workbook(BytesIO(client.get("/results/2013/dashboards.xlsx").data))
    years_sheet = book[book.sheetnames[-1]]
    assert len(years_sheet[2]) == 5  # city, then total and rank of each year
    assert _draw(data)["years"]["opens"] == "/results/2012/dashboards"


def test_a_departments_indicator_scores_are_marked_by_status(app, login, known_year):
    with app.app_context():
        year = _year()
        department = _user("fgw")
        owned = {i.code: i.weight for i in year.indicators() if i.owner_id == department.org_id}
        first = results.cities()[0].code  # the table's first column
        entry = next(
            e for e in EvaluationRound.find(year.id, RoundKind.Q3).results["cities"] if e["city"] == first
        )
        scores = {line["code"]: Decimal(line["score"]) for line in entry["lines"] if line["code"] in owned}
    assert owned, "the department owns indicators"
    html = login("fgw").get("/results/2012/department").get_data(as_text=True)
    assert 'data-testid="status-legend"' in html
    q3 = html.split("<h2")[2]  # the published rounds in order: half-year, then Q3
    marked = set()
    for code, score in scores.items():
        row = re.search(rf"<code>{code}</code>(.*?)</tr>", q3, re.S).group(1)
        first_cell = re.search(r'<td class="text-end[^"]*" data-status="(\w+)"', row).group(1)
        assert first_cell == scorecard.status_of(score, owned[code]).value, code
        marked.add(first_cell)
    assert len(marked) > 1, "the known year's scores are not all of one status"
