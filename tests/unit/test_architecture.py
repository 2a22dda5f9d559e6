"""Layering rules that keep the core GUI-free."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "console"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_console_ui_imports_pyside6():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "ui":
            continue
        if any(n == "PySide6" or n.startswith("PySide6.") for n in _imports(path)):
            offenders.append(str(rel))
    assert offenders == [], f"PySide6 imported outside console/ui: {offenders}"


def test_domain_does_no_io_imports():
    forbidden = {"requests", "gql", "paramiko", "sqlite3", "keyring", "socket"}
    offenders = []
    for path in (ROOT / "domain").rglob("*.py"):
        bad = {n.split(".")[0] for n in _imports(path)} & forbidden
        if bad:
            offenders.append((path.name, sorted(bad)))
    assert offenders == []


def test_the_architecture_test_sees_files():
    assert len(list(ROOT.rglob("*.py"))) > 5
