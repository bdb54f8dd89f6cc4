"""`flask bench engine`: the runtime's cost per completion and per start on a round-shaped process, the
inbox's cost with 20 years of history, and (`year`) the 2012 year simulated through the real
services, once as it is and once with twice the departments (see `bench_year`); `expressions`: how
fast the evaluator refuses each costly expression (`workflows.engine.bench_expressions`); `uploads`:
the indicator import's growth with its rows and the memory a 200 MB cell costs (`webapp.bench_uploads`).

A benchmark prints figures; it asserts nothing. It runs on a throw-away SQLite database unless
--database-url says otherwise, built by the same migrations as production.
"""

from __future__ import annotations

import json
import resource
import secrets
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, insert, select, text

from models.db import db
from models.org import OrgKind, OrgUnit, Role, User
from models.workflow import InboxTask, InstanceStatus, ProcessInstance, TaskStatus, inbox_query
from webapp import bench_year
from webapp.domain.process import tasks as task_service
from workflows import engine, forms
from workflows.engine import stats
from workflows.engine.bench import ROUND_BPMN, raw_roundtrip_ms, raw_start_cached_ms, raw_start_ms
from workflows.engine.bench_expressions import refusal_figures

bench_cli = AppGroup("bench", help="Benchmarks (print figures, assert nothing).")


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _time(fn, repeats: int = 50) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        db.session.expire_all()
    return statistics.median(samples)


def _inbox_page(user: User) -> None:
    """What the inbox page runs: the open tasks (first page) and the open count in the top bar."""
    db.session.scalars(inbox_query(user).limit(51)).all()
    db.session.scalar(inbox_query(user).order_by(None).with_only_columns(db.func.count()))


def _completed_page(user: User) -> None:
    db.session.scalars(inbox_query(user, status="completed").limit(51)).all()


def _add_history(years: int, per_year: int, instance_template: ProcessInstance, tasks: list[dict]) -> int:
    """Insert `per_year` finished instances (with their tasks, shaped like the first one's) for each earlier year."""
    rows = 0
    for n_instance in range(years * per_year):
        year_back = n_instance // per_year + 1
        shift = timedelta(days=365 * year_back)
        result = db.session.execute(
            insert(ProcessInstance).returning(ProcessInstance.id),
            [
                {
                    "definition_id": instance_template.definition_id,
                    "process_id": instance_template.process_id,
                    "business_key": f"history {year_back}.{n_instance % per_year}",
                    "status": InstanceStatus.COMPLETED,
                    "state": "{}",
                    "serializer_version": instance_template.serializer_version,
                    "started_at": instance_template.started_at - shift,
                    "updated_at": instance_template.started_at - shift,
                    "ended_at": instance_template.started_at - shift,
                    "lock_version": 0,
                    "phase": "",
                    "round": "",
                }
            ],
        )
        instance_id = result.scalar_one()
        batch = []
        for n, task in enumerate(tasks):
            batch.append(
                {
                    **task,
                    "task_guid": f"h{n_instance:04d}-{n:05d}-{task['task_guid'][:20]}",
                    "instance_id": instance_id,
                    "created_at": task["created_at"] - shift,
                    "completed_at": task["completed_at"] - shift,
                    "status": TaskStatus.COMPLETED,
                }
            )
        db.session.execute(insert(InboxTask), batch)
        rows += len(batch)
    db.session.commit()
    return rows


@contextmanager
def _scratch(database_url: str | None, tmp: Path):
    """A database URL to wreck: a new SQLite file, or a new schema in the given PostgreSQL database."""
    if not database_url:
        yield f"sqlite:///{tmp / 'bench.sqlite'}"
        return
    if not database_url.startswith("postgresql"):
        raise click.UsageError(
            "--database-url must be a PostgreSQL URL (SQLite runs in a temporary file anyway)"
        )
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in database_url else "?"
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@bench_cli.command("engine")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--database-url", default=None, help="A PostgreSQL URL: runs in a new schema there, dropped afterwards."
)
@click.option(
    "--rounds",
    default=5,
    show_default=True,
    help="Round-shaped instances in a year (completed for year 1, copied for 19 more).",
)
@click.option(
    "--year/--no-year", "with_year", default=True, show_default=True, help="Simulate the 2012 year too."
)
@click.option("--seed", default=11, show_default=True, help="The simulated year's seed.")
def bench_engine(as_json: bool, database_url: str | None, rounds: int, with_year: bool, seed: int) -> None:
    """Complete round-shaped instances through the task service and compare with the raw engine;
    then simulate the real year, and the year with twice the departments."""
    figures = _in_scratch(database_url, lambda: _run(rounds))
    if with_year:
        scheme = current_app.config["DEFAULT_SCHEME"]
        once = _in_scratch(database_url, lambda: bench_year.year_figures(scheme, seed))
        twice = _in_scratch(
            database_url,
            lambda: (
                {"indicator_copies": bench_year.double_departments(scheme)}
                | bench_year.year_figures(scheme, seed)
            ),
        )
        figures["year"] = {
            **once,
            "round_completion_ms_median": figures["completion_ms_median"],
            "year_over_round_median": round(
                once["completion_ms_median"] / figures["completion_ms_median"], 3
            ),
            "twice_the_departments": twice,
            "twice_over_once_wall": round(twice["wall_s"] / once["wall_s"], 3),
            "twice_over_once_cpu": round(twice["cpu_s"] / once["cpu_s"], 3),
        }
    if as_json:
        click.echo(json.dumps(figures))
    else:
        _print(figures)


@bench_cli.command("expressions")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_expressions(as_json: bool) -> None:
    """Time the evaluator's refusal of each costly expression: milliseconds and the traced peak of
    memory per case, and the growth of the process's peak RSS over them all."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    figures = refusal_figures()
    rss_growth_mb = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1)
    if as_json:
        click.echo(json.dumps({"cases": figures, "peak_rss_growth_mb": rss_growth_mb}))
        return
    for case in figures:
        click.echo(f"{case['case']:30} {case['ms']:8.2f} ms {case['peak_kb']:9.1f} KB  {case['refused']}")
    click.echo(f"slowest {max(c['ms'] for c in figures):.2f} ms; peak RSS grew {rss_growth_mb} MB")


@bench_cli.command("uploads")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_uploads(as_json: bool) -> None:
    """The indicator import at 1k / 2k / 4k / 5k rows with the ratios, 100k rows refused, and the peak
    RSS growth of a process receiving a workbook with one 200 MB cell (`webapp.bench_uploads`)."""
    from webapp import bench_uploads

    scheme = current_app.config["DEFAULT_SCHEME"]
    secret = current_app.config["SECRET_KEY"]

    def work() -> dict:
        figures = bench_uploads.import_figures(scheme)
        url = db.engine.url.render_as_string(hide_password=False)
        figures["one_200_mb_cell"] = bench_uploads.big_cell_figures(url, secret, scheme)
        # within the 20 MB unpacked: refused by the scan's cell length before openpyxl builds it
        figures["one_15_mb_cell"] = bench_uploads.big_cell_figures(
            url, secret, scheme, megabytes=15, control=True
        )
        return figures

    figures = _in_scratch(None, work)
    if as_json:
        click.echo(json.dumps(figures))
    else:
        _print(figures)


def _print(figures: dict, indent: str = "") -> None:
    for key, value in figures.items():
        if isinstance(value, dict):
            click.echo(f"{indent}{key}:")
            _print(value, indent + "  ")
        else:
            click.echo(f"{indent}{key:32} {value}")


def _in_scratch(database_url: str | None, work):
    """Run `work` in an app on a new database built by the migrations, with the demo loaded."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.demo.load import load_demo

    with tempfile.TemporaryDirectory() as tmp, _scratch(database_url, Path(tmp)) as url:
        app = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": current_app.config["SECRET_KEY"], "TESTING": True}
        )
        with app.app_context():
            upgrade()
            load_demo("Bench-password-1", "bench")
            db.session.commit()
            try:
                return work()
            finally:
                db.session.remove()
                db.engine.dispose()


def _run(rounds: int) -> dict:
    office = db.session.scalar(select(User).where(User.username == "office"))
    leader = db.session.scalar(select(User).where(User.username == "leader"))
    users_by_org = {
        u.org.code: u
        for u in db.session.scalars(select(User))
        if u.org.kind in (OrgKind.CITY, OrgKind.DEPARTMENT)
    }
    cities = [
        o.code
        for o in db.session.scalars(
            select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY).order_by(OrgUnit.sort_order)
        )
    ]
    departments = [
        o.code
        for o in db.session.scalars(
            select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT).order_by(OrgUnit.sort_order)
        )
    ]
    definition, _new = engine.deploy(
        ROUND_BPMN, source_name="bench_round.bpmn", known_forms=forms.known_keys()
    )
    db.session.commit()

    service_ms: list[float] = []
    raw_ms: list[float] = []
    start_ms: list[float] = []
    raw_start: list[float] = []
    raw_start_cached: list[float] = []
    state_bytes = 0
    participants = {"cities": cities, "departments": departments}
    recorded = stats.reset()
    for round_no in range(rounds):
        db.session.expire_all()
        started = time.perf_counter()
        instance = task_service.start_process(
            "bench_round", office, business_key=f"bench {round_no}", data=participants
        )
        db.session.commit()
        start_ms.append((time.perf_counter() - started) * 1000)
        raw_start.append(raw_start_ms(ROUND_BPMN, "bench_round", participants))
        raw_start_cached.append(raw_start_cached_ms(definition.sha256, participants))
        while True:
            task = db.session.scalars(
                select(InboxTask)
                .where(InboxTask.instance_id == instance.id, InboxTask.status == TaskStatus.OPEN)
                .order_by(InboxTask.id)
                .limit(1)
            ).first()
            if task is None:
                break
            actor = {Role.OFFICE: office, Role.LEADERSHIP: leader}.get(task.role) or users_by_org[
                task.org.code
            ]
            data = {"decision": "approve"} if task.form_key == "approval" else {"comment": "ok"}
            before = db.session.get(ProcessInstance, instance.id).state
            guid = task.task_guid
            db.session.expire_all()  # the service starts from the database, as a request would
            started = time.perf_counter()
            task_service.complete_task(guid, actor, data)
            db.session.commit()
            service_ms.append((time.perf_counter() - started) * 1000)
            raw_ms.append(raw_roundtrip_ms(before, guid))
            state_bytes = max(state_bytes, len(before.encode("utf-8")))
        if round_no == 0:
            first_instance = db.session.get(ProcessInstance, instance.id)
            template_tasks = [
                {c.name: getattr(t, c.name) for c in InboxTask.__table__.columns if c.name not in ("id",)}
                for t in db.session.scalars(select(InboxTask).where(InboxTask.instance_id == instance.id))
            ]
    per_instance = len(service_ms) // rounds
    first = service_ms[:per_instance]
    n10 = max(1, per_instance // 10)
    # One more round left open, so the probe's inbox has work in it as it would in a real year.
    task_service.start_process(
        "bench_round", office, business_key="bench open", data={"cities": cities, "departments": departments}
    )
    db.session.commit()
    probe = users_by_org[cities[0]]
    inbox_1, completed_1 = _time(lambda: _inbox_page(probe)), _time(lambda: _completed_page(probe))
    history_rows = _add_history(19, rounds, first_instance, template_tasks)
    inbox_20, completed_20 = _time(lambda: _inbox_page(probe)), _time(lambda: _completed_page(probe))
    return {
        "tasks_per_instance": per_instance,
        "instances": rounds,
        "completion_ms_first10pct": round(_mean(first[:n10]), 2),
        "completion_ms_last10pct": round(_mean(first[-n10:]), 2),
        "completion_growth": round(_mean(first[-n10:]) / _mean(first[:n10]), 3),
        "completion_ms_median": round(statistics.median(service_ms), 2),
        "raw_engine_roundtrip_ms": round(statistics.median(raw_ms), 2),
        "service_over_raw": round(statistics.median(service_ms) / statistics.median(raw_ms), 3),
        # creating and starting the round's instance (its 14 inbox rows included) against plain
        # SpiffWorkflow parsing, creating, running and serializing it
        "start_ms_median": round(statistics.median(recorded.start_ms[:rounds]), 2),
        "raw_engine_start_ms": round(statistics.median(raw_start), 2),
        "start_over_raw": round(
            statistics.median(recorded.start_ms[:rounds]) / statistics.median(raw_start), 3
        ),
        "raw_engine_start_cached_spec_ms": round(statistics.median(raw_start_cached), 2),
        # the whole service call with its commit: plus the notifications of 14 cities and the audit
        "service_start_ms_median": round(statistics.median(start_ms), 2),
        "service_start_over_raw": round(statistics.median(start_ms) / statistics.median(raw_start), 3),
        "inbox_ms_1year": round(inbox_1, 3),
        "inbox_ms_20years": round(inbox_20, 3),
        "inbox_growth": round(inbox_20 / inbox_1, 3),
        "completed_list_ms_1year": round(completed_1, 3),
        "completed_list_ms_20years": round(completed_20, 3),
        "history_tasks": history_rows,
        "state_bytes": state_bytes,
        "database": db.engine.dialect.name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
