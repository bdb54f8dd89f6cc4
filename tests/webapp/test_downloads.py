"""File names: evidence keeps its extension when a long name is shortened and loses control characters;
every download names its file by RFC 6266 (`filename*=UTF-8''…` with an ASCII `filename="…"`)."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from models.db import db
from models.evaluation import Evidence
from tests.webapp.test_evidence import PDF, _self_report_task, _upload
from webapp.attachments import ascii_name, content_disposition
from webapp.domain.rounds.evidence import MAX_NAME, clean_filename


def _names(header: str) -> tuple[str, str]:
    """(filename, the decoded filename*) of a Content-Disposition header."""
    parts = dict(p.strip().split("=", 1) for p in header.split(";")[1:])
    assert header.split(";")[0] == "attachment"
    assert parts["filename"].startswith('"') and parts["filename"].endswith('"')
    assert parts["filename*"].startswith("UTF-8''")
    return parts["filename"][1:-1], unquote(parts["filename*"][len("UTF-8''") :], errors="strict")


def test_a_long_name_is_shortened_before_its_extension():
    name = clean_filename("证" * 250 + ".pdf")
    assert len(name) == MAX_NAME and name.endswith("证.pdf")
    assert clean_filename("a" * 300 + ".docx").endswith("a.docx")
    assert clean_filename("short.pdf") == "short.pdf"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("证明\x00材料.pdf", "证明材料.pdf"),  # NUL
        ("a\x01\x1f\x7fb.pdf", "ab.pdf"),  # C0, DEL
        ("a\x85\x9fb.pdf", "ab.pdf"),  # C1
        ("report\u202efdp.exe", "reportfdp.exe"),  # a right-to-left override hiding .exe
        ("a\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069b.pdf", "ab.pdf"),
        ("x\ud800.pdf", "x.pdf"),  # an unpaired surrogate
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("../../etc/scan.pdf", "scan.pdf"),
    ],
)
def test_control_characters_and_folders_are_stripped(raw, kept):
    assert clean_filename(raw) == kept


def test_an_overridden_extension_is_judged_without_the_override(ctx):
    from webapp.domain import errors
    from webapp.domain.rounds import evidence

    with pytest.raises(errors.Invalid):
        evidence.check_file(evidence.Upload("report\u202efdp.exe", PDF))
    assert evidence.check_file(evidence.Upload("scan.p\u202edf", PDF)) == "application/pdf"


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("证明材料.pdf", "download.pdf"),
        ("2012-流程图.zip", "2012-_.zip"),
        ("résumé.pdf", "resume.pdf"),
        ('a"b\\c%.pdf', "a_b_c_.pdf"),
        ("a\x00b\r\n.pdf", "ab.pdf"),
        ("plain.xlsx", "plain.xlsx"),
    ],
)
def test_content_disposition_carries_the_name_and_an_ascii_fallback(name, fallback):
    header = content_disposition(name)
    plain, real = _names(header)
    assert plain == fallback == ascii_name(name)
    assert real == "".join(c for c in name if c.isprintable())
    assert all(0x20 <= ord(c) < 0x7F for c in header), "the header itself is plain ASCII"


def test_evidence_with_a_long_name_and_a_nul_keeps_its_extension_and_downloads_cleanly(app, login):
    guid = _self_report_task(app, "dalian")
    dalian = login("dalian")
    long_name = "区县" + "证" * 240 + "\x00\u202e" + "说明.pdf"
    assert _upload(dalian, guid, PDF, long_name).status_code == 302
    with app.app_context():
        evidence = db.session.scalar(select(Evidence))
        kept, evidence_id = evidence.filename, evidence.id
    assert len(kept) == MAX_NAME and kept.endswith("证证.pdf") and "\x00" not in kept
    with dalian.get(f"/evidence/{evidence_id}") as response:
        assert response.status_code == 200 and response.data == PDF
        plain, real = _names(response.headers["Content-Disposition"])
    assert real == kept and plain == "download.pdf"


def test_downloads_of_reports_and_templates_use_rfc_6266(app, login):
    admin = login("admin")
    template = admin.get("/admin/users/template.xlsx")
    assert template.status_code == 200
    assert _names(template.headers["Content-Disposition"]) == ("download.xlsx", "用户导入模板.xlsx")
    office = login("office")
    exported = office.get("/indicators/2012/export.xlsx")
    assert exported.status_code == 200, exported.status_code
    assert _names(exported.headers["Content-Disposition"]) == ("indicators-2012.xlsx", "indicators-2012.xlsx")


def test_a_name_kept_before_cleaning_is_cleaned_in_the_header(app, login):
    """Rows written before names were cleaned still download with a safe header."""
    guid = _self_report_task(app, "dalian")
    dalian = login("dalian")
    assert _upload(dalian, guid, PDF, "旧.pdf").status_code == 302
    with app.app_context():
        evidence = db.session.scalar(select(Evidence))
        evidence.filename = "旧\x7f\x85\u202e材料.pdf"  # PostgreSQL keeps no NUL in text at all
        db.session.commit()
        evidence_id = evidence.id
    with dalian.get(f"/evidence/{evidence_id}") as response:
        assert _names(response.headers["Content-Disposition"]) == ("download.pdf", "旧材料.pdf")


def test_upload_reads_a_multipart_name_with_a_nul(app, login):
    guid = _self_report_task(app, "dalian")
    response = login("dalian").post(
        f"/evidence/upload/{guid}",
        data={"indicator": "I001", "file": (io.BytesIO(PDF), "a\x00b.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Evidence.filename)) == "ab.pdf"


def test_every_download_goes_through_send_attachment():
    """One place names downloads: no view calls send_file (or sets Content-Disposition) itself."""
    root = Path(__file__).resolve().parents[2] / "webapp"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "attachments.py"
        and ("send_file(" in (text := path.read_text(encoding="utf-8")) or "Content-Disposition" in text)
    ]
    assert offenders == []
