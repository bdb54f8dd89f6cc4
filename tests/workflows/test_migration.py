"""Moving a running instance to another version: only where no step it has done or is doing changes;
a running multi-instance step keeps its completed items; otherwise refused with the steps in the way."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.db import db
from models.workflow import AuditEvent, ProcessInstance
from tests.workflows.test_runtime import complete, open_tasks, start
from webapp.domain import errors
from webapp.domain.process import migration
from workflows import engine, forms

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">'
)


def user_task(task_id: str, name: str, over: str = "") -> str:
    loop = (
        f"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>{over}</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="item" name="item"/></bpmn:multiInstanceLoopCharacteristics>'
        if over
        else ""
    )
    return (
        f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formKey" value="acknowledge"/></spiffworkflow:properties>'
        f"</bpmn:extensionElements>{loop}</bpmn:userTask>"
    )


def chain(*steps: tuple[str, str, str]) -> bytes:
    """start → each (id, name, collection) in turn → end, every task in the office's lane."""
    ids = ["s", *[s[0] for s in steps], "e"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in zip(ids, ids[1:], strict=False)
    )
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    body = '<bpmn:startEvent id="s"/>' + "".join(user_task(*s) for s in steps) + '<bpmn:endEvent id="e"/>'
    lanes = f'<bpmn:laneSet id="ls"><bpmn:lane id="l" name="office">{refs}</bpmn:lane></bpmn:laneSet>'
    return (
        f'{HEAD}<bpmn:process id="moving" name="Moving" isExecutable="true">{lanes}{body}{flows}</bpmn:process>'
        "</bpmn:definitions>"
    ).encode()


def deploy(xml: bytes):
    definition, _ = engine.deploy(xml, source_name="moving.bpmn", known_forms=forms.known_keys())
    db.session.commit()
    return definition


def titles(instance):
    return sorted(t.title for t in open_tasks(instance))


def test_an_instance_moves_when_only_what_lies_ahead_changes(ctx, user):
    office, admin = user("office"), user("admin")
    deploy(chain(("a", "First", ""), ("b", "Second", "")))
    instance = start("moving", office)
    v2 = deploy(chain(("a", "First", ""), ("b", "Second", ""), ("c", "Office review", "")))
    assert migration.check_move(admin, instance.id, v2.id) == []
    migration.move_instance(admin, instance.id, v2.id, engine.now())
    db.session.commit()
    assert db.session.get(ProcessInstance, instance.id).definition_id == v2.id
    for step in ("First", "Second", "Office review"):
        (task,) = open_tasks(instance)
        assert task.title == step
        complete(task.task_guid, office, {})
    assert db.session.get(ProcessInstance, instance.id).status.value == "completed"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "instance.migrated")) is not None


def test_a_change_to_a_step_done_or_in_progress_is_refused_with_its_name(ctx, user):
    office, admin = user("office"), user("admin")
    v1 = deploy(chain(("a", "First", ""), ("b", "Second", "")))
    instance = start("moving", office)
    complete(open_tasks(instance)[0].task_guid, office, {})  # First done, Second open
    v2 = deploy(chain(("a", "First", ""), ("b", "Second", ""), ("c", "Office review", "")))
    (reason,) = migration.check_move(admin, instance.id, v2.id)
    assert "“Second”" in reason and "“First”" not in reason  # b's way out changes; a's does not
    with pytest.raises(errors.Conflict) as refused:
        migration.move_instance(admin, instance.id, v2.id, engine.now())
    db.session.rollback()
    assert refused.value.details["steps"] == ["b"]
    assert db.session.get(ProcessInstance, instance.id).definition_id == v1.id  # nothing changed
    assert titles(instance) == ["Second"]


def test_a_running_multi_instance_step_keeps_its_completed_items(ctx, user):
    office, admin = user("office"), user("admin")
    deploy(chain(("a", "Each city", "cities"), ("b", "Wrap up", "")))
    instance = start("moving", office, cities=["c1", "c2", "c3"])
    first, *_ = open_tasks(instance)
    complete(first.task_guid, office, {})
    assert len(open_tasks(instance)) == 2
    v2 = deploy(chain(("a", "Each city", "cities"), ("b", "Wrap up, revised", "")))
    migration.move_instance(admin, instance.id, v2.id, engine.now())
    db.session.commit()
    left = open_tasks(instance)
    assert len(left) == 2 and {t.title for t in left} == {"Each city"}  # the done item stays done
    for task in left:
        complete(task.task_guid, office, {})
    assert titles(instance) == ["Wrap up, revised"]

    v3 = deploy(chain(("a", "Each city, renamed", "cities"), ("b", "Wrap up", "")))
    blocked = migration.check_move(admin, instance.id, v3.id)
    assert blocked and "“Each city”" in blocked[0]  # completed, and the new version renames it
