"""A real browser (Debian's Chromium, headless, through Playwright) against `vila serve` on loopback.

One server per session with the demo region; each test builds the data it needs through the API
and logs in through the login form like a person would.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = os.environ.get("VILA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    tokens: dict[str, str]
    webpush_url: str = ""  # the Web Push stand-in of `vila serve`, and the CA of its certificate
    webpush_ca: str = ""

    def api(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=30)


def _wait_for(predicate: Callable[[], bool], log_path: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not start:\n{log_path.read_text()}")


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="package")  # torn down when the e2e tests end: Playwright runs an event loop
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`vila serve` with the demo region, pushing to `vila emulate` (the FCM and APNs stand-ins)."""
    home = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILA_")}
    env["VILA_DATA_DIR"] = str(home / "var")
    fcm, apns, control, port = _free_port(), _free_port(), _free_port(), _free_port()
    with contextlib.ExitStack() as stack:
        emulate_log = home / "emulate.log"
        out = stack.enter_context(emulate_log.open("wb"))
        # Every port free, the Web Push stand-in's too: another run on this machine may hold a default one.
        ports = ["--fcm-port", str(fcm), "--apns-port", str(apns), "--control-port", str(control),
                 "--webpush-port", str(_free_port())]  # fmt: skip
        emulators = subprocess.Popen(
            [sys.executable, "-m", "vila.cli", "emulate", "--host", "127.0.0.1", *ports],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        stack.callback(emulators.wait, timeout=20)
        stack.callback(emulators.terminate)
        _wait_for(lambda: "VILA_APNS_CA_FILE=" in emulate_log.read_text(), emulate_log, "vila emulate")
        ca_file = emulate_log.read_text().split("VILA_APNS_CA_FILE=")[1].split()[0]
        env |= {
            "VILA_FCM_ENDPOINT": f"http://127.0.0.1:{fcm}",
            "VILA_APNS_PORT": str(apns),
            "VILA_APNS_CA_FILE": ca_file,
        }
        serve_log = home / "serve.log"
        out = stack.enter_context(serve_log.open("wb"))
        server = subprocess.Popen(
            [sys.executable, "-m", "vila.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        stack.callback(server.wait, timeout=20)
        stack.callback(server.terminate)
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _healthy(base), serve_log, "vila serve")
        tokens = {
            line.split()[0]: line.split()[2]
            for line in (home / "var" / "demo-tokens.txt").read_text().splitlines()
            if line and not line.startswith("#")
        }
        webpush = re.search(r"Web Push stand-in: (\S+) \(CA (\S+)\)", serve_log.read_text())
        assert webpush is not None, serve_log.read_text()
        yield Served(base=base, tokens=tokens, webpush_url=webpush.group(1), webpush_ca=webpush.group(2))


@pytest.fixture(scope="package")  # torn down when the e2e tests end: Playwright runs an event loop
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        raise AssertionError(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")  # torn down when the e2e tests end: Playwright runs an event loop
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Hosts:
    """Every host the page asked for: the app may talk to no one but itself."""

    seen: set[str] = field(default_factory=set)


@pytest.fixture
def hosts() -> Hosts:
    return Hosts()


@pytest.fixture
def page(browser: Browser, served: Served, hosts: Hosts) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="sv-SE", timezone_id="Europe/Stockholm"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("request", lambda request: hosts.seen.add(str(urlparse(request.url).netloc)))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert hosts.seen <= {urlparse(served.base).netloc}, f"requests to other hosts: {hosts.seen}"
    assert not errors, errors


def login(page: Page, served: Served, role: str) -> None:
    page.goto(served.base + "/login")
    page.get_by_label("API-token").fill(served.tokens[role])
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(served.base + "/")


def ready(page: Page, path: str, served: Served) -> None:
    page.goto(served.base + path)
    page.wait_for_selector("body[data-ready]")


# Form fields without a label and buttons or links without a name, as a screen reader would meet them.
_UNNAMED = """() => {
  const name = (el) => (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || "").trim();
  const bad = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!(el.labels && el.labels.length) && !name(el)) bad.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!el.textContent.trim() && !name(el)) bad.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll("svg")) {
    if (el.getAttribute("role") !== "img" || !name(el)) bad.push(el.outerHTML.slice(0, 80));
  }
  return bad;
}"""


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Check the page's accessible names, then save a screenshot for the README."""
    unnamed = page.evaluate(_UNNAMED)
    assert not unnamed, f"{name}: elements without an accessible name: {unnamed}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
