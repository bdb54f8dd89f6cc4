"""The monitor offers an administrator to move a running instance to the version deployed after it
started, only where that is safe, and says why not otherwise; nobody else sees the offer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.db import db
from models.workflow import AuditEvent, InboxTask, ProcessInstance, TaskStatus
from tests.webapp.test_monitor import declare, declaring  # noqa: F401  (declaring: the fixture)
from workflows import BPMN_DIR, engine, forms

SOURCE = (BPMN_DIR / "department_declaration.bpmn").read_text(encoding="utf-8")


def _deploy(text: str) -> int:
    definition, created = engine.deploy(
        text.encode(), source_name="department_declaration.bpmn", known_forms=forms.known_keys()
    )
    db.session.commit()
    assert created
    return definition.id


@pytest.mark.usefixtures("declaring")
def test_a_safe_move_is_offered_and_made_and_an_unsafe_one_explained(app, login):
    with app.app_context():
        v2 = _deploy(
            SOURCE.replace('name="审核指标申报"', 'name="审核指标申报（复核）"')
        )  # ahead of every instance
        fgw = db.session.scalar(
            select(InboxTask.instance_id)
            .where(InboxTask.element_id == "declare", InboxTask.status == TaskStatus.OPEN)
            .join(InboxTask.org)
            .where(InboxTask.org.has(code="fgw"))
        )
    admin, office = login("admin"), login("office")
    page = admin.get("/monitor/2012").get_data(as_text=True)
    assert page.count('data-testid="migrate"') == 46 and "迁移到版本 2" in page
    assert 'data-testid="migration"' not in office.get("/monitor/2012").get_data(as_text=True)
    assert office.post(f"/monitor/2012/migrate/{fgw}", data={"definition_id": v2}).status_code == 403

    moved = admin.post(f"/monitor/2012/migrate/{fgw}", data={"definition_id": v2}, follow_redirects=True)
    assert moved.status_code == 200 and "该实例现在运行版本 2" in moved.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ProcessInstance, fgw).definition_id == v2
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "instance.migrated")) is not None
        )
    declare(app, "fgw")
    with app.app_context():
        titles = {t.title for t in db.session.scalars(select(InboxTask).where(InboxTask.instance_id == fgw))}
    assert "审核指标申报（复核）" in titles  # the moved instance runs the new version on

    with app.app_context():
        _deploy(
            SOURCE.replace('name="申报考评指标"', 'name="申报考评指标（修订）"')
        )  # the step everyone is at
    page = admin.get("/monitor/2012").get_data(as_text=True)
    assert 'data-testid="migrate"' not in page
    assert "迁移不安全" in page and "“申报考评指标”" in page
