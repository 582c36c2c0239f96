"""The precedence table in the docs is the one in the code, written by scripts/precedence_doc.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from policies.core.rules import PRECEDENCE, markdown_table

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "policy-engine.md"


def test_docs_show_the_precedence_table_of_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- precedence:start -->\n", 1)[1].split("<!-- precedence:end -->", 1)[0]
    assert block == markdown_table(), "run scripts/precedence_doc.py"
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| (.+?) \| (.+?) \|$", text, re.MULTILINE)
    assert [(int(n), rule, when, outcome) for n, rule, when, outcome in rows] == [
        (n, rule.id, rule.when, rule.outcome) for n, rule in enumerate(PRECEDENCE, 1)
    ], "one precedence table, and only one"


def test_the_script_finds_the_doc_current() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "precedence_doc.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
