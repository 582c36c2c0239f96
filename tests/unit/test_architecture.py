"""Imports point down only (DESIGN.md, Architecture): a change that breaks the layering fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Which top-level packages each package may import.
ALLOWED = {
    "kernel": {"kernel"},
    "policies": {"kernel", "policies"},
    "notify": {"kernel", "policies", "notify"},
    "pilot": {"kernel", "policies", "notify", "pilot"},
    "api": {"kernel", "policies", "notify", "pilot", "api"},
    "workers": {"kernel", "policies", "notify", "pilot", "workers"},
}
PROJECT = {"kernel", "policies", "notify", "pilot", "api", "workers", "vila"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - ALLOWED[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) - ALLOWED[package]
    }
    assert offenders == {}, f"{package} imports upwards: {offenders}"


def test_the_pure_engine_does_no_io() -> None:
    """The decision core imports the standard library, pytz and its own value types, nothing else."""
    allowed = {
        "__future__",
        "bisect",
        "collections",
        "dataclasses",
        "datetime",
        "functools",
        "math",
        "typing",
        "uuid",
        "pytz",
        "policies",
        "itertools",
        "heapq",
        "enum",
        "operator",
    }
    pure_modules = {"kernel.vocabulary"}  # the shared words as types: imports only typing (below)
    for path in [
        *(ROOT / "policies" / n for n in ("engine.py", "types.py", "rules.py", "calendar.py")),
        *(ROOT / (m.replace(".", "/") + ".py") for m in pure_modules),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [node.names[0]])
        }
        outside = {m for m in modules if m not in pure_modules and m.split(".")[0] not in allowed}
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"
