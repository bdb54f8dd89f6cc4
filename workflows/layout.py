"""Deterministic auto-layout: generate the BPMNDI of a BPMN document whose semantics were written by hand.

bpmn-js and the Camunda modeler draw a diagram only from its BPMNDI, and bpmnlint requires it. The tool
replaces any ``bpmndi:BPMNDiagram`` with a fresh one and rewrites each flow node's ``bpmn:incoming`` /
``bpmn:outgoing`` refs: they only repeat the flows' sourceRef/targetRef, but bpmn-moddle (so bpmnlint and
the modelers) reads connectivity from them alone. Nodes go in columns by longest-path rank from the start
events (DFS back edges ignored), in their lane's band, stacked when they share a lane and a column.
Edges are orthogonal: the first simple route that crosses no shape, else one through the gaps between
columns and a channel under the nodes.

Usage: python -m workflows.layout FILE.bpmn [FILE ...]   (rewrites each file in place)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from lxml import etree
from lxml.etree import _Element as Element

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = {
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
Point = tuple[int, int]

EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
TASKS = {"task", "userTask", "scriptTask", "serviceTask", "manualTask", "sendTask", "receiveTask"}
ACTIVITIES = TASKS | SUBPROCESSES | {"businessRuleTask", "callActivity"}
KIND = {
    n: kind
    for kind, names in (("event", EVENTS), ("gateway", GATEWAYS), ("activity", ACTIVITIES))
    for n in names
}
SIZE = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}
# Children a flow node may have before bpmn:incoming in the XSD sequence (tBaseElement, tFlowElement):
# the refs must go after them or SpiffWorkflow's schema validation rejects the file.
LEADING = {"documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef"}

ORIGIN = (160, 80)  # where the first pool starts, as the Camunda modeler places it
STRIP = 30  # the name strip bpmn-js draws on the left of a pool and of each lane
LEFT = 50  # room before the first column and after the last one
HGAP = 80  # between columns; vertical edge segments run here, so it never holds a shape
ROW = 140  # one stacked node: a task (80), its boundary events (18 below) and their labels
PAD_TOP, PAD_BOTTOM = 10, 20
CHANNEL = 14  # spacing of the horizontal tracks under a band's nodes that back edges use
CHANNEL_TOP = 24  # first track: clear of the paths leaving boundary events (EXIT below them)
EXIT = 20  # how far a boundary event's flow drops before it turns
POOL_GAP = 40
BLACK_BOX = 60  # height of a participant without a process
MARGIN = 4  # clearance an edge keeps from shapes it does not connect


@dataclass
class Box:
    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        self.cx, self.cy = self.x + self.w // 2, self.y + self.h // 2
        self.right, self.bottom = self.x + self.w, self.y + self.h

    def hit(self, a: Point, b: Point) -> bool:
        """Whether the axis-parallel segment a-b passes through this box or too close to it."""
        (x1, x2), (y1, y2), m = sorted((a[0], b[0])), sorted((a[1], b[1])), MARGIN
        return x2 > self.x - m and x1 < self.right + m and y2 > self.y - m and y1 < self.bottom + m


def _local(el: Element) -> str:
    """The BPMN local name of el, or '' for comments and foreign (extension) elements."""
    if not isinstance(el.tag, str):
        return ""
    name = etree.QName(el)
    return name.localname if name.namespace == BPMN else ""


def _kind(el: Element) -> str:
    """'event', 'gateway' or 'activity' for the flow nodes laid out, '' for anything else."""
    return KIND.get(_local(el), "")


def _flows(container: Element, ids: Iterable[str]) -> list[tuple[str, str, str]]:
    known = set(ids)
    return [
        (f.get("id", ""), f.get("sourceRef", ""), f.get("targetRef", ""))
        for f in container
        if _local(f) == "sequenceFlow" and f.get("sourceRef") in known and f.get("targetRef") in known
    ]


def _sync_refs(container: Element) -> None:
    """Rewrite every flow node's incoming/outgoing refs from the sequence flows, recursing into sub-processes."""
    nodes = [el for el in container if _kind(el)]
    flows = _flows(container, (el.get("id", "") for el in nodes))
    for node in nodes:
        for ref in [c for c in node if _local(c) in ("incoming", "outgoing")]:
            node.remove(ref)
        pos = max((i + 1 for i, c in enumerate(node) if _local(c) in LEADING), default=0)
        refs = [("incoming", f) for f, _, t in flows if t == node.get("id")]
        refs += [("outgoing", f) for f, s, _ in flows if s == node.get("id")]
        for offset, (tag, fid) in enumerate(refs):
            etree.SubElement(node, f"{{{BPMN}}}{tag}").text = fid
            node.insert(pos + offset, node[-1])
        if _local(node) in SUBPROCESSES:
            _sync_refs(node)


def _rank(
    kinds: dict[str, Element], host: dict[str, str], flows: list[tuple[str, str, str]]
) -> tuple[dict[str, int], set[str]]:
    """Longest-path column of every node, and the back edges (found by DFS from the start events)."""
    succ: dict[str, list[tuple[str, str]]] = {n: [] for n in kinds if n not in host}
    for fid, s, t in flows:  # a boundary event's flows leave from its host's column
        succ[host.get(s, s)].append((fid, host.get(t, t)))
    starts = [n for n in succ if _local(kinds[n]) == "startEvent"]
    state: dict[str, int] = {}  # 1 while on the DFS stack, 2 when finished
    post: list[str] = []
    back: set[str] = set()

    def visit(node: str) -> None:  # recursion depth is the longest path: fine for hand-written diagrams
        state[node] = 1
        for fid, t in succ[node]:
            if state.get(t) == 1:
                back.add(fid)
            elif t not in state:
                visit(t)
        state[node] = 2
        post.append(node)

    for root in starts + list(succ):
        if root not in state:
            visit(root)
    rank = dict.fromkeys(succ, 0)
    for n in reversed(post):  # reverse DFS postorder is a topological order once back edges are dropped
        for fid, t in succ[n]:
            if fid not in back:
                rank[t] = max(rank[t], rank[n] + 1)
    rank.update({b: rank[h] for b, h in host.items()})
    return rank, back


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle of straight runs, so equal routes give equal waypoints."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out


def _text_size(name: str) -> tuple[int, int]:
    """Estimated size of an external label: bpmn-js wraps them at 90px in an 11px font."""
    width = sum(11 if ord(c) >= 0x2E80 else 6 for c in name)  # CJK glyphs are about twice as wide
    lines = max(1, -(-width // 90))
    return min(max(width, 10), 90), 14 + 13 * (lines - 1)


@dataclass
class _Lane:
    el: Element
    depth: int  # nesting level: a child lane is drawn inside its parent, right of the parent's name strip
    first: int  # first and last band (leaf lane) it covers
    last: int


def _lanes(process: Element) -> tuple[list[_Lane], dict[str, int], int]:
    """The lanes in document order, the band of each listed node and the number of bands (leaf lanes)."""
    lanes: list[_Lane] = []
    band_of: dict[str, int] = {}
    count = 0

    def walk(lane_set: Element, depth: int) -> None:
        nonlocal count
        for el in (c for c in lane_set if _local(c) == "lane"):
            lane = _Lane(el, depth, count, count)
            lanes.append(lane)
            # A node listed by a lane and by its child lane belongs to the child, visited later.
            for ref in el:
                if _local(ref) == "flowNodeRef" and ref.text:
                    band_of[ref.text.strip()] = count
            before = count
            for child in el:
                if _local(child) == "childLaneSet":
                    walk(child, depth + 1)
            count += count == before  # a leaf lane is a band of its own
            lane.last = count - 1

    for lane_set in process:
        if _local(lane_set) == "laneSet":
            walk(lane_set, 0)
    return lanes, band_of, count


class _FlowLayout:
    """Places the flow nodes of one process or sub-process in columns and bands, then routes its flows."""

    def __init__(self, container: Element, band_of: dict[str, int], n_bands: int, left: int, top: int):
        self.container = container
        els = {el.get("id", ""): el for el in container if _kind(el)}
        self.kinds = {n: _kind(el) for n, el in els.items()}
        self.host = {
            n: el.get("attachedToRef", "")
            for n, el in els.items()
            if _local(el) == "boundaryEvent" and self.kinds.get(el.get("attachedToRef", "")) == "activity"
        }
        self.flows = _flows(container, els)
        self.rank, self.back = _rank(els, self.host, self.flows)
        self.looped = {n for f, s, t in self.flows if f in self.back for n in (s, t)}
        self.band = {n: band_of.get(self.host.get(n, n), 0) for n in els}
        self.n_bands, self.top = n_bands, top
        self._stack()
        self.colw = [0] * (max(self.rank.values(), default=-1) + 1)
        for n, k in self.kinds.items():
            self.colw[self.rank[n]] = max(self.colw[self.rank[n]], 0 if n in self.host else SIZE[k][0])
        self.col_left = [left + LEFT + sum(self.colw[:r]) + HGAP * r for r in range(len(self.colw))]
        self.left = left

    def _stack(self) -> None:
        """Give every node a row (slot) in its (band, column) cell."""
        order = {n: i for i, n in enumerate(self.kinds)}
        preds = {n: [s for f, s, t in self.flows if t == n and f not in self.back] for n in self.kinds}
        self.slot: dict[str, int] = {}
        cells: dict[tuple[int, int], set[int]] = {}
        pos: dict[str, tuple[int, float]] = {}  # where each placed node sits, to order the next column by
        for r in sorted(set(self.rank.values())):
            column = [n for n in self.kinds if self.rank[n] == r and n not in self.host]
            column.sort(
                key=lambda n: (min((pos[p] for p in preds[n] if p in pos), default=(-1, -1.0)), order[n])
            )
            for n in column:
                # Keep the row of the first predecessor in the same lane, so chains run straight; the path
                # leaving a boundary event starts a row below its task, the way exception paths are drawn.
                same = [p for p in preds[n] if self.band[p] == self.band[n]]
                want = 0
                if same:
                    want = self.slot[self.host[same[0]]] + 1 if same[0] in self.host else self.slot[same[0]]
                taken = cells.setdefault((self.band[n], r), set())
                self.slot[n] = min(set(range(want, want + len(taken) + 1)) - taken)
                taken.add(self.slot[n])
                pos[n] = (self.band[n], float(self.slot[n]))
                pos.update({b: (self.band[n], self.slot[n] + 0.5) for b, h in self.host.items() if h == n})
        self.rows = [
            1 + max((s for (b, _), cell in cells.items() if b == i for s in cell), default=0)
            for i in range(self.n_bands)
        ]

    def run(self) -> _FlowLayout:
        channels = [0] * self.n_bands
        while True:
            # Routing tells how many channels each band needs. Channels only add free space under the
            # nodes, so a rerun routes the same way; taking the maximum makes the loop end regardless.
            self._place(channels)
            self.used = [0] * self.n_bands
            self.edges = {f: _simplify(self._route(f, s, t)) for f, s, t in self.flows}
            if all(u <= c for u, c in zip(self.used, channels, strict=True)):
                self.right = max((b.right for b in self.boxes.values()), default=self.left + LEFT)
                return self
            channels = [max(u, c) for u, c in zip(self.used, channels, strict=True)]

    def _place(self, channels: list[int]) -> None:
        self.bands: list[tuple[int, int]] = []
        y = self.top
        for rows, ch in zip(self.rows, channels, strict=True):
            self.bands.append((y, PAD_TOP + rows * ROW + ch * CHANNEL + PAD_BOTTOM))
            y += self.bands[-1][1]
        boxes: dict[str, Box] = {}
        for n, kind in self.kinds.items():
            if n not in self.host:
                w, h = SIZE[kind]
                cx = self.col_left[self.rank[n]] + self.colw[self.rank[n]] // 2
                cy = self.bands[self.band[n]][0] + PAD_TOP + self.slot[n] * ROW + ROW // 2
                boxes[n] = Box(cx - w // 2, cy - h // 2, w, h)
        # Boundary events sit on the bottom edge of their task from the right, leaving the bottom centre
        # free for loops that leave the task downwards.
        nth: dict[str, int] = {}
        for b, h in self.host.items():
            nth[h] = nth.get(h, -1) + 1
            boxes[b] = Box(boxes[h].right - 38 - 42 * nth[h], boxes[h].bottom - 18, 36, 36)
        self.boxes = {n: boxes[n] for n in self.kinds}

    def _route(self, fid: str, s: str, t: str) -> list[Point]:
        """Orthogonal waypoints: the first simple route that crosses no shape, else one through the gaps."""
        S, T = self.boxes[s], self.boxes[t]
        gs = self.col_left[self.rank[s]] + self.colw[self.rank[s]] + HGAP // 2  # gap right of the source
        gt = self.col_left[self.rank[t]] - HGAP // 2  # gap left of the target
        cb = max(self.band[s], self.band[t])  # the channel under the lower of the two lanes
        cy = self.bands[cb][0] + PAD_TOP + self.rows[cb] * ROW + CHANNEL_TOP + CHANNEL * self.used[cb]
        # A boundary event's flows leave downwards: its other sides lie on (or along) its task.
        out = [(S.cx, S.bottom), (S.cx, S.bottom + EXIT)] if s in self.host else [(S.right, S.cy)]
        into = [(gt, T.cy), (T.x, T.cy)]
        tries: list[list[Point]] = []
        if fid in self.back:  # loops go down to the channel, then back and up: never through the nodes
            if T.cx < S.cx:
                tries.append([(S.cx, S.bottom), (S.cx, cy), (T.cx, cy), (T.cx, T.bottom)])
            tries.append([(S.cx, S.bottom), (S.cx, cy), (gt, cy), *into])
        elif s in self.host:
            if T.cy > S.bottom:
                tries.append([(S.cx, S.bottom), (S.cx, T.cy), (T.x, T.cy)])
            tries.append([*out, (gs, out[-1][1]), (gs, T.cy), (T.x, T.cy)])
        elif S.cy == T.cy:
            tries.append([(S.right, S.cy), (T.x, T.cy)])
        else:
            # A split leaves by the corner facing the branch, a join is entered by it; except the bottom
            # corner of a node a loop leaves or enters there, so that two edges never share it.
            down = T.cy > S.cy
            if self.kinds[s] == "gateway" and not (down and s in self.looped):
                tries.append([(S.cx, S.bottom if down else S.y), (S.cx, T.cy), (T.x, T.cy)])
            if self.kinds[t] == "gateway" and (down or t not in self.looped):
                tries.append([(S.right, S.cy), (T.cx, S.cy), (T.cx, T.y if down else T.bottom)])
            tries.append([(S.right, S.cy), (gt, S.cy), *into])
            tries.append([(S.right, S.cy), (gs, S.cy), (gs, T.cy), (T.x, T.cy)])
        others = [box for n, box in self.boxes.items() if n not in (s, t)]
        for points in tries:
            if not any(box.hit(a, b) for a, b in pairwise(points) for box in others):
                self.used[cb] += fid in self.back
                return points
        # Vertical runs in the gaps between columns and the channel under the nodes are always free.
        self.used[cb] += 1
        return [*out, (gs, out[-1][1]), (gs, cy), (gt, cy), *into]


def _di(tag: str, ns: str = "bpmndi") -> str:
    return f"{{{DI_NS[ns]}}}{tag}"


def _bounds(parent: Element, box: Box) -> None:
    size = {"x": box.x, "y": box.y, "width": box.w, "height": box.h}
    etree.SubElement(parent, _di("Bounds", "dc"), {k: str(v) for k, v in size.items()})


def _shape(plane: Element, el: Element, box: Box, label: Box | None = None, **attrs: str) -> None:
    el_id = el.get("id", "")
    shape = etree.SubElement(plane, _di("BPMNShape"), id=f"{el_id}_di", bpmnElement=el_id, **attrs)
    _bounds(shape, box)
    if label is not None:
        _bounds(etree.SubElement(shape, _di("BPMNLabel")), label)


def _draw_flow(plane: Element, lay: _FlowLayout) -> list[Element]:
    """Add a laid-out container's shapes and edges; returns its sub-processes (each gets a plane of its own)."""
    subs: list[Element] = []
    for el in lay.container:
        name, kind, local = (el.get("name") or "").strip(), _kind(el), _local(el)
        if kind:
            box = lay.boxes[el.get("id", "")]
            label = None
            if name and kind != "activity":  # event labels go below; gateway labels above, clear of splits
                w, h = _text_size(name)
                label = Box(box.cx - w // 2, box.y - 5 - h if kind == "gateway" else box.bottom + 5, w, h)
            attrs = {"isMarkerVisible": "true"} if local == "exclusiveGateway" else {}
            if local in SUBPROCESSES:  # drawn collapsed; bpmn-js drills down into its own plane
                attrs, subs = {"isExpanded": "false"}, [*subs, el]
            _shape(plane, el, box, label, **attrs)
        elif local == "sequenceFlow" and el.get("id") in lay.edges:
            fid = el.get("id", "")
            edge = etree.SubElement(plane, _di("BPMNEdge"), id=f"{fid}_di", bpmnElement=fid)
            for x, y in lay.edges[fid]:
                etree.SubElement(edge, _di("waypoint", "di"), x=str(x), y=str(y))
    return subs


def _draw_pools(plane: Element, pools: list[tuple[Element | None, Element | None]]) -> list[Element]:
    """Lay out (participant, process) pairs as pools stacked top to bottom, all as wide as the widest."""
    x, y = ORIGIN
    measured: list[tuple[Element | None, list[_Lane], _FlowLayout | None, int, int]] = []
    for part, process in pools:
        if process is None:  # a black-box participant: an empty pool
            measured.append((part, [], None, y, BLACK_BOX))
            y += BLACK_BOX + POOL_GAP
            continue
        lanes, band_of, n_bands = _lanes(process)
        depth = max((lane.depth + 1 for lane in lanes), default=0)
        strips = depth + (part is not None)  # nodes stay clear of the pool's and lanes' name strips
        lay = _FlowLayout(process, band_of, max(n_bands, 1), x + STRIP * strips, y).run()
        height = sum(h for _, h in lay.bands)
        measured.append((part, lanes, lay, y, height))
        y += height + POOL_GAP
    right = max((m[2].right for m in measured if m[2] is not None), default=x + 600) + LEFT
    subs: list[Element] = []
    for part, lanes, flow, top, height in measured:
        if part is not None:
            _shape(plane, part, Box(x, top, right - x, height), isHorizontal="true")
        if flow is None:
            continue
        for lane in lanes:
            lx = x + STRIP * (lane.depth + (part is not None))
            ly = flow.bands[lane.first][0]
            lh = sum(h for _, h in flow.bands[lane.first : lane.last + 1])
            _shape(plane, lane.el, Box(lx, ly, right - lx, lh), isHorizontal="true")
        subs += _draw_flow(plane, flow)
    return subs


def layout_bpmn(xml: bytes) -> bytes:
    """Return the document with a freshly generated BPMNDI diagram (pretty-printed, UTF-8)."""
    parser = etree.XMLParser(remove_blank_text=True, strip_cdata=False, resolve_entities=False)
    root = etree.fromstring(xml, parser)
    keep = sorted({p for el in root.iter() if isinstance(el.tag, str) for p in el.nsmap if p})
    for old in root.findall(_di("BPMNDiagram")):
        root.remove(old)
    processes = {el.get("id", ""): el for el in root if _local(el) == "process"}
    for process in processes.values():
        _sync_refs(process)
    diagrams: list[Element] = []

    def plane_on(element: Element) -> Element:
        n = len(diagrams) + 1
        diagrams.append(etree.Element(_di("BPMNDiagram"), id=f"BPMNDiagram_{n}"))
        plane_id, target = f"BPMNPlane_{n}", element.get("id", "")
        return etree.SubElement(diagrams[-1], _di("BPMNPlane"), id=plane_id, bpmnElement=target)

    collaboration = next((el for el in root if _local(el) == "collaboration"), None)
    if collaboration is not None:
        pools = [
            (p, processes.get(p.get("processRef", ""))) for p in collaboration if _local(p) == "participant"
        ]
        todo = _draw_pools(plane_on(collaboration), pools)
    else:  # without a collaboration each process gets its own diagram
        todo = [sub for p in processes.values() for sub in _draw_pools(plane_on(p), [(None, p)])]
    while todo:
        sub = todo.pop(0)
        todo += _draw_flow(plane_on(sub), _FlowLayout(sub, {}, 1, ORIGIN[0], ORIGIN[1]).run())
    # BPMNDiagram follows the root elements in the XSD sequence (only bpmn:relationship comes after).
    at = next((i for i, el in enumerate(root) if _local(el) == "relationship"), len(root))
    for offset, diagram in enumerate(diagrams):
        root.insert(at + offset, diagram)
    for el in root.iter():  # whitespace between child elements means nothing; it would stop re-indenting
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    missing = {p: u for p, u in DI_NS.items() if u not in root.nsmap.values() and p not in root.nsmap}
    # Keep every declared prefix: QName values such as xsi:type="bpmn:tFormalExpression" may use them.
    etree.cleanup_namespaces(root, top_nsmap=missing, keep_ns_prefixes=keep)
    body = etree.tostring(root.getroottree(), pretty_print=True, encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m workflows.layout FILE.bpmn [FILE ...]", file=sys.stderr)
        return 2
    for path in paths:
        out = layout_bpmn(path.read_bytes())
        path.write_bytes(out)
        print(f"{path}: laid out {out.count(b'BPMNShape ')} shapes, {out.count(b'BPMNEdge ')} edges")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
