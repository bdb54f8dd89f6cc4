"""Moving a running instance to another version of its process, only where that is safe.

Safe means: no element that the instance has done or is doing (completed, running, waiting, ready,
failed) is changed or removed in the target version. Then every step the instance has taken means
the same in the new version, and only what lies ahead of it changes. Anything else is refused with
the elements in the way (`UnsafeMigration`).

SpiffWorkflow's own `migrate_workflow` resets every ready and waiting task and re-predicts from
there, which throws away the completed children of a running multi-instance task. It is not used:
here the specs are swapped by element id, and only the *predicted* branches are re-predicted
beneath tasks that stay as they are, so no definite task is ever reset.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from models.workflow import ProcessDefinition, ProcessInstance
from workflows.engine import specs, state
from workflows.engine.clock import now as clock_now
from workflows.engine.steps import StepResult, advance, load

# What an instance has done or is doing: a change there would rewrite its history or its present.
TOUCHED = TaskState.COMPLETED | TaskState.STARTED | TaskState.READY | TaskState.WAITING | TaskState.ERROR


@dataclass(frozen=True)
class Blocker:
    element_id: str
    name: str
    removed: bool  # removed in the target version (else changed)


class UnsafeMigration(Exception):
    """The target version changes or removes elements the instance has done or is doing."""

    def __init__(self, blockers: list[Blocker]):
        self.blockers = blockers
        super().__init__(", ".join(b.element_id for b in blockers))


def _tasks(workflow: BpmnWorkflow) -> list[tuple[BpmnWorkflow, Task]]:
    found = [(workflow, t) for t in workflow.tasks.values()]
    for sub in workflow.subprocesses.values():
        found.extend((sub, t) for t in sub.tasks.values())
    return found


def _blockers(workflow: BpmnWorkflow, target: specs.Compiled) -> list[Blocker]:
    diff = SpecDiff(state.SERIALIZER.registry, workflow.spec, target.spec)
    changed, removed = set(diff.changed), set(diff.removed)
    for name, spec in workflow.subprocess_specs.items():
        new = target.subprocess_specs.get(name)
        if new is None:
            removed.update(spec.task_specs.values())
        else:
            sub = SpecDiff(state.SERIALIZER.registry, spec, new)
            changed.update(sub.changed)
            removed.update(sub.removed)
    found: dict[str, Blocker] = {}
    for _wf, task in _tasks(workflow):
        spec = task.task_spec
        if task.has_state(TOUCHED) and (spec in changed or spec in removed):
            element = spec.bpmn_id or spec.name
            found.setdefault(element, Blocker(element, spec.bpmn_name or element, spec in removed))
    return list(found.values())


def blockers(instance: ProcessInstance, target: ProcessDefinition) -> list[Blocker]:
    """What keeps the instance from moving to the target version ([] when it may move)."""
    loaded = load(instance)
    return _blockers(loaded.workflow, specs.compiled(target))


AHEAD = TaskState.FUTURE | TaskState.PREDICTED_MASK  # not reached yet: only predicted


def _swap(workflow: BpmnWorkflow, target: specs.Compiled) -> list[Blocker]:
    """Point every task at the target's spec of the same element, then predict again what lies
    ahead of the tasks the instance has reached; returns the tasks left on an old spec (none when
    the move is whole)."""
    new_specs: dict[str, dict[str, TaskSpec]] = {"": target.spec.task_specs}
    new_specs.update({name: s.task_specs for name, s in target.subprocess_specs.items()})
    workflow.spec = target.spec
    workflow.subprocess_specs = dict(target.subprocess_specs)
    for sub in workflow.subprocesses.values():
        replacement = target.subprocess_specs.get(sub.spec.name)
        if replacement is not None:
            sub.spec = replacement

    def table(wf: BpmnWorkflow) -> dict[str, TaskSpec]:
        return new_specs[""] if wf is workflow else new_specs.get(wf.spec.name, {})

    for wf, task in _tasks(workflow):
        spec = table(wf).get(task.task_spec.name)
        if spec is not None:
            task.task_spec = spec
    # The first task not reached on each branch (its parent has been reached, and is the same in
    # both versions, so the task's own spec exists): what lies beyond it is a prediction of the old
    # version. Drop that and predict the new version's from there.
    frontier = [
        (wf, t)
        for wf, t in _tasks(workflow)
        if t.has_state(AHEAD) and (t.parent is None or not t.parent.has_state(AHEAD))
    ]
    for wf, task in frontier:
        for child in list(task.children):
            if child.has_state(AHEAD) and child.id in wf.tasks:
                wf._remove_task(child.id)
        task.task_spec._predict(task, mask=AHEAD)
    left = []
    for wf, task in _tasks(workflow):
        if table(wf).get(task.task_spec.name) is not task.task_spec:
            spec = task.task_spec
            left.append(Blocker(spec.bpmn_id or spec.name, spec.bpmn_name or spec.name, True))
    return left


def migrate(instance: ProcessInstance, target: ProcessDefinition) -> StepResult:
    """Move the instance to the target version and run it on (its inbox follows); UnsafeMigration
    when that is not safe, with nothing changed."""
    loaded = load(instance)
    compiled = specs.compiled(target)
    found = _blockers(loaded.workflow, compiled)
    if found:
        raise UnsafeMigration(found)
    left = _swap(loaded.workflow, compiled)
    if left:
        raise UnsafeMigration(left)
    loaded.compiled = compiled
    instance.definition_id = target.id
    step = StepResult()
    advance(step, loaded, clock_now())
    return step
