"""The task page: draft state and the unsaved-changes hooks, prominent instructions, the history with a
return's reason, attachments in the side column, and long grids grouped by dimension with totals,
labelled inputs and range hints while the server still refuses out-of-range scores."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from models.db import db, utcnow
from models.evaluation import EvaluationRound, Evidence, RoundKind
from models.org import OrgUnit, Role, User
from models.scheme import Indicator
from models.workflow import InboxTask, TaskStatus
from tests.snapshots import simulate_once
from tests.webapp.test_tasks_web import start_round
from webapp.domain import audit
from workflows import engine


def english(client):
    client.get("/lang/en")
    return client


def test_draft_state_dirty_indicator_buttons_and_instructions(app, login):
    guid = start_round(app)["shenyang"]
    client = english(login("shenyang"))
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="draft-state" data-draft-saved="false"' in page and "No draft saved yet." in page
    # The in-page indicator starts hidden; task.js shows it on input and warns before leaving.
    assert re.search(r'data-testid="dirty-indicator"[^>]*hidden', page)
    assert 'id="task-form" data-task-form data-track-changes' in page
    assert 'data-testid="submit-button"' in page and 'data-testid="save-draft-button"' in page
    assert '<script src="/static/js/task.js"></script>' in page and "<script>" not in page
    assert 'data-testid="instructions"' in page and "Report your completion." in page

    assert client.post(f"/tasks/{guid}", data={"action": "draft", "value": "4x"}).status_code == 302
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-draft-saved="true"' in page and "Draft saved" in page and 'value="4x"' in page

    refused = client.post(f"/tasks/{guid}", data={"action": "complete", "value": "140"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert (
        'data-testid="field-error" data-field="value"' in html and 'aria-describedby="value-errors"' in html
    )

    assert client.post(f"/tasks/{guid}", data={"action": "complete", "value": "14"}).status_code == 302
    done = client.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="draft-state"' not in done and "data-track-changes" not in done
    assert 'data-testid="submit-button"' not in done


def test_history_shows_who_did_what_and_the_reason_of_a_return(app, login):
    guid = start_round(app)["shenyang"]
    with app.app_context():
        task = InboxTask.by_guid(guid)
        office = db.session.scalar(select(User).where(User.username == "office"))
        shenyang = db.session.scalar(select(User).where(User.username == "shenyang"))
        dalian = db.session.scalar(select(User).where(User.username == "dalian"))
        earlier = _completed(task, "City self-report", task.org_id, shenyang, {"value": "9"})
        review = _completed(
            task,
            "Office review",
            None,
            office,
            {"decision": "return", "comment": "请补充佐证材料", "returned_cities": ["shenyang"]},
        )
        other = _completed(task, "Dalian self-report", OrgUnit.by_code("dalian").id, dalian, {"value": "1"})
        for t, actor, routing in (
            (earlier, shenyang, {}),
            (review, office, {"decision": "return", "returned_cities": ["shenyang"]}),
            (other, dalian, {}),
        ):
            audit.record(
                "task.completed",
                actor,
                instance_id=t.instance_id,
                task_guid=t.task_guid,
                detail={"routing": routing},
            )
        db.session.commit()
    client = english(login("shenyang"))
    client.post(f"/tasks/{guid}", data={"action": "claim"})
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    history = page[page.index('data-testid="history"') :]
    entries = re.findall(r'data-testid="history-entry".*?</li>', history, re.S)
    texts = [re.sub(r"\s+", " ", e) for e in entries]
    assert any(
        "Office review" in t and 'data-testid="history-return"' in t and "请补充佐证材料" in t for t in texts
    )
    assert any("City self-report" in t and "completed the task" in t for t in texts)
    assert any("claimed the task" in t for t in texts)
    assert "Dalian self-report" not in history, "another city's work is not in this task's history"


def _completed(task, title, org_id, user, submitted) -> InboxTask:
    row = InboxTask(
        task_guid=str(uuid.uuid4()),
        instance_id=task.instance_id,
        element_id="x",
        title=title,
        lane="office" if org_id is None else "city",
        role=Role.OFFICE if org_id is None else Role.CITY,
        org_id=org_id,
        form_key="test.review" if org_id is None else "test.report",
        status=TaskStatus.COMPLETED,
        submitted=submitted,
        completed_by_id=user.id,
        completed_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def test_a_scoring_grid_groups_by_dimension_totals_and_labels_its_inputs(app, login, demo):
    """One simulated half-year up to the departments' scores (it takes a while), then the score grid."""
    with app.app_context():
        stopped = simulate_once(2012, 5, stop_at="round.score")
        task = db.session.scalars(
            select(InboxTask)
            .where(InboxTask.form_key == "round.score", InboxTask.status == TaskStatus.OPEN)
            .order_by(InboxTask.id)
        ).first()
        guid, username = task.task_guid, task.org.code
        indicators = db.session.scalars(
            select(Indicator)
            .where(
                Indicator.scheme_year_id == task.instance.scheme_year_id, Indicator.owner_id == task.org_id
            )
            .order_by(Indicator.seq)
        ).all()
        first = indicators[0]
        report = db.session.scalars(
            select(InboxTask).where(
                InboxTask.form_key == "round.self_report", InboxTask.status == TaskStatus.COMPLETED
            )
        ).first()
        report_guid, city = report.task_guid, report.org
        round_ = EvaluationRound.find(task.instance.scheme_year_id, RoundKind(task.scope))
        db.session.add(
            Evidence(
                round_id=round_.id,
                city_id=city.id,
                indicator_id=first.id,
                org_id=city.id,
                kind="self_report",
                filename="完成情况说明.pdf",
                content_type="application/pdf",
                size=2048,
                sha256="a" * 64,
                uploaded_by_id=report.completed_by_id,
                task_guid=report_guid,
            )
        )
        first = SimpleNamespace(code=first.code, name=first.name, weight=first.weight)  # survives the commit
        city_code = city.code
        db.session.commit()
        clock = datetime.fromisoformat(stopped["clock"])

    client = english(login(username))
    with engine.use_clock(clock):
        page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    # grouped: a heading row per dimension, then per indicator with its weight and key point
    assert page.count('data-testid="grid-dimension"') >= 1
    assert page.count('data-testid="grid-indicator"') == len(indicators)
    assert f"<code>{first.code}</code> {first.name}" in page and "Key point" in page
    # totals: one per city in the sticky footer, one per dimension
    city_totals = re.findall(
        r'data-testid="grid-total" data-total-of="city" data-city="([^"]+)">([^<]*)<', page
    )
    assert len(city_totals) == 14 and all(total == "0" for _c, total in city_totals)
    assert 'data-testid="grid-total" data-total-of="dimension"' in page
    # every score input is labelled by indicator and city, with the weight as a range hint
    score = re.search(r'<input [^>]*id="rows-0-score"[^>]*>', page).group(0)
    weight = format(first.weight.normalize(), "f")
    assert f'max="{weight}"' in score and 'min="0"' in score and 'type="number"' in score
    assert re.search(rf'aria-label="Score, {first.code} {re.escape(first.name)}, [^"]+"', score)
    assert 'data-grid-col="score"' in score
    # attachments of the rows the department scores, in the side column
    assert 'data-testid="evidence-file"' in page and "完成情况说明.pdf" in page
    assert page.index('data-testid="evidence"') > page.index('id="task-form"'), "a side card, after the form"

    # A draft's values come back as totals computed by the server.
    fields = dict(re.findall(r'name="(rows-\d+-(?:code|city|reported))" value="([^"]*)"', page))
    n_rows = len([k for k in fields if k.endswith("-code")])
    data = {"action": "draft", **fields, **{f"rows-{n}-score": "1" for n in range(n_rows)}}
    with engine.use_clock(clock):
        assert client.post(f"/tasks/{guid}", data=data).status_code == 302
        page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    totals = dict(re.findall(r'data-total-of="city" data-city="([^"]+)">([^<]*)<', page))
    assert set(totals.values()) == {str(len(indicators))}

    # The server stays the authority: an out-of-range score is refused naming the indicator and the city.
    data.update({"action": "complete", "rows-0-score": str(first.weight + Decimal(1))})
    data.update({f"rows-{n}-reason": "未完全达标" for n in range(n_rows)})
    with engine.use_clock(clock):
        refused = client.post(f"/tasks/{guid}", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    error = re.search(r'data-testid="field-error" data-field="rows-0-score">([^<]*)<', html).group(1)
    assert first.code in error and fields["rows-0-city"] in error

    # A completed self-report shows its 117 rows grouped by dimension with how many were filled.
    reporter = english(login(city_code))
    with engine.use_clock(clock):
        report_page = reporter.get(f"/tasks/{report_guid}").get_data(as_text=True)
    assert report_page.count('data-testid="grid-dimension"') == 7
    filled = [int(n) for n in re.findall(r'data-testid="grid-progress"[^>]*>(\d+)<', report_page)]
    assert sum(filled) == 117
    assert 'aria-label="Completion, I001 ' in report_page


def test_task_page_access(app, login):
    guid = start_round(app)["shenyang"]
    assert login("dalian").get(f"/tasks/{guid}").status_code == 403
    assert login("office").get(f"/tasks/{guid}").status_code == 200, "the office may look at any task"
    assert app.test_client().get(f"/tasks/{guid}").status_code == 302
