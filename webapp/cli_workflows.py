"""`flask workflows …` (deploy and list definitions, start a process) and `flask worker` (timers)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from models.db import db, utcnow
from models.org import User
from models.workflow import ProcessDefinition
from webapp.domain import notifications as notification_service
from webapp.domain.accounts import operations as accounts
from webapp.domain.process import tasks as task_service
from workflows import BPMN_DIR, engine, forms

workflows_cli = AppGroup("workflows", help="Process definitions and instances.")
# seconds between the worker's prunes of ended sessions, tokens and login attempts
PRUNE_EVERY = 3600.0


@workflows_cli.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--username", default=None, help="Record this user as the deployer.")
def deploy_command(files: tuple[Path, ...], username: str | None) -> None:
    """Deploy BPMN files (default: every .bpmn under workflows/); unchanged files make no new version."""
    paths = list(files) or sorted(BPMN_DIR.rglob("*.bpmn"))
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    at = utcnow()  # the files of one command are one set (what a call bound to `deployment` runs)
    try:
        for path in paths:
            definition, created = engine.deploy(
                path.read_bytes(),
                source_name=path.name,
                user=user,
                known_forms=forms.known_keys(),
                require_layout=True,  # what is deployed, bpmn-js must be able to draw
                dry_run=True,  # and it must run to its end
                at=at,
            )
            state = "deployed" if created else "unchanged"
            click.echo(f"{definition.process_id:32} v{definition.version:<4} {state:10} {path.name}")
    except engine.DefinitionError as exc:
        db.session.rollback()
        raise click.ClickException(f"{path.name}: {exc}") from exc
    db.session.commit()
    if not paths:
        click.echo("no BPMN files to deploy")


@workflows_cli.command("list")
def list_command() -> None:
    """List deployed definitions, newest first."""
    for d in db.session.scalars(
        select(ProcessDefinition).order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc())
    ):
        click.echo(
            f"{d.process_id:32} v{d.version:<4} {d.sha256[:12]} {d.deployed_at:%Y-%m-%d %H:%M} {d.source_name}"
        )


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Fire what is due now and exit (for cron and tests).")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between polls.")
def worker_command(once: bool, interval: float) -> None:
    """Fire due timers and resume waiting instances; several workers never run one instance twice.
    Once an hour (and on every `--once`) it also prunes ended sessions, tokens and login attempts."""
    pruned_at: float | None = None
    while True:
        fired = 0
        while (instance_id := task_service.next_due_instance_id(engine.now())) is not None:
            try:
                task_service.fire_timers(instance_id)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            fired += 1
        warned = notification_service.send_deadline_warnings(engine.now())
        db.session.commit()  # also ends the read transaction before sleeping
        if pruned_at is None or time.monotonic() - pruned_at >= PRUNE_EVERY:
            pruned = accounts.prune_records(current_app.config["PERMANENT_SESSION_LIFETIME"])
            db.session.commit()
            pruned_at = time.monotonic()
            if pruned:
                click.echo(
                    f"pruned {pruned.sessions} session(s), {pruned.tokens} token(s), "
                    f"{pruned.attempts} login attempt(s)"
                )
        if fired:
            click.echo(f"fired timers of {fired} instance(s)")
        if warned:
            click.echo(f"warned of {warned} task deadline(s) within 5 days")
        if once:
            return
        time.sleep(interval)
