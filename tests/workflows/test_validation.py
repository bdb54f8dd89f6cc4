"""Validation before deploy: every rule has a failing example, each problem named on its element and
said in Chinese; XXE and entity bombs are refused without reading a file or expanding anything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from models.org import Role
from workflows import forms
from workflows.engine import definitions, specs
from workflows.layout import layout_bpmn

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">'
)


def diagram(body: str, lanes: str = "", process: str = 'id="p" name="P" isExecutable="true"') -> bytes:
    return f"{HEAD}<bpmn:process {process}>{lanes}{body}</bpmn:process></bpmn:definitions>".encode()


def task(task_id: str = "u", form: str = "acknowledge") -> str:
    props = f'<spiffworkflow:property name="formKey" value="{form}"/>' if form else ""
    return (
        f'<bpmn:userTask id="{task_id}" name="Check"><bpmn:extensionElements><spiffworkflow:properties>'
        f"{props}</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    )


def lane(*ids: str, name: str = "office", role: str | None = None) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    ext = (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        f'<spiffworkflow:property name="role" value="{role}"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        if role is not None
        else ""
    )
    return f'<bpmn:laneSet id="ls"><bpmn:lane id="l" name="{name}">{ext}{refs}</bpmn:lane></bpmn:laneSet>'


SOUND = (
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>'
    + task()
    + '<bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/><bpmn:endEvent id="e"/>'
)


def problems(xml: bytes, **kwargs) -> dict[str, list[str]]:
    try:
        definitions.inspect_bpmn(xml, forms.known_keys(), **kwargs)
    except definitions.DefinitionError as exc:
        found: dict[str, list[str]] = {}
        for element, reason in exc.problems:
            found.setdefault(element, []).append(reason)
        return found
    return {}


def test_a_sound_laid_out_diagram_passes_every_check(ctx):
    xml = layout_bpmn(diagram(SOUND, lane("u")))
    assert problems(xml, known_processes=set(), require_layout=True) == {}


@pytest.mark.parametrize(
    ("body", "lanes", "element", "says"),
    [
        ('<bpmn:endEvent id="e"/>', "", "p", "流程缺少开始事件"),
        ('<bpmn:startEvent id="s"/>', "", "p", "流程缺少结束事件"),
        (SOUND + task("lost"), lane("u", "lost"), "lost", "没有连线指向该元素"),
        (
            '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
            '<bpmn:exclusiveGateway id="g"/><bpmn:sequenceFlow id="a" sourceRef="g" targetRef="e"/>'
            '<bpmn:sequenceFlow id="b" sourceRef="g" targetRef="e"/><bpmn:endEvent id="e"/>',
            "",
            "g",
            "除一个默认分支外",
        ),
        (
            SOUND.replace('value="acknowledge"', 'value="no.such.form"'),
            lane("u"),
            "u",
            "没有表单 no.such.form",
        ),
        (
            SOUND.replace('<spiffworkflow:property name="formKey" value="acknowledge"/>', ""),
            lane("u"),
            "u",
            "formKey",
        ),
        (SOUND, lane("u", name="mayor"), "u", "泳道的角色须为"),
        (SOUND, lane("u", name="市长", role="mayor"), "l", "泳道的角色须为"),
        (
            SOUND.replace(
                'targetRef="e"/>',
                'targetRef="e"><bpmn:conditionExpression>__import__("os")</bpmn:conditionExpression></bpmn:sequenceFlow>',
            ),
            lane("u"),
            "f2",
            "不允许调用 '__import__'",
        ),
        (SOUND + '<bpmn:serviceTask id="svc"/>', lane("u"), "svc", "不支持服务任务"),
        (
            SOUND.replace(
                "</bpmn:userTask>",
                "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>mayors</bpmn:loopDataInputRef>"
                '<bpmn:inputDataItem id="mayor" name="mayor"/></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>',
            ),
            lane("u"),
            "u",
            "多实例步骤所依据的 'mayors'",
        ),
    ],
)
def test_each_rule_names_the_element_it_is_about(ctx, body, lanes, element, says):
    found = problems(diagram(body, lanes))
    assert element in found and any(says in reason for reason in found[element]), found


def test_multi_instance_runs_over_participants_inputs_or_what_a_form_provides(ctx):
    def over(collection: str, io: str = "") -> bytes:
        loop = (
            f"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>"
            '<bpmn:inputDataItem id="item" name="item"/></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
        )
        return diagram(io + SOUND.replace("</bpmn:userTask>", loop), lane("u"))

    assert "u" not in problems(over("cities"))
    assert "u" in problems(over("experts"))  # only a process whose form hands experts over may use them
    io = '<bpmn:ioSpecification id="io"><bpmn:dataInput id="experts" name="experts"/><bpmn:inputSet id="i"><bpmn:dataInputRefs>experts</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet id="o"/></bpmn:ioSpecification>'
    assert "u" not in problems(over("experts", io))
    provided = SOUND.replace('value="acknowledge"', 'value="formation.draft"')
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>experts</bpmn:loopDataInputRef></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    assert "u" not in problems(diagram(provided.replace("</bpmn:userTask>", loop), lane("u")))


def test_a_lane_shows_a_chinese_name_and_carries_its_role_as_a_property(ctx):
    xml = layout_bpmn(diagram(SOUND, lane("u", name="绩效办", role="office")))
    assert problems(xml, known_processes=set(), require_layout=True) == {}
    assert specs.describe_xml(xml).elements["u"].lane == "office"


def test_every_shipped_lane_has_a_chinese_name_and_a_role(ctx):
    for path in sorted(WORKFLOWS.glob("*.bpmn")):
        root = etree.fromstring(path.read_bytes())
        lanes = root.findall(".//bpmn:lane", specs.NS)
        assert lanes, path.name
        for node in lanes:
            assert not re.search("[A-Za-z]", node.get("name", "")), (path.name, node.get("name"))
        roles = set(specs.lane_roles(root).values())
        assert roles and roles <= {r.value for r in Role}, (path.name, roles)


def test_call_targets_bindings_and_phases_are_known(ctx):
    body = (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c"/>'
        '<bpmn:callActivity id="c" calledElement="nowhere"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="binding" value="newest"/><spiffworkflow:property name="phase" value="summer"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:callActivity>"
        '<bpmn:sequenceFlow id="f2" sourceRef="c" targetRef="e"/><bpmn:endEvent id="e"/>'
    )
    found = problems(diagram(body), known_processes={"evaluation_round"})
    assert {"没有可调用的流程 nowhere。", "版本绑定须为 latest, deployment 之一，而不是 'newest'。"} <= set(
        found["c"]
    )
    assert any("阶段须为" in reason for reason in found["c"])
    assert "c" not in problems(
        diagram(
            body.replace("nowhere", "evaluation_round").replace("newest", "latest").replace("summer", "q3")
        ),
        known_processes={"evaluation_round"},
    )


def test_a_diagram_that_draws_nothing_is_refused_when_layout_is_required(ctx):
    found = problems(diagram(SOUND, lane("u")), require_layout=True)
    assert set(found) == {"s", "u", "e", "f1", "f2", "l"}
    assert all(reasons == ["流程图中没有绘制该元素。"] for reasons in found.values())


def test_not_bpmn_and_not_xml_are_refused(ctx):
    assert "XML 格式错误" in problems(b"<bpmn:definitions")[""][0]
    assert "不符合 BPMN 规范" in " ".join(
        r for rs in problems(f"{HEAD}<bpmn:nonsense/></bpmn:definitions>".encode()).values() for r in rs
    )
    assert "恰好包含一个可执行流程" in problems(diagram(SOUND, process='id="p" isExecutable="false"'))[""][0]


def test_xxe_and_entity_bombs_are_refused_without_reading_or_expanding(ctx, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
        + HEAD.split("?>", 1)[1]
        + '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"><bpmn:documentation>&x;</bpmn:documentation></bpmn:startEvent></bpmn:process></bpmn:definitions>'
    ).encode()
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
            for n in range(1, 10)
        )
        + "]><lolz>&lol9;</lolz>"
    ).encode()
    for xml in (xxe, bomb):
        with pytest.raises(definitions.DefinitionError) as refused:
            definitions.inspect_bpmn(xml, forms.known_keys())
        assert refused.value.problems == [("", "BPMN 文件中不允许出现 DTD 或实体声明。")]
        assert "TOP-SECRET" not in str(refused.value)
    # the parser itself never expands or fetches, should a declaration slip past the byte check
    root = definitions.etree.fromstring(xxe, definitions._PARSER)
    assert "TOP-SECRET" not in definitions.etree.tostring(root).decode()


def test_a_file_above_the_size_limit_is_refused_unread(ctx):
    huge = diagram(SOUND + "<!--" + "x" * definitions.MAX_BYTES + "-->", lane("u"))
    assert problems(huge) == {"": ["文件超过 2048 KB。"]}
