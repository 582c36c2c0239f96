"""Every page, in Swedish and in English, for every demo role: no code from the API, no English word
on a Swedish page, no ISO or UTC time, and no serious or critical axe-core violation.

The pages are found, not listed: the walk starts at the home page and follows every same-site link
(one page per address shape, ids replaced), so a page that is added and linked is walked too.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.axe import violations
from tests.e2e.conftest import Served, login

pytestmark = pytest.mark.e2e

ROLES = ("admin", "manager", "staff", "hr", "it", "evaluator", "union")
NOT_PAGES = ("/logout", "/language/", "/api/", "/static/", "/api-docs-assets/", "/docs", "/redoc", "/login/oidc")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")

# A time shown as a machine writes it: ISO with a T, an offset or Z, a UTC label.
MACHINE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\b|\bUTC\b"
)
# An API code: snake_case, or a dotted catalog key left untranslated.
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b(?:code|err|field|prio|count|nav|compose|ledger|policies)\.[a-z_.]+\b")
# The API's own words for things, which a Swedish page must say in Swedish.
API_WORDS = {
    "urgent", "emergency", "decided", "deciding", "accepted", "deliver", "hold", "reroute",
    "drop", "override", "active", "stale", "pruned", "removed", "lost", "blocked", "staff", "manager", "hr",
    "admin", "union", "evaluator", "it", "fcm", "apns", "webpush", "ios", "android", "web", "work", "private",
}  # fmt: skip
# English words that have no place in a Swedish sentence.
ENGLISH = {
    "the", "and", "of", "to", "is", "are", "was", "were", "with", "from", "for", "not", "until", "held", "sent",
    "now", "message", "messages", "none", "yes", "no", "error", "something", "wrong", "request", "field", "value",
    "week", "hours", "minutes", "save", "delete", "remove", "cancel", "send", "loading", "after", "before",
    "this", "that", "your", "you", "will", "please", "click", "here", "dropped", "reached", "rerouted", "days",
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "May", "Oct", "Dec", "today", "tomorrow", "on", "off",
}  # fmt: skip
# Proper nouns and product names that are the same in both languages.
ALLOWED = {
    "Vila", "Google", "Apple", "Android", "iPhone", "iPad", "iOS", "iPadOS", "Safari", "Chrome", "Edge",
    "Excel", "Teams", "Outlook", "Web", "Push", "API", "CSV", "PDF", "HR", "IT", "WCAG", "EN", "AA", "Digg",
    "axe-core", "Info", "Normal",
}  # fmt: skip

# The text a person meets: visible text and the names assistive technology reads out. What people
# wrote themselves (names, titles, notes) is data, not the app's words: it is marked translate="no"
# where the page shows it, and not checked.
_TEXTS = """() => {
  const out = [];
  const skip = (node) => node.closest && node.closest('[translate="no"], script, style, template, [hidden]');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || skip(parent)) continue;
    const text = node.textContent.trim();
    if (!text) continue;
    const style = getComputedStyle(parent);
    if (style.display === "none" || style.visibility === "hidden") continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
    if (skip(el)) continue;
    for (const attr of ["aria-label", "title", "placeholder", "alt"]) {
      const v = el.getAttribute(attr);
      if (v && v.trim()) out.push(v.trim());
    }
  }
  out.push(document.title);
  return out;
}"""


def problems(texts: list[str], lang: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        if MACHINE_TIME.search(text):
            found.append(f"machine time: {text!r}")
        for code in CODE.findall(text):
            found.append(f"code {code!r} in {text!r}")
        if lang != "sv":
            continue
        words = [w for w in re.findall(r"[A-Za-zÅÄÖåäöÉé][\w-]*", text) if w not in ALLOWED]
        for word in words:
            if word in API_WORDS or word in ENGLISH or (word[:1].isupper() and word.lower() in ENGLISH):
                found.append(f"English {word!r} in {text!r}")
    return found


def shape(path: str) -> str:
    return ID.sub("{id}", path)


def links(page: Page, base: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "(as) => as.map((a) => a.href)")
    out = []
    for href in hrefs:
        url = urlparse(href)
        if f"{url.scheme}://{url.netloc}" != base or any(url.path.startswith(p) for p in NOT_PAGES):
            continue
        if url.path.endswith((".csv", ".xlsx", ".pdf", ".webmanifest", ".js", ".css")):
            continue
        out.append(url.path + (f"?{url.query}" if url.query and not url.path.startswith("/inbox") else ""))
    return out


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    page.wait_for_load_state("networkidle")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE", timezone_id="Europe/Stockholm")
    yield ctx
    ctx.close()


def _seed(served: Served) -> None:
    """Something on every page: a message held for some and delivered to others, an override of
    rest in the ledger, a device, and a policy version whose only change is the order of a list."""
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"managed": "true", "limit": 50}).json()["items"]
        unit = units[0]["id"]
        for priority, extra in (("normal", {}), ("urgent", {"override_reason": "Bemanningen räcker inte i natt"})):
            sent = api.post(
                "/api/v1/messages",
                json={
                    "title": "Ändrad rutin",
                    "body": "Läs den nya rutinen för överlämning.",
                    "priority": priority,
                    "audience": {"groups": [unit]},
                    **extra,
                },
            )
            assert sent.status_code == 202, sent.text
    with served.api("staff") as api:
        added = api.post("/api/v1/devices", json={"platform": "android", "provider": "fcm", "token": "walk-token-1"})
        assert added.status_code in (200, 201), added.text
    with served.api("hr") as api:
        policy = api.get("/api/v1/policies").json()[0]
        latest = max(policy["versions"], key=lambda v: v["version"])
        params = {
            k: latest[k]
            for k in (
                "daily_rest_hours",
                "weekly_rest_hours",
                "working_time",
                "hold_target",
                "morning_time",
                "urgent_override_allowed",
                "override_reason_required",
                "override_weekly_cap",
                "compensatory_days",
                "content_free_push",
                "private_devices_allowed",
            )
        }
        version = api.post(
            f"/api/v1/policies/{policy['id']}/versions",
            json={
                **params,
                "override_roles": [*reversed(latest["override_roles"]), "hr"],
                "effective_from": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "approval_note": "Samma regler, HR får åsidosätta.",
            },
        )
        assert version.status_code == 201, version.text


def test_every_page_in_both_languages_is_translated_and_accessible(context: BrowserContext, served: Served) -> None:
    _seed(served)
    seen: set[str] = set()
    failures: list[str] = []
    walked: list[str] = []
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for role in ROLES:
        context.clear_cookies()
        login(page, served, role)
        todo = deque(["/"])
        mine: set[str] = set()
        while todo:
            path = todo.popleft()
            if shape(path) in mine:
                continue
            mine.add(shape(path))
            fresh = shape(path) not in seen
            seen.add(shape(path))
            for lang in ("sv", "en") if fresh else ("sv",):
                context.add_cookies([{"name": "vila_lang", "value": lang, "url": served.base}])
                open_page(page, served.base + path)
                if lang == "sv":
                    todo.extend(links(page, served.base))
                if not fresh:
                    continue
                walked.append(f"{role} {lang} {path}")
                for problem in problems(page.evaluate(_TEXTS), lang):
                    failures.append(f"{role} {lang} {path}: {problem}")
                for v in violations(page):
                    failures.append(f"{role} {lang} {path}: axe {v['id']} ({v['impact']}): {v['help']} {v['nodes']}")
            context.add_cookies([{"name": "vila_lang", "value": "sv", "url": served.base}])
    # The statement and the login page are public.
    context.clear_cookies()
    for lang in ("sv", "en"):
        context.add_cookies([{"name": "vila_lang", "value": lang, "url": served.base}])
        for path in ("/login", "/accessibility"):
            open_page(page, served.base + path)
            walked.append(f"anonymous {lang} {path}")
            failures.extend(f"anonymous {lang} {path}: {p}" for p in problems(page.evaluate(_TEXTS), lang))
            failures.extend(f"anonymous {lang} {path}: axe {v['id']}: {v['help']}" for v in violations(page))
    assert len({w.split()[-1] for w in walked}) >= 15, walked  # the walk found the app's pages
    assert not errors, errors
    assert not failures, f"{len(failures)} problems on {len(walked)} pages:\n" + "\n".join(sorted(set(failures)))


@pytest.mark.parametrize(
    "seen",
    [
        "3 väntar till Thu 03 Dec 06:45 (dygnsvila)",
        "on_duty, quiet_hours",
        "Dina roller: manager",
        "ios · apns · work · active",
        "request: Value error, end must be after start",
        "Gäller från 2026-12-03T05:45:00Z",
        "Prioritet: urgent",
        "Något gick fel: the push would be 4400 bytes",
        "code.priority.urgent",
    ],
)
def test_the_walk_catches_what_people_found_on_swedish_pages(seen: str) -> None:
    assert problems([seen], "sv"), seen


def test_the_walk_lets_swedish_words_and_names_be() -> None:
    fine = [
        "3 väntar till tors 3 dec. 06:45 (dygnsvila)",
        "Dina roller: chef, HR",
        "Android · via Google · tjänsteenhet · aktiv",
        "Normal – under arbetstid",
        "Info – stör aldrig",
        "Rubrik måste fyllas i.",
        "2026-11-28 08:00–20:00",
    ]
    assert problems(fine, "sv") == []
