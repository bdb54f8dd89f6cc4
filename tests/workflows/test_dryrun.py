"""The dry run executes a diagram in memory to its end with made-up participants and data, and
names each step it cannot pass; validation before deploy includes it."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.test_validation import diagram, lane, problems, task
from workflows.engine.dryrun import dry_run

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def flows(*pairs: tuple[str, str, str]) -> str:
    out = []
    for flow_id, source, target in pairs:
        out.append(f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>')
    return "".join(out)


def test_every_shipped_diagram_runs_to_its_end(ctx):
    for path in sorted(WORKFLOWS.glob("*.bpmn")):
        trial = dry_run(path.read_bytes())
        assert trial.problems == [] and trial.reached_end, (path.name, trial.problems)
    trial = dry_run((WORKFLOWS / "evaluation_round.bpmn").read_bytes())
    assert trial.path.count("self_report") == 2 and trial.path.count("score") == 2  # two of each participant
    assert {"cities", "departments"} <= set(trial.assumed)


def test_a_condition_that_fails_when_it_runs_is_named_on_its_step(ctx):
    body = (
        '<bpmn:startEvent id="s"/>'
        + task("u")
        + '<bpmn:exclusiveGateway id="g" default="back"/><bpmn:endEvent id="e"/>'
        + flows(("f1", "s", "u"), ("f2", "u", "g"), ("back", "g", "e"))
        + '<bpmn:sequenceFlow id="on" sourceRef="g" targetRef="e">'
        '<bpmn:conditionExpression>len(decision) &gt; "a"</bpmn:conditionExpression></bpmn:sequenceFlow>'
    )
    xml = diagram(body, lane("u"))
    trial = dry_run(xml)
    assert not trial.reached_end and trial.path == ["u"]
    assert trial.problems and trial.problems[0][0] == "g" and "试运行无法通过此步骤" in trial.problems[0][1]
    assert "g" in problems(xml, dry_run=True)  # and validation before deploy says so


def test_a_loop_with_no_way_out_and_a_wait_nobody_ends_are_reported(ctx):
    loop = (
        '<bpmn:startEvent id="s"/>'
        + task("u")
        + '<bpmn:exclusiveGateway id="g" default="again"/><bpmn:endEvent id="e"/>'
        + flows(("f1", "s", "u"), ("f2", "u", "g"), ("again", "g", "u"))
        + '<bpmn:sequenceFlow id="out" sourceRef="g" targetRef="e">'
        '<bpmn:conditionExpression>decision == "never"</bpmn:conditionExpression></bpmn:sequenceFlow>'
    )
    trial = dry_run(diagram(loop, lane("u")), max_steps=30)
    assert not trial.reached_end and len(trial.path) == 30
    assert trial.problems == [("u", "流程在 30 步内没有到达结束：存在循环。")]

    wait = (
        '<bpmn:startEvent id="s"/>'
        '<bpmn:intermediateCatchEvent id="w"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="e"/>' + flows(("f1", "s", "w"), ("f2", "w", "e"))
    )
    xml = diagram(wait).replace(b"<bpmn:process", b'<bpmn:message id="m" name="never_sent"/><bpmn:process', 1)
    assert dry_run(xml).problems == [("w", "流程在此等待，试运行中没有任何事件能使其继续。")]
