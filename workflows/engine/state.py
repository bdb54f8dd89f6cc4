"""Workflow state ⇄ JSON, with our types registered and our script engine put back on load.

The state holds the instance's tasks and data only. Its spec is named by the definition's sha256
(`spec`) and taken from the in-process cache of parsed definitions when the state is loaded, so a
completion pays neither for storing the diagram nor for rebuilding it.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import SubWorkflowTaskConverter

from workflows.engine import specs
from workflows.engine.calls import ChildInstanceCall
from workflows.engine.scripting import SCRIPT_ENGINE

if TYPE_CHECKING:
    from uuid import UUID

# Our format: SpiffWorkflow's, with the spec replaced by a reference to the deployed definition.
SERIALIZER_VERSION = f"{SPIFF_VERSION}+ref"
SPEC_KEY = "spec_sha256"


class _StateConverter(BpmnWorkflowConverter):
    """A top-level workflow without its specs; they come back from the definition cache."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict, compiled: specs.Compiled | None = None) -> BpmnWorkflow:
        if compiled is None:
            raise ValueError("a workflow state is loaded with its compiled definition")
        workflow = self.target_class(compiled.spec, dict(compiled.subprocess_specs), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value: str) -> UUID:
    from uuid import UUID

    return UUID(value)


_config = dict(SPIFF_CONFIG)
_config[ChildInstanceCall] = SubWorkflowTaskConverter
_config[BpmnWorkflow] = _StateConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
# datetime is a subclass of date and is registered by SpiffWorkflow itself; register date exactly.
_registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
SERIALIZER = BpmnWorkflowSerializer(_registry)
_ENCODER = create_encoder(_registry, None)

__all__ = ["SERIALIZER_VERSION", "dump", "load"]


def dump(workflow: BpmnWorkflow, compiled: specs.Compiled) -> str:
    _registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
    finally:
        _registry._encoder_mode = False
    dct[SERIALIZER.VERSION_KEY] = SPIFF_VERSION
    dct[SPEC_KEY] = compiled.sha256
    return json.dumps(dct, cls=_ENCODER, separators=(",", ":"), ensure_ascii=False)


def load(state: str) -> tuple[BpmnWorkflow, specs.Compiled]:
    """The workflow of a stored state and the compiled definition it runs."""
    dct = json.loads(state)
    compiled = specs.compiled_by_sha(dct.pop(SPEC_KEY))
    SERIALIZER.migrate(dct)
    workflow = SERIALIZER.from_dict(dct, compiled=compiled)
    # The serializer does not keep the script engine: without this, eval() would be back.
    workflow.script_engine = SCRIPT_ENGINE
    return workflow, compiled
