"""Phases 1–2 driven through the services as the roles would: declaration with a return and a
resubmission and a late department reminded; forming the system with expert, department and city
comments, one not adopted; a leadership return, then approval and freezing; then a formal revision."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.db import db
from models.formation import (
    Declaration,
    DeclarationStatus,
    Handling,
    Phase,
    SystemRevision,
)
from models.notification import Notification
from models.org import User
from models.scheme import Indicator, Scheme, SchemeYear, YearStatus
from models.workflow import InboxTask, InstanceStatus, TaskStatus
from webapp.domain import errors
from webapp.domain.process import cycle as cycle_service
from webapp.domain.process import tasks as task_service
from webapp.domain.system import operations as system_operations
from webapp.domain.system import queries as system_queries
from workflows import BPMN_DIR, engine, forms
from workflows.forms.values import raw_values

LATER_PHASES = Path(__file__).resolve().parents[1] / "data" / "bpmn" / "later_phases"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def cycle(ctx, demo):
    """Deploy the cycle's diagrams (and stand-ins for the later phases) and return helpers."""
    for path in [*sorted(BPMN_DIR.glob("*.bpmn")), *sorted(LATER_PHASES.glob("*.bpmn"))]:
        if not engine.latest_definition(engine.inspect_bpmn(path.read_bytes()).process_id):
            engine.deploy(path.read_bytes(), source_name=path.name, known_forms=forms.known_keys())
    db.session.commit()
    clock = {"now": at(2012, 1, 2, 1)}

    class Helpers:
        scheme = Scheme.by_code("ln-cities")

        @staticmethod
        def user(name):
            return db.session.scalar(select(User).where(User.username == name))

        @staticmethod
        def open_tasks(element):
            return db.session.scalars(
                select(InboxTask)
                .where(InboxTask.element_id == element, InboxTask.status == TaskStatus.OPEN)
                .order_by(InboxTask.id)
            ).all()

        @staticmethod
        def actor(task):
            if task.assignee is not None:
                return task.assignee
            if task.org is not None:
                return db.session.scalar(select(User).where(User.org_id == task.org_id).order_by(User.id))
            return Helpers.user({"office": "office", "leadership": "leader"}[task.role.value])

        @staticmethod
        def prefilled(task):
            return raw_values(task_service.build_form(task, Helpers.actor(task)))

        @staticmethod
        def complete(task, data, user=None):
            with engine.use_clock(lambda: clock["now"]):
                result = task_service.complete_task(task.task_guid, user or Helpers.actor(task), data)
            db.session.commit()
            return result

        @staticmethod
        def run_timers(now):
            clock["now"] = now
            with engine.use_clock(now):
                while (instance_id := task_service.next_due_instance_id(now)) is not None:
                    task_service.fire_timers(instance_id)
                    db.session.commit()

        @staticmethod
        def now():
            return clock["now"]

        @staticmethod
        def with_clock(fn, *args):
            with engine.use_clock(lambda: clock["now"]):
                result = fn(*args)
            db.session.commit()
            return result

    return Helpers


def test_declaration_and_formation_from_start_to_frozen_system_and_a_revision(cycle):
    office, leader = cycle.user("office"), cycle.user("leader")
    annual = cycle.with_clock(cycle_service.start_annual_cycle, cycle.scheme, 2012, office)
    assert annual.status == InstanceStatus.WAITING
    assert annual.due_at == at(2012, 1, 3, 16), "declaration opens 4 January, Beijing time"
    year = db.session.get(SchemeYear, annual.scheme_year_id)
    with pytest.raises(errors.Conflict):
        cycle_service.start_annual_cycle(cycle.scheme, 2012, office)
    db.session.rollback()

    # The office opens the declaration early and publishes the standard.
    assert cycle_service.waiting_phases(annual) == [Phase.DECLARATION]
    cycle.with_clock(cycle_service.start_phase_now, annual.id, Phase.DECLARATION, office)
    [standard] = cycle.open_tasks("publish_standard")
    with pytest.raises(errors.Invalid) as refused:
        cycle.complete(
            standard,
            {
                "basis": "x",
                "quantifiability": "x",
                "decomposition": "x",
                "rewards_penalties": "x",
                "deadline": "2011-12-31",
            },
        )
    assert "deadline" in refused.value.fields
    db.session.rollback()
    cycle.complete(
        standard,
        {
            "basis": "依据党中央、国务院和省委、省政府工作部署",
            "quantifiability": "量化可行",
            "decomposition": "分解到14个市",
            "rewards_penalties": "奖惩分明",
            "deadline": "2012-01-20",
        },
    )

    declare = cycle.open_tasks("declare")
    db.session.refresh(annual)
    assert annual.incident_message is None, annual.incident_message
    assert len(declare) == 46 and all(t.due_at == at(2012, 1, 20, 15, 59, 59) for t in declare)
    late = next(t for t in declare if t.org.code == "tjj")
    for task in declare:
        if task is late:
            continue
        data = cycle.prefilled(task)
        assert any(row.get("name") for row in data["indicators"]), (
            "prefilled with the department's indicators"
        )
        cycle.complete(task, data)

    # The deadline passes with one department still out: a reminder, the task stays open.
    cycle.run_timers(at(2012, 1, 21, 2))
    assert [t.org.code for t in cycle.open_tasks("declare")] == ["tjj"]
    reminders = db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    assert {db.session.get(User, n.user_id).org.code for n in reminders} == {"tjj"}
    overview = {r["department"].code: r for r in system_queries.declaration_overview(year, cycle.now())}
    assert overview["tjj"]["overdue"] and not overview["fgw"]["late"]
    cycle.complete(cycle.open_tasks("declare")[0], cycle.prefilled(cycle.open_tasks("declare")[0]))

    # The office returns one declaration; the department gets it back, resubmits; all accepted.
    reviews = cycle.open_tasks("review")
    assert len(reviews) == 46 and all(r.subject_org is not None for r in reviews)
    fgw_review = next(r for r in reviews if r.subject_org.code == "fgw")
    with pytest.raises(errors.Invalid):
        cycle.complete(fgw_review, {"decision": "return"})
    db.session.rollback()
    cycle.complete(fgw_review, {"decision": "return", "comment": "请补充分解到各市的目标。"})
    assert Declaration.find(year.id, fgw_review.subject_org_id).status == DeclarationStatus.RETURNED
    [again] = cycle.open_tasks("declare")
    assert again.org.code == "fgw"
    data = cycle.prefilled(again)
    data["indicators"][0]["target"] = "沈阳 12%；大连 12%；其他市 10%"
    cycle.complete(again, data)
    for review in cycle.open_tasks("review"):
        cycle.complete(review, {"decision": "approve"})
    statuses = db.session.scalars(
        select(Declaration.status).where(Declaration.scheme_year_id == year.id)
    ).all()
    assert len(statuses) == 46 and set(statuses) == {DeclarationStatus.ACCEPTED}
    assert Declaration.find(year.id, fgw_review.subject_org_id).submissions == 2

    # Declaration done: the cycle waits for the formation date; it opens on time.
    db.session.refresh(annual)
    assert annual.status == InstanceStatus.WAITING and cycle_service.waiting_phases(annual) == [
        Phase.FORMATION
    ]
    cycle.run_timers(at(2012, 2, 1, 0, 0, 1))
    [draft] = cycle.open_tasks("draft_system")

    # Drafting: an invalid system is refused naming the indicator and the rule; composing fixes it.
    indicator = db.session.scalar(
        select(Indicator).where(Indicator.scheme_year_id == year.id, Indicator.code == "I001")
    )
    indicator.weight += 5
    db.session.commit()
    submission = {"experts": ["expert1", "expert2"], "solicitation_deadline": "2012-02-20"}
    with pytest.raises(errors.Invalid) as refused:
        cycle.complete(draft, submission)
    assert any("1005" in m for m in refused.value.fields[""])
    db.session.rollback()
    composed = system_operations.compose_from_declarations(year, office)
    db.session.commit()
    assert composed == 117
    tree = system_queries.export_tree(year)
    assert tree["total_weight"] == 1000
    cycle.complete(draft, submission)

    experts = cycle.open_tasks("expert_review")
    db.session.refresh(annual)
    assert annual.incident_message is None, annual.incident_message
    assert sorted(t.assignee.username for t in experts) == ["expert1", "expert2"]
    with pytest.raises(errors.Forbidden):
        cycle.complete(experts[0], {}, user=cycle.user("expert3"))
    db.session.rollback()
    for task in experts:
        data = cycle.prefilled(task)
        assert len(data["rows"]) == 117
        data["rows"][0]["comment"] = f"{task.assignee.username}：建议细化考核口径。"
        cycle.complete(task, data)
    departments = cycle.open_tasks("department_comment")
    cities = cycle.open_tasks("city_comment")
    assert len(departments) == 46 and len(cities) == 14
    assert {t.org.code for t in cities} == {
        f"{c}-jxb"
        for c in (
            "shenyang",
            "dalian",
            "anshan",
            "fushun",
            "benxi",
            "dandong",
            "jinzhou",
            "yingkou",
            "fuxin",
            "liaoyang",
            "panjin",
            "tieling",
            "chaoyang",
            "huludao",
        )
    }
    data = cycle.prefilled(departments[0])
    data["general"] = "建议适当提高民生指标权重。"
    cycle.complete(departments[0], data)
    data = cycle.prefilled(cities[0])
    data["rows"][8]["comment"] = "地区生产总值目标偏高。"
    cycle.complete(cities[0], data)
    # The comment deadline ends the solicitation: the unanswered tasks are withdrawn.
    cycle.run_timers(at(2012, 2, 21))
    assert cycle.open_tasks("department_comment") == [] and cycle.open_tasks("city_comment") == []
    withdrawn = db.session.scalar(
        select(func.count()).select_from(InboxTask).where(InboxTask.status == TaskStatus.CANCELLED)
    )
    assert withdrawn == 45 + 13

    comments = system_queries.year_comments(year.id)
    assert len(comments) == 4
    [handle] = cycle.open_tasks("handle_comments")
    data = cycle.prefilled(handle)
    for row in data["rows"]:
        row["handling"] = "adopted"
    data["rows"][-1]["handling"] = "not_adopted"
    with pytest.raises(errors.Invalid):
        cycle.complete(handle, data)
    db.session.rollback()
    data["rows"][-1]["reason"] = "目标依据省政府工作报告确定。"
    cycle.complete(handle, data)
    handled = {c.handling for c in system_queries.year_comments(year.id)}
    assert handled == {Handling.ADOPTED, Handling.NOT_ADOPTED}

    # The leadership returns it once, then approves: frozen, published, revision 1 kept.
    [approve] = cycle.open_tasks("approve_system")
    cycle.complete(approve, {"decision": "return", "comment": "请说明不采纳意见的理由。"}, user=leader)
    assert year.status == YearStatus.DRAFT
    [handle] = cycle.open_tasks("handle_comments")
    cycle.complete(handle, cycle.prefilled(handle))
    [approve] = cycle.open_tasks("approve_system")
    cycle.complete(approve, {"decision": "approve"}, user=leader)
    db.session.refresh(year)
    assert year.status == YearStatus.APPROVED
    [revision] = db.session.scalars(
        select(SystemRevision).where(SystemRevision.scheme_year_id == year.id)
    ).all()
    assert revision.number == 1 and revision.snapshot["total_weight"] == 1000
    published = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == "system_published")
    )
    assert published == db.session.scalar(select(func.count()).select_from(User))
    with pytest.raises(errors.Forbidden):
        system_operations.compose_from_declarations(year, office)
    db.session.rollback()

    # The annual process now waits for the half-year round.
    db.session.refresh(annual)
    assert annual.status == InstanceStatus.WAITING
    assert cycle_service.waiting_phases(annual) == [Phase.HALF_YEAR]
    assert annual.due_at == at(2012, 6, 14, 16)

    # A formal revision: edited while revising, approved again, both revisions kept.
    cycle.with_clock(cycle_service.start_revision, year, office)
    assert year.status == YearStatus.REVISING
    i1, i2 = (
        db.session.scalar(select(Indicator).where(Indicator.scheme_year_id == year.id, Indicator.code == c))
        for c in ("I001", "I002")
    )
    for ind, delta in ((i1, 1), (i2, -1)):
        system_operations.update_indicator(
            year,
            office,
            ind.code,
            {
                "key_point": ind.key_point.number,
                "name": ind.name,
                "weight": ind.weight + delta,
                "owner": ind.owner.code,
                "unit": ind.unit,
                "scoring_rule": ind.scoring_rule,
            },
        )
    db.session.commit()
    [revise] = cycle.open_tasks("revise")
    cycle.complete(revise, {"reason": "根据省政府常务会议意见调整沿海经济带指标分值。"})
    [approve] = cycle.open_tasks("approve_revision")
    cycle.complete(approve, {"decision": "approve"}, user=leader)
    db.session.refresh(year)
    revisions = db.session.scalars(
        select(SystemRevision).where(SystemRevision.scheme_year_id == year.id).order_by(SystemRevision.number)
    ).all()
    assert [r.number for r in revisions] == [1, 2] and year.status == YearStatus.APPROVED
    first = {
        i["code"]: i["weight"]
        for d in revisions[0].snapshot["dimensions"]
        for lv in d["levels"]
        for k in lv["key_points"]
        for i in k["indicators"]
    }
    second = {
        i["code"]: i["weight"]
        for d in revisions[1].snapshot["dimensions"]
        for lv in d["levels"]
        for k in lv["key_points"]
        for i in k["indicators"]
    }
    assert (first["I001"] + 1, first["I002"] - 1) == (second["I001"], second["I002"])
    assert revisions[1].reason.startswith("根据省政府常务会议意见")
    assert Decimal(str(sum(second.values()))) == 1000
