"""The evaluator is bounded in time and space: every abuse the attack found (and its relatives) is
refused with the limit it passes, before the value is built; values within the limits still work;
deploy and validation report an over-deep expression on its element instead of crashing.
How fast each is refused is a benchmark figure (`flask --app webapp bench expressions`), not a test."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import bearer
from workflows.engine import bounds
from workflows.engine.bench_expressions import ABUSES
from workflows.engine.expressions import ExpressionError, evaluate, execute
from workflows.layout import layout_bpmn

BPMN = Path(__file__).resolve().parents[1] / "data" / "bpmn"
MINUSES = "-" * 5000 + "1"


@pytest.mark.parametrize("abuse", ABUSES, ids=[a.label for a in ABUSES])
def test_each_abuse_is_refused_naming_its_limit(abuse):
    with pytest.raises(ExpressionError, match=re.escape(abuse.refused_by)):
        abuse.attempt(abuse.names())


def test_the_issue_cases_are_all_listed():
    sources = {a.source for a in ABUSES}
    for case in (
        "str([[0] * 100000] * 100000)",
        "sum([[0] * 100000] * 1000, [])",
        "int(Decimal('1e999999999'))",
        "s = 'ab'\ns *= 100000\ns *= 100000",
        '"%900000000d" % 1',
        MINUSES,
        "2 ** 10 ** 10",
        "'x' * 10 ** 9",
        "f'{x:>900000000}'",
        "[" * 60 + "]" * 60,
    ):
        assert case in sources
    assert any(a.source.startswith("a = 3\na = a * a\na = a * a") for a in ABUSES)


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("len('x' * 1000000)", {}, 1_000_000),
        ("len([0] * 200000)", {}, 200_000),
        ("len(sum([[1, 2]] * 100, []))", {}, 200),
        ("len(str([[0] * 100] * 100))", {}, len(str([[0] * 100] * 100))),
        ("n * n == m", {"n": 2**2000, "m": 2**4000}, True),
        ("'%5.2f|%-4s|%03d' % (x, 'a', 7)", {"x": 3.14159}, " 3.14|a   |007"),
        ("'%(name)s: %(score).1f' % row", {"row": {"name": "大连", "score": 91.25}}, "大连: 91.2"),
        ("len(str(int(Decimal('1e100'))))", {}, 101),
        ("Decimal('1e999') / 3 > 0", {}, True),
        ("round(Decimal('2.675'), 2)", {}, Decimal("2.68")),
        ("quantize(Decimal('10') / 3, 4)", {}, Decimal("3.3333")),
        ("sorted(items)[0]", {"items": list(range(20_000, 0, -1))}, 1),
        ("-" * 45 + "1", {}, -1),
        ("x in xs and xs == ys", {"x": 7, "xs": [7] * 1000, "ys": [7] * 1000}, True),
    ],
)
def test_values_within_the_limits_still_evaluate(source, names, expected):
    assert evaluate(source, names) == expected


def test_scripts_within_the_limits_still_run():
    assert execute("s = 'ab'\ns *= 3\nn = 3\nn *= n\nrows = [[0] * 10] * 10\nt = len(sum(rows, []))", {}) == {
        "s": "ababab",
        "n": 9,
        "rows": [[0] * 10] * 10,
        "t": 100,
    }


def test_every_evaluation_has_a_step_budget_of_its_own(monkeypatch):
    monkeypatch.setattr(bounds, "MAX_STEPS", 40)
    source = " + ".join(["1"] * 30)  # 30 constants and 29 additions: 60 steps with the expression
    with pytest.raises(ExpressionError, match="more than 40 steps"):
        evaluate(source, {})
    with pytest.raises(ExpressionError, match="more than 40 steps"):
        execute("a = 1\n" * 25, {})  # a statement and its value: two steps each
    assert evaluate(" + ".join(["1"] * 15), {}) == 15  # the budget is per evaluation, not shared
    assert evaluate(" + ".join(["1"] * 15), {}) == 15


def test_work_is_counted_per_evaluation():
    big = "x = [0] * 200000\n" + "y = x + [1]\n" * 10
    for _ in range(5):  # 5 × 10 copies would pass the budget if it carried over
        assert len(execute(big, {})["y"]) == 200_001


def _unsafe_with(condition: str) -> str:
    return (
        (BPMN / "unsafe_condition.bpmn")
        .read_text(encoding="utf-8")
        .replace('__import__("os").system("true") == 0', condition)
    )


OVER_DEEP_OR_LONG = [
    pytest.param(MINUSES, r"50 levels deep|嵌套超过 50 层", id="5,000 unary minuses"),
    pytest.param("1 + " * 2600 + "1", r"longer than 10000 characters|超过 10000 个字符", id="too long"),
]


@pytest.mark.parametrize(("condition", "says"), OVER_DEEP_OR_LONG)
def test_deploy_reports_an_over_deep_or_long_condition_on_its_element(app, demo, tmp_path, condition, says):
    path = tmp_path / "deep.bpmn"
    path.write_text(_unsafe_with(condition), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["workflows", "deploy", str(path)])
    assert result.exit_code == 1  # a refusal (ClickException), not a crash
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert re.search(f"f_evil: [^;]*({says})", result.output), result.output


@pytest.mark.parametrize(("condition", "says"), OVER_DEEP_OR_LONG)
def test_validation_reports_an_over_deep_or_long_condition_on_its_element(app, demo, condition, says):
    client = app.test_client()
    answer = client.post(
        "/api/v1/definitions/validate", headers=bearer(client, "admin"), json={"xml": _unsafe_with(condition)}
    )
    assert answer.status_code == 200
    problems = {p["element_id"]: p["message"] for p in answer.get_json()["problems"]}
    assert re.search(says, problems["f_evil"]) and "条件不被接受" in problems["f_evil"]


def test_the_dry_run_refuses_a_costly_script_on_its_element(app, demo):
    """A script the checker accepts but that would build 3·10¹⁰ characters fails the dry run at once."""
    xml = layout_bpmn(
        b'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
        b'<bpmn:process id="costly" isExecutable="true"><bpmn:startEvent id="s"/>'
        b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/><bpmn:scriptTask id="work">'
        b"<bpmn:script>x = str([[0] * 100000] * 100000)</bpmn:script></bpmn:scriptTask>"
        b'<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/><bpmn:endEvent id="e"/>'
        b"</bpmn:process></bpmn:definitions>"
    )
    client = app.test_client()
    answer = client.post(
        "/api/v1/definitions/validate", headers=bearer(client, "admin"), json={"xml": xml.decode()}
    )
    problems = {p["element_id"]: p["message"] for p in answer.get_json()["problems"]}
    assert "结果过大（写出将超过 1000000 个字符）" in problems["work"], problems
