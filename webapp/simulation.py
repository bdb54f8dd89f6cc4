"""`flask cycle simulate`: a whole year from declaration to published results, through the same services
the web uses, with deterministic synthetic inputs for every role and a clock that jumps to each due timer."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from models.db import db, utcnow
from models.evaluation import RoundKind
from models.org import Role, User
from models.rules import scoring
from models.scheme import Indicator, Scheme, SchemeYear
from models.workflow import InboxTask, InstanceStatus, ProcessInstance, TaskStatus, year_tasks
from webapp.domain import errors
from webapp.domain.process import cycle as cycle_service
from webapp.domain.process import tasks as task_service
from webapp.domain.results import queries as results
from webapp.domain.system import operations as system_operations
from workflows import BPMN_DIR, engine, forms
from workflows.forms.values import raw_values

AWARD_KEY_POINTS = ["9", "15", "33"]  # economic growth, innovation, blue sky: the office's usual picks


class SimulationError(RuntimeError):
    pass


@dataclass
class Run:
    rng: random.Random
    clock: datetime
    tasks_completed: int = 0
    returns: int = 0
    fraud: list[dict[str, str]] = field(default_factory=list)
    returned_review: set[str] = field(default_factory=set)
    returned_declaration: bool = False
    scheme: Scheme | None = None
    year: int = 0
    annual: ProcessInstance | None = None
    weights: dict[int, dict[str, Decimal]] = field(default_factory=dict)


def deploy_workflows() -> None:
    at = utcnow()  # one set: what a call bound to its caller's deployment runs
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        engine.deploy(path.read_bytes(), source_name=path.name, known_forms=forms.known_keys(), at=at)


def _actor(task: InboxTask) -> User:
    if task.assignee is not None:
        return task.assignee
    query = select(User).where(User.active.is_(True)).order_by(User.id)
    if task.org_id is not None:
        query = query.where(User.org_id == task.org_id)
    return next(u for u in db.session.scalars(query) if u.has_role(task.role))


def _prefilled(task: InboxTask, user: User) -> dict[str, Any]:
    return raw_values(task_service.build_form(task, user))


def _score_rows(run: Run, rows: list[dict[str, Any]], weights: dict[str, Decimal]) -> None:
    for row in rows:
        weight = weights[row["code"]]
        factor = Decimal(run.rng.randint(60, 100)) / 100
        value = (weight * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)
        row["score"] = str(value)
        row["reason"] = "" if value == weight else "部分目标未完成。"


def synthetic_data(run: Run, task: InboxTask, user: User) -> dict[str, Any]:
    """What a careful participant would enter, chosen by the seed; some returns and one fraud finding."""
    key = task.form_key
    data = _prefilled(task, user)
    year_id = task.instance.scheme_year_id
    if key == "declaration.standard":
        data.update(
            basis="依据党中央、国务院和省委、省政府工作部署",
            quantifiability="指标可量化、可考核",
            decomposition="分解到14个市",
            rewards_penalties="奖惩分明",
        )
    elif key == "declaration.review":
        if not run.returned_declaration:
            run.returned_declaration, run.returns = True, run.returns + 1
            return {"decision": "return", "comment": "请补充分解到各市的目标值。"}
        return {"decision": "approve"}
    elif key == "formation.draft":
        system_operations.compose_from_declarations(db.session.get(SchemeYear, year_id), user)
        deadline = (run.clock + timedelta(days=10)).astimezone(cycle_service.LOCAL).date()
        experts = [c.value for c in task_service.build_form(task, user).experts.choices]
        return {"experts": experts[:2], "solicitation_deadline": deadline.isoformat(), "note": ""}
    elif key == "formation.comment":
        if data["rows"] and run.rng.random() < 0.2:
            data["rows"][run.rng.randrange(len(data["rows"]))]["comment"] = "建议细化考核口径。"
    elif key == "formation.handle":
        for n, row in enumerate(data["rows"]):
            row["handling"], row["reason"] = (
                ("not_adopted", "与省政府工作报告目标一致，维持原稿。") if n == 0 else ("adopted", "")
            )
    elif key in ("formation.approve", "revision.approve", "round.approve", "year_end.approve", "approval"):
        return {"decision": "approve"}
    elif key == "round.self_report":
        for row in data["rows"]:
            row["completion"] = f"{run.rng.randint(80, 120)}%"
    elif key == "round.score":
        if year_id not in run.weights:  # the system is frozen by the rounds: read once
            run.weights[year_id] = dict(
                db.session.execute(
                    select(Indicator.code, Indicator.weight).where(Indicator.scheme_year_id == year_id)
                ).all()
            )
        _score_rows(run, data["rows"], run.weights[year_id])
    elif key == "year_end.verify":
        if not run.fraud and data["rows"]:
            row = data["rows"][run.rng.randrange(len(data["rows"]))]
            row["result"], row["note"] = "fraud", "实地察访发现上报数据与台账不符，存在弄虚作假。"
            city = next(c for c in results.cities() if c.short_name == row["city"])
            run.fraud.append({"city": city.code, "indicator": row["code"]})
    elif key == "round.review":
        if task.scope == RoundKind.HALF_YEAR and task.scope not in run.returned_review:
            run.returned_review.add(task.scope)
            run.returns += 1
            city = results.cities()[run.rng.randrange(len(results.cities()))].code
            return {
                "decision": "return",
                "comment": "部分指标说明不充分，请补充。",
                "returned_cities": [city],
                "returned_departments": [],
            }
        return {"decision": "approve"}
    elif key == "year_end.aggregate":
        data.update(
            award_key_points=AWARD_KEY_POINTS,
            award_top_n=3,
            proposal="建议对年度考评前三名和重点工作优胜市予以通报表彰。",
        )
    elif key in ("round.feedback", "feedback.advice"):
        for row in data["rows"]:
            row["advice"] = "针对失分指标制定整改措施，按季度跟踪落实。"
    return data


def _next_timer(run: Run, column, due_by: datetime | None = None):
    """The `column` of the run's year's instance whose timer is due first (by `due_by`, if given)."""
    query = select(column).where(
        ProcessInstance.scheme_year_id == run.annual.scheme_year_id,
        ProcessInstance.status.in_([InstanceStatus.RUNNING, InstanceStatus.WAITING]),
        ProcessInstance.due_at.is_not(None) if due_by is None else ProcessInstance.due_at <= due_by,
    )
    return db.session.scalar(query.order_by(ProcessInstance.due_at).limit(1))


def _fire_next_timer(run: Run) -> bool:
    due = _next_timer(run, ProcessInstance.due_at)
    if due is None:
        return False
    run.clock = max(run.clock, due + timedelta(seconds=1))
    with engine.use_clock(run.clock):
        while (instance_id := _next_timer(run, ProcessInstance.id, due_by=run.clock)) is not None:
            task_service.fire_timers(instance_id)
            db.session.commit()
    return True


def begin(year: int, seed: int, scheme_code: str) -> Run:
    """Deploy the diagrams and start the year's annual process on a simulated clock (2 January)."""
    scheme = Scheme.by_code(scheme_code)
    if scheme is None:
        raise SimulationError(f"no scheme {scheme_code!r}: run `flask --app webapp demo load` first")
    run = Run(
        rng=random.Random(seed),
        clock=datetime(year, 1, 2, tzinfo=cycle_service.LOCAL).astimezone(cycle_service.LOCAL),
        scheme=scheme,
        year=year,
    )
    deploy_workflows()
    db.session.commit()
    office = db.session.scalar(select(User).where(User.username == "office"))
    if office is None or not office.has_role(Role.OFFICE):
        raise SimulationError("no office user 'office': run `flask --app webapp demo load` first")
    with engine.use_clock(run.clock):
        try:
            run.annual = cycle_service.start_annual_cycle(scheme, year, office)
        except errors.DomainError as exc:
            raise SimulationError(f"cannot start {year}: {exc.message}") from exc
        db.session.commit()
    return run


def advance(
    run: Run,
    stop_at: str | None = None,
    progress: Callable[[int], None] | None = None,
    observe: Callable[[InboxTask], AbstractContextManager] | None = None,
) -> bool:
    """Complete the year's open tasks with synthetic inputs, firing its timers when nothing is open,
    until the year ends (False) or, with `stop_at` (a form key), until such a task is open (True:
    nobody has completed it yet). Tasks others completed meanwhile (a person in a browser) are simply
    gone; another year running beside this one is left alone, tasks and timers.
    `observe(task)` wraps each completion and its commit (the benchmark times them)."""
    while True:
        open_tasks = db.session.scalars(
            year_tasks(run.annual.scheme_year_id)
            .where(InboxTask.status == TaskStatus.OPEN)
            .order_by(InboxTask.id)
            .limit(200)
        ).all()
        if not open_tasks:
            db.session.refresh(run.annual)
            if run.annual.status == InstanceStatus.COMPLETED:
                return False
            failed = db.session.scalar(
                select(ProcessInstance)
                .where(
                    ProcessInstance.scheme_year_id == run.annual.scheme_year_id,
                    ProcessInstance.status == InstanceStatus.INCIDENT,
                )
                .limit(1)
            )
            if failed is not None:
                raise SimulationError(
                    f"incident in {failed.process_id} at {failed.incident_element}: {failed.incident_message}"
                )
            if not _fire_next_timer(run):
                raise SimulationError("the year stopped with no open task and no timer")
            continue
        if stop_at and any(t.form_key == stop_at for t in open_tasks):
            return True
        for task in open_tasks:
            user = _actor(task)
            with engine.use_clock(run.clock):
                data = synthetic_data(run, task, user)
                # the page the person filled in was another request: its reads are not this one's
                db.session.commit()
                with observe(task) if observe else nullcontext():
                    try:
                        task_service.complete_task(task.task_guid, user, data)
                    except errors.Invalid as exc:
                        db.session.rollback()
                        raise SimulationError(
                            f"{task.form_key} refused the synthetic data: {exc.fields}"
                        ) from exc
                    db.session.commit()
            run.tasks_completed += 1
            if progress:
                progress(run.tasks_completed)
            run.clock += timedelta(minutes=1)


def simulate(
    year: int,
    seed: int,
    scheme_code: str,
    progress: Callable[[int], None] | None = None,
    stop_at: str | None = None,
    observe: Callable[[InboxTask], AbstractContextManager] | None = None,
) -> dict[str, Any]:
    """Run the year through every phase; returns the summary (the `--json` object).

    `stop_at` (a form key) stops as soon as such a task is open, before anyone completes it.
    """
    started = time.perf_counter()
    run = begin(year, seed, scheme_code)
    if advance(run, stop_at, progress, observe):
        return {
            "stopped_at": stop_at,
            "tasks_completed": run.tasks_completed,
            "clock": run.clock.isoformat(),
        }
    scheme = run.scheme
    scheme_year = SchemeYear.find(scheme, year)
    annual_result = results.annual_result(scheme_year.id)
    rows = (annual_result.results or {}).get("cities", []) if annual_result else []
    return {
        "year": year,
        "seed": seed,
        "elapsed_s": round(time.perf_counter() - started, 2),
        "tasks_completed": run.tasks_completed,
        "returns": run.returns,
        "fraud_findings": run.fraud,
        "awards": (annual_result.results or {}).get("awards", {}) if annual_result else {},
        "cities": [
            {
                "city": r["name"],
                "code": r["city"],
                "half_year": float(scoring.display(Decimal(r["half_year"]))),
                "q3": float(scoring.display(Decimal(r["q3"]))),
                "process_score": float(scoring.display(Decimal(r["process_score"]))),
                "year_end_score": float(scoring.display(Decimal(r["year_end"]))),
                "total": float(scoring.display(Decimal(r["total"]))),
                "rank": r["rank"],
            }
            for r in rows
        ],
    }


def terminal_progress(count: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{count} tasks completed")
        sys.stderr.flush()
