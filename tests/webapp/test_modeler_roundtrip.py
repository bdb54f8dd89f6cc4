"""The modeler reads and writes every diagram losslessly: each of workflows/*.bpmn and the test
diagrams, read and written back by bpmn-moddle with the modeler's spiffworkflow extension and its
stand-ins for loopDataInputRef (tests/js/roundtrip.mjs, run with Node as `make assets` installed it),
is the same document — every extension element, property, script and collection kept. The browser
test (tests/browser/test_modeler.py) does the same through the page itself for one diagram."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = sorted(ROOT.glob("workflows/*.bpmn")) + sorted(ROOT.glob("tests/data/bpmn/*.bpmn"))


def canonical(node) -> tuple:
    """The element as nested (tag, attributes, text, children), whitespace and attribute order aside."""
    children = tuple(canonical(c) for c in node if isinstance(c.tag, str))
    return (node.tag, tuple(sorted(node.attrib.items())), (node.text or "").strip(), children)


def first_difference(a: tuple, b: tuple, path: str = "") -> str:
    here = f"{path}/{etree.QName(a[0]).localname}"
    if a[:3] != b[:3]:
        return f"{here}: {a[:3]} ≠ {b[:3]}"
    if len(a[3]) != len(b[3]):
        return f"{here}: children {[etree.QName(c[0]).localname for c in a[3]]} ≠ {[etree.QName(c[0]).localname for c in b[3]]}"
    return next((d for x, y in zip(a[3], b[3], strict=True) if (d := first_difference(x, y, here))), "")


def test_every_diagram_is_written_back_as_it_was_read():
    node = shutil.which("node")
    assert node, "Node.js is needed (the README's requirements): it builds and tests the modeler"
    assert (ROOT / "node_modules" / "bpmn-moddle").is_dir(), "run `make assets` first (npm ci)"
    assert len(DIAGRAMS) > 9
    result = subprocess.run(  # noqa: S603 - our own script over our own files
        [node, "tests/js/roundtrip.mjs", *(str(p.relative_to(ROOT)) for p in DIAGRAMS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)
    for path in DIAGRAMS:
        before = canonical(etree.parse(str(path)).getroot())
        after = canonical(etree.fromstring(written[str(path.relative_to(ROOT))].encode("utf-8")))
        assert before == after, f"{path.name}: {first_difference(before, after)}"
