"""`flask` commands, grouped by noun: demo, users, indicators."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.db import db
from models.org import OrgUnit, User
from webapp.demo.load import demo_password, load_demo
from webapp.domain import errors
from webapp.domain.accounts import operations as accounts
from webapp.domain.system import queries as indicator_service

demo_cli = AppGroup("demo", help="Demo data.")
users_cli = AppGroup("users", help="User accounts.")
indicators_cli = AppGroup("indicators", help="Indicator systems.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the 2012 scheme, its organisations and demo users (idempotent)."""
    cfg = current_app.config
    password, source = demo_password(cfg.get("DEMO_PASSWORD"), cfg["DEMO_PASSWORD_FILE"])
    report = load_demo(password, source)
    db.session.commit()
    created = ", ".join(f"{n} {what}" for what, n in report.created.items()) or "nothing new"
    click.echo(f"Demo data loaded ({created}).")
    click.echo(f"Demo password for every demo user: {report.password}   (from {report.password_source})")
    click.echo(f"{'username':<16} {'org':<24} roles")
    for user in report.logins:
        click.echo(f"{user.username:<16} {user.org.short_name:<24} {', '.join(r.value for r in user.roles)}")


@users_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def users_list(as_json: bool) -> None:
    """List users with their organisation and roles."""
    users = db.session.scalars(
        select(User)
        .join(User.org)
        .order_by(OrgUnit.kind, OrgUnit.sort_order, User.username)
        .options(selectinload(User.org), selectinload(User.role_rows))
    ).all()
    rows = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "org_code": u.org.code,
            "org_name": u.org.name,
            "org_kind": u.org.kind.value,
            "roles": [r.value for r in u.roles],
            "active": u.active,
        }
        for u in users
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['username']:<16} {row['org_kind']:<12} {row['org_code']:<18} {','.join(row['roles'])}"
        )


@users_cli.command("prune")
def users_prune() -> None:
    """Delete ended sessions and expired tokens a month on, and login attempts after 90 days."""
    pruned = accounts.prune_records(current_app.config["PERMANENT_SESSION_LIFETIME"])
    db.session.commit()
    click.echo(
        f"pruned {pruned.sessions} session(s), {pruned.tokens} token(s), {pruned.attempts} login attempt(s)"
    )


@indicators_cli.command("export")
@click.option("--year", type=int, required=True, help="Scheme year, e.g. 2012.")
@click.option("--scheme", default=None, help="Scheme code (default: the configured DEFAULT_SCHEME).")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def indicators_export(year: int, scheme: str | None, fmt: str) -> None:
    """Print a year's indicator tree."""
    code = scheme or current_app.config["DEFAULT_SCHEME"]
    try:
        scheme_year = indicator_service.find_scheme_year(code, year)
    except errors.NotFound as exc:
        # the CLI speaks to operators in English, whatever the pages' language
        raise click.ClickException(f"no indicator system for scheme {code!r} and year {year}") from exc
    json.dump(indicator_service.export_tree(scheme_year), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


cycle_cli = AppGroup("cycle", help="The annual evaluation cycle.")


@cycle_cli.command("simulate")
@click.option("--year", type=int, required=True, help="The scheme year, e.g. 2012.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the synthetic inputs.")
@click.option("--scheme", default=None, help="Scheme code (default: the configured DEFAULT_SCHEME).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def cycle_simulate(year: int, seed: int, scheme: str | None, as_json: bool) -> None:
    """Run a whole year from declaration to published results with synthetic inputs."""
    from webapp.simulation import SimulationError, simulate, terminal_progress

    try:
        summary = simulate(year, seed, scheme or current_app.config["DEFAULT_SCHEME"], terminal_progress)
    except SimulationError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(
        f"{summary['year']}: {summary['tasks_completed']} tasks, {summary['returns']} returns, "
        f"{len(summary['fraud_findings'])} fraud findings, {summary['elapsed_s']} s"
    )
    for c in summary["cities"]:
        click.echo(
            f"{c['rank']:>3} {c['city']:<8} {c['half_year']:>8} {c['q3']:>8} {c['process_score']:>8} "
            f"{c['year_end_score']:>8} {c['total']:>8}"
        )


def register_commands(app: Flask) -> None:
    from webapp.bench import bench_cli
    from webapp.cli_workflows import worker_command, workflows_cli

    for group in (demo_cli, users_cli, indicators_cli, bench_cli, workflows_cli, worker_command, cycle_cli):
        app.cli.add_command(group)
