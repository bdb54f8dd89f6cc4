"""The real year on the instance tree: a diagram deployed in January reaches that year's half-year
round, fourteen cities reporting at once are all recorded and the round moves on once, and the
monitor (and the API) lead from the year into each phase and its per-department instances."""

from __future__ import annotations

import json
import re
import threading

from sqlalchemy import func, select

from models.db import db
from models.evaluation import EvaluationRound, RoundKind, SelfReportItem, Submission
from models.org import OrgKind, OrgUnit, User
from models.scheme import Indicator
from models.workflow import (
    AuditEvent,
    InboxTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
)
from tests.conftest import DEMO_PASSWORD
from tests.snapshots import simulate_once
from webapp import simulation
from webapp.domain.process import tasks as task_service
from workflows import BPMN_DIR, engine, forms
from workflows.forms.values import raw_values

ROUND = (BPMN_DIR / "evaluation_round.bpmn").read_text(encoding="utf-8")


def revised(suffix: str) -> str:
    """evaluation_round.bpmn with its city and department steps renamed (a corrected diagram)."""
    return ROUND.replace('name="城市自评"', f'name="城市自评{suffix}"').replace(
        'name="部门评分"', f'name="部门评分{suffix}"'
    )


def round_instance(kind: str) -> ProcessInstance:
    return db.session.scalar(
        select(ProcessInstance).where(
            ProcessInstance.process_id == "evaluation_round", ProcessInstance.round == kind
        )
    )


def open_titles(instance: ProcessInstance, element: str) -> set[str]:
    return set(
        db.session.scalars(
            select(InboxTask.title).where(
                InboxTask.instance_id == instance.id,
                InboxTask.element_id == element,
                InboxTask.status == TaskStatus.OPEN,
            )
        )
    )


def test_a_diagram_deployed_in_january_runs_that_years_half_year_round_and_started_ones_keep_theirs(
    ctx, demo
):
    run = simulation.begin(2012, 5, "ln-cities")
    assert simulation.advance(run, stop_at="declaration.declare")
    declaration = db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.process_id == "declaration")
    )
    first = db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == "evaluation_round")
    )
    second, created = engine.deploy(
        revised("（修订）"), source_name="evaluation_round.bpmn", known_forms=forms.known_keys()
    )
    db.session.commit()
    assert created and second.version == first.version + 1

    assert simulation.advance(run, stop_at="round.self_report")
    half_year = round_instance("half_year")
    assert half_year.definition_id == second.id, (
        "the version deployed in January, bound when the round started"
    )
    assert half_year.phase == "half_year" and half_year.parent.process_id == "annual_cycle"
    assert open_titles(half_year, "self_report") == {"城市自评（修订）"}
    db.session.refresh(declaration)
    assert declaration.status == InstanceStatus.COMPLETED

    third, _ = engine.deploy(
        revised("（再修订）"), source_name="evaluation_round.bpmn", known_forms=forms.known_keys()
    )
    db.session.commit()
    assert simulation.advance(run, stop_at="round.score")
    db.session.refresh(half_year)
    assert half_year.definition_id == second.id, "a running round keeps its own version"
    assert open_titles(half_year, "score") == {"部门评分（修订）"}
    assert third.version == second.version + 1


def test_fourteen_cities_reporting_at_once_are_all_recorded_and_the_round_moves_on_once(app, login):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.self_report")
        half_year = round_instance("half_year")
        reports = db.session.scalars(
            select(InboxTask).where(
                InboxTask.instance_id == half_year.id,
                InboxTask.element_id == "self_report",
                InboxTask.status == TaskStatus.OPEN,
            )
        ).all()
        assert len(reports) == 14
        jobs = []
        for task in reports:
            user = db.session.scalar(select(User).where(User.org_id == task.org_id).order_by(User.id))
            data = raw_values(task_service.build_form(task, user))
            for row in data["rows"]:
                row["completion"] = "100%"
            jobs.append((task.task_guid, user.username, data))
        departments = db.session.scalar(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT)
        )
        indicators = db.session.scalar(
            select(func.count())
            .select_from(Indicator)
            .where(Indicator.scheme_year_id == half_year.scheme_year_id)
        )
        clock = simulation_clock(half_year)

    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def report(guid: str, username: str, data: dict) -> None:
        with app.app_context(), engine.use_clock(clock):
            try:
                actor = db.session.scalar(select(User).where(User.username == username))
                barrier.wait(timeout=30)
                task_service.complete_task(guid, actor, data)
                db.session.commit()
            except BaseException as exc:  # collected and asserted below
                db.session.rollback()
                errors.append(exc)

    threads = [threading.Thread(target=report, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    with app.app_context():
        round_ = EvaluationRound.find(half_year.scheme_year_id, RoundKind.HALF_YEAR)
        done = db.session.scalars(
            select(InboxTask).where(InboxTask.task_guid.in_([j[0] for j in jobs]))
        ).all()
        assert {t.status for t in done} == {TaskStatus.COMPLETED}
        assert sorted(t.completed_by.username for t in done) == sorted(j[1] for j in jobs)
        submissions = db.session.scalars(
            select(Submission).where(Submission.round_id == round_.id, Submission.kind == "self_report")
        ).all()
        assert len(submissions) == 14 and all(s.submissions == 1 for s in submissions)
        items = db.session.scalar(
            select(func.count()).select_from(SelfReportItem).where(SelfReportItem.round_id == round_.id)
        )
        assert items == 14 * indicators
        scoring = db.session.scalars(
            select(InboxTask).where(InboxTask.instance_id == half_year.id, InboxTask.element_id == "score")
        ).all()
        assert len(scoring) == departments, "the round moved on to the departments' scoring exactly once"
        completions = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "task.completed", AuditEvent.task_guid.in_([j[0] for j in jobs]))
        )
        assert completions == 14


def simulation_clock(instance: ProcessInstance):
    """A moment inside the round, after it opened (its open tasks' creation time)."""
    return db.session.scalar(
        select(func.max(InboxTask.created_at)).where(InboxTask.instance_id == instance.id)
    )


def test_the_monitor_leads_from_the_year_into_each_phase_and_its_instances(app, login):
    with app.app_context():
        simulate_once(2012, 5)
        departments = db.session.scalar(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT)
        )
        fgw = OrgUnit.by_code("fgw").short_name
    office = login("office")
    page = office.get("/monitor/2012").get_data(as_text=True)
    tree = page.split('data-testid="instance-tree"', 1)[1].split("</ul>\n  </div>", 1)[0]
    phases = ["指标申报", "形成指标体系", "半年考评", "第三季度考评", "年终考评", "考评结果反馈"]
    positions = [tree.find(name) for name in phases]
    assert all(p > 0 for p in positions) and positions == sorted(positions), "annual → its phases, in order"
    declaration = tree.split("指标申报", 1)[1].split("形成指标体系", 1)[0]
    assert declaration.count('data-process="department_declaration"') == departments
    assert f"各部门申报指标 · {fgw}" in declaration, "a department's own declaration is named by it"
    assert "已完成" in tree  # each node says its status

    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*data-url="([^"]+)"', page))
    for process in (
        "annual_cycle",
        "declaration",
        "department_declaration",
        "system_formation",
        "evaluation_round",
        "year_end",
        "feedback",
    ):
        assert process in options, process
        xml = office.get(options[process])
        assert xml.status_code == 200 and f'id="{process}"'.encode() in xml.data
    calls = json.loads(
        page.split('<script type="application/json" id="monitor-calls">', 1)[1].split("</script>", 1)[0]
    )
    assert calls["annual_cycle"]["phase_half_year"] == "evaluation_round"
    assert calls["declaration"] == {"department_declarations": "department_declaration"}
    rounds = page.split('data-instances-for="evaluation_round"', 1)[1].split("</div>", 1)[0]
    assert rounds.count('data-instance="') == 2, "the half-year and third-quarter rounds"

    counts = office.get("/monitor/2012/counts.json").get_json()["counts"]
    assert counts["evaluation_round"]["self_report"]["done"] == 28, "summed over both rounds' instances"
    assert counts["department_declaration"]["declare"]["done"] >= departments

    token = office.post("/api/v1/tokens", json={"username": "office", "password": DEMO_PASSWORD}).get_json()
    processes = office.get(
        "/api/v1/processes?year=2012", headers={"Authorization": f"Bearer {token['token']}"}
    ).get_json()["processes"]
    by_id = {p["id"]: p for p in processes}
    [annual] = [p for p in processes if p["process"] == "annual_cycle"]
    assert annual["parent_id"] is None and len(annual["children"]) == 6
    assert [by_id[c]["phase"] for c in annual["children"]] == [
        "declaration",
        "formation",
        "half_year",
        "q3",
        "year_end",
        "feedback",
    ]
    [declaration_p] = [p for p in processes if p["process"] == "declaration"]
    assert len(declaration_p["children"]) == departments
    assert all(by_id[c]["parent_id"] == declaration_p["id"] for c in declaration_p["children"])


def test_every_state_is_small_and_names_its_diagram_by_content_hash(ctx, demo):
    """In the middle of a round the year is some fifty small instances, none carrying a diagram."""
    simulate_once(2012, 5, stop_at="round.self_report")
    instances = db.session.scalars(select(ProcessInstance)).all()
    assert len(instances) > 46
    for instance in instances:
        stored = json.loads(instance.state)
        assert "spec" not in stored and "subprocess_specs" not in stored
        assert stored["spec_sha256"] == db.session.get(ProcessDefinition, instance.definition_id).sha256
        assert len(instance.state) < 80_000, (instance.process_id, len(instance.state))
