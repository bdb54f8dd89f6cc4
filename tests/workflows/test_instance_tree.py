"""Call activities run their process as child instances: data across the boundary by the called
process's ioSpecification, completion handed up in the same transaction, cancellation handed down,
incidents and retries on the child, versions bound when each child starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from models.db import db
from models.workflow import InboxTask, InstanceStatus, ProcessDefinition, ProcessInstance, TaskStatus
from tests.workflows.conftest import BPMN
from webapp.domain import errors
from webapp.domain.process import monitor as monitor_service
from webapp.domain.process import tasks as task_service
from workflows import engine, forms
from workflows.engine import specs, stats


def children(instance: ProcessInstance) -> list[ProcessInstance]:
    return list(
        db.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.parent_instance_id == instance.id)
            .order_by(ProcessInstance.id)
        )
    )


def open_in(instance: ProcessInstance) -> dict[str, InboxTask]:
    rows = db.session.scalars(
        select(InboxTask).where(InboxTask.instance_id == instance.id, InboxTask.status == TaskStatus.OPEN)
    )
    return {t.element_id: t for t in rows}


def complete(guid: str, user, data=None):
    result = task_service.complete_task(guid, user, data or {})
    db.session.commit()
    return result


@pytest.fixture
def supervised(deploy, user, clock):
    for name in ("supervised_detail", "supervised_work", "supervised"):
        deploy(name)
    instance = task_service.start_process(
        "supervised",
        user("office"),
        business_key="tree",
        data={"topic": "budget", "secret": "not for the child"},
    )
    db.session.commit()
    [work] = children(instance)
    [detail] = children(work)
    return instance, work, detail


def test_a_call_activity_starts_a_linked_child_with_only_the_declared_inputs(supervised, user):
    instance, work, detail = supervised
    assert (work.process_id, work.parent_element_id, work.business_key) == (
        "supervised_work",
        "work",
        "tree › The work",
    )
    assert work.parent_task_id and detail.parent_instance_id == work.id
    assert instance.status == work.status == detail.status == InstanceStatus.RUNNING
    draft = open_in(work)["draft"]
    assert engine.task_data(work, draft.task_guid) == {"topic": "budget"}, "only the declared input"
    check = open_in(detail)["check"]
    assert engine.task_data(detail, check.task_guid)["topic"] == "budget", "no ioSpecification: all of it"
    # where each task belongs comes from the BPMN: the process's own phase, inherited beneath it
    assert (draft.process_id, draft.phase) == ("supervised_work", "q3")
    assert (check.process_id, check.phase) == ("supervised_detail", "q3")
    assert open_in(instance) == {}, "the parent's call activity waits; it is no task of anyone's"
    assert len(instance.state) < len(work.state) + len(detail.state) + 4000


def test_the_child_completing_hands_its_declared_outputs_up_and_runs_the_parent(supervised, user):
    instance, work, detail = supervised
    complete(open_in(work)["draft"].task_guid, user("office"))
    db.session.refresh(work)
    assert work.status == InstanceStatus.RUNNING, "it still waits for its own child"
    complete(open_in(detail)["check"].task_guid, user("leader"))
    for row in (instance, work, detail):
        db.session.refresh(row)
    assert (detail.status, work.status) == (InstanceStatus.COMPLETED, InstanceStatus.COMPLETED)
    assert detail.ended_at is not None and work.ended_at is not None
    confirm = open_in(instance)["confirm"]
    data = engine.task_data(instance, confirm.task_guid)
    assert data["result"] == "done: budget", "the declared output came back"
    assert data["secret"] == "not for the child", "the parent keeps its own data"
    assert instance.due_at is None, "the boundary timer went with the finished call"
    complete(confirm.task_guid, user("office"))
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.COMPLETED


def test_a_child_that_completes_as_it_starts_hands_up_in_memory(deploy, user):
    """A called process with nothing to wait for finishes inside its parent's run: the parent takes
    its outputs from memory and is never locked or loaded again from the database for it."""
    deploy("instant")
    deploy("instant_caller")
    stats.reset()
    instance = task_service.start_process(
        "instant_caller", user("office"), business_key="instant", data={"topic": "budget"}
    )
    db.session.commit()
    assert stats.current().loads == 0, "nothing was read back from the database"
    [child] = children(instance)
    assert child.status == InstanceStatus.COMPLETED and child.ended_at is not None
    confirm = open_in(instance)["confirm"]
    assert engine.task_data(instance, confirm.task_guid)["result"] == "budget stamped"


def test_an_interrupting_boundary_event_cancels_the_child_and_its_children(supervised, user, clock):
    instance, work, detail = supervised
    draft, check = open_in(work)["draft"], open_in(detail)["check"]
    assert instance.due_at == datetime(2012, 1, 14, 9, 0, tzinfo=UTC)
    clock.advance(days=10, minutes=1)
    assert task_service.next_due_instance_id(clock()) == instance.id
    task_service.fire_timers(instance.id)
    db.session.commit()
    for row in (instance, work, detail):
        db.session.refresh(row)
    assert (work.status, detail.status) == (InstanceStatus.CANCELLED, InstanceStatus.CANCELLED)
    assert work.ended_at is not None and work.due_at is None
    for task in (draft, check):
        db.session.refresh(task)
        assert task.status == TaskStatus.CANCELLED, "withdrawn, not left orphaned"
    assert set(open_in(instance)) == {"escalate"}, "the boundary path goes on"
    with pytest.raises(errors.Conflict):
        task_service.complete_task(check.task_guid, user("leader"), {})
    db.session.rollback()
    open_now = db.session.scalar(
        select(func.count()).select_from(InboxTask).where(InboxTask.status == TaskStatus.OPEN)
    )
    assert open_now == 1


def test_an_error_in_a_child_is_its_incident_and_is_retried_there(deploy, user):
    deploy("failing_script")
    xml = (
        (BPMN / "supervised.bpmn")
        .read_text()
        .replace('calledElement="supervised_work"', 'calledElement="failing_script"')
    )
    engine.deploy(xml.replace('id="supervised"', 'id="calls_failing"'), known_forms=forms.known_keys())
    db.session.commit()
    parent = task_service.start_process("calls_failing", user("office"), business_key="failing")
    db.session.commit()
    [child] = children(parent)
    result = complete(open_in(child)["enter"].task_guid, user("office"), {"value": "0"})
    assert result.incident and "DivisionByZero" in result.incident
    db.session.refresh(child)
    db.session.refresh(parent)
    assert (child.status, child.incident_element) == (InstanceStatus.INCIDENT, "divide")
    assert parent.status == InstanceStatus.RUNNING and parent.incident_message is None
    counts = monitor_service.element_counts([parent, child], [], engine.now())
    assert counts["failing_script"]["divide"] == {"incident": 1}
    assert counts["calls_failing"]["work"] == {"incident": 1}, "the parent's call activity shows it"
    with pytest.raises(errors.Conflict):
        task_service.retry_instance(parent.id, user("office"))
    db.session.rollback()
    task_service.retry_instance(child.id, user("office"))
    db.session.commit()
    db.session.refresh(child)
    assert child.status == InstanceStatus.INCIDENT, "the cause is still there"


def test_a_missing_called_process_is_an_incident_at_the_call_and_retry_starts_it(deploy, user):
    deploy("supervised")
    parent = task_service.start_process(
        "supervised", user("office"), business_key="early", data={"topic": "x"}
    )
    db.session.commit()
    assert (parent.status, parent.incident_element) == (InstanceStatus.INCIDENT, "work")
    assert "supervised_work" in parent.incident_message and children(parent) == []
    deploy("supervised_detail")
    deploy("supervised_work")
    task_service.retry_instance(parent.id, user("office"))
    db.session.commit()
    db.session.refresh(parent)
    assert parent.status == InstanceStatus.RUNNING
    [work] = children(parent)
    assert set(open_in(work)) == {"draft"}


def test_a_child_binds_the_latest_version_when_it_starts_unless_pinned_to_its_callers_set(ctx, deploy, user):
    source = (BPMN / "parallel.bpmn").read_bytes()
    caller = (
        (BPMN / "supervised.bpmn")
        .read_text()
        .replace('calledElement="supervised_work" />', 'calledElement="parallel">{}</bpmn:callActivity>')
    )
    pinned = caller.format(
        '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="binding" '
        'value="deployment" /></spiffworkflow:properties></bpmn:extensionElements>'
    ).replace('id="supervised"', 'id="pinned"')
    latest = caller.format("").replace('id="supervised"', 'id="latest"')
    together = datetime(2012, 1, 1, tzinfo=UTC)
    for xml in (source, pinned, latest):
        engine.deploy(xml, known_forms=forms.known_keys(), at=together)
    revised = source.replace(b'name="Office part"', b'name="Office part, revised"')
    engine.deploy(revised, known_forms=forms.known_keys())
    db.session.commit()
    versions = {}
    for process in ("pinned", "latest"):
        parent = task_service.start_process(process, user("office"), business_key=process)
        [child] = children(parent)
        versions[process] = db.session.get(ProcessDefinition, child.definition_id).version
        titles = sorted(t.title for t in open_in(child).values())
        assert titles == (
            ["Leadership part", "Office part"]
            if process == "pinned"
            else ["Leadership part", "Office part, revised"]
        )
    assert versions == {"pinned": 1, "latest": 2}
    bad = pinned.replace('value="deployment"', 'value="newest"')
    with pytest.raises(engine.DefinitionError, match="版本绑定须为 latest, deployment 之一"):
        engine.deploy(bad.replace('id="pinned"', 'id="bad"'), known_forms=forms.known_keys())


def test_a_parsed_definition_is_reused_for_every_completion(deploy, user, monkeypatch):
    deploy("round_like")
    calls = []
    original = specs._compile
    monkeypatch.setattr(specs, "_compile", lambda *a: calls.append(a[0]) or original(*a))
    specs._CACHE.clear()
    instance = task_service.start_process(
        "round_like",
        user("office"),
        business_key="cache",
        data={"cities": ["shenyang", "dalian"], "departments": []},
    )
    db.session.commit()
    for task in open_in(instance).values():
        complete(task.task_guid, user(task.org.code), {"value": "3"})
    assert len(calls) == 1, "parsed once, then taken from the cache by its content hash"
    assert (
        '"spec"' not in instance.state
        and db.session.get(ProcessDefinition, instance.definition_id).sha256 in instance.state
    )


def test_describe_lists_elements_lanes_and_call_targets(deploy):
    annual = engine.deploy(
        next(p for p in (BPMN.parents[2] / "workflows").glob("annual_cycle.bpmn")).read_bytes(),
        known_forms=forms.known_keys(),
    )[0]
    described = engine.describe(annual)
    assert described.process_id == "annual_cycle" and described.name == "年度绩效考评"
    assert {e.id: e.called for e in described.calls.values()} == {
        "phase_declaration": "declaration",
        "phase_formation": "system_formation",
        "phase_half_year": "evaluation_round",
        "phase_q3": "evaluation_round",
        "phase_year_end": "year_end",
        "phase_feedback": "feedback",
    }
    assert described.elements["phase_q3"].properties == {"phase": "q3", "round": "round"}
    assert described.name_of("timer_q3") == "第三季度考评开始日期" and described.lanes == ("office",)
    declaration = engine.describe(
        engine.deploy(
            (BPMN.parents[2] / "workflows" / "department_declaration.bpmn").read_bytes(),
            known_forms=forms.known_keys(),
        )[0]
    )
    assert declaration.phase == "declaration"
    assert {e.id: e.lane for e in declaration.user_tasks.values()} == {
        "declare": "department",
        "review": "office",
    }
