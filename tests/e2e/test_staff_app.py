"""The staff app on a phone-sized Chromium: sign in, the service worker installs, "Aktivera notiser"
registers the browser's subscription, a manager's message reaches the Web Push stand-in (which
decrypts it), the push is delivered to the service worker (CDP), the notification shows, and
"Kvittera" acknowledges from the notification. Chromium's own push service is out of reach here,
so `pushManager.subscribe()` hands the page a subscription the stand-in made with a real key pair.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Worker, expect

from tests.e2e.conftest import Served, login, ready, shot

pytestmark = pytest.mark.e2e

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)

# The browser's push service is unreachable in a test: subscribe() returns the stand-in's
# subscription instead (kept across page loads, as a real one is), and records the key it was given.
FAKE_PUSH_SERVICE = """(() => {
  const sub = %s;
  const make = () => {
    const key = Uint8Array.from(atob(localStorage.getItem("__test.key")), (c) => c.charCodeAt(0));
    return {
      endpoint: sub.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: key.buffer },
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
      unsubscribe: async () => { localStorage.removeItem("__test.key"); return true; },
    };
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    localStorage.setItem("__test.key", btoa(String.fromCharCode(...key)));
    return make();
  };
  PushManager.prototype.getSubscription = async function () {
    return localStorage.getItem("__test.key") ? make() : null;
  };
})();"""

NOTIFICATIONS = """navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((ns) => ns.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                 actions: n.actions.map((a) => a.action)})))"""

# A tap on the notification with this tag, as the worker's notificationclick handler receives it.
TAP = "self.registration.getNotifications({tag: '%s'}).then((ns) => handleNotificationClick(ns[0]))"

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, *, page: Page | None = None, timeout: float = 20) -> T:
    """Poll; with a page, wait through Playwright so that its events (CDP's included) arrive meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if page is not None:
            page.wait_for_timeout(200)
        else:
            time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def shown_with(page: Page, tag: str) -> list[dict[str, Any]]:
    return [n for n in page.evaluate(NOTIFICATIONS) if n["tag"] == tag]


def phone(browser: Browser, served: Served, *, user_agent: str = ANDROID) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=user_agent,
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        service_workers="allow",
    )
    context.grant_permissions(["notifications"], origin=served.base)
    return context


@pytest.fixture
def standin(served: Served) -> Iterator[httpx.Client]:
    trust = ssl.create_default_context(cafile=served.webpush_ca)
    with httpx.Client(base_url=served.webpush_url, verify=trust, timeout=10) as client:
        yield client


def new_subscription(standin: httpx.Client) -> dict[str, Any]:
    response = standin.post("/webpush/subscriptions")
    assert response.status_code == 201, response.text
    return dict(response.json())


def service_worker(context: BrowserContext, page: Page) -> Worker:
    active = page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")
    assert active, "the service worker did not activate"
    return eventually(lambda: next(iter(context.service_workers), None), "the service worker")


def deliver_push(context: BrowserContext, page: Page, served: Served, payload: dict[str, Any]) -> dict[str, Any]:
    """What the browser's push service does: wake the service worker with the (decrypted) push, and
    deliver it again while the browser has not taken it. Here "taken" is seen from outside: the
    notification with the push's tag is showing. Chromium can drop a push that DevTools hands over
    while the worker is starting or stopping, as it does after a navigation; a push service keeps
    the message until the browser confirms it, so a second delivery is what a phone would see.
    Returns the notification shown."""
    page.wait_for_selector("body[data-ready]")
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    registration = eventually(
        lambda: next((r for r in registrations if r["scopeURL"] == served.base + "/" and not r["isDeleted"]), None),
        "the service worker registration",
        page=page,
    )
    for _attempt in range(3):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": served.base, "registrationId": registration["registrationId"], "data": json.dumps(payload)},
        )
        try:
            (shown,) = eventually(lambda: shown_with(page, payload["tag"]), "the notification", page=page, timeout=8)
        except AssertionError:
            continue
        cdp.detach()
        return shown
    raise AssertionError(f"the push {payload['tag']} was delivered three times and no notification showed")


def staff_id(served: Served) -> str:
    with served.api("staff") as api:
        return str(api.get("/api/v1/people/me").json()["id"])


def test_a_phone_gets_vilas_push_and_acknowledges_from_the_notification(
    browser: Browser, served: Served, standin: httpx.Client
) -> None:
    subscription = new_subscription(standin)
    context = phone(browser, served)
    context.add_init_script(FAKE_PUSH_SERVICE % json.dumps(subscription))
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, served, "staff")
    worker = service_worker(context, page)
    card = page.locator("#push-card")
    expect(card).to_have_attribute("data-state", "off")
    shot(page, "staff-app-phone-home")

    page.get_by_role("button", name="Aktivera notiser").click()
    expect(card).to_have_attribute("data-state", "on")
    expect(page.get_by_role("status")).to_contain_text("Klart")
    key = httpx.get(served.base + "/api/v1/webpush/key").json()["public_key"]
    given = page.evaluate("localStorage.getItem('__test.key')")
    assert base64.b64decode(given) == base64.urlsafe_b64decode(key + "=")  # subscribed with Vila's key
    with served.api("staff") as api:
        web = [d for d in api.get("/api/v1/devices").json() if d["provider"] == "webpush" and d["state"] == "active"]
    assert [(d["platform"], d["name"]) for d in web] == [("web", "Android (Vila-appen)")]

    # An emergency reaches the person now, whatever their shift: the push goes out at once.
    title = "Utrymningsövning plan 3"
    message = {
        "title": title,
        "body": "Samling vid hissarna på plan 3. Kvittera att du har sett det.",
        "priority": "emergency",
        "override_reason": "Brand på plan 3",
        "requires_ack": True,
        "audience": {"people": [staff_id(served)]},
    }
    with served.api("admin") as api:
        sent = api.post("/api/v1/messages", json=message)
        assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]

    def decrypted() -> dict[str, Any] | None:
        received = standin.get("/webpush/received", params={"subscription": subscription["id"]}).json()
        return next((r["payload"] for r in received if r["status"] == 201 and r["payload"]["tag"] == message_id), None)

    payload = eventually(decrypted, "the push reaching the stand-in")
    assert (payload["title"], payload["body"]) == (title, message["body"])

    shown = deliver_push(context, page, served, payload)
    assert shown["title"] == title and shown["body"] == message["body"]
    assert shown["actions"] == ["ack"]

    # The worker calls the API with the session cookie; without the CSRF value that holds nothing.
    forged = worker.evaluate(f"fetch('/api/v1/inbox/{message_id}/ack', {{method: 'POST'}}).then((r) => r.status)")
    assert forged == 403
    outcome = worker.evaluate(
        "self.registration.getNotifications().then((ns) => handleNotificationClick("
        f"ns.find((n) => n.tag === '{message_id}'), 'ack'))"
    )
    assert outcome == "acknowledged"
    with served.api("staff") as api:
        items = api.get("/api/v1/inbox", params={"limit": 100}).json()["items"]
    item = next(m for m in items if m["message_id"] == message_id)
    assert item["acked_at"] is not None
    assert not shown_with(page, message_id)

    # A tap on a message opens it in the inbox; a digest opens the inbox.
    page.evaluate(
        "navigator.serviceWorker.ready.then((r) => r.showNotification('Två meddelanden', "
        "{tag: 'vila-digest', data: {kind: 'digest', digest_id: 'd', message_id: 'd'}}))"
    )
    worker.evaluate(TAP % "vila-digest")
    page.wait_for_url(served.base + "/inbox")
    assert deliver_push(context, page, served, payload)["title"] == title
    worker.evaluate(TAP % message_id)
    page.wait_for_url(f"{served.base}/inbox?message={message_id}")
    page.wait_for_selector("body[data-ready]")
    opened = page.locator("article.opened")
    expect(opened.get_by_role("heading", name=title)).to_be_focused()
    expect(opened).to_contain_text("Kvitterat")
    shot(page, "staff-app-phone-inbox", full_page=False)
    context.close()


def test_a_replaced_subscription_is_registered_again_and_sign_out_removes_it(
    browser: Browser, served: Served, standin: httpx.Client
) -> None:
    first, second = new_subscription(standin), new_subscription(standin)
    context = phone(browser, served)
    context.add_init_script(FAKE_PUSH_SERVICE % json.dumps(first))
    page = context.new_page()
    login(page, served, "staff")
    worker = service_worker(context, page)
    page.get_by_role("button", name="Aktivera notiser").click()
    expect(page.locator("#push-card")).to_have_attribute("data-state", "on")

    def devices() -> list[str]:
        with served.api("staff") as api:
            devices = api.get("/api/v1/devices").json()
        return sorted(d["id"] for d in devices if d["provider"] == "webpush" and d["state"] == "active")

    before = devices()
    # The browser replaced its subscription (pushsubscriptionchange): the worker registers the new one.
    changed = worker.evaluate(
        "(s) => resubscribe({endpoint: s.old},"
        " {endpoint: s.endpoint, toJSON: () => ({endpoint: s.endpoint, keys: s.keys})})",
        {"old": first["endpoint"], "endpoint": second["endpoint"], "keys": second["keys"]},
    )
    assert changed == "registered"
    after = devices()
    (replacement,) = set(after) - set(before)
    assert len(after) == len(before)  # the first subscription's device is gone, the second's is there

    # The page learnt the new device from the worker; the sign-out request removes it.
    expect(page.locator('input[name="webpush_device"]')).to_have_value(replacement)
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(served.base + "/login")
    assert replacement not in devices()
    # Signed out, the worker has no CSRF value left to act with.
    eventually(lambda: worker.evaluate("loadSession().then((s) => s === null)"), "the session dropped", page=page)
    context.close()


def test_iphone_explains_the_home_screen_before_offering_notifications(browser: Browser, served: Served) -> None:
    context = phone(browser, served, user_agent=IPHONE)
    page = context.new_page()
    login(page, served, "staff")
    card = page.locator("#push-card")
    expect(card).to_have_attribute("data-state", "ios-home-screen")
    expect(card).to_contain_text("Lägg till på hemskärmen")
    expect(card.get_by_role("button", name="Aktivera notiser")).to_have_count(0)
    shot(page, "staff-app-iphone-install")
    context.close()

    # Opened from the home screen, the same iPhone offers notifications.
    context = phone(browser, served, user_agent=IPHONE)
    context.add_init_script("Object.defineProperty(navigator, 'standalone', {get: () => true});")
    page = context.new_page()
    login(page, served, "staff")
    expect(page.locator("#push-card")).to_have_attribute("data-state", "off")
    expect(page.get_by_role("button", name="Aktivera notiser")).to_be_visible()
    context.close()


def test_the_app_is_installable_and_the_staff_pages_fit_a_phone(browser: Browser, served: Served) -> None:
    manifest = httpx.get(served.base + "/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert (data["display"], data["start_url"], data["scope"]) == ("standalone", "/", "/")
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes and any(i.get("purpose") == "maskable" for i in data["icons"])
    for icon in data["icons"]:
        assert httpx.get(served.base + icon["src"]).status_code == 200
    sw = httpx.get(served.base + "/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript") and sw.headers["service-worker-allowed"] == "/"

    context = phone(browser, served)
    page = context.new_page()
    login(page, served, "staff")
    for path in ("/", "/me", "/inbox", "/devices", "/rosters"):
        for width in (390, 320):
            page.set_viewport_size({"width": width, "height": 844})
            ready(page, path, served)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{path} is {wide} px wide on a {width} px phone"
    page.set_viewport_size({"width": 390, "height": 844})
    ready(page, "/me", served)
    shot(page, "staff-app-phone-availability", full_page=False)
    context.close()
