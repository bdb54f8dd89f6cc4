"""Revising the year's processes: drafts of a year's diagrams (copied from the year before when the
year is prepared, saved as the administrator edits them), validating a diagram with every check the
runtime knows, deploying it as a new version for a year (immutable; new phase instances of that year
run it, those already running keep theirs), and the versions with who deployed what, when and why."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import defer

from models.db import db
from models.formation import Phase
from models.i18n import lazy_gettext as _l
from models.org import Role, User
from models.scheme import SchemeYear
from models.workflow import DefinitionDraft, ProcessDefinition
from webapp.domain import audit, errors
from workflows import engine, forms
from workflows.engine import definitions as engine_definitions

MAX_COMMENT = 2000
MAX_ARCHIVE_FILES = 50  # a year runs 9 processes
MAX_ARCHIVE_BYTES = 20 * 1024 * 1024  # uncompressed, all files together


@dataclass(frozen=True)
class Problem:
    element_id: str  # "" for the file as a whole
    message: str


def require_reviser(actor: User) -> None:
    errors.forbid_unless(actor.can_revise_processes(), _l("Only administrators revise the processes."))


def _inspect(xml: bytes, scheme_year: SchemeYear | None) -> None:
    """DefinitionError with every problem: the XSD and structure, the runtime's vocabulary, call
    targets deployed for the year (or for every year), the layout bpmn-js draws, and a dry run."""
    known = engine_definitions.known_processes(scheme_year.id if scheme_year else None)
    engine.inspect_bpmn(xml, forms.known_keys(), known_processes=known, require_layout=True, dry_run=True)


def validate_definition(actor: User, xml: bytes, scheme_year: SchemeYear | None = None) -> list[Problem]:
    """Every problem of the file, each on its element ([] when it may be deployed)."""
    require_reviser(actor)
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
    require_reviser(actor)
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
            dry_run=True,
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


def _xml_of(definition: ProcessDefinition) -> str:
    """A version's diagram (the version lists load without it)."""
    return (
        db.session.scalar(select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition.id))
        or ""
    )


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
            bpmn_xml=_xml_of(serving),
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


def save_draft(
    actor: User, scheme_year: SchemeYear, xml: bytes, now: datetime, *, process_id: str | None = None
) -> DefinitionDraft:
    """Keep the diagram as the year's draft of its process, problems and all (they are shown, and
    deploying refuses them); only what is not safe UTF-8 XML, names no process, or (with
    `process_id`, the modeler's save) names another process is refused here. The same diagram
    saved again changes nothing; a new draft is based on the version serving the year."""
    require_reviser(actor)
    try:
        root = engine_definitions.parse_safely(xml)
        text = xml.decode("utf-8")
    except engine.DefinitionError as exc:
        raise errors.Invalid(
            exc.problems[0][1], fields={"xml": [reason for _e, reason in exc.problems]}
        ) from None
    except UnicodeDecodeError:
        raise errors.Invalid.on("xml", _l("The diagram must be encoded in UTF-8.")) from None
    process = root.find("bpmn:process", engine_definitions.NS)
    found = process.get("id") if process is not None else None
    if not found:
        raise errors.Invalid.on("xml", _l("The diagram holds no process."))
    if process_id is not None and found != process_id:
        raise errors.Invalid.on(
            "xml",
            _l(
                "The diagram is of the process %(found)s, not %(expected)s.", found=found, expected=process_id
            ),
        )
    draft = db.session.scalar(
        select(DefinitionDraft).where(
            DefinitionDraft.scheme_year_id == scheme_year.id, DefinitionDraft.process_id == found
        )
    )
    if draft is not None and draft.bpmn_xml == text:
        return draft  # two clicks on save, or the same file uploaded again
    if draft is None:
        draft = DefinitionDraft(
            scheme_year_id=scheme_year.id,
            process_id=found,
            based_on=engine.latest_definition(found, scheme_year.id),
        )
    draft.bpmn_xml, draft.updated_by_id, draft.updated_at = text, actor.id, now
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


# ---------------------------------------------------------------- a year's diagrams as one zip


def export_year(scheme_year: SchemeYear) -> bytes:
    """A zip of the year's diagrams, one `<process>.bpmn` each: its draft where it has one, else the
    version that serves the year (what an administrator revises offline and imports back)."""
    files = {d.process_id: d.bpmn_xml for d in drafts(scheme_year)}
    for process_id in sorted(engine_definitions.known_processes(scheme_year.id) - set(files)):
        serving = engine.latest_definition(process_id, scheme_year.id)
        if serving is not None:
            files[process_id] = _xml_of(serving)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for process_id in sorted(files):
            archive.writestr(f"{process_id}.bpmn", files[process_id])
    return out.getvalue()


def _archive_files(data: bytes) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """The .bpmn files of an uploaded zip, read within the limits whatever the archive claims."""
    problems: dict[str, list[str]] = {}
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        entries = [
            e
            for e in archive.infolist()
            if not e.is_dir()
            and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(e.filename).parts)
        ]
    except zipfile.BadZipFile:
        return {}, {"file": [str(_l("The file is not a zip archive."))]}
    if len(entries) > MAX_ARCHIVE_FILES:
        return {}, {"file": [str(_l("The archive holds more than %(n)d files.", n=MAX_ARCHIVE_FILES))]}
    if sum(e.file_size for e in entries) > MAX_ARCHIVE_BYTES:
        return {}, {
            "file": [
                str(_l("The archive unpacks to more than %(mb)d MB.", mb=MAX_ARCHIVE_BYTES // 1024 // 1024))
            ]
        }
    files: dict[str, bytes] = {}
    for entry in entries:
        name = PurePosixPath(entry.filename).name
        if not name.lower().endswith(".bpmn"):
            problems.setdefault(name, []).append(str(_l("Only .bpmn files belong in the archive.")))
            continue
        with archive.open(entry) as member:
            content = member.read(engine_definitions.MAX_BYTES + 1)  # never more, whatever the header says
        if len(content) > engine_definitions.MAX_BYTES:
            problems.setdefault(name, []).append(
                str(_l("The file is larger than %(kb)d KB.", kb=engine_definitions.MAX_BYTES // 1024))
            )
            continue
        files[name] = content
    return files, problems


def import_year(actor: User, scheme_year: SchemeYear, data: bytes, now: datetime) -> list[DefinitionDraft]:
    """Every diagram of the zip becomes the year's draft of its process, or none does: an unsafe
    file, one that names no process, or two naming the same one refuse the whole archive."""
    require_reviser(actor)
    files, problems = _archive_files(data)
    processes: dict[str, str] = {}
    for name, content in sorted(files.items()):
        try:
            root = engine_definitions.parse_safely(content)
        except engine.DefinitionError as exc:
            problems.setdefault(name, []).extend(reason for _e, reason in exc.problems)
            continue
        process = root.find("bpmn:process", engine_definitions.NS)
        process_id = process.get("id") if process is not None else None
        if not process_id:
            problems.setdefault(name, []).append(str(_l("The diagram holds no process.")))
        elif process_id in processes:
            problems.setdefault(name, []).append(
                str(
                    _l(
                        "%(other)s is the same process %(process)s.",
                        other=processes[process_id],
                        process=process_id,
                    )
                )
            )
        else:
            processes[process_id] = name
    if not files and not problems:
        problems["file"] = [str(_l("The archive holds no .bpmn file."))]
    if problems:
        raise errors.Invalid(str(_l("Nothing was imported.")), fields=problems)
    return [save_draft(actor, scheme_year, files[name], now) for name in processes.values()]


# ---------------------------------------------------------------- the browser modeler and the diff


@dataclass(frozen=True)
class Editable:
    """What the modeler opens for a process of a year: its draft, else the version serving the year."""

    process_id: str
    xml: str
    draft: DefinitionDraft | None
    serving: ProcessDefinition | None  # the version a new draft of it is based on


def _draft_or_none(scheme_year: SchemeYear, process_id: str) -> DefinitionDraft | None:
    return db.session.scalar(
        select(DefinitionDraft).where(
            DefinitionDraft.scheme_year_id == scheme_year.id, DefinitionDraft.process_id == process_id
        )
    )


def _no_diagram(scheme_year: SchemeYear, process_id: str) -> errors.NotFound:
    return errors.NotFound(
        str(
            _l(
                "%(year)d has neither a draft nor a deployed version of %(process)s.",
                year=scheme_year.year,
                process=process_id,
            )
        )
    )


def editable(actor: User, scheme_year: SchemeYear, process_id: str) -> Editable:
    require_reviser(actor)
    draft = _draft_or_none(scheme_year, process_id)
    if draft is not None:
        return Editable(process_id, draft.bpmn_xml, draft, draft.based_on)
    serving = engine.latest_definition(process_id, scheme_year.id)
    if serving is None:
        raise _no_diagram(scheme_year, process_id)
    return Editable(process_id, _xml_of(serving), None, serving)


@dataclass(frozen=True)
class Comparison:
    """A diagram (the draft, or a chosen version) and the deployed version before it."""

    process_id: str
    new_xml: str
    old_xml: str | None  # None: nothing was deployed before it
    draft: DefinitionDraft | None  # the draft, when it is what is compared
    version: ProcessDefinition | None  # the chosen version, when it is what is compared
    previous: ProcessDefinition | None
    versions: list[ProcessDefinition]  # the process's versions serving the year, newest first
    has_draft: bool


def comparison(
    actor: User, scheme_year: SchemeYear, process_id: str, version_id: int | None = None
) -> Comparison:
    """The draft (or, with `version_id`, that version of the process) against the version before it:
    for a draft the version it is based on, for a version the one deployed before it for the year."""
    require_reviser(actor)
    listed = versions(scheme_year, process_id)
    draft = _draft_or_none(scheme_year, process_id)
    chosen = None
    if version_id is not None:
        chosen = next((v for v in listed if v.id == version_id), None)
        if chosen is None:
            raise errors.NotFound(
                str(_l("%(process)s has no version %(id)d for this year.", process=process_id, id=version_id))
            )
        previous = next((v for v in listed if v.version < chosen.version), None)
        new_xml = _xml_of(chosen)
    elif draft is not None:
        previous = draft.based_on or (listed[0] if listed else None)
        new_xml = draft.bpmn_xml
    elif listed:  # no draft: the serving version against the one before it
        chosen = listed[0]
        previous = next((v for v in listed if v.version < chosen.version), None)
        new_xml = _xml_of(chosen)
    else:
        raise _no_diagram(scheme_year, process_id)
    return Comparison(
        process_id=process_id,
        new_xml=new_xml,
        old_xml=_xml_of(previous) if previous is not None else None,
        draft=draft if chosen is None else None,
        version=chosen,
        previous=previous,
        versions=listed,
        has_draft=draft is not None,
    )


def call_targets(scheme_year: SchemeYear) -> dict[str, str]:
    """The processes a call activity of the year may name, with the name of each one's newest version."""
    names: dict[str, str] = {}
    for v in versions(scheme_year):  # newest first within each process
        names.setdefault(v.process_id, v.name)
    return names


BINDING_TITLES = {
    "latest": _l("The newest version when the call starts"),
    "deployment": _l("The version deployed together with this diagram"),
}


@dataclass(frozen=True)
class Vocabulary:
    """What the modeler's own properties offer, each value with its title in the reader's language."""

    forms: dict[str, str]  # form key → the name of a user task of the year using it, else the form's title
    roles: dict[str, str]
    phases: dict[str, str]
    processes: dict[str, str]  # call targets
    bindings: dict[str, str]


def vocabulary(scheme_year: SchemeYear) -> Vocabulary:
    processes = call_targets(scheme_year)
    named: dict[str, str] = {}
    for process_id in processes:
        serving = engine.latest_definition(process_id, scheme_year.id)
        if serving is None:
            continue
        for element in engine.describe(serving).elements.values():
            key = element.properties.get("formKey")
            if element.kind == "userTask" and key and element.name != element.id:
                named.setdefault(key, element.name)
    return Vocabulary(
        forms={key: named.get(key) or str(forms.get(key).title) for key in sorted(forms.known_keys())},
        roles={r.value: r.title for r in Role},
        phases={p.value: p.title for p in Phase},
        processes=processes,
        bindings={b: str(BINDING_TITLES[b]) for b in engine_definitions.BINDINGS},
    )
