"""The annual cycle page prepares next year; the administrator's processes page shows the year's
drafts with their problems, takes a revised diagram, and deploys it with a word on what changed."""

from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import select

from models.db import db
from models.workflow import ProcessDefinition
from tests.conftest import deploy_workflows


def _deploy_all(app) -> None:
    with app.app_context():
        deploy_workflows()


def _upload(client, year: int, xml: bytes):
    return client.post(
        f"/admin/processes/{year}/upload",
        data={"diagram": (io.BytesIO(xml), "evaluation_round.bpmn")},
        content_type="multipart/form-data",
    )


def test_next_year_is_prepared_and_its_revised_round_deployed_from_the_browser(app, login):
    _deploy_all(app)
    office, admin = login("office"), login("admin")
    page = office.get("/cycle/").get_data(as_text=True)
    assert 'data-testid="prepare-next"' in page and "准备 2013 年度" in page
    assert office.post("/cycle/2012/prepare-next").status_code == 302
    assert office.post("/cycle/2012/prepare-next").status_code == 302, "twice is once"
    assert 'data-testid="cycle-2013"' in office.get("/cycle/").get_data(as_text=True)
    assert office.get("/admin/processes/2013").status_code == 403

    drafts = admin.get("/admin/processes/2013").get_data(as_text=True)
    assert 'data-testid="draft-evaluation_round"' in drafts and "未发现问题" in drafts
    original = admin.get("/admin/processes/2013/evaluation_round.bpmn").data
    revised = original.replace("绩效办复核".encode(), "绩效办复核（2013）".encode(), 1)
    broken = revised.replace(b'value="round.review"', b'value="round.revue"', 1)

    assert _upload(admin, 2013, broken).status_code == 302
    shown = admin.get("/admin/processes/2013").get_data(as_text=True)
    problems = re.search(r'data-testid="problems-evaluation_round">(.*?)</ul>', shown, re.S)
    assert problems and "review" in problems.group(1) and "没有表单 round.revue" in problems.group(1)
    assert 'data-testid="deploy-evaluation_round"' not in shown, "a draft with problems offers no deploy"

    assert _upload(admin, 2013, revised).status_code == 302
    assert (
        admin.post("/admin/processes/2013/evaluation_round/deploy", data={"comment": ""}).status_code == 422
    )
    deployed = admin.post(
        "/admin/processes/2013/evaluation_round/deploy",
        data={"comment": "复核环节更名"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已为 2013 年度部署" in deployed and "复核环节更名" in deployed
    with app.app_context():
        versions = db.session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.process_id == "evaluation_round")
        ).all()
        assert sorted((v.version, v.scheme_year.year if v.scheme_year else None) for v in versions) == [
            (1, None),
            (2, 2013),
        ]

    exported = admin.get("/admin/processes/2013/export.zip")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        assert "evaluation_round.bpmn" in archive.namelist()
    imported = admin.post(
        "/admin/processes/2013/import",
        data={"diagram": (io.BytesIO(exported.data), "2013.zip")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "份草稿" in imported.get_data(as_text=True)

    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    refused = _upload(admin, 2013, xxe)
    assert refused.status_code == 302
    assert "不允许出现 DTD" in admin.get("/admin/processes/2013").get_data(as_text=True)


def test_processes_pages_are_for_administrators_in_chinese(app, login):
    _deploy_all(app)
    admin = login("admin")
    page = admin.get("/admin/processes/2012").get_data(as_text=True)
    body = page.split("<main", 1)[-1]
    for english in ("Drafts", "Deployed versions", "What changed", "every year", "Download the diagram"):
        assert english not in body, english
    assert login("leader").get("/admin/processes/2012").status_code == 403
    assert admin.get("/admin/processes/2999").status_code == 404


def test_a_years_processes_page_prepares_next_year_and_then_leads_to_it(app, login):
    _deploy_all(app)
    admin = login("admin")
    page = admin.get("/admin/processes/2012").get_data(as_text=True)
    assert 'data-testid="prepare-next"' in page and "准备 2013 年度" in page
    assert 'action="/cycle/2012/prepare-next"' in page and 'name="then" value="processes"' in page

    prepared = admin.post("/cycle/2012/prepare-next", data={"then": "processes"})
    assert prepared.status_code == 302 and prepared.headers["Location"].endswith("/admin/processes/2013")
    page = admin.get("/admin/processes/2012").get_data(as_text=True)
    assert 'data-testid="prepare-next"' not in page and 'href="/admin/processes/2013"' in page
    office = login("office").post("/cycle/2012/prepare-next", data={"then": "processes"})
    assert office.headers["Location"].endswith("/cycle/"), (
        "the office may prepare, not revise: back to the cycle"
    )
