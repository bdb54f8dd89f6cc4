"""Task API v1 on a simulated year: each task says where it belongs and whom it concerns, lists only
what the caller may open, and its schema tells the truth (the task's choices with their labels, dates,
each score's bounds and the reason rule); the year's verbs keep the web's permissions."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from jsonschema import Draft202012Validator
from openpyxl import load_workbook
from sqlalchemy import select

from models.db import db
from models.formation import Phase, YearPhase
from models.scheme import SchemeYear
from tests.conftest import bearer
from tests.snapshots import simulate_once
from webapp.domain.localtime import LOCAL
from webapp.domain.process import cycle as cycle_service
from webapp.domain.system import queries as system_queries

PDF = b"%PDF-1.4\n% a small test file\n"


def _open(api, username: str, form_key: str) -> list[dict]:
    listed = api.get("/api/v1/tasks", headers=bearer(api, username)).get_json()["tasks"]
    return [t for t in listed if t["form_key"] == form_key]


def test_experts_list_only_their_own_reviews_and_the_draft_offered_the_years_experts(app, demo):
    with app.app_context():
        simulate_once(2012, 5, stop_at="formation.comment")
    api = app.test_client()
    mine = {u: _open(api, u, "formation.comment") for u in ("expert1", "expert2", "expert3")}
    assert len(mine["expert1"]) == len(mine["expert2"]) == 1 and mine["expert3"] == []
    assert mine["expert1"][0]["id"] != mine["expert2"][0]["id"]
    assert mine["expert1"][0]["assignee"] == "expert1"
    headers = bearer(api, "expert1")
    assert api.get(f"/api/v1/tasks/{mine['expert1'][0]['id']}", headers=headers).status_code == 200
    assert api.get(f"/api/v1/tasks/{mine['expert2'][0]['id']}", headers=headers).status_code == 403

    office = bearer(api, "office")
    done = api.get("/api/v1/tasks?status=completed", headers=office).get_json()["tasks"]
    draft = next(t for t in done if t["form_key"] == "formation.draft")
    form = api.get(f"/api/v1/tasks/{draft['id']}", headers=office).get_json()["form"]
    experts = form["properties"]["experts"]
    assert experts["items"]["enum"] == ["expert1", "expert2", "expert3"]
    assert experts["items"]["x-enumNames"] == ["专家 张教授", "专家 李研究员", "专家 王教授"]
    assert experts["items"]["oneOf"][0] == {"const": "expert1", "title": "专家 张教授"}
    assert experts["minItems"] == 1 and "experts" in form["required"]
    deadline = form["properties"]["solicitation_deadline"]
    assert (
        deadline["format"] == "date" and deadline["formatMinimum"] == datetime.now(LOCAL).date().isoformat()
    )

    reviews = [t for t in done if t["form_key"] == "declaration.review"]
    assert len({t["subject"]["code"] for t in reviews}) == 46, "each review names its department"
    fgw = next(t for t in reviews if t["subject"]["code"] == "fgw")
    assert fgw["org"] is None and fgw["title"].endswith(" · " + fgw["subject"]["short_name"])
    assert fgw["year"] == 2012 and fgw["phase"]["code"] == "declaration" and fgw["round"] is None


def test_score_rows_carry_their_indicator_its_maximum_and_the_reason_rule(app, demo):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.score")
    api = app.test_client()
    [task] = _open(api, "fgw", "round.score")
    assert task["round"]["code"] == "half_year" and task["title"].startswith(task["round"]["name"] + " · ")
    assert task["phase"]["code"] == "half_year" and task["subject"]["code"] == "fgw"
    detail = api.get(f"/api/v1/tasks/{task['id']}", headers=bearer(api, "fgw")).get_json()
    grid, rows = detail["form"]["properties"]["rows"], detail["data"]["rows"]
    assert (
        len(grid["prefixItems"]) == len(rows) == grid["minItems"] == grid["maxItems"]
        and grid["items"] is False
    )
    first = grid["prefixItems"][0]
    indicator = first["x-indicator"]
    assert indicator["code"] == rows[0]["code"] and indicator["name"] and indicator["key_point"]["name"]
    assert first["properties"]["code"]["const"] == rows[0]["code"]
    assert first["x-city"]["short_name"] == rows[0]["city"] and first["x-city"]["name"]
    weight = float(indicator["weight"])
    assert indicator["weight"].count(".") == 1 and len(indicator["weight"].split(".")[1]) == 2
    score = first["properties"]["score"]
    assert score["minimum"] == 0 and score["maximum"] == weight and score["x-maximum"] == indicator["weight"]

    validator = Draft202012Validator(first)
    row = {**rows[0], "reason": ""}
    assert validator.is_valid({**row, "score": weight}) and validator.is_valid(
        {**row, "score": indicator["weight"]}
    )
    assert not validator.is_valid({**row, "score": weight + 1}), "above the weight"
    assert not validator.is_valid({**row, "score": round(weight / 2, 2)}), "below full marks without a reason"
    assert not validator.is_valid({**row, "score": "0.5"}), "as text too"
    assert validator.is_valid({**row, "score": round(weight / 2, 2), "reason": "部分目标未完成。"})
    assert not validator.is_valid({**row, "code": "I999"})

    # the server agrees with the schema: a row below full marks without its reason is refused
    full = [item["x-indicator"]["weight"] for item in grid["prefixItems"]]
    data = {"rows": [dict(r, score="0" if n == 0 else full[n], reason="") for n, r in enumerate(rows)]}
    refused = api.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=bearer(api, "fgw")
    )
    assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == ["rows-0-reason"]


def test_evidence_and_the_grid_workbook_go_through_the_api(app, demo):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.self_report")
    api = app.test_client()
    headers = bearer(api, "dalian")
    [task] = _open(api, "dalian", "round.self_report")
    detail = api.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()
    row = detail["form"]["properties"]["rows"]["prefixItems"][0]
    assert row["x-indicator"]["code"] == detail["data"]["rows"][0]["code"] and "target" in row["x-indicator"]

    attached = api.post(
        f"/api/v1/tasks/{task['id']}/evidence",
        data={"indicator": "I001", "file": (io.BytesIO(PDF), "证明材料.pdf")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert attached.status_code == 201, attached.get_json()
    assert (
        attached.get_json()["indicator"]["code"] == "I001" and attached.get_json()["city"]["code"] == "dalian"
    )
    files = api.get(f"/api/v1/tasks/{task['id']}/evidence", headers=headers).get_json()["files"]
    assert [f["filename"] for f in files] == ["证明材料.pdf"]
    stranger = api.post(
        f"/api/v1/tasks/{task['id']}/evidence",
        data={"indicator": "I001", "file": (io.BytesIO(PDF), "x.pdf")},
        content_type="multipart/form-data",
        headers=bearer(api, "shenyang"),
    )
    assert stranger.status_code == 403 and stranger.get_json()["error"]["code"] == "forbidden"
    unnamed = api.post(f"/api/v1/tasks/{task['id']}/evidence", data={"indicator": "I001"}, headers=headers)
    assert unnamed.status_code == 422 and "file" in unnamed.get_json()["error"]["fields"]

    workbook = api.get(f"/api/v1/tasks/{task['id']}/template.xlsx", headers=headers)
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"

    def upload(data: bytes):
        return api.post(
            f"/api/v1/tasks/{task['id']}/template",
            data={"workbook": (io.BytesIO(data), "template.xlsx")},
            content_type="multipart/form-data",
            headers=headers,
        )

    blank = upload(workbook.data)  # nothing filled in: every missing completion at once
    assert blank.status_code == 422
    missing = blank.get_json()["error"]["fields"]
    assert len(missing) > 1 and all(key.split(" ")[-1] == "完成情况" for key in missing), missing
    book = load_workbook(io.BytesIO(workbook.data))
    sheet = book.active
    column = [c.value for c in sheet[1]].index("完成情况") + 1
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=column, value="100%")
    filled = io.BytesIO()
    book.save(filled)
    back = upload(filled.getvalue())
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["draft_saved_at"] is not None
    assert {r["completion"] for r in back.get_json()["data"]["rows"]} == {"100%"}


def test_the_years_verbs_keep_the_webs_permissions(app, demo):
    api = app.test_client()
    city, office, leadership = bearer(api, "shenyang"), bearer(api, "office"), bearer(api, "leader")
    for path in ("/api/v1/years/2013/cycle", "/api/v1/years/2012/phases/declaration/open"):
        refused = api.post(path, headers=city)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert api.get("/api/v1/years/2012/cycle", headers=city).status_code == 403
    assert api.post("/api/v1/years/2012/system/compose", headers=city).status_code == 403
    cycle = api.get("/api/v1/years/2012/cycle", headers=leadership).get_json()
    assert cycle["instance"] is None and cycle["waiting_phases"] == []
    assert api.post("/api/v1/years/2012/phases/declaration/open", headers=office).status_code == 409
    assert api.post("/api/v1/years/2012/phases/spring/open", headers=office).status_code == 404
    assert api.get("/api/v1/years/2012/reports/annual/shenyang.doc", headers=city).status_code == 404
    assert api.get("/api/v1/years/2012/rounds/half_year/results", headers=city).status_code == 404


def test_a_prefilled_declaration_deadline_is_one_the_form_accepts(ctx, demo):
    year = db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))
    cycle_service.ensure_calendar(year)
    phase = db.session.scalar(
        select(YearPhase).where(YearPhase.scheme_year_id == year.id, YearPhase.phase == Phase.DECLARATION)
    )
    late = datetime(2012, 3, 1, tzinfo=UTC)  # the declaration phase's own deadline has passed
    assert system_queries.future_date_problems(phase.deadline.date(), late)
    proposed = system_queries.declaration_call_defaults(year, late)["deadline"]
    assert proposed is not None and not system_queries.future_date_problems(proposed, late)


def test_a_review_schema_offers_the_parties_by_name_and_says_what_returning_needs(app, demo):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.review")
    api = app.test_client()
    [task] = _open(api, "office", "round.review")
    form = api.get(f"/api/v1/tasks/{task['id']}", headers=bearer(api, "office")).get_json()["form"]
    decision = form["properties"]["decision"]
    assert decision["enum"] == ["approve", "return"] and len(decision["x-enumNames"]) == 2, "no blank choice"
    cities = form["properties"]["returned_cities"]["items"]
    assert len(cities["enum"]) == 14 and "shenyang" in cities["enum"]
    assert cities["x-enumNames"][cities["enum"].index("shenyang")] == "沈阳"
    assert "fgw" in form["properties"]["returned_departments"]["items"]["enum"]

    validator = Draft202012Validator(form)
    assert validator.is_valid({"decision": "approve"})
    assert not validator.is_valid({"decision": "return", "returned_cities": ["dalian"]}), "no comment"
    assert not validator.is_valid({"decision": "return", "comment": "请补充。"}), "nobody to return to"
    assert validator.is_valid({"decision": "return", "comment": "请补充。", "returned_cities": ["dalian"]})
    assert not validator.is_valid({"decision": "return", "comment": "请补充。", "returned_cities": ["paris"]})


def test_the_task_list_filters_by_year_phase_and_round_and_names_a_bad_filter(app, demo):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.score")
    api = app.test_client()

    def listed(username: str, query: str) -> list[dict]:
        response = api.get(f"/api/v1/tasks?{query}", headers=bearer(api, username))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["tasks"]

    [score] = listed("fgw", "round=half_year&phase=half_year&year=2012")
    assert score["form_key"] == "round.score"
    assert listed("fgw", "round=q3") == [] and listed("fgw", "phase=declaration") == []
    assert listed("fgw", "year=2013") == []

    done = listed("office", "status=completed&phase=declaration")
    assert done and {t["phase"]["code"] for t in done} == {"declaration"}
    opened = listed("office", "status=completed&round=half_year")
    assert opened and {t["round"]["code"] for t in opened} == {"half_year"}
    assert len(listed("office", "status=completed")) > len(done) + len(opened)

    for query, name in (("phase=spring", "phase"), ("round=q4", "round"), ("year=twenty", "year")):
        refused = api.get(f"/api/v1/tasks?{query}", headers=bearer(api, "fgw"))
        assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == [name], query

    parameters = {
        p["name"]: p["schema"]
        for p in api.get("/api/openapi.json").get_json()["paths"]["/v1/tasks"]["get"]["parameters"]
    }
    assert parameters["phase"]["enum"] == [p.value for p in Phase]
    assert parameters["round"]["enum"] == ["half_year", "q3", "year_end"]
