"""The raw-engine side of `flask bench engine`: plain SpiffWorkflow, no database, no services."""

from __future__ import annotations

import time

from SpiffWorkflow.util.task import TaskState

from workflows.engine import state


def raw_roundtrip_ms(serialized: str, task_guid: str) -> float:
    """Deserialize a state, run one READY user task and the engine, serialize again; milliseconds."""
    started = time.perf_counter()
    workflow = state.load(serialized)
    task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if str(t.id) == task_guid)
    task.run()
    workflow.do_engine_steps()
    state.dump(workflow)
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
