"""Render the staff app's PNG icons from SVG with Chromium (Playwright), into api/web/static/icons.

    .venv/bin/python scripts/render_icons.py

The platforms want PNGs: Android's install prompt 192 and 512 px (and a maskable one whose
artwork stays inside the central 80% circle), iOS's home screen 180 px without transparency, and
a monochrome badge for Android's status bar. The artwork is the moon of `static/icon.svg`.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "api" / "web" / "static" / "icons"
MOON = "M20 8a9 9 0 1 0 4 12 7 7 0 1 1-4-12z"
BLUE = "#1d4e89"


def _svg(*shapes: str) -> str:
    return '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' + "".join(shapes) + "</svg>"


def _moon(scale: float = 1.0) -> str:
    """The moon, scaled about the centre."""
    return f'<path d="{MOON}" fill="#fff" transform="translate(16 16) scale({scale}) translate(-16 -16)"/>'


BACKGROUND = f'<rect width="32" height="32" fill="{BLUE}"/>'
ROUND = _svg(f'<circle cx="16" cy="16" r="15" fill="{BLUE}"/>', _moon())
SQUARE = _svg(BACKGROUND, _moon(1.15))
MASKABLE = _svg(BACKGROUND, _moon(0.9))  # inside the 80% circle Android may cut out
BADGE = _svg(_moon(1.5))  # white on transparent: Android tints it

ICONS = {
    "icon-192.png": (ROUND, 192),
    "icon-512.png": (ROUND, 512),
    "maskable-512.png": (MASKABLE, 512),
    "apple-touch-icon.png": (SQUARE, 180),
    "badge-96.png": (BADGE, 96),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("VILA_CHROMIUM", "/usr/bin/chromium"))
        for name, (svg, size) in ICONS.items():
            page = browser.new_page(viewport={"width": size, "height": size})
            sized = svg.replace("<svg ", f"<svg width={size} height={size} ")
            page.set_content(f'<html><body style="margin:0;background:transparent">{sized}</body></html>')
            page.screenshot(path=str(OUT / name), omit_background=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
