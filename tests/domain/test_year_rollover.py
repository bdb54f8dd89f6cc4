"""Preparing year N+1 from year N, and revising its processes as drafts: the settings, the calendar a
year on, the indicator system and every process come across; N is untouched; a draft deployed for
N+1 serves N+1 only; a broken draft deploys nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from models.db import db
from models.formation import Phase, YearPhase
from models.scheme import SchemeYear, YearStatus
from models.workflow import AuditEvent, DefinitionDraft, ProcessDefinition
from tests.domain.lookup import count, user
from webapp.domain import errors
from webapp.domain.localtime import LOCAL
from webapp.domain.process import cycle
from webapp.domain.process import definitions as process_definitions
from workflows import engine, forms

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
NOW = datetime(2012, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def deployed(year):
    """The product's diagrams, deployed for every year as `make run` does."""
    together = datetime(2012, 1, 1, tzinfo=UTC)
    for path in sorted(WORKFLOWS.glob("*.bpmn")):
        engine.deploy(path.read_bytes(), source_name=path.name, known_forms=forms.known_keys(), at=together)
    cycle.ensure_calendar(year)
    db.session.flush()
    return {p.stem for p in WORKFLOWS.glob("*.bpmn")}


def test_next_year_is_prepared_from_this_one_and_this_one_is_untouched(year, deployed):
    before = [(i.code, i.weight) for i in year.indicators()]
    calendar = {
        p.phase: p for p in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == year.id))
    }

    with pytest.raises(errors.Forbidden):
        cycle.prepare_next_year(user("fgw"), year, NOW)
    nxt, created = cycle.prepare_next_year(user("office"), year, NOW)
    assert created and nxt.year == 2013 and nxt.status == YearStatus.DRAFT
    assert [(i.code, i.weight) for i in nxt.indicators()] == before
    assert (nxt.process_weight, nxt.year_end_weight, nxt.process_rule) == (
        year.process_weight,
        year.year_end_weight,
        year.process_rule,
    )
    shifted = {
        p.phase: p for p in db.session.scalars(select(YearPhase).where(YearPhase.scheme_year_id == nxt.id))
    }
    assert set(shifted) == set(Phase)
    for phase, row in calendar.items():
        old, new = row.deadline.astimezone(LOCAL), shifted[phase].deadline.astimezone(LOCAL)
        assert (new.year, new.month, new.day, new.hour) == (old.year + 1, old.month, old.day, old.hour), phase

    drafts = {d.process_id: d for d in process_definitions.drafts(nxt)}
    assert set(drafts) == deployed and not any(d.changed for d in drafts.values())
    assert [(i.code, i.weight) for i in year.indicators()] == before and year.status == YearStatus.DRAFT

    again, created_again = cycle.prepare_next_year(user("office"), year, NOW)
    assert again.id == nxt.id and not created_again and count(DefinitionDraft) == len(deployed), (
        "twice is once"
    )
    assert db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "year.prepared")
    ).all() == ["year.prepared"]


def test_a_draft_deployed_for_next_year_serves_next_year_only(year, deployed):
    nxt, _ = cycle.prepare_next_year(user("admin"), year, NOW)
    draft = process_definitions.draft_of(nxt, "evaluation_round")
    revised = draft.bpmn_xml.replace('name="绩效办复核"', 'name="绩效办复核（2013）"', 1).encode("utf-8")
    process_definitions.save_draft(user("admin"), nxt, revised, NOW)
    assert draft.changed

    broken = revised.replace(b'value="round.review"', b'value="round.revue"', 1)
    process_definitions.save_draft(user("admin"), nxt, broken, NOW)  # a draft keeps its problems
    assert [p.element_id for p in process_definitions.validate_definition(user("admin"), broken, nxt)] == [
        "review"
    ]
    with pytest.raises(errors.Invalid) as refused:
        process_definitions.deploy_draft(user("admin"), draft, "试部署", NOW)
    assert list(refused.value.fields) == ["review"]
    assert count(ProcessDefinition) == len(deployed), "nothing was deployed"

    process_definitions.save_draft(user("admin"), nxt, revised, NOW)
    with pytest.raises(errors.Forbidden):
        process_definitions.deploy_draft(user("office"), draft, "试部署", NOW)
    definition, created = process_definitions.deploy_draft(user("admin"), draft, "2013 年复核环节更名", NOW)
    assert created and definition.scheme_year_id == nxt.id and definition.comment == "2013 年复核环节更名"
    assert draft.based_on_id == definition.id and not draft.changed
    assert engine.latest_definition("evaluation_round", nxt.id).id == definition.id
    this_year = engine.latest_definition("evaluation_round", year.id)
    assert this_year.id != definition.id and this_year.scheme_year_id is None, (
        "2012 keeps the version it runs"
    )
    same, again = process_definitions.deploy_draft(user("admin"), draft, "再点一次", NOW)
    assert same.id == definition.id and not again


def test_a_draft_must_be_safe_xml_naming_a_process(year, deployed):
    nxt, _ = cycle.prepare_next_year(user("admin"), year, NOW)
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    with pytest.raises(errors.Invalid) as refused:
        process_definitions.save_draft(user("admin"), nxt, xxe, NOW)
    assert refused.value.fields == {"xml": ["BPMN 文件中不允许出现 DTD 或实体声明。"]}
    with pytest.raises(errors.Invalid):
        process_definitions.save_draft(
            user("admin"),
            nxt,
            b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
            NOW,
        )
    assert db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2013)) is nxt


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_years_diagrams_export_as_a_zip_and_import_back_as_drafts(year, deployed):
    nxt, _ = cycle.prepare_next_year(user("admin"), year, NOW)
    exported = process_definitions.export_year(nxt)
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert set(files) == {f"{p}.bpmn" for p in deployed}
    files["evaluation_round.bpmn"] = files["evaluation_round.bpmn"].replace(
        "绩效办复核".encode(), "复核（离线修改）".encode(), 1
    )
    saved = process_definitions.import_year(
        user("admin"), nxt, _zip({**files, "__MACOSX/._x": b"", ".hidden": b""}), NOW
    )
    assert len(saved) == len(deployed)
    changed = [d.process_id for d in process_definitions.drafts(nxt) if d.changed]
    assert changed == ["evaluation_round"]


@pytest.mark.parametrize(
    ("archive", "name", "says"),
    [
        (b"not a zip", "file", "不是 zip"),
        (_zip({}), "file", "没有 .bpmn"),
        (_zip({"notes.txt": b"hello"}), "notes.txt", ".bpmn"),
        (_zip({"a.bpmn": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'}), "a.bpmn", "DTD"),
        (_zip({"a.bpmn": b"<not-bpmn/>"}), "a.bpmn", "没有流程"),
    ],
)
def test_an_archive_that_breaks_a_rule_imports_nothing(year, deployed, archive, name, says):
    nxt, _ = cycle.prepare_next_year(user("admin"), year, NOW)
    before = [(d.process_id, d.bpmn_xml) for d in process_definitions.drafts(nxt)]
    with pytest.raises(errors.Invalid) as refused:
        process_definitions.import_year(user("admin"), nxt, archive, NOW)
    assert any(says in m for m in refused.value.fields[name]), refused.value.fields
    assert [(d.process_id, d.bpmn_xml) for d in process_definitions.drafts(nxt)] == before


def test_an_archive_bomb_and_a_process_twice_are_refused(year, deployed, monkeypatch):
    nxt, _ = cycle.prepare_next_year(user("admin"), year, NOW)
    twin = (WORKFLOWS / "feedback.bpmn").read_bytes()
    with pytest.raises(errors.Invalid) as refused:
        process_definitions.import_year(user("admin"), nxt, _zip({"one.bpmn": twin, "two.bpmn": twin}), NOW)
    assert "同一个流程" in refused.value.fields["two.bpmn"][0]
    monkeypatch.setattr(process_definitions, "MAX_ARCHIVE_BYTES", 1024)  # the rule, at a size a test can hold
    bomb = _zip({"a.bpmn": b"0" * 4096})
    assert len(bomb) < 200, "it compresses to almost nothing"
    with pytest.raises(errors.Invalid) as refused:
        process_definitions.import_year(user("admin"), nxt, bomb, NOW)
    assert "解压后超过" in refused.value.fields["file"][0]
