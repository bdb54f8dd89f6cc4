"""The workflow runtime. The only package that imports SpiffWorkflow (ruff's banned-api holds the line).

Responsibilities, one module each: `definitions` (validate, deploy, which version an instance binds
to), `specs` (parsed definitions cached by content hash, and `describe`), `calls` (the call
activity that waits for a child instance, and the data across it), `state` (serialise, the spec by
reference), `cache` (deserialized workflows kept between transactions), `steps` (lock, load, run
until everything waits across the instance tree, save, incidents), `runtime` (the verbs: start,
complete, timers, messages, retry), `inbox` (mirror READY user tasks into the inbox table),
`expressions` and `scripting` (the restricted evaluator), `clock`, `monitor` (what each element is
doing, read-only), `migration` (moving a running instance to another version, only where safe),
`dryrun` (a diagram run in memory before deploy), `stats` (state sizes and start times for the benchmark).
"""

from workflows.engine.clock import now, use_clock
from workflows.engine.definitions import DefinitionError, deploy, inspect_bpmn, latest_definition
from workflows.engine.expressions import ExpressionError, check_expression, check_script, evaluate, execute
from workflows.engine.migration import Blocker, UnsafeMigration, migrate
from workflows.engine.migration import blockers as migration_blockers
from workflows.engine.monitor import ElementState, element_states
from workflows.engine.runtime import (
    InstanceClosed,
    MessageNotAwaited,
    StepResult,
    TaskNotReady,
    cancel_instances,
    complete_user_task,
    deliver_message,
    fire_due_timers,
    lock_instance,
    retry,
    start_instance,
    task_data,
    waiting_messages,
)
from workflows.engine.specs import Description, Element, describe

__all__ = [
    "Blocker",
    "DefinitionError",
    "Description",
    "Element",
    "ElementState",
    "ExpressionError",
    "InstanceClosed",
    "MessageNotAwaited",
    "StepResult",
    "TaskNotReady",
    "UnsafeMigration",
    "cancel_instances",
    "check_expression",
    "check_script",
    "complete_user_task",
    "deliver_message",
    "deploy",
    "describe",
    "element_states",
    "evaluate",
    "execute",
    "fire_due_timers",
    "inspect_bpmn",
    "latest_definition",
    "lock_instance",
    "migrate",
    "migration_blockers",
    "now",
    "retry",
    "start_instance",
    "task_data",
    "use_clock",
    "waiting_messages",
]
