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
# tools (benchmarks and stand-ins) is not product code: no product package may import it.
PROJECT = {"kernel", "policies", "notify", "pilot", "api", "workers", "vila", "tools"}


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


# What the pure core may import: the standard library's computing modules, pytz and the pure
# calendar libraries (parsing iCal text and knowing Sweden's holidays are computations, not I/O).
PURE_IMPORTS = {
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "heapq",
    "itertools",
    "math",
    "operator",
    "typing",
    "uuid",
    "pytz",
    "icalendar",
    "recurring_ical_events",
    "holidays",
}
PURE_CORE = ROOT / "policies" / "core"
PURE_MODULES = {"kernel.vocabulary"}  # the shared words as types: imports only typing


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.relative_to(ROOT)}: relative import"
            found.add(node.module or "")
    return found


def _pure_files() -> list[Path]:
    return [
        *sorted(PURE_CORE.rglob("*.py")),
        *(ROOT / (m.replace(".", "/") + ".py") for m in PURE_MODULES),
    ]


def test_the_pure_core_is_every_file_it_should_be() -> None:
    """The walk below covers the decision engine, its types and rules, the wall-clock and rotation
    maths, rest periods and iCal parsing: moving one of them out of the core would fail here."""
    names = {path.stem for path in PURE_CORE.rglob("*.py")}
    assert {"engine", "types", "rules", "wallclock", "rotation", "rest_periods", "ical"} <= names


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pure_core_does_no_io(path: Path) -> None:
    """Every file of the pure core imports only computing modules and the core itself."""
    outside = {
        module
        for module in _imported_modules(path)
        if module not in PURE_MODULES
        and not module.startswith("policies.core")
        and module.split(".")[0] not in PURE_IMPORTS
    }
    assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_the_pure_core_check_catches_io(tmp_path: Path) -> None:
    """The check itself fails on a module that reaches for the database or the network."""
    module = tmp_path / "leaky.py"
    module.write_text("import socket\nfrom sqlalchemy import select\nfrom policies.models import Shift\n")
    found = _imported_modules(module)
    outside = {m for m in found if not m.startswith("policies.core") and m.split(".")[0] not in PURE_IMPORTS}
    assert outside == {"socket", "sqlalchemy", "policies.models"}
