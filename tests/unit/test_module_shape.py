"""Each product module says in its opening docstring what it owns, and stays small enough to own one
concern (STYLE.md, Size and names: past ~400 lines a module usually holds two)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "policies", "notify", "api", "workers")
MAX_LINES = 400


def _modules() -> list[Path]:
    """Every module of the product packages; generated migrations aside."""
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_walk_finds_the_packages() -> None:
    names = {_name(path) for path in _modules()}
    assert {
        "kernel/db.py",
        "policies/core/types.py",
        "notify/models.py",
        "api/main.py",
        "workers/celery_app.py",
    } <= names
    assert not any("/migrations/" in name for name in names)


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_module_opens_with_what_it_owns(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and docstring.strip(), f"{_name(path)} does not say what it owns"


def test_modules_stay_within_the_limit() -> None:
    over = sorted(f"{_name(path)} ({_lines(path)} lines)" for path in _modules() if _lines(path) > MAX_LINES)
    assert not over, f"over {MAX_LINES} lines: {over}"
