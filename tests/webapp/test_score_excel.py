"""A department's score sheet as an Excel template: download, fill offline, upload as the draft, every refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from models.db import db
from models.org import OrgKind, User
from models.scheme import Indicator
from models.workflow import InboxTask, TaskStatus
from tests.snapshots import simulate_once
from webapp.domain import sheets
from webapp.domain.errors import WorkbookInvalid
from webapp.domain.process import tasks as task_service
from webapp.domain.rounds import score_excel
from workflows import engine
from workflows.forms.values import raw_values

HEADERS = ["编号", "考评指标", "分值", "市", "自评情况", "得分", "扣分理由"]
CODE, NAME, WEIGHT, CITY, REPORTED, SCORE, REASON = range(1, 8)


@dataclass(frozen=True)
class ScoreTask:
    guid: str
    username: str  # a user of the department that scores
    other: str  # a user of another department that scores too
    clock: datetime  # the simulation's clock, for calling services directly
    weights: dict[str, Decimal]
    names: dict[str, str]


def score_tasks(app) -> list[ScoreTask]:
    """Simulate up to the half-year scores once; every department's score task is then open."""
    with app.app_context():
        stopped = simulate_once(2012, 5, stop_at="round.score")
        assert stopped["stopped_at"] == "round.score"
        tasks = db.session.scalars(
            select(InboxTask)
            .where(InboxTask.form_key == "round.score", InboxTask.status == TaskStatus.OPEN)
            .order_by(InboxTask.id)
        ).all()
        out = []
        for task, other in zip(tasks, tasks[1:], strict=False):
            assert task.org.kind == OrgKind.DEPARTMENT and other.org_id != task.org_id
            indicators = db.session.scalars(
                select(Indicator).where(
                    Indicator.scheme_year_id == task.instance.scheme_year_id,
                    Indicator.owner_id == task.org_id,
                )
            ).all()
            assert indicators, "the department scores some indicators"
            out.append(
                ScoreTask(
                    guid=task.task_guid,
                    username=task.org.code,  # the demo's department users are named by their org's code
                    other=other.org.code,
                    clock=datetime.fromisoformat(stopped["clock"]),
                    weights={i.code: i.weight for i in indicators},
                    names={i.code: i.name for i in indicators},
                )
            )
        return out


def downloaded(client, guid: str) -> Workbook:
    response = client.get(f"/tasks/{guid}/template.xlsx")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(BytesIO(response.data))


def saved(workbook: Workbook) -> bytes:
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, guid: str, data: bytes):
    return client.post(
        f"/tasks/{guid}/template",
        data={"workbook": (BytesIO(data), "scores.xlsx")},
        content_type="multipart/form-data",
    )


def fill_full_marks(sheet: Worksheet) -> None:
    """Every row at full marks (a number, as Excel keeps it), no reason."""
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, SCORE).value = sheet.cell(row, WEIGHT).value
        sheet.cell(row, REASON).value = None


def draft_of(app, guid: str) -> dict | None:
    with app.app_context():
        task = InboxTask.by_guid(guid)
        assert task.status == TaskStatus.OPEN
        return task.draft


def grid_of(app, st: ScoreTask) -> list[dict]:
    with app.app_context(), engine.use_clock(st.clock):
        task = InboxTask.by_guid(st.guid)
        user = db.session.scalar(select(User).where(User.username == st.username))
        return raw_values(task_service.build_form(task, user))["rows"]


def check_the_template_holds_the_grid_with_the_indicators_and_grey_read_only_columns(app, login, score_task):
    client = login(score_task.username)
    page = client.get(f"/tasks/{score_task.guid}").get_data(as_text=True)
    assert 'data-testid="score-template"' in page and 'enctype="multipart/form-data"' in page
    assert f"/tasks/{score_task.guid}/template.xlsx" in page

    workbook = downloaded(client, score_task.guid)

    assert workbook.sheetnames == ["评分"]
    sheet = workbook["评分"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2"
    grid = grid_of(app, score_task)
    assert sheet.max_row - 1 == len(grid) == 14 * len(score_task.weights)
    for number, row in enumerate(grid, start=2):
        values = [c.value for c in sheet[number]]
        assert values[CODE - 1] == row["code"] and values[CITY - 1] == row["city"]
        assert values[REPORTED - 1] == row["reported"]
        assert values[NAME - 1] == score_task.names[row["code"]]
        assert Decimal(str(values[WEIGHT - 1])) == score_task.weights[row["code"]]
        assert values[SCORE - 1] is None and values[REASON - 1] is None  # nothing scored yet
    cells = sheet[2]
    for column in (CODE, NAME, WEIGHT, CITY, REPORTED):
        assert cells[column - 1].fill.fgColor.rgb.endswith("E7E6E6"), column
    for column in (SCORE, REASON):
        assert cells[column - 1].fill.fill_type is None, column


def check_a_filled_template_becomes_the_draft_and_the_task_stays_open(app, login, score_task):
    client = login(score_task.username)
    workbook = downloaded(client, score_task.guid)
    sheet = workbook["评分"]
    fill_full_marks(sheet)
    first_code = sheet.cell(2, CODE).value
    partial = score_task.weights[first_code] - Decimal("0.5")
    sheet.cell(2, SCORE).value = float(partial)
    sheet.cell(2, REASON).value = "  进度滞后  "
    sheet.cell(3, SCORE).value = str(score_task.weights[sheet.cell(3, CODE).value])  # typed as text

    response = upload(client, score_task.guid, saved(workbook))

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{score_task.guid}")
    draft = draft_of(app, score_task.guid)
    assert draft is not None and len(draft["rows"]) == sheet.max_row - 1
    assert Decimal(draft["rows"][0]["score"]) == partial and draft["rows"][0]["reason"] == "进度滞后"
    for row in draft["rows"][1:]:
        assert Decimal(row["score"]) == score_task.weights[row["code"]] and row["reason"] == ""
    page = client.get(f"/tasks/{score_task.guid}").get_data(as_text=True)
    assert 'data-testid="draft-state"' in page and "进度滞后" in page

    # The next download holds the draft, and the draft submits as usual.
    again = downloaded(client, score_task.guid)["评分"]
    assert Decimal(str(again.cell(2, SCORE).value)) == partial and again.cell(2, REASON).value == "进度滞后"
    with app.app_context(), engine.use_clock(score_task.clock):
        user = db.session.scalar(select(User).where(User.username == score_task.username))
        task_service.complete_task(score_task.guid, user, {"rows": draft["rows"]})
        db.session.commit()
        assert InboxTask.by_guid(score_task.guid).status == TaskStatus.COMPLETED


def check_every_problem_is_listed_and_nothing_is_saved(app, login, score_task):
    client = login(score_task.username)
    workbook = downloaded(client, score_task.guid)
    sheet = workbook["评分"]
    fill_full_marks(sheet)
    assert upload(client, score_task.guid, saved(workbook)).status_code == 302
    before = draft_of(app, score_task.guid)

    def weight(row: int) -> Decimal:
        return score_task.weights[sheet.cell(row, CODE).value]

    sheet.cell(2, SCORE).value = float(weight(2) + 1)  # above the weight
    sheet.cell(3, SCORE).value = -1
    sheet.cell(4, SCORE).value = "abc"
    sheet.cell(5, SCORE).value = float(weight(5) - 1)  # below full marks, no reason
    missing = (sheet.cell(6, CODE).value, sheet.cell(6, CITY).value)
    sheet.cell(6, CITY).value = "不存在市"
    duplicate = [c.value for c in sheet[7]]
    sheet.append(duplicate)
    last = sheet.max_row
    for row in range(2, 6):
        sheet.cell(row, REASON).value = None

    response = upload(client, score_task.guid, saved(workbook))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    listed = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
        html.split('data-testid="template-errors"')[1],
    )
    where = {(int(row or 0), column) for _sheet, row, column, _reason in listed}
    assert where == {
        (0, ""),  # the row of the city that was renamed is missing
        (2, "得分"),
        (3, "得分"),
        (4, "得分"),
        (5, "扣分理由"),
        (6, "市"),
        (last, ""),
    }, listed
    reasons = {int(row or 0): reason for _sheet, row, _column, reason in listed}
    code2, city2 = sheet.cell(2, CODE).value, sheet.cell(2, CITY).value
    assert code2 in reasons[2] and city2 in reasons[2]
    assert "abc" in reasons[4] and "不存在市" in reasons[6]
    assert missing[0] in reasons[0] and missing[1] in reasons[0] and "7" in reasons[last]
    assert draft_of(app, score_task.guid) == before, "the draft is unchanged"


def check_the_service_reports_every_row_error_with_its_sheet_row_and_column(app, login, score_task):
    workbook = downloaded(login(score_task.username), score_task.guid)
    sheet = workbook["评分"]
    fill_full_marks(sheet)
    sheet.cell(2, SCORE).value = "1.005"
    sheet.cell(3, CODE).value = "X999"
    sheet.cell(4, SCORE).value = None
    with app.app_context(), engine.use_clock(score_task.clock):
        task = InboxTask.by_guid(score_task.guid)
        user = db.session.scalar(select(User).where(User.username == score_task.username))
        with pytest.raises(WorkbookInvalid) as refused:
            score_excel.apply_template(task, user, saved(workbook))
        errors = refused.value.errors
        assert all(isinstance(e.reason, str) and e.sheet == "评分" for e in errors)
        assert [(e.row, e.column) for e in errors] == [(0, ""), (2, "得分"), (3, "编号"), (4, "得分")]
        assert "X999" in errors[2].reason
        with pytest.raises(WorkbookInvalid) as unreadable:
            score_excel.apply_template(task, user, b"not a workbook")
        assert [(e.row, e.column) for e in unreadable.value.errors] == [(0, "")]
        assert InboxTask.by_guid(score_task.guid).draft is None


def check_a_user_of_another_department_is_refused(login, score_task):
    workbook = downloaded(login(score_task.username), score_task.guid)
    other = login(score_task.other)

    assert other.get(f"/tasks/{score_task.guid}/template.xlsx").status_code == 403
    assert upload(other, score_task.guid, saved(workbook)).status_code == 403


def check_a_completed_task_has_no_template_to_fill(app, login, score_task):
    client = login(score_task.username)
    workbook = downloaded(client, score_task.guid)
    with app.app_context(), engine.use_clock(score_task.clock):
        task = InboxTask.by_guid(score_task.guid)
        user = db.session.scalar(select(User).where(User.username == score_task.username))
        rows = raw_values(task_service.build_form(task, user))["rows"]
        for row in rows:
            row["score"] = str(score_task.weights[row["code"]])
        task_service.complete_task(score_task.guid, user, {"rows": rows})
        db.session.commit()

    assert client.get(f"/tasks/{score_task.guid}/template.xlsx").status_code == 409
    assert upload(client, score_task.guid, saved(workbook)).status_code == 409
    page = client.get(f"/tasks/{score_task.guid}").get_data(as_text=True)
    assert 'data-testid="score-template"' not in page


def check_only_grid_tasks_have_a_template_and_an_upload_needs_a_file(app, login, score_task):
    with app.app_context():
        opening = db.session.scalars(
            select(InboxTask).where(InboxTask.form_key == "round.open").order_by(InboxTask.id)
        ).first()
        opening_guid = opening.task_guid
    assert login("office").get(f"/tasks/{opening_guid}/template.xlsx").status_code == 404
    client = login(score_task.username)
    assert client.post(f"/tasks/{score_task.guid}/template", data={}).status_code == 400
    refused = upload(client, score_task.guid, b"PK not really")
    assert refused.status_code == 422
    assert draft_of(app, score_task.guid) is None


def check_a_long_cell_is_not_echoed_and_a_limit_keeps_the_draft(app, login, score_task, monkeypatch):
    client = login(score_task.username)
    workbook = downloaded(client, score_task.guid)
    sheet = workbook["评分"]
    fill_full_marks(sheet)
    long_code, long_score = "未知编号" * 1000, "九十" * 2000  # 4,000 characters each, under the cell limit
    sheet.cell(2, CODE).value = long_code
    sheet.cell(3, SCORE).value = long_score

    response = upload(client, score_task.guid, saved(workbook))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert long_code[:40] + "…" in html and long_score[:40] + "…" in html
    assert long_code[:41] not in html and long_score[:41] not in html
    assert len(html) < 100_000
    monkeypatch.setattr(sheets, "MAX_ROWS", 3)
    workbook = downloaded(client, score_task.guid)
    fill_full_marks(workbook["评分"])
    refused = upload(client, score_task.guid, saved(workbook))
    assert refused.status_code == 422
    listed = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
        refused.get_data(as_text=True).split('data-testid="template-errors"')[1],
    )
    assert [(row, column) for _sheet, row, column, _reason in listed] == [("4", "")], listed
    assert "3" in listed[0][3]
    assert draft_of(app, score_task.guid) is None, "nothing is saved"


def test_score_templates(app, login, demo, monkeypatch):
    """Each check works on its own department's score task of the same simulated round."""
    st = score_tasks(app)
    check_the_template_holds_the_grid_with_the_indicators_and_grey_read_only_columns(app, login, st[0])
    check_a_filled_template_becomes_the_draft_and_the_task_stays_open(app, login, st[1])
    check_every_problem_is_listed_and_nothing_is_saved(app, login, st[2])
    check_the_service_reports_every_row_error_with_its_sheet_row_and_column(app, login, st[3])
    check_a_user_of_another_department_is_refused(login, st[4])
    check_a_completed_task_has_no_template_to_fill(app, login, st[5])
    check_only_grid_tasks_have_a_template_and_an_upload_needs_a_file(app, login, st[6])
    check_a_long_cell_is_not_echoed_and_a_limit_keeps_the_draft(app, login, st[7], monkeypatch)
