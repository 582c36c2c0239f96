"""axe-core in the browser: every page the end-to-end tests show is checked against WCAG 2.1 A and
AA (EN 301 549), and a serious or critical violation fails the test.

axe-core comes from the npm registry, installed on first use into a cache directory outside the
repository (VILA_TEST_TOOLS, default ~/.cache/vila-test-tools), at the version pinned here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_VERSION = "4.14.1"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("serious", "critical")


def tools_dir() -> Path:
    return Path(os.environ.get("VILA_TEST_TOOLS", Path.home() / ".cache" / "vila-test-tools"))


@cache
def axe_source() -> str:
    """The axe-core script, installed with npm when the cache does not hold this version yet."""
    root = tools_dir()
    package = root / "node_modules" / "axe-core"
    script = package / "axe.min.js"
    if not (script.exists() and f'"version": "{AXE_VERSION}"' in (package / "package.json").read_text()):
        npm = shutil.which("npm")
        if npm is None:
            raise AssertionError("npm is missing (apt-get install -y npm): the accessibility checks need axe-core")
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(root), f"axe-core@{AXE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text(encoding="utf-8")


_RUN = """async (tags) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\\s+/g, " ")),
  }));
}"""


def violations(page: Page) -> list[dict[str, object]]:
    """axe's serious and critical violations on the page as it is now (dialogs and all)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does
        # not govern; a <script> tag would be refused, as it should be.
        page.evaluate(axe_source())
    found: list[dict[str, object]] = page.evaluate(_RUN, TAGS)
    return [v for v in found if v["impact"] in FAILING]


def assert_accessible(page: Page, where: str) -> None:
    bad = violations(page)
    assert not bad, f"{where}: axe-core found serious or critical violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(map(str, v["nodes"]))  # type: ignore[call-overload]
        for v in bad
    )
