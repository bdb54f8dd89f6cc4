"""Call activities whose process runs as a separate instance (as Camunda 7 runs them).

The spec below replaces SpiffWorkflow's call activity. Reached, it takes its data and runs its
preScript as usual, then waits in STARTED instead of creating a subprocess inside the workflow. The
runtime starts the child instance and writes its id into the task's internal data; when the child
completes, the runtime hands over the child's outputs and lets the task finish.

Data across the boundary follows the called process's ioSpecification: the child receives exactly
the declared inputs and hands back exactly the declared outputs. A process without an
ioSpecification receives all of the caller's data and hands back all of its own (SpiffWorkflow's
default for such processes).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.defaults import CallActivity
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

CHILD = "child_instance_id"  # internal data of the waiting task: its child instance
DONE = "child_completed"  # set when the child has completed and handed over its outputs


class ChildInstanceCall(CallActivity):
    """A call activity that waits in STARTED while its process runs as another instance."""

    def _update_hook(self, my_task: Task) -> bool:
        if my_task._get_internal_data(DONE):
            return True
        if my_task.state != TaskState.STARTED:
            # inherit the data and run the preScript, as SpiffWorkflow's call activity does
            super(SubWorkflowTask, self)._update_hook(my_task)
            my_task._set_state(TaskState.STARTED)
        return False

    def _on_cancel(self, my_task: Task) -> None:
        # no subprocess inside this workflow to cancel; the runtime cancels the child instance
        self.cancelled_event.emit(my_task.workflow, my_task)


def inputs(task: Task, called: BpmnProcessSpec) -> dict[str, Any]:
    """What the child receives: the called process's declared inputs, or everything without a declaration."""
    io = called.io_specification
    if io is None:
        return deepcopy(task.data)
    found = {}
    for var in io.data_inputs:
        if not var.exists(task):
            raise WorkflowDataException(
                "You are missing a required Data Input for a call activity.", task=task, data_input=var
            )
        found[var.bpmn_id] = deepcopy(var.get(task))
    return found


def outputs(child: BpmnWorkflow) -> dict[str, Any] | None:
    """What a completed child hands back: its declared outputs, or None when it declares no
    ioSpecification (then its data replaces the caller's, see `finish`)."""
    io = child.spec.io_specification
    if io is None:
        return None
    end = next(iter(child.get_tasks(spec_name="End")), None)
    data = end.data if end is not None else {}
    found = {}
    for var in io.data_outputs:
        if var.bpmn_id not in data:
            raise WorkflowDataException(
                "The Data Output was not available in the subprocess output.", task=end, data_output=var
            )
        found[var.bpmn_id] = deepcopy(data[var.bpmn_id])
    return found


def finish(task: Task, child: BpmnWorkflow) -> None:
    """Hand a completed child's outputs to its waiting task and let the task run on."""
    values = outputs(child)
    if values is None:
        task.data = deepcopy(child.last_task.data) if child.last_task is not None else {}
    else:
        task.data.update(values)
    task._set_internal_data(**{DONE: True})
    task.task_spec._update(task)
