"""The raw-engine side of `flask bench engine`: plain SpiffWorkflow, no database, no services."""

from __future__ import annotations

import time

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflows.engine import specs, state
from workflows.engine.scripting import SCRIPT_ENGINE

_SPIFF_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def raw_roundtrip_ms(serialized: str, task_guid: str) -> float:
    """Deserialize a state, run one READY user task and the engine, serialize again; milliseconds."""
    started = time.perf_counter()
    workflow, compiled = state.load(serialized)
    task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if str(t.id) == task_guid)
    task.run()
    workflow.do_engine_steps()
    state.dump(workflow, compiled)
    return (time.perf_counter() - started) * 1000


def raw_start_ms(xml: str, process_id: str, data: dict) -> float:
    """Start an instance with plain SpiffWorkflow: parse the BPMN, create the workflow, give it its
    data, run it until it waits and serialize it with SpiffWorkflow's own serializer; milliseconds."""
    started = time.perf_counter()
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode("utf-8"))
    workflow = BpmnWorkflow(parser.get_spec(process_id), script_engine=SCRIPT_ENGINE)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    _SPIFF_SERIALIZER.serialize_json(workflow)
    return (time.perf_counter() - started) * 1000


def raw_start_cached_ms(sha256: str, data: dict) -> float:
    """The same from a spec parsed beforehand, serialized in our format (no parsing, no spec stored)."""
    compiled = specs.compiled_by_sha(sha256)
    started = time.perf_counter()
    workflow = compiled.new_workflow()
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    state.dump(workflow, compiled)
    return (time.perf_counter() - started) * 1000


ROUND_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="bench_defs" targetNamespace="http://jixiao/bench">
  <bpmn:process id="bench_round" name="Benchmark round" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="l_city" name="city"><bpmn:flowNodeRef>self_report</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_department" name="department"><bpmn:flowNodeRef>score</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_office" name="office"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_leadership" name="leadership"><bpmn:flowNodeRef>approve</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="self_report" />
    <bpmn:userTask id="self_report" name="City self-report">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="acknowledge" /><spiffworkflow:property name="org" value="city" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>cities</bpmn:loopDataInputRef><bpmn:inputDataItem id="city" name="city" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="self_report" targetRef="score" />
    <bpmn:userTask id="score" name="Department scoring">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="acknowledge" /><spiffworkflow:property name="org" value="department" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>departments</bpmn:loopDataInputRef><bpmn:inputDataItem id="department" name="department" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="review" />
    <bpmn:userTask id="review" name="Office review">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formKey" value="approval" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="approve" />
    <bpmn:userTask id="approve" name="Leadership approval">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formKey" value="approval" /></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f5" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""
