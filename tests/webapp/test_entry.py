"""Entry in one pass: every error of a grid at once (page and API), the self-report's rows in the tree's
order with target, unit and last round's value, and the page's aids (badges, banners, confirmations)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from models.db import db
from models.evaluation import EvaluationRound, RoundKind
from models.formation import Declaration, DeclaredIndicator, Phase
from models.org import OrgUnit, User
from models.scheme import Indicator, SchemeYear
from models.workflow import InboxTask, TaskStatus
from tests.conftest import bearer
from tests.snapshots import simulate_once
from tests.webapp.test_cycle_web import deploy_cycle
from webapp.domain.process import tasks as task_service
from webapp.domain.rounds import queries
from workflows import engine


@dataclass(frozen=True)
class Open:
    guid: str
    username: str
    clock: datetime


def select_indicator(code: str):
    return select(Indicator).join(SchemeYear).where(SchemeYear.year == 2012, Indicator.code == code)


def open_task(app, form_key: str, status: TaskStatus = TaskStatus.OPEN, stop_at: str = "round.score") -> Open:
    """The half-year simulated up to `stop_at` (once per session), and one task of it."""
    with app.app_context():
        stopped = simulate_once(2012, 5, stop_at=stop_at)
        task = db.session.scalars(
            select(InboxTask)
            .where(InboxTask.form_key == form_key, InboxTask.status == status)
            .order_by(InboxTask.id)
        ).first()
        return Open(task.task_guid, task.org.code, datetime.fromisoformat(stopped["clock"]))


def three_errors(rows: list[dict], weights: dict[str, Decimal]) -> list[dict]:
    """Full marks everywhere but: row 0 empty, row 1 above the weight, row 2 below full marks with no reason."""
    out = [{**row, "score": str(weights[row["code"]]), "reason": ""} for row in rows]
    out[0]["score"] = ""
    out[1]["score"] = str(weights[out[1]["code"]] + 1)
    out[2]["score"] = "0"
    return out


def weights_of(app, guid: str) -> dict[str, Decimal]:
    """The year's weights by code, in the tree's order (key point, then place under it)."""
    with app.app_context():
        task = db.session.scalar(select(InboxTask).where(InboxTask.task_guid == guid))
        indicators = db.session.scalars(
            select(Indicator).where(Indicator.scheme_year_id == task.instance.scheme_year_id)
        ).all()
        return {i.code: i.weight for i in sorted(indicators, key=lambda i: (i.key_point.number, i.seq))}


def test_a_score_grid_reports_an_empty_cell_a_range_and_a_missing_reason_at_once(app, login):
    task = open_task(app, "round.score")
    weights = weights_of(app, task.guid)
    api = app.test_client()
    headers = bearer(api, task.username)
    with engine.use_clock(task.clock):
        rows = api.get(f"/api/v1/tasks/{task.guid}", headers=headers).get_json()["data"]["rows"]
    codes = list(dict.fromkeys(row["code"] for row in rows))
    assert codes == [code for code in weights if code in codes], "the score rows keep the tree's order"
    with engine.use_clock(task.clock):
        refused = api.post(
            f"/api/v1/tasks/{task.guid}/complete",
            json={"data": {"rows": three_errors(rows, weights)}},
            headers=headers,
        )
    assert refused.status_code == 422
    fields = refused.get_json()["error"]["fields"]
    assert set(fields) == {"rows-0-score", "rows-1-score", "rows-2-reason"}, fields
    assert all(len(messages) == 1 for messages in fields.values()), "each problem once"
    assert rows[1]["code"] in fields["rows-1-score"][0], "the range names its indicator"

    # the same submit on the page: the three messages beside their cells, the grid kept as typed
    client = login(task.username)
    client.get("/lang/en")
    data = {"action": "complete"}
    for n, row in enumerate(three_errors(rows, weights)):
        data.update({f"rows-{n}-{name}": value for name, value in row.items()})
    with engine.use_clock(task.clock):
        page = client.post(f"/tasks/{task.guid}", data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    shown = dict(re.findall(r'data-testid="field-error" data-field="([^"]+)">([^<]*)<', html))
    assert set(shown) == {"rows-0-score", "rows-1-score", "rows-2-reason"}, shown
    assert "required" in shown["rows-0-score"] and "reason" in shown["rows-2-reason"]

    # a total above its maximum is marked as such (task.js keeps the mark current while typing)
    data.update({"action": "draft", "rows-1-score": "100000"})
    with engine.use_clock(task.clock):
        assert client.post(f"/tasks/{task.guid}", data=data).status_code == 302
        html = client.get(f"/tasks/{task.guid}").get_data(as_text=True)
    city = rows[1]["city"]
    total = re.search(
        rf'<span class="grid-total[^"]*"[^>]*data-total-of="city" data-city="{city}"[^>]*>', html
    )
    assert "is-over" in total.group(0) and "data-max=" in total.group(0)
    others = re.findall(r'<span class="grid-total([^"]*)"[^>]*data-total-of="city"', html)
    assert sum("is-over" in c for c in others) == 1, "only that city's total is over"
    assert 'data-over-message="' in html


def test_a_self_report_lists_the_tree_with_target_unit_and_the_round_before(app, login):
    task = open_task(app, "round.self_report", TaskStatus.COMPLETED)
    with app.app_context():
        report = db.session.scalar(select(InboxTask).where(InboxTask.task_guid == task.guid))
        half = EvaluationRound.find(report.instance.scheme_year_id, RoundKind.HALF_YEAR)
        year = half.scheme_year_id
        indicators = db.session.scalars(select(Indicator).where(Indicator.scheme_year_id == year)).all()
        by_code = {i.code: i for i in indicators}
        declared = db.session.scalar(
            select(DeclaredIndicator)
            .join(Declaration)
            .where(
                Declaration.scheme_year_id == year,
                Declaration.department_id == by_code["I004"].owner_id,
                DeclaredIndicator.name == by_code["I004"].name,
            )
        )
        declared.target = "增长8%"
        first = queries.self_report_rows(half, report.org, indicators)
        codes = [row["code"] for row in first]
        assert codes.index("I004") < codes.index("I005"), "the tree's order, as the plan numbers it"
        assert {row["previous"] for row in first} == {"—"}, "nothing before the half-year"
        assert all(row["unit"] == (by_code[row["code"]].unit or "—") for row in first)
        targets = {row["code"]: row["target"] for row in first}
        assert targets["I004"] == "增长8%" and targets["I005"] == "—", "the declared target, else —"
        # in Q3, the city's half-year figures stand beside each input
        q3 = EvaluationRound(
            scheme_year_id=year,
            kind=RoundKind.Q3,
            report_deadline=half.report_deadline + timedelta(days=90),
            score_deadline=half.score_deadline + timedelta(days=90),
        )
        db.session.add(q3)
        db.session.flush()
        second = {row["code"]: row for row in queries.self_report_rows(q3, report.org, indicators)}
        assert all(second[row["code"]]["previous"] == row["completion"] for row in first)
        assert all(second[row["code"]]["completion"] == "" for row in first)
        db.session.rollback()

    client = login(task.username)
    client.get("/lang/en")
    with engine.use_clock(task.clock):
        html = client.get(f"/tasks/{task.guid}").get_data(as_text=True)
    headers = re.findall(r'<th scope="col">([^<]*)</th>', html)
    assert headers[:5] == ["Code", "Indicator", "Target", "Unit", "Last round"], headers
    assert html.index('value="I004"') < html.index('value="I005"')


def _workbook(response):
    assert response.status_code == 200, response.status_code
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(BytesIO(response.data))


def _upload(client, guid: str, workbook):
    out = BytesIO()
    workbook.save(out)
    data = {"workbook": (BytesIO(out.getvalue()), "self-report.xlsx")}
    return client.post(f"/tasks/{guid}/template", data=data, content_type="multipart/form-data")


def test_a_city_fills_its_self_report_in_excel(app, login):
    task = open_task(app, "round.self_report", stop_at="round.self_report")
    guid, city, n_indicators = task.guid, task.username, len(weights_of(app, task.guid))
    client = login(city)
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="grid-template"' in page and f"/tasks/{guid}/template.xlsx" in page

    response = client.get(f"/tasks/{guid}/template.xlsx")
    assert "self-report-2012-half_year-" in response.headers["Content-Disposition"]
    workbook = _workbook(response)
    assert workbook.sheetnames == ["自评"]
    sheet = workbook["自评"]
    headers = [c.value for c in sheet[1]]
    assert headers == [
        "编号",
        "考评指标",
        "分值",
        "目标值",
        "计量单位",
        "上期完成情况",
        "完成情况",
        "情况说明",
    ]
    assert sheet.max_row - 1 == n_indicators
    codes = [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)]
    assert codes.index("I004") < codes.index("I005"), "the tree's order"
    assert {sheet.cell(r, 6).value for r in range(2, sheet.max_row + 1)} == {"—"}, "no round before"
    assert sheet.cell(2, 5).fill.fgColor.rgb.endswith("E7E6E6") and sheet.cell(2, 7).fill.fill_type is None

    # every problem at once, and nothing saved
    for r in range(2, sheet.max_row + 1):
        sheet.cell(r, 7).value = 95.5
    sheet.cell(2, 7).value = None
    sheet.cell(3, 8).value = "说" * 2001
    sheet.cell(4, 1).value = "X999"
    refused = _upload(client, guid, workbook)
    assert refused.status_code == 422
    listed = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
        refused.get_data(as_text=True).split('data-testid="template-errors"')[1],
    )
    assert {(int(row or 0), column) for _s, row, column, _r in listed} == {
        (0, ""),  # the indicator renamed to X999 is missing
        (2, "完成情况"),
        (3, "情况说明"),
        (4, "编号"),
    }, listed
    with app.app_context():
        assert InboxTask.by_guid(guid).draft is None

    # a clean workbook becomes the draft; the task stays open
    sheet.cell(2, 7).value, sheet.cell(3, 8).value, sheet.cell(4, 1).value = (
        "已完成",
        "  按计划推进  ",
        codes[2],
    )
    saved = _upload(client, guid, workbook)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/tasks/{guid}")
    with app.app_context():
        task = InboxTask.by_guid(guid)
        assert task.status == TaskStatus.OPEN
        rows = {row["code"]: row for row in task.draft["rows"]}
    assert rows[codes[0]]["completion"] == "已完成" and rows[codes[1]]["narrative"] == "按计划推进"
    assert rows[codes[5]]["completion"] == "95.5"


def test_a_returned_task_has_a_badge_in_the_inbox_and_its_reason_above_the_form(app, login):
    with app.app_context():
        stopped = simulate_once(2012, 5, stop_at="round.review")
        review = db.session.scalars(
            select(InboxTask).where(InboxTask.form_key == "round.review", InboxTask.status == TaskStatus.OPEN)
        ).one()
        office = db.session.scalar(select(User).where(User.username == "office"))
        data = {"decision": "return", "comment": "请补充第3项佐证材料", "returned_cities": ["dalian"]}
        with engine.use_clock(datetime.fromisoformat(stopped["clock"])):
            task_service.complete_task(review.task_guid, office, data)
        db.session.commit()
        again = db.session.scalars(
            select(InboxTask).where(
                InboxTask.form_key == "round.self_report",
                InboxTask.status == TaskStatus.OPEN,
                InboxTask.org_id == OrgUnit.by_code("dalian").id,
            )
        ).one()
        guid = again.task_guid

    client = login("dalian")
    inbox = client.get("/inbox/").get_data(as_text=True)
    row = re.search(rf'data-task-guid="{guid}".*?</tr>', inbox, re.S).group(0)
    assert 'data-testid="returned-badge"' in row and "已退回" in row
    assert 'title="请补充第3项佐证材料"' in row
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    banner = re.search(r'data-testid="returned-banner".*?</div>\s*</div>', page, re.S).group(0)
    assert "请补充第3项佐证材料" in banner and "退回" in banner
    assert page.index('data-testid="returned-banner"') < page.index('id="task-form"'), "above the form"
    # a city whose report was not returned sees neither
    other = login("shenyang")
    assert 'data-testid="returned-badge"' not in other.get("/inbox/").get_data(as_text=True)


def test_starting_a_year_and_opening_a_phase_early_ask_first(app, login):
    office = login("office")
    page = office.get("/cycle/").get_data(as_text=True)
    start = re.search(r'<button [^>]*data-testid="start-cycle"[^>]*>', page).group(0)
    assert 'data-confirm="' in start and "2012" in start
    assert "/static/js/confirm.js" in page, "the script that asks (no inline script)"
    calendar = re.findall(r'data-testid="calendar-phase" data-phase="([^"]+)" data-state="([^"]+)"', page)
    assert [p for p, _s in calendar] == [phase.value for phase in Phase], "every phase in the plan's order"
    assert {s for _p, s in calendar} == {"not_started"}, "the calendar the start will set"

    # without the script the form simply posts: the year starts, its first phase waits for its date
    deploy_cycle(app)
    with engine.use_clock(datetime(2012, 1, 2, tzinfo=UTC)):
        assert office.post("/cycle/start", data={"year": "2012"}).status_code == 302
        page = office.get("/cycle/").get_data(as_text=True)
    opening = re.search(r'<button [^>]*data-testid="open-declaration"[^>]*>', page).group(0)
    assert 'data-confirm="' in opening
    states = dict(re.findall(r'data-testid="calendar-phase" data-phase="([^"]+)" data-state="([^"]+)"', page))
    assert states["declaration"] in ("waiting", "upcoming") and states["feedback"] == "upcoming"


def test_the_cycle_page_links_what_is_in_progress_and_reminding_everyone_asks_first(app, login):
    office = login("office")
    task = open_task(app, "round.score")
    with engine.use_clock(task.clock):
        page = office.get("/cycle/").get_data(as_text=True)
    with engine.use_clock(task.clock + timedelta(days=40)):  # the scores are late by then
        monitor = office.get("/monitor/2012").get_data(as_text=True)
    states = dict(re.findall(r'data-testid="calendar-phase" data-phase="([^"]+)" data-state="([^"]+)"', page))
    assert states["half_year"] == "open" and states["declaration"] == "ended" and states["q3"] == "upcoming"
    assert 'href="/inbox/?year=2012&amp;phase=half_year"' in page, "the phase in progress links to its tasks"
    steps = re.findall(r'<a href="([^"]+)" data-testid="open-step">([^<]+)</a>', page)
    assert steps and all(href == "/monitor/2012#escalations" for href, _t in steps)
    red = re.search(r'<button [^>]*data-testid="remind-red"[^>]*>', monitor).group(0)
    assert 'data-confirm="' in red and "红" in red


def test_indicator_search_keeps_only_the_headings_above_its_hits(app, login):
    office = login("office")
    page = office.get("/indicators/2012?q=I004").get_data(as_text=True)
    assert page.count('class="tier-indicator"') == 1
    assert (
        page.count("tier-dimension") == 1
        and page.count("tier-level") == 1
        and page.count("tier-key-point") == 1
    )
    everything = office.get("/indicators/2012").get_data(as_text=True)
    assert everything.count("tier-dimension") == 7 and everything.count('class="tier-indicator"') == 117
    nothing = office.get("/indicators/2012?q=不存在的指标").get_data(as_text=True)
    assert 'data-testid="no-match"' in nothing and "tier-dimension" not in nothing


def test_co_owners_are_a_plain_select_the_script_enhances(app, login):
    office = login("office")
    page = office.get("/indicators/2012/indicator/I004").get_data(as_text=True)
    select = re.search(r'<select [^>]*name="co_owners"[^>]*>', page).group(0)
    assert "multiple" in select and "data-multi-select" in select
    assert 'data-filter-placeholder="' in select and 'data-chosen-label="' in select and "{n}" in select
    assert "/static/js/multiselect.js" in page
    # without the script the select posts as before
    with app.app_context():
        indicator = db.session.scalar(select_indicator("I004"))
        owner = indicator.owner.code
    form = dict(re.findall(r'<input [^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    data = {
        "key_point": re.search(r'<option selected value="(\d+)"', page.split('name="key_point"')[1]).group(1),
        "name": form["name"],
        "weight": form["weight"],
        "owner": owner,
        "co_owners": ["fgw", "czt"],
        "unit": form.get("unit", ""),
        "scoring_rule": "",
    }
    assert office.post("/indicators/2012/indicator/I004", data=data).status_code == 302
    with app.app_context():
        assert {o.code for o in db.session.scalar(select_indicator("I004")).co_owners} == {"fgw", "czt"}


def test_the_monitors_legend_shows_swatches_not_sample_numbers(app, login):
    task = open_task(app, "round.score")
    with engine.use_clock(task.clock):
        page = login("office").get("/monitor/2012").get_data(as_text=True)
    legend = re.search(r'data-testid="legend">(.*?)</ul>', page, re.S).group(1)
    assert legend.count('class="legend-swatch') == 5
    assert not re.search(r"\d", re.sub(r"<[^>]+>", "", legend)), "no number in the legend"
