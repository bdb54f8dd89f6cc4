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
from models.i18n import lazy_gettext as _l
from models.org import Role, User
from models.workflow import ProcessDefinition
from workflows import forms
from workflows.engine import expressions
from workflows.engine.specs import lane_roles

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
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
# The lists of organisation codes every year starts with (process.cycle.participants): what the
# phases fan out over.
PARTICIPANTS = ("departments", "cities", "counterparts")


class DefinitionError(ValueError):
    """A BPMN file cannot be deployed; `problems` lists (element id, reason), the reasons in the
    reader's language."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{element or 'file'}: {reason}" for element, reason in problems))


@dataclass
class ParsedFile:
    process_id: str
    name: str
    called: set[str] = field(default_factory=set)


MAX_BYTES = 2 * 1024 * 1024  # the largest diagram accepted (the real ones are 20–90 KB)
# No DTD is ever read, no entity expanded, nothing fetched: XXE and entity bombs have nothing to use.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)
FLOW_NODES = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "scriptTask", "manualTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway",
}  # fmt: skip
CONDITIONAL_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}


def _local(node: Element) -> str:
    return etree.QName(node).localname


def parse_safely(xml: bytes) -> Element:
    """The document's root, refusing what is too large, any DTD or entity, and what is not XML."""
    if len(xml) > MAX_BYTES:
        raise DefinitionError([("", str(_l("The file is larger than %(kb)d KB.", kb=MAX_BYTES // 1024)))])
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise DefinitionError([("", str(_l("A DTD or entity declaration is not allowed in a BPMN file.")))])
    try:
        return etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError([("", str(_l("Not well-formed XML: %(reason)s", reason=str(exc))))]) from None


def _owner_id(node: Element | None) -> str:
    """The id of the nearest element with one (the flow node or flow an expression belongs to)."""
    while node is not None:
        if node.get("id"):
            return node.get("id") or ""
        node = node.getparent()
    return ""


KIND_NAMES = {
    "condition": _l("The condition"),
    "expression": _l("The expression"),
    "script": _l("The script"),
}


def _check(problems: list[tuple[str, str]], node: Element, text: str | None, kind: str) -> None:
    if text is None or not text.strip():
        return
    try:
        (expressions.check_script if kind == "script" else expressions.check_expression)(text)
    except expressions.ExpressionError as exc:
        problems.append(
            (_owner_id(node), str(_l("%(what)s is refused: %(reason)s", what=KIND_NAMES[kind], reason=exc)))
        )


def _structure(container: Element, problems: list[tuple[str, str]], top: bool) -> None:
    """Start and end present, every node reached and leaving, flows between nodes that exist, and
    on a deciding gateway a condition on every branch but the one default."""
    nodes = {n.get("id"): n for n in container if isinstance(n.tag, str) and _local(n) in FLOW_NODES}
    flows = [n for n in container if isinstance(n.tag, str) and _local(n) == "sequenceFlow"]
    kinds = [_local(n) for n in nodes.values()]
    triggered = container.get("triggeredByEvent") == "true"
    if "startEvent" not in kinds:
        problems.append((container.get("id") or "", str(_l("A process needs a start event."))))
    if "endEvent" not in kinds and not (triggered and not top):
        problems.append((container.get("id") or "", str(_l("A process needs an end event."))))
    incoming: dict[str, list[Element]] = {i: [] for i in nodes}
    outgoing: dict[str, list[Element]] = {i: [] for i in nodes}
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source not in nodes or target not in nodes:
            problems.append(
                (flow.get("id") or "", str(_l("The flow connects an element that does not exist.")))
            )
            continue
        outgoing[source].append(flow)
        incoming[target].append(flow)
    for node_id, node in nodes.items():
        kind = _local(node)
        if kind not in ("startEvent", "boundaryEvent") and not incoming[node_id]:
            problems.append((node_id, str(_l("Nothing leads to this element."))))
        if kind != "endEvent" and not outgoing[node_id]:
            problems.append((node_id, str(_l("Nothing leaves this element."))))
        if kind in CONDITIONAL_GATEWAYS and len(outgoing[node_id]) > 1:
            bare = [f for f in outgoing[node_id] if f.find("bpmn:conditionExpression", NS) is None]
            default = node.get("default")
            if any(f.get("id") != default for f in bare):
                problems.append(
                    (
                        node_id,
                        str(_l("Every branch of this gateway needs a condition, except the one default.")),
                    )
                )
        if kind == "subProcess":
            _structure(node, problems, top=False)


def _layout(root: Element, process: Element, problems: list[tuple[str, str]]) -> None:
    """The diagram draws every element and flow (bpmn-js shows only what has a shape or an edge)."""
    drawn = {
        node.get("bpmnElement")
        for node in root.iterfind(".//bpmndi:BPMNDiagram//*", NS)
        if _local(node) in ("BPMNShape", "BPMNEdge")
    }
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        kind = _local(node)
        if (kind in FLOW_NODES or kind in ("sequenceFlow", "lane")) and node.get("id") not in drawn:
            problems.append((node.get("id") or "", str(_l("The diagram does not draw this element."))))


def inspect_bpmn(
    xml: bytes,
    known_forms: set[str] | None = None,
    *,
    known_processes: set[str] | None = None,
    require_layout: bool = False,
    dry_run: bool = False,
) -> ParsedFile:
    """Validate one BPMN file; raise DefinitionError listing every problem, each on its element.

    XML safety, the BPMN XSD, the structure (start, end, connections, gateway conditions), the
    runtime's vocabulary (lanes named by roles, registered form keys, safe expressions, call
    bindings and phases); with `known_processes`, that every call target exists; with
    `require_layout`, that the diagram draws every element; with `dry_run`, once all that holds, that
    it runs to its end with made-up participants and data (`dryrun`)."""
    root = parse_safely(xml)
    try:
        VALIDATOR.validate(root)
    except ValidationException as exc:
        element = getattr(exc, "id", "") or ""
        raise DefinitionError([(element, str(_l("Not valid BPMN: %(reason)s", reason=str(exc))))]) from None

    problems: list[tuple[str, str]] = []
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
    if len(executable) != 1:
        raise DefinitionError(
            [("", str(_l("A file must hold exactly one executable process, not %(n)d.", n=len(executable))))]
        )
    process = executable[0]
    _structure(process, problems, top=True)
    if require_layout:
        _layout(root, process, problems)

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

    lane_of = lane_roles(process)
    roles = "、".join(sorted(ROLE_CODES))
    for lane in process.iterfind(".//bpmn:lane", NS):
        role = next(
            (
                p.get("value") or ""
                for p in lane.iterfind(
                    "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
                )
                if p.get("name") == "role"
            ),
            None,
        )
        if role is not None and role not in ROLE_CODES:
            problems.append(
                (
                    lane.get("id") or "",
                    str(_l("A lane's role is one of %(roles)s, not %(role)r.", roles=roles, role=role)),
                )
            )
    for task in process.iterfind(".//bpmn:userTask", NS):
        task_id = task.get("id") or ""
        lane = lane_of.get(task_id)
        if lane not in ROLE_CODES:
            problems.append(
                (
                    task_id,
                    str(
                        _l(
                            "A user task sits in a lane whose role is one of %(roles)s, not %(lane)r.",
                            roles=roles,
                            lane=lane or "",
                        )
                    ),
                )
            )
        props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiffworkflow:property", NS)}
        form_key = props.get("formKey")
        if not form_key:
            problems.append(
                (task_id, str(_l("A user task needs a form key (the spiffworkflow property formKey).")))
            )
        elif known_forms is not None and form_key not in known_forms:
            problems.append((task_id, str(_l("There is no form with the key %(key)s.", key=form_key))))
    for node in process.iterfind(".//bpmn:serviceTask", NS):
        problems.append((node.get("id") or "", str(_l("Service tasks are not supported."))))
    if known_forms is not None:
        _check_collections(problems, process)
    _check_phase(problems, process, process.get("id") or "")
    called = set()
    for node in process.iterfind(".//bpmn:callActivity", NS):
        target = node.get("calledElement")
        if not target:
            problems.append((node.get("id") or "", str(_l("A call activity needs the process it calls."))))
        elif known_processes is not None and target not in known_processes:
            problems.append(
                (node.get("id") or "", str(_l("There is no process %(process)s to call.", process=target)))
            )
        else:
            called.add(target)
        binding = _property(node, "binding")
        if binding is not None and binding not in BINDINGS:
            problems.append(
                (
                    node.get("id") or "",
                    str(
                        _l(
                            "The binding must be one of %(choices)s, not %(value)r.",
                            choices=", ".join(BINDINGS),
                            value=binding,
                        )
                    ),
                )
            )
        _check_phase(problems, node, node.get("id") or "")
    if problems:
        raise DefinitionError(problems)
    if dry_run:
        from workflows.engine.dryrun import dry_run as run_dry  # it runs what this module checked

        trial = run_dry(xml)
        if trial.problems:
            raise DefinitionError(trial.problems)
    return ParsedFile(
        process_id=process.get("id") or "", name=process.get("name") or process.get("id") or "", called=called
    )


def _check_collections(problems: list[tuple[str, str]], process: Element) -> None:
    """A multi-instance step fans out over a list the process has: one of the participants the year
    starts with, an input the process declares, or a value one of its forms hands to the workflow."""
    keys = {
        p.get("value") or ""
        for p in process.iterfind(".//spiffworkflow:property", NS)
        if p.get("name") == "formKey"
    }
    known = set(PARTICIPANTS) | forms.routed_names(keys)
    known |= {
        d.get("name") or d.get("id") or ""
        for d in process.iterfind("bpmn:ioSpecification/bpmn:dataInput", NS)
    }
    for loop in process.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS):
        ref = loop.find("bpmn:loopDataInputRef", NS)
        if ref is None:
            continue  # a fixed loopCardinality
        name = (ref.text or "").strip()
        if name not in known:
            element = loop.getparent()
            problems.append(
                (
                    element.get("id") or "" if element is not None else "",
                    str(
                        _l(
                            "A multi-instance step runs over %(name)r, which this process does not have: use one of %(known)s.",
                            name=name,
                            known="、".join(sorted(n for n in known if n)),
                        )
                    ),
                )
            )


def _property(node: Element, name: str) -> str | None:
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return prop.get("value") or ""
    return None


def _check_phase(problems: list[tuple[str, str]], node: Element, element_id: str) -> None:
    phase = _property(node, "phase")
    if phase is not None and phase not in PHASES:
        problems.append(
            (
                element_id,
                str(
                    _l(
                        "The phase must be one of %(choices)s, not %(value)r.",
                        choices=", ".join(sorted(PHASES)),
                        value=phase,
                    )
                ),
            )
        )


def deploy(
    xml: bytes | str,
    *,
    source_name: str = "",
    user: User | None = None,
    scheme_year_id: int | None = None,
    known_forms: set[str] | None = None,
    known_processes: set[str] | None = None,
    require_layout: bool = False,
    dry_run: bool = False,
    comment: str = "",
    at: datetime | None = None,
) -> tuple[ProcessDefinition, bool]:
    """Store a new version of the file's process unless the latest already has the same content.

    Returns the definition and whether it is new. Earlier versions are never changed. Files deployed
    together pass the same `at`: that set is what a call with `binding="deployment"` runs.
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parsed = inspect_bpmn(
        data,
        forms.known_keys() if known_forms is None else known_forms,
        known_processes=known_processes,
        require_layout=require_layout,
        dry_run=dry_run,
    )
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
        comment=comment,
    )
    db.session.add(definition)
    db.session.flush()
    return definition, True


def known_processes(scheme_year_id: int | None) -> set[str]:
    """The processes a call activity of the year may name: those deployed for it or for every year."""
    query = select(ProcessDefinition.process_id).distinct()
    if scheme_year_id is None:
        query = query.where(ProcessDefinition.scheme_year_id.is_(None))
    else:
        query = query.where(
            or_(
                ProcessDefinition.scheme_year_id == scheme_year_id, ProcessDefinition.scheme_year_id.is_(None)
            )
        )
    return set(db.session.scalars(query))


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
        raise DefinitionError(
            [(process_id, str(_l("No version of the process %(process)s is deployed.", process=process_id)))]
        )
    return definition
