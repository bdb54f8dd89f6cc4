"""A department's supporting files for its declaration: attached on the declare page (type and size
checked, nothing kept on refusal), listed beside the note on the office's review, downloaded only by
the department and those who review and approve, kept through a return, removed while the task is open."""

from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from models.db import db
from models.formation import DeclarationFile
from models.org import OrgUnit, User
from models.workflow import AuditEvent, InboxTask, TaskStatus
from tests.snapshots import simulate_once
from webapp.domain.process import tasks as task_service
from workflows import engine

PDF = b"%PDF-1.4\n% the basis document\n"
NAME = "十二五规划纲要.pdf"


def _declare_task(department: str) -> tuple[str, datetime]:
    """The department's open declare task in a simulated 2012, and the simulation's clock."""
    stopped = simulate_once(2012, 5, stop_at="declaration.declare")
    org = OrgUnit.by_code(department)
    task = db.session.scalar(
        select(InboxTask).where(
            InboxTask.form_key == "declaration.declare",
            InboxTask.org_id == org.id,
            InboxTask.status == TaskStatus.OPEN,
        )
    )
    return task.task_guid, datetime.fromisoformat(stopped["clock"])


def _open(form_key: str, org_field, org_id: int) -> InboxTask:
    return db.session.scalar(
        select(InboxTask).where(
            InboxTask.form_key == form_key, org_field == org_id, InboxTask.status == TaskStatus.OPEN
        )
    )


def _upload(client, guid, data=PDF, name=NAME):
    return client.post(
        f"/evidence/declaration/upload/{guid}",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _complete(guid: str, username: str, data: dict) -> None:
    user = db.session.scalar(select(User).where(User.username == username))
    task_service.complete_task(guid, user, data)
    db.session.commit()


DECLARATION = {
    "indicators-0-key_point": "1",
    "indicators-0-name": "地区生产总值增长",
    "indicators-0-proposed_weight": "5",
    "note": "附规划纲要。",
}


def _stored_files(app) -> list[Path]:
    root = Path(app.instance_path) / "evidence"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_department_attaches_files_the_office_sees_beside_the_note_and_they_survive_a_return(app, login):
    with app.app_context():
        guid, clock = _declare_task("fgw")
        fgw_id = OrgUnit.by_code("fgw").id
    fgw = login("fgw")
    with engine.use_clock(clock):
        assert _upload(fgw, guid).status_code == 302
        page = fgw.get(f"/tasks/{guid}").get_data(as_text=True)
    assert 'data-testid="declaration-file-upload"' in page
    entry = page[page.index('data-action="declaration_file.attached"') :]
    assert "上传了附件" in entry[: entry.index("</li>")], "the history names the upload in Chinese"
    files = page[page.index('data-testid="declaration-files"') :]
    assert NAME in files[: files.index("</ul>")] and 'data-testid="declaration-file-remove"' in files
    with app.app_context():
        file = db.session.scalar(select(DeclarationFile))
        file_id, digest = file.id, file.sha256
        assert (file.department_id, file.filename, file.size) == (fgw_id, NAME, len(PDF))
    stored = Path(app.instance_path) / "evidence" / digest[:2] / digest
    assert stored.read_bytes() == PDF

    # the department submits; the office's review lists the file by name and size, with its link
    with app.app_context(), engine.use_clock(clock):
        _complete(guid, "fgw", DECLARATION)
        review = _open("declaration.review", InboxTask.subject_org_id, fgw_id).task_guid
    with engine.use_clock(clock):
        page = login("office").get(f"/tasks/{review}").get_data(as_text=True)
    listed = page[page.index('data-testid="declaration-files-review"') :]
    listed = listed[: listed.index("</ul>")]
    assert NAME in listed and f'href="/evidence/declaration/{file_id}"' in listed
    assert f'data-testid="declaration-file-size">· {len(PDF)} B<' in listed
    assert "declaration-file-remove" not in listed, "the office reads; it does not remove"

    def fetch(username):
        with login(username).get(f"/evidence/declaration/{file_id}") as response:
            return response.status_code, response.data

    assert fetch("fgw") == (200, PDF)
    for allowed in ("office", "leader", "admin"):
        assert fetch(allowed)[0] == 200, allowed
    for refused in ("jyt", "dalian", "expert1"):
        assert fetch(refused)[0] == 403, refused
    assert login("office").get("/evidence/declaration/999999").status_code == 404
    # submitted and not returned: nobody removes it
    assert fgw.post(f"/evidence/declaration/{file_id}/delete").status_code == 403

    # returned: the new declare task shows the file again, removable; a resubmission keeps it
    with app.app_context(), engine.use_clock(clock):
        _complete(review, "office", {"decision": "return", "comment": "请补充依据。"})
        again = _open("declaration.declare", InboxTask.org_id, fgw_id).task_guid
    assert again != guid
    with engine.use_clock(clock):
        page = fgw.get(f"/tasks/{again}").get_data(as_text=True)
        assert NAME in page and 'data-testid="declaration-file-remove"' in page
        assert login("jyt").post(f"/evidence/declaration/{file_id}/delete").status_code == 403
        response = fgw.post(f"/evidence/declaration/{file_id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{again}")
    with app.app_context():
        assert db.session.scalar(select(func.count(DeclarationFile.id))) == 0


def test_a_resubmission_keeps_the_files(app, login):
    with app.app_context():
        guid, clock = _declare_task("fgw")
        fgw_id = OrgUnit.by_code("fgw").id
    fgw = login("fgw")
    with engine.use_clock(clock):
        assert _upload(fgw, guid).status_code == 302
    with app.app_context(), engine.use_clock(clock):
        _complete(guid, "fgw", DECLARATION)
        review = _open("declaration.review", InboxTask.subject_org_id, fgw_id).task_guid
        _complete(review, "office", {"decision": "return", "comment": "请补充依据。"})
        again = _open("declaration.declare", InboxTask.org_id, fgw_id).task_guid
        _complete(again, "fgw", DECLARATION)
        second = _open("declaration.review", InboxTask.subject_org_id, fgw_id).task_guid
    with engine.use_clock(clock):
        page = login("office").get(f"/tasks/{second}").get_data(as_text=True)
    listed = page[page.index('data-testid="declaration-files-review"') :]
    assert NAME in listed[: listed.index("</ul>")]


def test_wrong_types_sizes_and_others_are_refused_and_nothing_is_kept(app, login, monkeypatch):
    from webapp.domain.rounds import evidence as evidence_service

    # A small limit keeps the test's upload in memory; the rule is the same at 10 MB.
    monkeypatch.setattr(evidence_service, "MAX_BYTES", 1024)
    with app.app_context():
        guid, clock = _declare_task("fgw")
    fgw = login("fgw")
    with engine.use_clock(clock):
        for data, name, message in (
            (b"MZ\x90\x00", "tool.exe", "只能上传 PDF、图片（PNG、JPEG）和 Office 文档。"),
            (b"not a pdf", "fake.pdf", "文件内容与其扩展名（.pdf）不符。"),
            (b"", "empty.pdf", "文件为空。"),
            (b"%PDF" + b"0" * 2048, "big.pdf", "文件超过"),
        ):
            response = _upload(fgw, guid, data, name)
            assert response.status_code == 422, name
            assert message in response.get_data(as_text=True), name
        assert _upload(login("jyt"), guid).status_code == 403, "another department's task"
        assert _upload(login("dalian"), guid).status_code == 403, "a city"
    with app.app_context():
        assert db.session.scalar(select(func.count(DeclarationFile.id))) == 0
    assert _stored_files(app) == []


def test_a_declaration_takes_a_bounded_number_of_files(app, login, monkeypatch):
    from webapp.domain import declaration_files as files

    monkeypatch.setattr(files, "MAX_FILES", 2)
    with app.app_context():
        guid, clock = _declare_task("fgw")
    fgw = login("fgw")
    with engine.use_clock(clock):
        assert _upload(fgw, guid, name="a.pdf").status_code == 302
        assert _upload(fgw, guid, PDF + b"2", name="b.pdf").status_code == 302
        response = _upload(fgw, guid, PDF + b"3", name="c.pdf")
    assert response.status_code == 422
    assert "一份申报最多附 2 个文件，请先删除一个。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(DeclarationFile.id))) == 2
    assert len(_stored_files(app)) == 2


def test_a_second_click_keeps_one_file_and_the_cap_holds_against_uploads_at_once(app, login, monkeypatch):
    from webapp.domain import declaration_files as files
    from webapp.domain import errors
    from webapp.domain.rounds.evidence import Upload, storage_root

    monkeypatch.setattr(files, "MAX_FILES", 2)
    with app.app_context():
        guid, clock = _declare_task("fgw")
    fgw = login("fgw")
    with engine.use_clock(clock):
        assert _upload(fgw, guid, name="a.pdf").status_code == 302
        assert _upload(fgw, guid, name="a.pdf").status_code == 302, "the same file again is no error"
    with app.app_context():
        assert db.session.scalars(select(DeclarationFile.filename)).all() == ["a.pdf"]
        attached = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "declaration_file.attached")
        )
        assert attached == 1, "one file, one record"

    # four different files at once for the one place left: one gets it, three are told the cap
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def send(number: int) -> None:
        with app.app_context():
            try:
                user = db.session.scalar(select(User).where(User.username == "fgw"))
                upload = Upload(f"{number}.pdf", PDF + str(number).encode())
                barrier.wait(timeout=30)
                files.attach(guid, user, upload, storage_root(app.instance_path))
                db.session.commit()
                outcomes.append("attached")
            except errors.Invalid as refused:
                db.session.rollback()
                outcomes.append(str(refused))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count("attached") == 1, outcomes
    assert all("最多附 2 个文件" in o for o in outcomes if o != "attached"), outcomes
    with app.app_context():
        assert db.session.scalar(select(func.count(DeclarationFile.id))) == 2


def test_declaration_files_go_through_the_api(app, demo):
    from tests.webapp.test_api_year import issue_tokens

    with app.app_context():
        guid, clock = _declare_task("fgw")
    tokens = issue_tokens(app, ["fgw", "jyt", "office"])
    api = app.test_client()

    def post(user, data=PDF, name=NAME):
        return api.post(
            f"/api/v1/tasks/{guid}/declaration-files",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            headers=tokens[user],
        )

    with engine.use_clock(clock):
        refused = post("fgw", b"MZ\x90\x00", "tool.exe")
        assert refused.status_code == 422 and "file" in refused.get_json()["error"]["fields"]
        assert post("jyt").status_code == 403
        created = post("fgw")
        assert created.status_code == 201
        file = created.get_json()
        assert (file["filename"], file["size"], file["department"]["code"]) == (NAME, len(PDF), "fgw")
        listed = api.get(f"/api/v1/tasks/{guid}/declaration-files", headers=tokens["fgw"]).get_json()
        assert [f["id"] for f in listed["files"]] == [file["id"]]
        with api.get(f"/api/v1/declaration-files/{file['id']}", headers=tokens["office"]) as response:
            assert (response.status_code, response.data) == (200, PDF)
        assert api.get(f"/api/v1/declaration-files/{file['id']}", headers=tokens["jyt"]).status_code == 403
        assert api.delete(f"/api/v1/declaration-files/{file['id']}", headers=tokens["jyt"]).status_code == 403
        assert api.delete(f"/api/v1/declaration-files/{file['id']}", headers=tokens["fgw"]).status_code == 204
        assert api.get(f"/api/v1/declaration-files/{file['id']}", headers=tokens["fgw"]).status_code == 404


def test_a_file_whose_bytes_are_gone_is_a_404_that_says_so_on_the_page_and_in_the_api(app, login):
    from tests.webapp.test_api_year import issue_tokens

    with app.app_context():
        guid, clock = _declare_task("fgw")
    fgw = login("fgw")
    with engine.use_clock(clock):
        assert _upload(fgw, guid).status_code == 302
    with app.app_context():
        file = db.session.scalar(select(DeclarationFile))
        file_id, digest = file.id, file.sha256
    (Path(app.instance_path) / "evidence" / digest[:2] / digest).unlink()
    page = fgw.get(f"/evidence/declaration/{file_id}")
    assert page.status_code == 404 and "存储中找不到该文件" in page.get_data(as_text=True)
    tokens = issue_tokens(app, ["office"])
    api = app.test_client().get(f"/api/v1/declaration-files/{file_id}", headers=tokens["office"])
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
