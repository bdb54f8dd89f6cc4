"""Moving a running instance to another deployed version of its process: never implicitly, only on
an administrator's request, and only where it is safe (`workflows.engine.migration`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import User
from models.scheme import SchemeYear
from models.workflow import ProcessDefinition, ProcessInstance
from webapp.domain import audit, errors
from webapp.domain.process import definitions, monitor, tasks
from workflows import engine


def _target(instance: ProcessInstance, definition_id: int) -> ProcessDefinition:
    target = db.session.get(ProcessDefinition, definition_id)
    if target is None or target.process_id != instance.process_id:
        raise errors.NotFound(str(_l("%(process)s has no such version.", process=instance.process_id)))
    if target.scheme_year_id not in (None, instance.scheme_year_id):
        raise errors.Conflict(str(_l("That version belongs to another year.")))
    if target.id == instance.definition_id:
        raise errors.Conflict(str(_l("The instance already runs version %(v)d.", v=target.version)))
    return target


def _refusal(blockers: list[engine.Blocker]) -> str:
    names = "、".join(f"“{b.name}”" for b in blockers)
    return str(
        _l(
            "Moving it is not safe: it has done or is doing %(steps)s, which the new version changes or removes.",
            steps=names,
        )
    )


def check_move(actor: User, instance_id: int, definition_id: int) -> list[str]:
    """Why the instance cannot move to that version ([] when it can): what the page offers."""
    definitions.require_reviser(actor)
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise errors.NotFound(str(_l("There is no such process instance.")))
    if not instance.is_live:
        return [str(_l("The instance has ended."))]
    try:
        target = _target(instance, definition_id)
    except errors.DomainError as exc:
        return [exc.message]
    found = engine.migration_blockers(instance, target)
    return [_refusal(found)] if found else []


def move_instance(actor: User, instance_id: int, definition_id: int, now: datetime) -> ProcessInstance:
    """Move a running instance to another deployed version of its process; refused (409, with the
    steps in the way) unless no step it has done or is doing changes."""
    definitions.require_reviser(actor)
    instance = engine.lock_instance(instance_id)
    if instance is None:
        raise errors.NotFound(str(_l("There is no such process instance.")))
    if not instance.is_live:
        raise errors.Conflict(str(_l("The instance has ended.")))
    target = _target(instance, definition_id)
    before = db.session.get(ProcessDefinition, instance.definition_id)
    try:
        result = engine.migrate(instance, target)
    except engine.UnsafeMigration as exc:
        raise errors.Conflict(_refusal(exc.blockers), steps=[b.element_id for b in exc.blockers]) from None
    tasks.dispatch(result)
    audit.record(
        "instance.migrated",
        actor,
        instance_id=instance.id,
        detail={
            "process": instance.process_id,
            "from_version": before.version if before else None,
            "to_version": target.version,
        },
        at=now,
    )
    db.session.flush()
    return instance


@dataclass(frozen=True)
class Offer:
    """A newer version an instance of the year could move to, and why it may not ([] when it may)."""

    definition_id: int
    version: int
    reasons: list[str]


def offers(actor: User, scheme_year: SchemeYear) -> dict[int, Offer]:
    """For administrators: each running instance of the year whose process has a newer version
    serving the year, with that version and whether the move is safe (what the monitor offers)."""
    if not actor.can_revise_processes():
        return {}
    found: dict[int, Offer] = {}
    serving: dict[str, ProcessDefinition | None] = {}
    for instance in monitor.year_instances(scheme_year):
        if not instance.is_live:
            continue
        if instance.process_id not in serving:
            serving[instance.process_id] = engine.latest_definition(instance.process_id, scheme_year.id)
        target = serving[instance.process_id]
        if target is None or target.id == instance.definition_id:
            continue
        current = db.session.get(ProcessDefinition, instance.definition_id)
        if current is not None and current.version >= target.version:
            continue
        blockers = engine.migration_blockers(instance, target)
        found[instance.id] = Offer(target.id, target.version, [_refusal(blockers)] if blockers else [])
    return found
