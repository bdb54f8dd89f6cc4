"""workflows.layout: the generated BPMNDI is complete, non-overlapping, inside its lanes and pool, stable,
and leaves the process semantics alone (SpiffWorkflow still parses the result)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: TID251

from workflows.layout import layout_bpmn, main

DATA = Path(__file__).resolve().parents[1] / "data" / "bpmn"
SAMPLE = DATA / "layout_sample.bpmn"
# Every test diagram, so the tool is also tried on shapes nobody wrote for it (no pool, no lanes, loops into
# tasks, unnamed nodes, boundary events outside any lane, a disconnected task).
DIAGRAMS = sorted(DATA.glob("*.bpmn"), key=lambda p: p.name)
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {
    "bpmn": BPMN,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
OTHER_NODES = {"task", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
Box = tuple[float, float, float, float]  # left, top, right, bottom


def _local(el: etree._Element) -> str:
    if not isinstance(el.tag, str):
        return ""
    name = etree.QName(el)
    return name.localname if name.namespace == BPMN else ""


def _is_flow_node(el: etree._Element) -> bool:
    name = _local(el)
    return name.endswith(("Event", "Gateway", "Task")) or name in OTHER_NODES


def _laid_out(path: Path) -> etree._Element:
    return etree.fromstring(layout_bpmn(path.read_bytes()))


def _flow_nodes(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if _is_flow_node(el)]


def _di_of(root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for el in root.iterfind(".//bpmndi:BPMNPlane/*", NS):
        found.setdefault(el.get("bpmnElement", ""), []).append(el)
    return found


def _box(shape: etree._Element) -> Box:
    b = shape.find("dc:Bounds", NS)
    assert b is not None
    x, y, w, h = (float(b.get(k, "nan")) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def _boxes(root: etree._Element) -> dict[str, Box]:
    return {k: _box(v[0]) for k, v in _di_of(root).items() if v[0].tag == f"{{{NS['bpmndi']}}}BPMNShape"}


def _inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    return [(float(w.get("x", "nan")), float(w.get("y", "nan"))) for w in edge.iterfind("di:waypoint", NS)]


def _semantics(xml: bytes, *, refs: bool = True) -> list[bytes]:
    """The document without its BPMNDI (and, unless refs, without the derived incoming/outgoing refs)."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    for el in list(root.iterfind("bpmndi:BPMNDiagram", NS)):
        root.remove(el)
    if not refs:
        for el in list(root.iterfind(".//bpmn:incoming", NS)) + list(root.iterfind(".//bpmn:outgoing", NS)):
            el.getparent().remove(el)
    # (c14n of a comment node crashes lxml 6, so comments are compared as plain XML.)
    return [
        etree.tostring(el, method="c14n", exclusive=True) if isinstance(el.tag, str) else etree.tostring(el)
        for el in root
    ]


def _without_di(xml: bytes, *, refs: bool) -> bytes:
    root = etree.fromstring(xml)
    for el in list(root.iterfind("bpmndi:BPMNDiagram", NS)):
        root.remove(el)
    if not refs:
        for el in list(root.iterfind(".//bpmn:incoming", NS)) + list(root.iterfind(".//bpmn:outgoing", NS)):
            el.getparent().remove(el)
    return etree.tostring(root)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_node_lane_participant_and_flow_gets_exactly_one_di_element(path: Path) -> None:
    root = _laid_out(path)
    di = _di_of(root)
    wanted = _flow_nodes(root) + [
        el for el in root.iter() if _local(el) in ("lane", "participant", "sequenceFlow")
    ]
    assert wanted
    for el in wanted:
        assert len(di.get(el.get("id", ""), [])) == 1, el.get("id")
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str)}
    assert set(di) <= ids, "DI refers to elements that do not exist"
    # The main plane is on the collaboration when there is one, else on the process.
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane is not None
    owner = root.find("bpmn:collaboration", NS)
    owner = owner if owner is not None else root.find("bpmn:process", NS)
    assert owner is not None and plane.get("bpmnElement") == owner.get("id")


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_flow_node_shapes_do_not_overlap(path: Path) -> None:
    root = _laid_out(path)
    boxes = _boxes(root)
    attached = {(el.get("id"), el.get("attachedToRef")) for el in root.iterfind(".//bpmn:boundaryEvent", NS)}
    for a, b in itertools.combinations(sorted(el.get("id", "") for el in _flow_nodes(root)), 2):
        if (a, b) in attached or (b, a) in attached:
            continue  # a boundary event sits on its task's edge on purpose
        p, q = boxes[a], boxes[b]
        # bpmnlint's no-overlapping-elements counts touching edges as a collision too.
        assert p[2] < q[0] or q[2] < p[0] or p[3] < q[1] or q[3] < p[1], f"{a} overlaps {b}"


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_each_node_lies_in_its_lane_band_and_in_its_pool(path: Path) -> None:
    root = _laid_out(path)
    boxes = _boxes(root)
    for process in root.iterfind("bpmn:process", NS):
        lanes = [lane for lane in process.iter() if _local(lane) == "lane"]
        for lane in lanes:
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                assert _inside(boxes[ref.text or ""], boxes[lane.get("id", "")]), (ref.text, lane.get("id"))
        # Top-level lanes are horizontal bands stacked in document order, one against the next.
        top = [lane for lane in lanes if _local(lane.getparent().getparent()) == "process"]
        for upper, lower in itertools.pairwise(top):
            assert boxes[upper.get("id", "")][3] == boxes[lower.get("id", "")][1]
        for pool in root.iterfind(
            f"bpmn:collaboration/bpmn:participant[@processRef='{process.get('id')}']", NS
        ):
            for el in lanes + [n for n in process if _is_flow_node(n)]:
                assert _inside(boxes[el.get("id", "")], boxes[pool.get("id", "")]), el.get("id")
            if top:  # the lanes fill the pool, right of its name strip
                assert boxes[top[0].get("id", "")][1] == boxes[pool.get("id", "")][1]
                assert boxes[top[-1].get("id", "")][3] == boxes[pool.get("id", "")][3]


def _on_border(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    inside = box[0] <= x <= box[2] and box[1] <= y <= box[3]
    return inside and (x in (box[0], box[2]) or y in (box[1], box[3]))


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_edges_are_orthogonal_and_start_and_end_on_their_shapes(path: Path) -> None:
    root = _laid_out(path)
    boxes, di = _boxes(root), _di_of(root)
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        points = _waypoints(di[flow.get("id", "")][0])
        assert len(points) >= 2
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            assert x1 == x2 or y1 == y2, f"{flow.get('id')} has a diagonal segment"
        assert _on_border(points[0], boxes[flow.get("sourceRef", "")]), flow.get("id")
        assert _on_border(points[-1], boxes[flow.get("targetRef", "")]), flow.get("id")


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_edges_do_not_run_through_other_shapes(path: Path) -> None:
    root = _laid_out(path)
    boxes, di = _boxes(root), _di_of(root)
    nodes = [el.get("id", "") for el in _flow_nodes(root)]
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        for (x1, y1), (x2, y2) in itertools.pairwise(_waypoints(di[flow.get("id", "")][0])):
            for n in nodes:
                if n in ends:
                    continue
                b = boxes[n]
                crosses = (
                    min(x1, x2) < b[2] and max(x1, x2) > b[0] and min(y1, y2) < b[3] and max(y1, y2) > b[1]
                )
                assert not crosses, f"{flow.get('id')} runs through {n}"


def test_the_loop_back_runs_below_the_nodes_it_passes() -> None:
    root = _laid_out(SAMPLE)
    boxes = _boxes(root)
    points = _waypoints(_di_of(root)["f_return"][0])
    lowest = max(y for _, y in points)
    left, right = min(x for x, _ in points), max(x for x, _ in points)
    passed = [
        b
        for n, b in boxes.items()
        if n in {el.get("id") for el in _flow_nodes(root)} and left <= b[0] <= right
    ]
    assert passed and all(lowest > b[3] for b in passed)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_layout_is_stable(path: Path) -> None:
    once = layout_bpmn(path.read_bytes())
    assert layout_bpmn(path.read_bytes()) == once
    assert layout_bpmn(once) == once


def test_the_sample_is_committed_as_the_tool_lays_it_out() -> None:
    # If this fails after a change to the tool: python -m workflows.layout tests/data/bpmn/layout_sample.bpmn
    assert layout_bpmn(SAMPLE.read_bytes()) == SAMPLE.read_bytes()


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_semantics_are_unchanged(path: Path) -> None:
    original = path.read_bytes()
    assert _semantics(layout_bpmn(original), refs=False) == _semantics(original, refs=False)


def test_incoming_and_outgoing_refs_are_written_from_the_flows() -> None:
    """Hand-written semantics carry no refs (nor DI): the tool adds exactly those the sample holds."""
    written_by_hand = _without_di(SAMPLE.read_bytes(), refs=False)
    assert b"<bpmn:incoming>" not in written_by_hand
    out = layout_bpmn(written_by_hand)
    assert _semantics(out) == _semantics(SAMPLE.read_bytes())
    assert out == SAMPLE.read_bytes()
    # The spiffworkflow extensions, the condition and its namespaced xsi:type survive untouched.
    assert out.count(b'<spiffworkflow:property name="formKey" value="approval"/>') == 3
    assert b'xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>' in out


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_spiffworkflow_still_parses_the_output(path: Path) -> None:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(layout_bpmn(path.read_bytes()))
    for process_id in parser.get_process_ids():
        assert parser.get_spec(process_id) is not None


def test_spiffworkflow_reads_the_sample_as_written() -> None:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(layout_bpmn(_without_di(SAMPLE.read_bytes(), refs=False)))
    spec = parser.get_spec("layout_sample")
    assert spec.task_specs["prepare_plan"].extensions == {"properties": {"formKey": "approval"}}
    assert spec.task_specs["leadership_approval"].lane == "leadership"
    assert type(spec.task_specs["opinion_overdue"]).__name__ == "BoundaryEvent"


def test_cli_rewrites_each_file_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.bpmn", tmp_path / "b.bpmn"
    first.write_bytes(_without_di(SAMPLE.read_bytes(), refs=False))
    second.write_bytes((DATA / "round_like.bpmn").read_bytes())
    assert main([str(first), str(second)]) == 0
    assert first.read_bytes() == SAMPLE.read_bytes()
    assert second.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(first)) and "17 shapes, 13 edges" in lines[0]
    assert main([]) == 2
