"""The layers import one way: models/ knows nothing of webapp/ or workflows/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_models_import_nothing_from_webapp_or_workflows():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in {"webapp", "workflows"}
        )
        for path in (ROOT / "models").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_models_never_read_request_globals():
    for path in (ROOT / "models").rglob("*.py"):
        for module in imported_modules(path):
            assert module not in {"flask", "flask_login"}, f"{path.name} imports {module}"


def test_only_the_request_lifecycle_and_the_commands_end_a_transaction():
    """The domain, the workflow layer and the blueprints flush; a request's one commit is the
    lifecycle's (webapp/lifecycle.py), a command's its own (cli, worker, simulation, benchmarks)."""
    ending = ("session.commit(", "session.rollback(")
    blueprints = [p for p in (ROOT / "webapp").iterdir() if p.is_dir() and (p / "views.py").exists()]
    checked = [ROOT / "webapp" / "domain", ROOT / "workflows", *blueprints]
    offenders = sorted(
        str(path.relative_to(ROOT))
        for folder in checked
        for path in folder.rglob("*.py")
        if any(call in path.read_text(encoding="utf-8") for call in ending)
    )
    assert len(blueprints) >= 10 and offenders == []
