"""Every Swedish and English text lives in one catalog with one lookup (`kernel.i18n.text`): a key
the code asks for exists in both languages, and no two areas define the same key (one would
silently show the other's words)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kernel import i18n

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = {area.__name__: area.TEXTS for area in i18n.AREAS}


def _keys_asked_for() -> dict[str, str]:
    """Each literal key given to `kernel.i18n`'s `text()` or `both()` in the product, with where."""
    asked: dict[str, str] = {}
    for package in ("kernel", "policies", "notify", "api", "workers", "pilot"):
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
    assert "survey.reminder.title" in asked  # the pilot's too
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


def test_every_catalog_module_is_read_by_the_lookup() -> None:
    """A catalog file added beside the others but not listed would be words nobody can look up."""
    files = {p.stem for p in (ROOT / "kernel" / "i18n").glob("*.py")} - {"__init__"}
    assert files == {area.__name__.rsplit(".", 1)[1] for area in i18n.AREAS}
    assert len(i18n.CATALOG) == sum(len(texts) for texts in CATALOGS.values())


def test_no_text_is_kept_outside_the_catalogs() -> None:
    """Outside `kernel/i18n`, no module of the product holds a table of Swedish and English texts."""
    tables = []
    for package in ("kernel", "policies", "notify", "api", "workers", "pilot"):
        for path in (ROOT / package).rglob("*.py"):
            if path.parent == ROOT / "kernel" / "i18n":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Dict) and sum(map(_text_entry, node.keys, node.values)) >= 3:
                    tables.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not tables, f"texts outside kernel/i18n: {tables}"


def _text_entry(key: ast.expr | None, node: ast.expr) -> bool:
    """`"area.name": ("svenska", "English")`, as the catalogs write a text."""
    return (
        isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and "." in key.value
        and isinstance(node, ast.Tuple)
        and len(node.elts) == 2
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    )
