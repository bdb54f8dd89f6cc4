"""The workflow runtime. The only package that imports SpiffWorkflow (ruff's banned-api holds the line).

Responsibilities, one module each: `definitions` (parse, validate, deploy, build), `state`
(serialise), `runtime` (start, lock, run, timers, messages, incidents), `inbox` (mirror READY user
tasks into the inbox table), `expressions` and `scripting` (the restricted evaluator), `clock`,
`monitor` (what each element is doing, read-only).
"""

from workflows.engine.clock import now, use_clock
from workflows.engine.definitions import DefinitionError, deploy, inspect_bpmn, latest_definition
from workflows.engine.expressions import ExpressionError, check_expression, check_script, evaluate, execute
from workflows.engine.monitor import ElementState, element_states
from workflows.engine.runtime import (
    MessageNotAwaited,
    StepResult,
    TaskNotReady,
    complete_user_task,
    deliver_message,
    fire_due_timers,
    load,
    lock_instance,
    retry,
    start_instance,
    task_data,
    waiting_messages,
)

__all__ = [
    "DefinitionError",
    "ElementState",
    "ExpressionError",
    "MessageNotAwaited",
    "StepResult",
    "TaskNotReady",
    "check_expression",
    "check_script",
    "complete_user_task",
    "deliver_message",
    "deploy",
    "element_states",
    "evaluate",
    "execute",
    "fire_due_timers",
    "inspect_bpmn",
    "latest_definition",
    "load",
    "lock_instance",
    "now",
    "retry",
    "start_instance",
    "task_data",
    "use_clock",
    "waiting_messages",
]
