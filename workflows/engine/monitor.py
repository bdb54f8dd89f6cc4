"""What a running instance is doing, element by element: the office monitor's overlays and the task
page's "you are here". Reads the serialised state; never changes it."""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from models.workflow import ProcessInstance
from workflows.engine import state

# Task states worth showing: the token is here now.
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
STATE_NAMES = {
    TaskState.READY: "ready",
    TaskState.WAITING: "waiting",
    TaskState.STARTED: "started",
    TaskState.ERROR: "error",
    TaskState.COMPLETED: "completed",
}


@dataclass(frozen=True)
class ElementState:
    """One task of the instance: which process and element it is, its state, and the call activities
    (process id, element id), outermost first, that lead from the root process to it."""

    task_guid: str
    process_id: str
    element_id: str
    state: str
    user_task: bool
    call_path: tuple[tuple[str, str], ...]


def _call_path(task: Task, root: BpmnWorkflow) -> tuple[tuple[str, str], ...]:
    path: list[tuple[str, str]] = []
    workflow = task.workflow
    while workflow is not root:
        parent = root.get_task_from_id(workflow.parent_task_id)
        if parent is None:
            break
        path.append((parent.workflow.spec.name, parent.task_spec.bpmn_id))
        workflow = parent.workflow
    return tuple(reversed(path))


def element_states(instance: ProcessInstance, completed: bool = False) -> list[ElementState]:
    """Every active task of the instance (and, with `completed`, finished user tasks too)."""
    root = state.load(instance.state)
    mask = ACTIVE | (TaskState.COMPLETED if completed else 0)
    found = []
    paths: dict[int, tuple[tuple[str, str], ...]] = {}
    for task in root.get_tasks(state=mask):
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id:  # the engine's own start/end bookkeeping tasks
            continue
        user_task = bool(spec.manual)
        if task.state == TaskState.COMPLETED and not user_task:
            continue
        key = id(task.workflow)
        if key not in paths:
            paths[key] = _call_path(task, root)
        found.append(
            ElementState(
                task_guid=str(task.id),
                process_id=task.workflow.spec.name,
                element_id=bpmn_id,
                state=STATE_NAMES.get(task.state, "other"),
                user_task=user_task,
                call_path=paths[key],
            )
        )
    return found
