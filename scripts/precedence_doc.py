"""Write the precedence table of docs/policy-engine.md from the code's own table.

    .venv/bin/python scripts/precedence_doc.py          # rewrite the table in the doc
    .venv/bin/python scripts/precedence_doc.py --check  # exit 1 when the doc is not current

The table sits between the markers `<!-- precedence:start -->` and `<!-- precedence:end -->`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.core.rules import markdown_table  # noqa: E402 - the repository root is put on the path first

DOC = ROOT / "docs" / "policy-engine.md"
START, END = "<!-- precedence:start -->\n", "<!-- precedence:end -->"


def render(text: str) -> str:
    """The doc's text with the table between the markers replaced by the code's table."""
    head, found, rest = text.partition(START)
    if not found or END not in rest:
        raise SystemExit(f"{DOC}: the precedence markers are missing")
    _, _, tail = rest.partition(END)
    return head + START + markdown_table() + END + tail


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if current != wanted:
            print(f"{DOC} is not current: run scripts/precedence_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
