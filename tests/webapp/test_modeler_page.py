"""The administrator's browser modeler and visual diff, over HTTP: the editor opens the year's draft
(or the version serving the year), saves the diagram it sends as the draft and answers the problems
deploying would find, refuses what breaks a rule with the rule in Chinese, and is for
administrators only; the diff page compares the draft or a version with the version before it."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from models.db import db
from models.workflow import DefinitionDraft, ProcessDefinition
from tests.conftest import WORKFLOWS, deploy_workflows
from workflows import forms

EDIT = "/admin/processes/{year}/{process}/edit"
DRAFT = "/admin/processes/{year}/{process}/draft"


@pytest.fixture
def admin(app, login):
    """An administrator's client, with 2013 prepared from 2012 (every process a draft of 2013)."""
    with app.app_context():
        deploy_workflows()
    client = login("admin")
    assert client.post("/cycle/2012/prepare-next").status_code == 302
    return client


def _config(html: str, element_id: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert found, f"no #{element_id} in the page"
    return json.loads(found.group(1))


def _draft_xml(app, year_id_process: tuple[int, str]) -> str:
    year, process = year_id_process
    with app.app_context():
        return db.session.scalar(
            select(DefinitionDraft.bpmn_xml)
            .join(DefinitionDraft.scheme_year)
            .where(DefinitionDraft.process_id == process)
            .where(DefinitionDraft.scheme_year.has(year=year))
        )


def test_the_editor_opens_the_draft_with_the_runtimes_vocabulary_in_chinese(app, admin):
    page = admin.get(EDIT.format(year=2013, process="evaluation_round"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-modeler" in html and "vendor/modeler/modeler.js" in html
    assert "保存草稿" in html and "检查" in html
    config = _config(html, "modeler-config")
    assert config["xml"] == _draft_xml(app, (2013, "evaluation_round"))
    assert config["problems"] == []
    vocabulary = config["vocabulary"]
    assert set(vocabulary["forms"]) == forms.known_keys()
    assert vocabulary["forms"]["round.score"], "a key is named by the user task that uses it"
    assert vocabulary["forms"]["approval"], "a key no task uses yet is named by its form's title"
    assert vocabulary["roles"]["office"] == "绩效办" or re.search(
        r"[\u4e00-\u9fff]", vocabulary["roles"]["office"]
    )
    assert "half_year" in vocabulary["phases"] and "evaluation_round" in vocabulary["processes"]
    assert set(vocabulary["bindings"]) == {"latest", "deployment"}
    assert config["save_url"] == DRAFT.format(year=2013, process="evaluation_round")

    listed = admin.get("/admin/processes/2013").get_data(as_text=True)
    assert f'href="{EDIT.format(year=2013, process="evaluation_round")}"' in listed
    assert 'href="/admin/processes/2013/evaluation_round/diff"' in listed


def test_saving_keeps_the_draft_and_answers_its_problems_and_twice_is_once(app, admin):
    url = DRAFT.format(year=2013, process="evaluation_round")
    original = _draft_xml(app, (2013, "evaluation_round"))
    broken = original.replace('value="round.review"', 'value="round.revue"', 1)
    saved = admin.put(url, json={"xml": broken})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    body = saved.get_json()
    assert {"element": "review", "message": "没有表单 round.revue。"} in body["problems"] or any(
        p["element"] == "review" and "round.revue" in p["message"] for p in body["problems"]
    ), body
    assert _draft_xml(app, (2013, "evaluation_round")) == broken

    again = admin.put(url, json={"xml": broken})
    assert again.status_code == 200 and again.get_json()["saved_at"] == body["saved_at"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DefinitionDraft)) == len(
            {d.process_id for d in db.session.scalars(select(ProcessDefinition))}
        ), "one draft per process, however often it is saved"

    checked = admin.post("/admin/processes/2013/evaluation_round/check", json={"xml": original})
    assert checked.status_code == 200 and checked.get_json() == {"problems": []}
    assert _draft_xml(app, (2013, "evaluation_round")) == broken, "checking saves nothing"

    fixed = admin.put(url, json={"xml": original})
    assert fixed.status_code == 200 and fixed.get_json()["problems"] == []


@pytest.mark.parametrize(
    ("send", "status", "says"),
    [
        ({"data": "not json", "content_type": "text/plain"}, 400, "JSON"),
        ({"json": {"xml": ""}}, 400, "JSON"),
        ({"json": {"diagram": "<x/>"}}, 400, "JSON"),
        ({"json": {"xml": "this is not XML"}}, 422, "XML 格式错误"),
        ({"json": {"xml": "<x>\ud800</x>"}}, 422, "NUL"),  # refused before the view, naming the field
        (
            {
                "json": {
                    "xml": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
                }
            },
            422,
            "DTD",
        ),
        ({"json": {"xml": "<definitions/>"}}, 422, "没有流程"),
        ({"json": {"xml": (WORKFLOWS / "feedback.bpmn").read_text()}}, 422, "feedback"),
        ({"json": {"xml": "<x>" + "0" * (3 * 1024 * 1024) + "</x>"}}, 413, "MB"),
    ],
    ids=[
        "not-json",
        "empty",
        "no-xml",
        "not-xml",
        "surrogate",
        "dtd",
        "no-process",
        "other-process",
        "too-big",
    ],
)
def test_a_save_that_breaks_a_rule_is_refused_with_the_rule(app, admin, send, status, says):
    before = _draft_xml(app, (2013, "evaluation_round"))
    refused = admin.put(DRAFT.format(year=2013, process="evaluation_round"), **send)
    assert refused.status_code == status, refused.get_data(as_text=True)[:300]
    error = refused.get_json()["error"]
    text = error["message"] + " ".join(m for ms in error["fields"].values() for m in ms)
    assert says in text, error
    assert re.search(r"[\u4e00-\u9fff]", error["message"]), "the message is in Chinese"
    assert _draft_xml(app, (2013, "evaluation_round")) == before


def test_a_process_without_a_draft_opens_its_serving_version_and_saving_makes_the_draft(app, admin):
    html = admin.get(EDIT.format(year=2012, process="feedback")).get_data(as_text=True)
    xml = _config(html, "modeler-config")["xml"]
    assert "v1" in html or "版本 1" in html
    saved = admin.put(DRAFT.format(year=2012, process="feedback"), json={"xml": xml})
    assert saved.status_code == 200
    with app.app_context():
        draft = db.session.scalar(
            select(DefinitionDraft).where(
                DefinitionDraft.process_id == "feedback", DefinitionDraft.scheme_year.has(year=2012)
            )
        )
        assert draft.based_on is not None and draft.based_on.version == 1 and not draft.changed
    assert admin.get(EDIT.format(year=2012, process="nothing_like_it")).status_code == 404


def test_the_diff_compares_the_draft_or_a_version_with_the_one_before(app, admin):
    original = _draft_xml(app, (2013, "evaluation_round"))
    admin.put(
        DRAFT.format(year=2013, process="evaluation_round"),
        json={"xml": original.replace("绩效办复核", "复核", 1)},
    )
    page = admin.get("/admin/processes/2013/evaluation_round/diff")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    config = _config(html, "diff-config")
    assert "复核" in config["new_xml"] and "绩效办复核" in config["old_xml"]
    assert "新增" in html or "增加" in html, "a legend in Chinese"
    with app.app_context():
        version_id = db.session.scalar(
            select(ProcessDefinition.id).where(ProcessDefinition.process_id == "evaluation_round")
        )
    first = admin.get(f"/admin/processes/2013/evaluation_round/diff?version={version_id}")
    assert first.status_code == 200
    assert _config(first.get_data(as_text=True), "diff-config")["old_xml"] is None, "v1 has nothing before it"
    assert admin.get("/admin/processes/2013/evaluation_round/diff?version=99999").status_code == 404


@pytest.mark.parametrize("username", ["office", "leader", "fgw"])
def test_the_modeler_and_the_diff_are_for_administrators_only(app, admin, login, username):
    other = login(username)
    assert other.get(EDIT.format(year=2013, process="evaluation_round")).status_code == 403
    assert other.get("/admin/processes/2013/evaluation_round/diff").status_code == 403
    xml = _draft_xml(app, (2013, "evaluation_round"))
    assert (
        other.put(DRAFT.format(year=2013, process="evaluation_round"), json={"xml": xml}).status_code == 403
    )
    assert other.post("/admin/processes/2013/evaluation_round/check", json={"xml": xml}).status_code == 403
