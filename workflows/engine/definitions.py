"""Deploying BPMN: XSD validation, our own rules (lanes, forms, safe expressions, call bindings),
versioned storage, and finding the version a new instance binds to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from lxml.etree import _Element as Element
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defer

from models.db import db, utcnow
from models.formation import Phase
from models.org import Role, User
from models.workflow import ProcessDefinition
from workflows import forms
from workflows.engine import expressions

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
ROLE_CODES = {r.value for r in Role}
# spiffworkflow:property names whose values are expressions over the task data
EXPRESSION_PROPERTIES = {"org", "due", "subject", "assignee", "scope", "round"}
PHASES = {p.value for p in Phase}
# A call activity's `binding` property: the version of the called process its child instance runs.
#   latest: the newest deployed when the call starts (the default, as Camunda's calledElementBinding);
#   deployment: the newest deployed together with, or before, the caller's own definition.
BINDINGS = ("latest", "deployment")


class DefinitionError(ValueError):
    """A BPMN file cannot be deployed; `problems` lists (element id, reason)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{element or 'file'}: {reason}" for element, reason in problems))


@dataclass
class ParsedFile:
    process_id: str
    name: str
    called: set[str] = field(default_factory=set)


def _owner_id(node: Element | None) -> str:
    """The id of the nearest element with one (the flow node or flow an expression belongs to)."""
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return ""


def _check(problems: list[tuple[str, str]], node: Element, text: str | None, kind: str) -> None:
    if text is None or not text.strip():
        return
    try:
        (expressions.check_script if kind == "script" else expressions.check_expression)(text)
    except expressions.ExpressionError as exc:
        problems.append((_owner_id(node), f"{kind} refused: {exc}"))


def inspect_bpmn(xml: bytes, known_forms: set[str] | None = None) -> ParsedFile:
    """Validate one BPMN file against the XSD and our rules; raise DefinitionError listing every problem."""
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError([("", f"not well-formed XML: {exc}")]) from None
    try:
        VALIDATOR.validate(root)
    except ValidationException as exc:
        raise DefinitionError([(getattr(exc, "id", "") or "", f"BPMN schema: {exc}")]) from None

    problems: list[tuple[str, str]] = []
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
    if len(executable) != 1:
        raise DefinitionError(
            [("", f"a file must hold exactly one executable process, found {len(executable)}")]
        )
    process = executable[0]

    for node in process.iterfind(".//bpmn:conditionExpression", NS):
        _check(problems, node, node.text, "condition")
    for tag in ("timeDate", "timeDuration", "timeCycle", "completionCondition", "loopCardinality"):
        for node in process.iterfind(f".//bpmn:{tag}", NS):
            _check(problems, node, node.text, "expression")
    for node in process.iterfind(".//bpmn:scriptTask/bpmn:script", NS):
        _check(problems, node, node.text, "script")
    for tag in ("preScript", "postScript", "messagePayload"):
        for node in process.iterfind(f".//spiffworkflow:{tag}", NS):
            _check(problems, node, node.text, "script")
    for node in process.iterfind(".//spiffworkflow:property", NS):
        if node.get("name") in EXPRESSION_PROPERTIES:
            _check(problems, node, node.get("value"), "expression")

    lane_of = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_of[(ref.text or "").strip()] = lane.get("name") or ""
    for task in process.iterfind(".//bpmn:userTask", NS):
        task_id = task.get("id")
        lane = lane_of.get(task_id)
        if lane not in ROLE_CODES:
            problems.append(
                (
                    task_id,
                    f"a user task must sit in a lane named by a role code ({', '.join(sorted(ROLE_CODES))}), not {lane!r}",
                )
            )
        props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiffworkflow:property", NS)}
        form_key = props.get("formKey")
        if not form_key:
            problems.append((task_id, "a user task needs a spiffworkflow property 'formKey'"))
        elif known_forms is not None and form_key not in known_forms:
            problems.append((task_id, f"unknown form key {form_key!r}"))
    for node in process.iterfind(".//bpmn:serviceTask", NS):
        problems.append((node.get("id"), "service tasks are not supported"))
    _check_phase(problems, process, process.get("id"))
    for node in process.iterfind(".//bpmn:callActivity", NS):
        if not node.get("calledElement"):
            problems.append((node.get("id"), "a call activity needs a calledElement"))
        binding = _property(node, "binding")
        if binding is not None and binding not in BINDINGS:
            problems.append(
                (node.get("id"), f"binding must be one of {', '.join(BINDINGS)}, not {binding!r}")
            )
        _check_phase(problems, node, node.get("id"))
    if problems:
        raise DefinitionError(problems)
    called = {
        c.get("calledElement") for c in process.iterfind(".//bpmn:callActivity", NS) if c.get("calledElement")
    }
    return ParsedFile(
        process_id=process.get("id"), name=process.get("name") or process.get("id"), called=called
    )


def _property(node: Element, name: str) -> str | None:
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return prop.get("value") or ""
    return None


def _check_phase(problems: list[tuple[str, str]], node: Element, element_id: str) -> None:
    phase = _property(node, "phase")
    if phase is not None and phase not in PHASES:
        problems.append((element_id, f"phase must be one of {', '.join(sorted(PHASES))}, not {phase!r}"))


def deploy(
    xml: bytes | str,
    *,
    source_name: str = "",
    user: User | None = None,
    scheme_year_id: int | None = None,
    known_forms: set[str] | None = None,
    at: datetime | None = None,
) -> tuple[ProcessDefinition, bool]:
    """Store a new version of the file's process unless the latest already has the same content.

    Returns the definition and whether it is new. Earlier versions are never changed. Files deployed
    together pass the same `at`: that set is what a call with `binding="deployment"` runs.
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parsed = inspect_bpmn(data, forms.known_keys() if known_forms is None else known_forms)
    digest = hashlib.sha256(data).hexdigest()
    latest = latest_definition(parsed.process_id, scheme_year_id)
    if latest is not None and latest.sha256 == digest and latest.scheme_year_id == scheme_year_id:
        return latest, False
    version = (
        db.session.scalar(
            select(func.max(ProcessDefinition.version)).where(
                ProcessDefinition.process_id == parsed.process_id
            )
        )
        or 0
    ) + 1
    definition = ProcessDefinition(
        process_id=parsed.process_id,
        version=version,
        name=parsed.name,
        bpmn_xml=data.decode("utf-8"),
        sha256=digest,
        source_name=source_name,
        scheme_year_id=scheme_year_id,
        deployed_by=user,
        deployed_at=at or utcnow(),
    )
    db.session.add(definition)
    db.session.flush()
    return definition, True


def latest_definition(
    process_id: str, scheme_year_id: int | None = None, *, deployed_by: datetime | None = None
) -> ProcessDefinition | None:
    """The newest version serving the year, else the newest that serves every year; with
    `deployed_by`, the newest deployed no later than that (a caller's own set)."""
    # the diagram itself is read only when its compiled spec is not in the cache yet
    query = (
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .options(defer(ProcessDefinition.bpmn_xml))
    )
    if deployed_by is not None:
        query = query.where(ProcessDefinition.deployed_at <= deployed_by)
    if scheme_year_id is not None:
        query = query.where(
            or_(
                ProcessDefinition.scheme_year_id == scheme_year_id, ProcessDefinition.scheme_year_id.is_(None)
            )
        ).order_by(ProcessDefinition.scheme_year_id.is_(None), ProcessDefinition.version.desc())
    else:
        query = query.where(ProcessDefinition.scheme_year_id.is_(None)).order_by(
            ProcessDefinition.version.desc()
        )
    return db.session.scalars(query.limit(1)).first()


def bound_definition(
    process_id: str, binding: str, caller_id: int, scheme_year_id: int | None
) -> ProcessDefinition:
    """The definition a call activity's child instance runs, by the call's binding."""
    deployed_by = None
    if binding == "deployment":
        deployed_by = db.session.scalar(
            select(ProcessDefinition.deployed_at).where(ProcessDefinition.id == caller_id)
        )
    definition = latest_definition(process_id, scheme_year_id, deployed_by=deployed_by)
    if definition is None:
        raise DefinitionError([(process_id, f"no deployed definition of process {process_id!r}")])
    return definition
