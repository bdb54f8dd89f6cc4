"""Evidence attachments: type and size checked, stored outside the web root, served only to those allowed."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from models.db import db
from models.evaluation import Evidence
from models.workflow import InboxTask, TaskStatus
from tests.snapshots import simulate_once

PDF = b"%PDF-1.4\n% a small test file\n"


def _self_report_task(app, city):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.self_report")
        return next(
            t.task_guid
            for t in db.session.scalars(
                select(InboxTask).where(
                    InboxTask.form_key == "round.self_report", InboxTask.status == TaskStatus.OPEN
                )
            )
            if t.org.code == city
        )


def _upload(client, guid, data, name="证明材料.pdf", indicator="I001"):
    return client.post(
        f"/evidence/upload/{guid}",
        data={"indicator": indicator, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_city_attaches_evidence_that_only_those_allowed_can_read(app, login):
    guid = _self_report_task(app, "dalian")
    dalian = login("dalian")
    assert _upload(dalian, guid, PDF).status_code == 302
    page = dalian.get(f"/tasks/{guid}").get_data(as_text=True)
    assert "证明材料.pdf" in page
    with app.app_context():
        evidence = db.session.scalar(select(Evidence))
        evidence_id, digest = evidence.id, evidence.sha256
        assert (evidence.kind, evidence.city.code, evidence.indicator.code) == (
            "self_report",
            "dalian",
            "I001",
        )
    stored = Path(app.instance_path) / "evidence" / digest[:2] / digest
    assert stored.read_bytes() == PDF, "kept in the instance folder, outside static/"
    assert not (Path(app.static_folder) / digest).exists()

    def fetch(username):
        with login(username).get(f"/evidence/{evidence_id}") as response:  # closes the served file
            return response.status_code, response.data

    assert fetch("dalian") == (200, PDF)
    assert fetch("office")[0] == 200
    assert fetch("fgw")[0] == 200, "I001's department reads it"
    assert fetch("jyt")[0] == 403
    assert fetch("shenyang")[0] == 403
    assert login("shenyang").post(f"/evidence/{evidence_id}/delete").status_code == 403
    assert dalian.post(f"/evidence/{evidence_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Evidence)) is None


def test_wrong_types_sizes_and_strangers_are_refused_and_nothing_is_kept(app, login, monkeypatch):
    from webapp.domain.rounds import evidence as evidence_service

    # A small limit keeps the test's upload in memory; the rule is the same at 10 MB.
    monkeypatch.setattr(evidence_service, "MAX_BYTES", 1024)
    guid = _self_report_task(app, "dalian")
    dalian = login("dalian")
    for data, name, message in (
        (b"MZ\x90\x00", "tool.exe", "只能上传 PDF、图片（PNG、JPEG）和 Office 文档。"),
        (b"not a pdf", "fake.pdf", "文件内容与其扩展名（.pdf）不符。"),
        (b"", "empty.pdf", "文件为空。"),
        (b"%PDF" + b"0" * 2048, "big.pdf", "文件超过"),
    ):
        response = _upload(dalian, guid, data, name)
        assert response.status_code == 422, name
        page = response.get_data(as_text=True)
        assert message in page and "&#39;file&#39;" not in page and "'file'" not in page, name
    assert _upload(dalian, guid, PDF, indicator="I999").status_code == 422
    assert _upload(login("shenyang"), guid, PDF).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Evidence)) is None


def test_the_same_file_sent_twice_to_one_indicator_is_one_attachment(app, login):
    guid = _self_report_task(app, "dalian")
    dalian = login("dalian")
    assert _upload(dalian, guid, PDF).status_code == 302
    assert _upload(dalian, guid, PDF).status_code == 302, "a second click is no error"
    assert _upload(dalian, guid, PDF, name="另一份.pdf").status_code == 302
    assert _upload(dalian, guid, PDF, indicator="I002").status_code == 302
    with app.app_context():
        kept = db.session.execute(
            select(Evidence.filename, Evidence.indicator_id).order_by(Evidence.id)
        ).all()
        assert [name for name, _ in kept] == ["证明材料.pdf", "另一份.pdf", "证明材料.pdf"], (
            "another name, or another indicator, is another attachment"
        )
