"""The office's feedback task gives each city its advice or ticks "no rectification advice" for it: the
page and the API refuse a city left empty naming its row (rows-3-advice), and no rows at all."""

from __future__ import annotations

from sqlalchemy import select

from models.db import db
from models.evaluation import CityFeedback, EvaluationRound, RoundStatus
from models.workflow import InboxTask, TaskStatus
from tests.conftest import bearer
from tests.snapshots import simulate_once
from webapp.domain.rounds import queries


def _feedback_task(app) -> str:
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.feedback")
        return db.session.scalar(
            select(InboxTask.task_guid).where(
                InboxTask.form_key == "round.feedback", InboxTask.status == TaskStatus.OPEN
            )
        )


def _page_rows(app) -> list[dict]:
    with app.app_context():
        rows = queries.advice_rows(None)
    return [{"city": r["city"], "advice": f"{r['city']}：加强数据质量"} for r in rows]


def _post(rows: list[dict], action: str = "complete") -> dict[str, str]:
    data = {"action": action}
    for n, row in enumerate(rows):
        data[f"rows-{n}-city"] = row["city"]
        data[f"rows-{n}-advice"] = row.get("advice", "")
        if row.get("no_advice"):
            data[f"rows-{n}-no_advice"] = "y"
    return data


def _published(app) -> bool:
    with app.app_context():
        round_ = db.session.scalar(select(EvaluationRound).where(EvaluationRound.kind == "half_year"))
        return round_.status == RoundStatus.PUBLISHED


def test_the_page_offers_no_advice_per_city_and_refuses_a_city_left_empty(app, login):
    guid = _feedback_task(app)
    office = login("office")
    page = office.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'name="rows-13-no_advice"' in page and "无整改建议" in page
    rows = _page_rows(app)
    rows[3]["advice"] = ""
    refused = office.post(f"/tasks/{guid}", data=_post(rows))
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'data-field="rows-3-advice"' in html
    assert f"{rows[3]['city']}：请填写整改建议，或勾选“无整改建议”。" in html
    assert not _published(app)

    rows[3]["no_advice"] = True
    assert office.post(f"/tasks/{guid}", data=_post(rows)).status_code == 302
    assert _published(app)
    with app.app_context():
        names = {c.id: name for name, c in queries.cities_by_name().items()}
        kept = {names[f.city_id]: f.advice for f in db.session.scalars(select(CityFeedback))}
    assert kept[rows[3]["city"]] == "" and kept[rows[4]["city"]] == rows[4]["advice"]
    assert len(kept) == 14


def test_the_api_refuses_no_rows_and_a_city_left_empty_and_says_the_rule(app, demo):
    guid = _feedback_task(app)
    api = app.test_client()
    headers = bearer(api, "office")
    detail = api.get(f"/api/v1/tasks/{guid}", headers=headers).get_json()
    row = detail["form"]["properties"]["rows"]["prefixItems"][3]
    assert row["properties"]["no_advice"]["type"] == "boolean"
    assert row["then"]["required"] == ["advice"] and row["if"]["not"]["required"] == ["no_advice"]

    empty = api.post(f"/api/v1/tasks/{guid}/complete", json={"data": {"rows": []}}, headers=headers)
    assert empty.status_code == 422
    assert "无整改建议" in " ".join(m for ms in empty.get_json()["error"]["fields"].values() for m in ms)

    rows = [dict(r, advice=f"{r['city']}：继续保持") for r in detail["data"]["rows"]]
    rows[3]["advice"] = " "
    left = api.post(f"/api/v1/tasks/{guid}/complete", json={"data": {"rows": rows}}, headers=headers)
    assert left.status_code == 422
    assert list(left.get_json()["error"]["fields"]) == ["rows-3-advice"]
    assert not _published(app)

    rows[3].update(advice="", no_advice=True)
    done = api.post(f"/api/v1/tasks/{guid}/complete", json={"data": {"rows": rows}}, headers=headers)
    assert done.status_code == 200, done.get_json()
    assert _published(app)
