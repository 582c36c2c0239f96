"""The precedence table in the docs is the one in the code."""

from __future__ import annotations

import re
from pathlib import Path

from policies.rules import PRECEDENCE

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy-engine.md"


def test_docs_show_the_precedence_table_of_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| (.+?) \| (.+?) \|$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert [(int(n), rule, when, outcome) for n, rule, when, outcome in rows] == [
        (n, rule.id, rule.when, rule.outcome) for n, rule in enumerate(PRECEDENCE, 1)
    ]
