"""Every Swedish and English text lives in one catalog with one lookup (`kernel.i18n.text`): a key
the code asks for exists in both languages, and no two areas define the same key (one would
silently show the other's words)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from api.web import i18n as web
from kernel import i18n
from kernel.i18n import admin, codes, errors, fleet, messaging, notices, rest_records, staff_app, statement

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = {
    "api.web.i18n": web._TEXTS,
    **{
        m.__name__: m.TEXTS
        for m in (admin, codes, errors, fleet, messaging, notices, rest_records, staff_app, statement)
    },
}


def _keys_asked_for() -> dict[str, str]:
    """Each literal key given to `kernel.i18n`'s `text()` or `both()` in the product, with where."""
    asked: dict[str, str] = {}
    for package in ("kernel", "policies", "notify", "api", "workers"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            lookups = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "kernel.i18n"
                for alias in node.names
                if alias.name in {"text", "both"}
            }
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in lookups
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    asked[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return asked


def test_every_key_the_code_asks_for_is_written_in_both_languages() -> None:
    asked = _keys_asked_for()
    assert "notice.recall.body" in asked  # the walk finds the lookups
    missing = {key: where for key, where in asked.items() if key not in i18n.CATALOG}
    assert not missing, f"no text for {missing}"
    empty = [key for key in asked if not all(i18n.CATALOG[key])]
    assert not empty, f"a language is missing for {empty}"


def test_no_key_is_defined_in_two_catalogs() -> None:
    owner: dict[str, str] = {}
    twice = []
    for name, texts in CATALOGS.items():
        for key in texts:
            if key in owner:
                twice.append(f"{key}: {owner[key]} and {name}")
            owner[key] = name
    assert not twice, twice


@pytest.mark.parametrize(
    ("language", "expected"), [("sv", "Återkallat: Möte"), ("en", "Recalled: Möte"), (None, "Återkallat: Möte")]
)
def test_the_lookup_speaks_swedish_unless_english_is_asked_for(language: str | None, expected: str) -> None:
    assert i18n.text("notice.recall.title", language, title="Möte") == expected
    assert i18n.both("notice.recall.title", title="Möte") == ("Återkallat: Möte", "Recalled: Möte")
