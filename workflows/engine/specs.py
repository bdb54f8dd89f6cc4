"""Deployed definitions, parsed once per process: the SpiffWorkflow spec the runtime runs, and a plain
description of the diagram (elements, names, lanes, call targets, properties) for everyone else.

Both are kept in process, keyed by the file's sha256: a deployed definition never changes, so the
content hash is a safe key across workers and databases. The state of an instance names its
definition by that hash instead of carrying the spec (see `state`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import CallActivityParser
from sqlalchemy import select

from models.db import db
from models.workflow import ProcessDefinition
from workflows.engine.calls import ChildInstanceCall
from workflows.engine.scripting import SCRIPT_ENGINE

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
BPMN = "{" + NS["bpmn"] + "}"
# Flow elements the description lists (what a diagram draws and the monitor counts).
FLOW_KINDS = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "task",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
}


class SpecError(ValueError):
    """The BPMN of a definition cannot be turned into a runnable spec."""


def lane_roles(root: etree._Element) -> dict[str, str]:
    """The role of each flow node by its id: its lane's `role` property (the lane's visible name is
    for people, in Chinese), or, in a diagram whose lanes carry no such property, the lane's name."""
    roles: dict[str, str] = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        role = _properties(lane).get("role") or lane.get("name") or ""
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            roles[(ref.text or "").strip()] = role
    return roles


class _Parser(SpiffBpmnParser):
    """Spiff's parser, with call activities that run their process as a separate instance, and a
    task's lane read as its role code (`lane_roles`) rather than the lane's visible name."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("callActivity"): (CallActivityParser, ChildInstanceCall),
    }

    def get_document_lanes(self, root: etree._Element) -> dict[str, str]:
        return lane_roles(root)


@dataclass(frozen=True)
class Element:
    id: str
    kind: str  # the BPMN tag's local name: userTask, callActivity, exclusiveGateway, …
    name: str
    lane: str  # the role of its lane (`lane_roles`), or ""
    properties: Mapping[str, str] = field(default_factory=dict)
    called: str = ""  # a call activity's calledElement


@dataclass(frozen=True)
class Description:
    """What a diagram holds, without SpiffWorkflow: the monitor, the task page and the runtime read it."""

    process_id: str
    name: str
    # the phase of the year the process belongs to (its own spiffworkflow property), or ""
    phase: str
    elements: Mapping[str, Element]
    lanes: tuple[str, ...]

    def name_of(self, element_id: str) -> str:
        element = self.elements.get(element_id)
        return element.name if element is not None else element_id

    @property
    def calls(self) -> dict[str, Element]:
        """The call activities, by element id, in the diagram's order."""
        return {e.id: e for e in self.elements.values() if e.kind == "callActivity"}

    @property
    def user_tasks(self) -> dict[str, Element]:
        return {e.id: e for e in self.elements.values() if e.kind == "userTask"}


@dataclass(frozen=True)
class Compiled:
    sha256: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, Any]
    description: Description

    def new_workflow(self) -> BpmnWorkflow:
        return BpmnWorkflow(self.spec, dict(self.subprocess_specs), script_engine=SCRIPT_ENGINE)


def _properties(node: etree._Element) -> dict[str, str]:
    ext = node.find("bpmn:extensionElements", NS)
    if ext is None:
        return {}
    return {
        p.get("name"): p.get("value") or ""
        for p in ext.iterfind("spiffworkflow:properties/spiffworkflow:property", NS)
        if p.get("name")
    }


def describe_xml(xml: bytes) -> Description:
    """The executable process of a BPMN file, as plain data."""
    root = etree.fromstring(xml)
    process = next(p for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable", "false") == "true")
    lane_of = lane_roles(process)
    lanes = [
        _properties(lane).get("role") or lane.get("name") or ""
        for lane in process.iterfind(".//bpmn:lane", NS)
    ]
    elements = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(BPMN):
            continue
        kind = node.tag[len(BPMN) :]
        element_id = node.get("id")
        if kind not in FLOW_KINDS or not element_id:
            continue
        elements[element_id] = Element(
            id=element_id,
            kind=kind,
            name=node.get("name") or element_id,
            lane=lane_of.get(element_id, ""),
            properties=_properties(node),
            called=node.get("calledElement") or "",
        )
    return Description(
        process_id=process.get("id"),
        name=process.get("name") or process.get("id"),
        phase=_properties(process).get("phase", ""),
        elements=elements,
        lanes=tuple(lanes),
    )


_CACHE: OrderedDict[str, Compiled] = OrderedDict()
_CACHE_SIZE = 128
_LOCK = threading.Lock()


def _compile(sha256: str, xml: bytes, source_name: str) -> Compiled:
    description = describe_xml(xml)
    parser = _Parser()  # each file was validated when it was deployed
    parser.add_bpmn_str(xml, filename=source_name or description.process_id)
    try:
        spec = parser.get_spec(description.process_id)
        # embedded subprocesses only: called processes run as instances of their own
        nested = parser.get_subprocess_specs(description.process_id, require_call_activity_specs=False)
    except SpiffWorkflowException as exc:
        raise SpecError(f"{description.process_id}: {exc}") from None
    for process_spec in (spec, *(v for v in nested.values() if v is not None)):
        _connect_loops(process_spec)
    return Compiled(
        sha256=sha256,
        spec=spec,
        subprocess_specs={k: v for k, v in nested.items() if v is not None},
        description=description,
    )


def _connect_loops(spec: BpmnProcessSpec) -> None:
    """Wire each multi-instance (loop) step to hear its items complete, as SpiffWorkflow's own spec
    deserializer does. SpiffWorkflow otherwise wires it when the step creates its items, in whichever
    process did that: a worker that only loads the state (another worker, or after a restart) would
    let the items complete without the step ever hearing of it."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def _remember(compiled: Compiled) -> Compiled:
    with _LOCK:
        _CACHE[compiled.sha256] = compiled
        _CACHE.move_to_end(compiled.sha256)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def _cached(sha256: str) -> Compiled | None:
    with _LOCK:
        hit = _CACHE.get(sha256)
        if hit is not None:
            _CACHE.move_to_end(sha256)
        return hit


def compile_xml(xml: bytes, source_name: str = "") -> Compiled:
    """The spec and description of a diagram that is not deployed (a draft being tried out); not kept."""
    return _compile(hashlib.sha256(xml).hexdigest(), xml, source_name)


def compiled(definition: ProcessDefinition) -> Compiled:
    """The parsed spec and description of a deployed definition (parsed on first use only)."""
    hit = _cached(definition.sha256)
    if hit is not None:
        return hit
    return _remember(_compile(definition.sha256, definition.bpmn_xml.encode("utf-8"), definition.source_name))


def compiled_by_sha(sha256: str) -> Compiled:
    """The same, found by content hash (what an instance's state names)."""
    hit = _cached(sha256)
    if hit is not None:
        return hit
    row = db.session.execute(
        select(ProcessDefinition.bpmn_xml, ProcessDefinition.source_name)
        .where(ProcessDefinition.sha256 == sha256)
        .limit(1)
    ).first()
    if row is None:
        raise SpecError(f"no deployed definition has the content {sha256[:12]}…")
    return _remember(_compile(sha256, row.bpmn_xml.encode("utf-8"), row.source_name))


def describe(definition: ProcessDefinition) -> Description:
    """A deployed definition as plain data: elements, names, lanes, call targets, properties."""
    return compiled(definition).description
