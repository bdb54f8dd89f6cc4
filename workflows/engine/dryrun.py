"""A dry run: a diagram executed in memory, start to end, before anyone deploys it.

Nothing is written: no instance, no inbox row, no domain record. The run gives the process made-up
participants (two of each list the year fans out over) and made-up values for every name its
expressions read; each user task is completed with the routing values its form would hand over
(a decision approves, lists of returned parties are empty); a called process is taken as done at
once (its own diagram has its own dry run); when nothing else can move, the clock jumps a year so
timers fire. It reports the path it took and each step it could not pass, on its element.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from wtforms import BooleanField, SelectField, SelectMultipleField

from models.i18n import lazy_gettext as _l
from workflows import forms
from workflows.engine import calls, clock, expressions, specs
from workflows.engine.definitions import EXPRESSION_PROPERTIES, NS, PARTICIPANTS, parse_safely

MAX_STEPS = 500  # user tasks, calls and clock jumps; a diagram that needs more loops
STARTS_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class DryRun:
    reached_end: bool = False
    path: list[str] = field(default_factory=list)  # element ids of the steps passed, in order
    problems: list[tuple[str, str]] = field(default_factory=list)  # (element id, message)
    assumed: dict[str, Any] = field(default_factory=dict)  # the made-up start data


def _made_up(name: str) -> Any:
    """A stand-in value for a name the process reads, by what such names hold in Jixiao."""
    if name in PARTICIPANTS or name == "experts":
        return [f"{name}_1", f"{name}_2"]
    if name.startswith("returned_"):
        return []
    if name.endswith(("_opens", "_deadline", "_at")) or name in ("deadline", "due"):
        return STARTS_AT.isoformat()
    if name == "decision":
        return "approve"
    if name == "year":
        return STARTS_AT.year
    if name.endswith("_id"):
        return 1
    return name


# What a timer's expression must give: a date-time, a duration, a repeating interval.
TIMER_VALUES = {"timeDate": STARTS_AT.isoformat(), "timeDuration": "P1D", "timeCycle": "R1/P1D"}


def _read_names(root: etree._Element) -> dict[str, Any]:
    """Every name the process's expressions and scripts read, with a made-up value for each."""
    found: dict[str, Any] = {}
    sources: list[tuple[str | None, bool, str]] = []
    for tag in ("conditionExpression", *TIMER_VALUES):
        sources += [(n.text, False, tag) for n in root.iterfind(f".//bpmn:{tag}", NS)]
    sources += [(n.text, True, "") for n in root.iterfind(".//bpmn:scriptTask/bpmn:script", NS)]
    for tag in ("preScript", "postScript"):
        sources += [(n.text, True, "") for n in root.iterfind(f".//spiffworkflow:{tag}", NS)]
    sources += [
        (p.get("value"), False, "")
        for p in root.iterfind(".//spiffworkflow:property", NS)
        if p.get("name") in EXPRESSION_PROPERTIES
    ]
    for ref in root.iterfind(".//bpmn:loopDataInputRef", NS):
        name = (ref.text or "").strip()
        found[name] = _made_up(name)
    for source, script, tag in sources:
        if not (source and source.strip()):
            continue
        with suppress(expressions.ExpressionError):  # validation reports it on its element
            for name in expressions.free_names(source, script=script):
                # a name a timer reads alone is that timer's value; otherwise guess by the name
                alone = source.strip() == name
                found[name] = (
                    TIMER_VALUES[tag] if tag in TIMER_VALUES and alone else found.get(name, _made_up(name))
                )
    # each item of a multi-instance step is the step's own, not the process's
    items = {d.get("name") or d.get("id") for d in root.iterfind(".//bpmn:inputDataItem", NS)}
    items |= {d.get("name") or d.get("id") for d in root.iterfind(".//bpmn:outputDataItem", NS)}
    return {n: v for n, v in found.items() if n and n not in items}


def _routing(form_key: str) -> dict[str, Any]:
    """What the task's form hands to the workflow when it is submitted, made up."""
    try:
        definition = forms.get(form_key)
    except LookupError:
        return {}
    values: dict[str, Any] = {}
    form = definition.form_class()
    for name in (*definition.routing, *definition.provides):
        f = getattr(form, name, None)
        if isinstance(f, SelectMultipleField):
            values[name] = []
        elif isinstance(f, SelectField):
            choices = [str(c.value) for c in f.choices or [] if str(c.value)]
            values[name] = choices[0] if choices else _made_up(name)
        elif isinstance(f, BooleanField):
            values[name] = False
        else:
            values[name] = _made_up(name)
    return values


def _element(task: Task | None) -> str:
    return task.task_spec.bpmn_id or "" if task is not None else ""


def dry_run(xml: bytes, max_steps: int = MAX_STEPS) -> DryRun:
    """Execute the diagram in memory to its end (see the module's description)."""
    run = DryRun()
    root = parse_safely(xml)
    try:
        compiled = specs.compile_xml(xml)
    except (specs.SpecError, SpiffWorkflowException, ValueError) as exc:
        run.problems.append(("", str(_l("The diagram cannot be run: %(reason)s", reason=str(exc)))))
        return run
    run.assumed = dict(sorted(_read_names(root).items()))
    workflow = compiled.new_workflow()
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(run.assumed)
    now = [STARTS_AT]
    with clock.use_clock(lambda: now[0]):
        steps, idle = 0, 0
        while steps < max_steps:
            try:
                workflow.refresh_timers()
                workflow.do_engine_steps()
            except Exception as exc:  # noqa: BLE001  (whatever stops the diagram is its problem)
                run.problems.append((_element(getattr(exc, "task", None)), _failed(exc)))
                return run
            if workflow.is_completed():
                run.reached_end = True
                return run
            moved = False
            for task in workflow.get_tasks(state=TaskState.READY | TaskState.STARTED):
                spec = task.task_spec
                if task.state == TaskState.READY and spec.manual:
                    props = (getattr(spec, "extensions", None) or {}).get("properties", {})
                    values = _routing(props.get("formKey", ""))
                    # an item of a multi-instance step hands its output item back
                    output = getattr(task.parent.task_spec, "output_item", None) if task.parent else None
                    if output is not None and output.bpmn_id not in values:
                        values[output.bpmn_id] = _made_up(output.bpmn_id)
                    task.set_data(**values)
                elif task.state == TaskState.STARTED and isinstance(spec, calls.ChildInstanceCall):
                    task._set_internal_data(**{calls.DONE: True})
                else:
                    continue
                run.path.append(spec.bpmn_id)
                steps, moved = steps + 1, True
                try:
                    if task.state == TaskState.READY:
                        task.run()
                    else:
                        spec._update(task)
                except Exception as exc:  # noqa: BLE001
                    run.problems.append((spec.bpmn_id or "", _failed(exc)))
                    return run
                break  # one step at a time, then let the engine move
            if moved:
                idle = 0
                continue
            idle += 1
            if idle > 3:
                waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id]
                element = waiting[0].task_spec.bpmn_id if waiting else ""
                run.problems.append(
                    (element, str(_l("The process waits here and nothing in a dry run moves it on.")))
                )
                return run
            now[0] += timedelta(days=366)  # let the timers fire
            steps += 1
    last = run.path[-1] if run.path else ""
    run.problems.append(
        (last, str(_l("The process did not reach its end in %(n)d steps: it loops.", n=max_steps)))
    )
    return run


def _failed(exc: Exception) -> str:
    return str(_l("The dry run could not pass this step: %(reason)s", reason=str(exc)))
