"""Workflow state ⇄ JSON, with our types registered and our script engine put back on load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from workflows.engine.scripting import SCRIPT_ENGINE

_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
# datetime is a subclass of date and is registered by SpiffWorkflow itself; register date exactly.
_registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
SERIALIZER = BpmnWorkflowSerializer(_registry)

__all__ = ["SERIALIZER_VERSION", "dump", "load"]


def dump(workflow: BpmnWorkflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def load(state: str) -> BpmnWorkflow:
    workflow = SERIALIZER.deserialize_json(state)
    # The serializer does not keep the script engine: without this, eval() would be back.
    workflow.script_engine = SCRIPT_ENGINE
    return workflow
