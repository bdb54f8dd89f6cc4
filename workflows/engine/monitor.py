"""What an instance is doing, element by element: the office monitor's overlays. Reads the stored
state; never changes it. A call activity's process runs as another instance, so each instance
answers for its own elements only (`call_path` leads through embedded subprocesses)."""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from workflows.engine import state
from workflows.engine.calls import CHILD

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
    (process id, element id), outermost first, that lead from the instance's process to it; a waiting
    call activity names its child instance."""

    task_guid: str
    process_id: str
    element_id: str
    state: str
    user_task: bool
    call_path: tuple[tuple[str, str], ...]
    child_instance_id: int | None = None


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


def element_states(stored: str, completed: bool = False) -> list[ElementState]:
    """Every active task of an instance's stored state (with `completed`, finished user tasks too)."""
    root, _compiled = state.load(stored)
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
                child_instance_id=task._get_internal_data(CHILD),
            )
        )
    return found
