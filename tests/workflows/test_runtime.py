"""The runtime through the services the views use: lanes, gateways, multi-instance, call activities,
timers, boundary reminders, messages, loops, drafts, claims, conflicts and incidents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from models.db import db
from models.org import OrgKind, OrgUnit, Role
from models.workflow import (
    AuditEvent,
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    instance_tree_ids,
)
from webapp.domain import errors
from webapp.domain.process import tasks as task_service
from workflows import engine, forms
from workflows.engine import cache as engine_cache
from workflows.engine import specs

CITIES = ["shenyang", "dalian", "anshan"]
DEPARTMENTS = ["fgw", "jyt"]


def open_tasks(instance, element=None):
    """Open tasks of the instance and of the instances its call activities started."""
    query = select(InboxTask).where(
        InboxTask.instance_id.in_(instance_tree_ids(instance.id)), InboxTask.status == TaskStatus.OPEN
    )
    if element:
        query = query.where(InboxTask.element_id == element)
    return db.session.scalars(query.order_by(InboxTask.id)).all()


def complete(guid, user, data):
    try:
        result = task_service.complete_task(guid, user, data)
    except errors.DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def start(process_id, user, **data):
    instance = task_service.start_process(process_id, user, business_key=f"test:{process_id}", data=data)
    db.session.commit()
    return instance


def test_round_shaped_process_runs_lanes_multi_instance_gateway_and_loop(deploy, user):
    deploy("round_like")
    office, leader = user("office"), user("leader")
    instance = start("round_like", office, cities=CITIES, departments=DEPARTMENTS)
    assert instance.status == InstanceStatus.RUNNING

    reports = open_tasks(instance, "self_report")
    assert [(t.role, t.org.code, t.form_key, t.title) for t in reports] == [
        (Role.CITY, code, "test.report", "City self-report") for code in CITIES
    ]
    assert reports[0].instructions == "Report your completion."
    for value, task in zip(("10", "20.5", "30"), reports, strict=True):
        complete(task.task_guid, user(task.org.code), {"value": value})

    scoring = open_tasks(instance, "score")
    assert sorted(t.org.code for t in scoring) == sorted(DEPARTMENTS)
    assert all(t.role == Role.DEPARTMENT for t in scoring)
    for task in scoring:
        complete(task.task_guid, user(task.org.code), {"value": "5"})

    review = open_tasks(instance, "review")
    assert len(review) == 1 and review[0].org_id is None
    data = engine.task_data(instance, review[0].task_guid)
    assert sorted(data["reported"]) == ["10", "20.5", "30"], "the multi-instance collected every city's value"
    complete(review[0].task_guid, office, {"decision": "approve"})

    approval = open_tasks(instance, "approve")
    complete(approval[0].task_guid, leader, {"decision": "return", "comment": "Check Dalian again."})
    review_again = open_tasks(instance, "review")
    assert len(review_again) == 1 and review_again[0].task_guid != review[0].task_guid, (
        "returned: the loop went back"
    )

    complete(review_again[0].task_guid, office, {"decision": "approve"})
    complete(open_tasks(instance, "approve")[0].task_guid, leader, {"decision": "approve"})
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.COMPLETED and instance.ended_at is not None
    assert open_tasks(instance) == []
    recorded = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.recorded")
    )
    assert recorded == len(CITIES) + len(DEPARTMENTS), "each report's handler wrote its domain record"


def test_parallel_gateway_waits_for_both_branches(deploy, user):
    deploy("parallel")
    instance = start("parallel", user("office"))
    tasks = {t.element_id: t for t in open_tasks(instance)}
    assert set(tasks) == {"a", "b"}
    complete(tasks["a"].task_guid, user("office"), {})
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.RUNNING
    assert [t.element_id for t in open_tasks(instance)] == ["b"]
    complete(tasks["b"].task_guid, user("leader"), {})
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.COMPLETED


def test_timer_then_call_activity_then_boundary_reminder(deploy, user, clock):
    deploy("phase_like")
    deploy("annual_like")
    phase_start = datetime(2012, 6, 1, 0, 0, tzinfo=UTC)
    instance = start(
        "annual_like",
        user("office"),
        phase_start=phase_start.isoformat(),
        work_due="2012-06-15T09:00:00+00:00",
        reminders=0,
    )
    assert instance.status == InstanceStatus.WAITING
    assert instance.due_at == phase_start
    assert task_service.next_due_instance_id(clock()) is None

    clock.current = datetime(2012, 6, 1, 8, 0, tzinfo=UTC)
    due = task_service.next_due_instance_id(clock())
    assert due == instance.id
    task_service.fire_timers(due)
    db.session.commit()
    db.session.refresh(instance)
    [work] = open_tasks(instance)
    assert (work.element_id, work.role, work.due_at) == (
        "work",
        Role.OFFICE,
        datetime(2012, 6, 15, 9, tzinfo=UTC),
    )
    assert instance.status == InstanceStatus.RUNNING, "its phase runs beneath it"
    assert instance.due_at is None and work.instance.parent_instance_id == instance.id
    assert work.instance.due_at == datetime(2012, 6, 4, 8, 0, tzinfo=UTC), (
        "the reminder's 3 days are the next timer, of the phase's own instance"
    )

    clock.advance(days=3, minutes=1)
    task_service.fire_timers(task_service.next_due_instance_id(clock()))
    db.session.commit()
    still_open = {t.element_id: t for t in open_tasks(instance)}
    assert still_open["work"].task_guid == work.task_guid, "a reminder does not interrupt the task"
    follow_up = still_open["follow_up"]
    assert engine.task_data(follow_up.instance, follow_up.task_guid)["reminders"] == 1, (
        "the reminder branch's script ran"
    )

    complete(work.task_guid, user("office"), {"comment": "done"})
    complete(follow_up.task_guid, user("office"), {})
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.COMPLETED
    [child] = db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.parent_instance_id == instance.id)
    )
    assert (child.process_id, child.status, child.parent_element_id) == (
        "phase_like",
        InstanceStatus.COMPLETED,
        "phase",
    ), "the call activity ran its process as a child instance, which completed first"


def test_message_starts_the_phase_before_its_date(deploy, user, clock):
    deploy("phase_like")
    deploy("annual_like")
    instance = start(
        "annual_like", user("office"), phase_start="2012-06-01T00:00:00+00:00", work_due=None, reminders=0
    )
    with pytest.raises(errors.Forbidden):
        task_service.send_message(instance.id, "start_phase", user("shenyang"))
    db.session.rollback()
    task_service.send_message(instance.id, "start_phase", user("office"))
    db.session.commit()
    assert [t.element_id for t in open_tasks(instance)] == ["work"]
    with pytest.raises(errors.Conflict):
        task_service.send_message(instance.id, "start_phase", user("office"))
    db.session.rollback()


def test_new_versions_leave_running_instances_alone(deploy, user):
    first = deploy("parallel")
    assert deploy("parallel").id == first.id, "deploying the same file again makes no new version"
    running = start("parallel", user("office"))
    changed = first.bpmn_xml.replace('name="Office part"', 'name="Office part, revised"').encode()
    second, created = engine.deploy(changed, source_name="parallel.bpmn", known_forms=forms.known_keys())
    db.session.commit()
    assert created and (second.version, first.version) == (2, 1)
    assert db.session.get(ProcessDefinition, first.id).bpmn_xml == first.bpmn_xml, (
        "a deployed version never changes"
    )

    fresh = start("parallel", user("office"))
    assert fresh.definition_id == second.id and running.definition_id == first.id
    titles = {i.id: sorted(t.title for t in open_tasks(i)) for i in (running, fresh)}
    assert titles[running.id] == ["Leadership part", "Office part"]
    assert titles[fresh.id] == ["Leadership part", "Office part, revised"]


def test_unsafe_expressions_are_refused_at_deploy_naming_the_element(ctx):
    from tests.workflows.conftest import BPMN

    with pytest.raises(engine.DefinitionError) as caught:
        engine.deploy((BPMN / "unsafe_condition.bpmn").read_bytes())
    elements = {element for element, _reason in caught.value.problems}
    assert elements == {"f_evil", "unused"}
    assert "不允许访问属性（'.system'）" in str(caught.value) and "列表推导式（ListComp）" in str(
        caught.value
    )
    assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 0


def test_user_tasks_outside_role_lanes_or_without_forms_are_refused(ctx):
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true"><bpmn:laneSet id="ls"><bpmn:lane id="l" name="mayor">'
        '<bpmn:flowNodeRef>u</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet><bpmn:startEvent id="s"/>'
        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="u"/><bpmn:userTask id="u"/></bpmn:process></bpmn:definitions>'
    )
    with pytest.raises(engine.DefinitionError) as caught:
        engine.deploy(xml)
    reasons = " ".join(reason for _e, reason in caught.value.problems)
    assert "泳道的角色须为" in reasons and "formKey" in reasons and "流程缺少结束事件" in reasons


def test_only_the_tasks_org_and_role_may_complete_it(deploy, user):
    deploy("round_like")
    instance = start("round_like", user("office"), cities=CITIES, departments=DEPARTMENTS)
    task = open_tasks(instance, "self_report")[0]  # shenyang's
    for other in ("dalian", "fgw", "office"):
        with pytest.raises(errors.Forbidden):
            complete(task.task_guid, user(other), {"value": "1"})
    complete(task.task_guid, user("shenyang-jxb"), {"value": "1"}) if False else None
    assert db.session.get(InboxTask, task.id).status == TaskStatus.OPEN


def test_a_second_completion_is_a_conflict_naming_who_and_when(deploy, user, clock):
    deploy("round_like")
    instance = start("round_like", user("office"), cities=CITIES, departments=DEPARTMENTS)
    task = open_tasks(instance, "self_report")[0]
    complete(task.task_guid, user("shenyang"), {"value": "1"})
    with pytest.raises(errors.Conflict) as caught:
        complete(task.task_guid, user("shenyang"), {"value": "2"})
    assert caught.value.details["completed_by"] == "shenyang"
    assert caught.value.details["completed_at"].startswith("2012-01-04T09:00")
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.recorded")
        )
        == 1
    )


def test_invalid_data_is_refused_per_field_and_nothing_is_written(deploy, user):
    deploy("round_like")
    instance = start("round_like", user("office"), cities=CITIES, departments=DEPARTMENTS)
    task = open_tasks(instance, "self_report")[0]
    state_before = instance.state
    with pytest.raises(errors.Invalid) as caught:
        complete(task.task_guid, user("shenyang"), {"value": "101"})
    assert list(caught.value.fields) == ["value"]
    db.session.refresh(instance)
    assert instance.state == state_before
    assert db.session.get(InboxTask, task.id).status == TaskStatus.OPEN
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.recorded")
        )
        == 0
    )


def test_drafts_keep_what_was_typed_and_do_not_move_the_workflow(deploy, user):
    deploy("round_like")
    instance = start("round_like", user("office"), cities=CITIES, departments=DEPARTMENTS)
    task = open_tasks(instance, "self_report")[0]
    state_before = instance.state
    for typed in ("abc", "42"):
        task_service.save_draft(task.task_guid, user("shenyang"), {"value": typed, "note": "half done"})
        db.session.commit()
    row = db.session.get(InboxTask, task.id)
    assert row.draft == {"value": "42", "note": "half done"} and row.status == TaskStatus.OPEN
    form = task_service.build_form(row, user("shenyang"))
    assert form.value.raw_data == ["42"] and form.note.data == "half done"
    db.session.refresh(instance)
    assert instance.state == state_before
    complete(task.task_guid, user("shenyang"), {"value": "42"})
    assert db.session.get(InboxTask, task.id).draft is None


def test_a_claimed_task_waits_for_its_claimer_until_released(deploy, user):
    deploy("parallel")
    instance = start("parallel", user("office"))
    task = next(t for t in open_tasks(instance) if t.element_id == "a")
    task_service.claim_task(task.task_guid, user("office-chief"))
    task_service.claim_task(task.task_guid, user("office-chief"))  # a second click changes nothing
    db.session.commit()
    with pytest.raises(errors.Conflict):
        complete(task.task_guid, user("office"), {})
    with pytest.raises(errors.Forbidden):
        task_service.unclaim_task(task.task_guid, user("leader"))
    db.session.rollback()
    task_service.unclaim_task(task.task_guid, user("office"))  # the office may release anyone's claim
    db.session.commit()
    complete(task.task_guid, user("office"), {})
    assert db.session.get(InboxTask, task.id).completed_by.username == "office"


def test_a_failing_script_becomes_an_incident_that_can_be_retried(deploy, user):
    deploy("failing_script")
    instance = start("failing_script", user("office"))
    [enter] = open_tasks(instance)
    result = complete(enter.task_guid, user("office"), {"value": "0"})
    assert result.incident and "DivisionByZero" in result.incident
    db.session.refresh(instance)
    assert (instance.status, instance.incident_element) == (InstanceStatus.INCIDENT, "divide")
    assert db.session.get(InboxTask, enter.id).status == TaskStatus.COMPLETED, "the user's work is kept"
    task_service.retry_instance(instance.id, user("office"))
    db.session.commit()
    assert instance.status == InstanceStatus.INCIDENT, "the cause is still there"
    with pytest.raises(errors.Forbidden):
        task_service.retry_instance(instance.id, user("shenyang"))
    db.session.rollback()


def test_an_unknown_organisation_is_an_incident_fixed_by_adding_it_and_retrying(deploy, user):
    deploy("round_like")
    instance = start("round_like", user("office"), cities=[*CITIES, "xincheng"], departments=DEPARTMENTS)
    assert instance.status == InstanceStatus.INCIDENT
    assert "xincheng" in instance.incident_message and instance.incident_at is not None
    assert open_tasks(instance) == []
    db.session.add(OrgUnit(code="xincheng", name="新城市", short_name="新城", kind=OrgKind.CITY))
    db.session.commit()
    task_service.retry_instance(instance.id, user("office"))
    db.session.commit()
    assert instance.status == InstanceStatus.RUNNING and instance.incident_message is None
    assert len(open_tasks(instance, "self_report")) == 4
    with pytest.raises(errors.Conflict):
        task_service.retry_instance(instance.id, user("office"))
    db.session.rollback()


def test_a_multi_instance_step_started_by_one_worker_completes_in_another(deploy, user):
    """A worker that only loads the state (another process, or after a restart) parses the diagram
    afresh: the step must still hear its items complete."""
    deploy("round_like")
    instance = start("round_like", user("office"), cities=CITIES, departments=DEPARTMENTS)
    reports = open_tasks(instance, "self_report")
    complete(reports[0].task_guid, user(reports[0].org.code), {"value": "10"})
    specs._CACHE.clear()  # what the new worker has not seen
    engine_cache.clear()
    for task in reports[1:]:
        complete(task.task_guid, user(task.org.code), {"value": "20"})
    assert sorted(t.org.code for t in open_tasks(instance, "score")) == sorted(DEPARTMENTS)
