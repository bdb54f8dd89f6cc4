"""Revising the year's processes: drafts of a year's diagrams (copied from the year before when the
year is prepared, saved as the administrator edits them), validating a diagram with every check the
runtime knows, deploying it as a new version for a year (immutable; new phase instances of that year
run it, those already running keep theirs), and the versions with who deployed what, when and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import defer

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import User
from models.scheme import SchemeYear
from models.workflow import DefinitionDraft, ProcessDefinition
from webapp.domain import audit, errors
from workflows import engine, forms
from workflows.engine import definitions as engine_definitions

MAX_COMMENT = 2000


@dataclass(frozen=True)
class Problem:
    element_id: str  # "" for the file as a whole
    message: str


def _revisers_only(actor: User) -> None:
    errors.forbid_unless(actor.can_revise_processes(), _l("Only administrators revise the processes."))


def _inspect(xml: bytes, scheme_year: SchemeYear | None) -> None:
    """DefinitionError with every problem: the XSD and structure, the runtime's vocabulary, call
    targets deployed for the year (or for every year), and the layout bpmn-js draws."""
    known = engine_definitions.known_processes(scheme_year.id if scheme_year else None)
    engine.inspect_bpmn(xml, forms.known_keys(), known_processes=known, require_layout=True)


def validate_definition(actor: User, xml: bytes, scheme_year: SchemeYear | None = None) -> list[Problem]:
    """Every problem of the file, each on its element ([] when it may be deployed)."""
    _revisers_only(actor)
    try:
        _inspect(xml, scheme_year)
    except engine.DefinitionError as exc:
        return [Problem(element, reason) for element, reason in exc.problems]
    return []


def deploy_definition(
    actor: User, xml: bytes, scheme_year: SchemeYear | None, comment: str, now: datetime
) -> tuple[ProcessDefinition, bool]:
    """A new version of the file's process for the year (for every year without one), unless the
    newest already is this file: then that one, and False (two clicks deploy once)."""
    _revisers_only(actor)
    if len(comment) > MAX_COMMENT:
        raise errors.Invalid.on("comment", _l("At most %(n)d characters.", n=MAX_COMMENT))
    try:
        definition, created = engine.deploy(
            xml,
            source_name="",
            user=actor,
            scheme_year_id=scheme_year.id if scheme_year else None,
            known_processes=engine_definitions.known_processes(scheme_year.id if scheme_year else None),
            require_layout=True,
            comment=comment.strip(),
            at=now,
        )
    except engine.DefinitionError as exc:
        fields: dict[str, list[str]] = {}
        for element, reason in exc.problems:
            fields.setdefault(element, []).append(reason)
        raise errors.Invalid(str(_l("The diagram cannot be deployed yet.")), fields=fields) from None
    if created:
        audit.record(
            "definition.deployed",
            actor,
            detail={
                "process": definition.process_id,
                "version": definition.version,
                "year": scheme_year.year if scheme_year else None,
                "comment": definition.comment,
            },
            at=now,
        )
    return definition, created


def versions(scheme_year: SchemeYear | None = None, process_id: str | None = None) -> list[ProcessDefinition]:
    """The deployed versions (the year's and those for every year), newest first, without their XML."""
    query = select(ProcessDefinition).options(defer(ProcessDefinition.bpmn_xml))
    if scheme_year is not None:
        query = query.where(
            (ProcessDefinition.scheme_year_id == scheme_year.id) | ProcessDefinition.scheme_year_id.is_(None)
        )
    if process_id is not None:
        query = query.where(ProcessDefinition.process_id == process_id)
    return list(
        db.session.scalars(query.order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc()))
    )


def definition(definition_id: int) -> ProcessDefinition:
    found = db.session.get(ProcessDefinition, definition_id)
    if found is None:
        raise errors.NotFound(str(_l("There is no process definition %(id)d.", id=definition_id)))
    return found


# ---------------------------------------------------------------- drafts


def copy_as_drafts(
    source: SchemeYear, target: SchemeYear, actor: User | None, now: datetime
) -> list[DefinitionDraft]:
    """A draft for the target year of every process the source year runs, as the source runs it."""
    drafts = []
    for process_id in sorted(engine_definitions.known_processes(source.id)):
        serving = engine.latest_definition(process_id, source.id)
        if serving is None:
            continue
        draft = DefinitionDraft(
            scheme_year_id=target.id,
            process_id=process_id,
            bpmn_xml=db.session.scalar(
                select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == serving.id)
            ),
            based_on_id=serving.id,
            updated_by_id=actor.id if actor else None,
            updated_at=now,
        )
        db.session.add(draft)
        drafts.append(draft)
    db.session.flush()
    return drafts


def drafts(scheme_year: SchemeYear) -> list[DefinitionDraft]:
    return list(
        db.session.scalars(
            select(DefinitionDraft)
            .where(DefinitionDraft.scheme_year_id == scheme_year.id)
            .order_by(DefinitionDraft.process_id)
        )
    )


def draft_of(scheme_year: SchemeYear, process_id: str) -> DefinitionDraft:
    found = db.session.scalar(
        select(DefinitionDraft).where(
            DefinitionDraft.scheme_year_id == scheme_year.id, DefinitionDraft.process_id == process_id
        )
    )
    if found is None:
        raise errors.NotFound(
            str(
                _l(
                    "There is no draft of %(process)s for %(year)d.",
                    process=process_id,
                    year=scheme_year.year,
                )
            )
        )
    return found


def save_draft(actor: User, scheme_year: SchemeYear, xml: bytes, now: datetime) -> DefinitionDraft:
    """Keep the diagram as the year's draft of its process, problems and all (they are shown, and
    deploying refuses them); only what is not safe XML, or names no process, is refused here."""
    _revisers_only(actor)
    try:
        root = engine_definitions.parse_safely(xml)
    except engine.DefinitionError as exc:
        raise errors.Invalid(
            exc.problems[0][1], fields={"xml": [reason for _e, reason in exc.problems]}
        ) from None
    process = root.find("bpmn:process", engine_definitions.NS)
    process_id = process.get("id") if process is not None else None
    if not process_id:
        raise errors.Invalid.on("xml", _l("The diagram holds no process."))
    draft = db.session.scalar(
        select(DefinitionDraft).where(
            DefinitionDraft.scheme_year_id == scheme_year.id, DefinitionDraft.process_id == process_id
        )
    ) or DefinitionDraft(scheme_year_id=scheme_year.id, process_id=process_id)
    draft.bpmn_xml, draft.updated_by_id, draft.updated_at = xml.decode("utf-8"), actor.id, now
    db.session.add(draft)
    db.session.flush()
    return draft


def deploy_draft(
    actor: User, draft: DefinitionDraft, comment: str, now: datetime
) -> tuple[ProcessDefinition, bool]:
    """Deploy the draft as the next version for its year; the draft is then based on it."""
    definition, created = deploy_definition(
        actor, draft.bpmn_xml.encode("utf-8"), draft.scheme_year, comment, now
    )
    draft.based_on = definition
    db.session.flush()
    return definition, created
