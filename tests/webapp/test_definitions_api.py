"""Revising the processes through the API, as an administrator's tools would: validate a diagram
(every problem on its element, in Chinese), deploy it for a year with a comment (immutable, twice is
once), list the versions and read one back. Nobody but administrators may."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.db import db
from models.workflow import AuditEvent, ProcessDefinition
from tests.conftest import bearer
from workflows import engine, forms

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture
def api(app, demo):
    client = app.test_client()

    with app.app_context():  # what evaluation_round calls must exist for the year
        engine.deploy((WORKFLOWS / "corrections.bpmn").read_bytes(), known_forms=forms.known_keys())
        db.session.commit()
    return client, lambda username: bearer(client, username)


def _round_xml() -> str:
    return (WORKFLOWS / "evaluation_round.bpmn").read_text(encoding="utf-8")


def test_a_diagram_is_validated_with_every_problem_on_its_element(api):
    client, bearer = api
    admin = bearer("admin")
    ok = client.post("/api/v1/definitions/validate", headers=admin, json={"xml": _round_xml(), "year": 2012})
    assert ok.status_code == 200 and ok.get_json() == {"valid": True, "problems": []}
    raw = client.post(
        "/api/v1/definitions/validate?year=2012",
        headers={**admin, "Content-Type": "application/xml"},
        data=_round_xml().encode("utf-8"),
    )
    assert raw.get_json()["valid"] is True

    broken = _round_xml().replace('value="round.review"', 'value="round.revue"', 1)
    answer = client.post(
        "/api/v1/definitions/validate", headers=admin, json={"xml": broken, "year": 2012}
    ).get_json()
    assert answer["valid"] is False
    assert answer["problems"] == [{"element_id": "review", "message": "没有表单 round.revue。"}]

    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    refused = client.post("/api/v1/definitions/validate", headers=admin, json={"xml": xxe}).get_json()
    assert refused["problems"] == [{"element_id": "", "message": "BPMN 文件中不允许出现 DTD 或实体声明。"}]
    assert (
        client.post(
            "/api/v1/definitions/validate", headers=bearer("office"), json={"xml": broken}
        ).status_code
        == 403
    )
    missing = client.post("/api/v1/definitions/validate", headers=admin, json={})
    assert missing.status_code == 422 and list(missing.get_json()["error"]["fields"]) == ["xml"]


def test_a_diagram_deploys_once_for_its_year_with_a_comment_and_reads_back(app, api):
    client, bearer = api
    admin = bearer("admin")
    revised = _round_xml().replace('name="绩效办复核"', 'name="绩效办复核（含评分核对）"', 1)
    assert revised != _round_xml()
    body = {"xml": revised, "year": 2012, "comment": "增加部门评分后的复核"}
    first = client.post("/api/v1/definitions", headers=admin, json=body)
    assert first.status_code == 201 and first.get_json()["created"] is True
    definition = first.get_json()["definition"]
    assert (definition["process"], definition["year"], definition["deployed_by"], definition["comment"]) == (
        "evaluation_round",
        2012,
        "admin",
        "增加部门评分后的复核",
    )
    again = client.post("/api/v1/definitions", headers=admin, json=body)
    assert again.status_code == 200 and again.get_json()["definition"]["id"] == definition["id"], (
        "twice is once"
    )

    listed = client.get("/api/v1/definitions?year=2012", headers=admin).get_json()["definitions"]
    assert [d["id"] for d in listed if d["process"] == "evaluation_round"] == [definition["id"]]
    xml = client.get(f"/api/v1/definitions/{definition['id']}", headers=admin)
    assert xml.mimetype == "application/xml" and xml.get_data(as_text=True) == revised
    assert client.get("/api/v1/definitions/999999", headers=admin).status_code == 404

    broken = revised.replace('value="round.review"', 'value="round.revue"', 1)
    refused = client.post("/api/v1/definitions", headers=admin, json={"xml": broken, "year": 2012})
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {
        "review": ["没有表单 round.revue。"]
    }
    assert client.post("/api/v1/definitions", headers=bearer("office"), json=body).status_code == 403
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(ProcessDefinition)
                .where(ProcessDefinition.process_id == "evaluation_round")
            )
            == 1
        )
        assert db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("definition.%"))
        ).all() == ["definition.deployed"]
