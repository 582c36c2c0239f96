// Vila staff app: installs the service worker, explains how to put Vila on the home screen
// (iPhone and iPad need it before they allow notifications), turns notifications on and off for
// this device (its push subscription becomes one of the person's devices), and removes them at
// sign-out. Texts come from the page's catalog (#i18n).
"use strict";

(() => {
  const TEXTS = JSON.parse(document.getElementById("i18n").textContent);
  const text = (key) => TEXTS[key] || key;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const headerMeta = document.querySelector('meta[name="csrf-header"]');
  const signedIn = Boolean(document.body.dataset.person && csrfMeta && csrfMeta.content);
  // What this browser registered, shared with the service worker (which re-registers a replaced
  // subscription): the same origin's Cache Storage, which no other site can read.
  const SESSION_CACHE = "vila-session";
  const SESSION_URL = "/__vila/session";
  const swReady = "serviceWorker" in navigator ? navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null) : Promise.resolve(null);

  const platform = (() => {
    const ua = navigator.userAgent;
    const ipad = /iPad/.test(ua) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
    const ios = ipad || /iPhone|iPod/.test(ua);
    const version = /OS (\d+)[_.](\d+)/.exec(ua);
    return {
      ios,
      ipad,
      android: /Android/.test(ua),
      // Safari reports the iOS version in the user agent; iPadOS on "desktop" mode does not.
      iosTooOld: ios && version !== null && (Number(version[1]) < 16 || (Number(version[1]) === 16 && Number(version[2]) < 4)),
      standalone: window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true,
      pushable: "serviceWorker" in navigator && "PushManager" in window && "Notification" in window,
    };
  })();

  async function stored() {
    if (!("caches" in window)) return null;
    const entry = await (await caches.open(SESSION_CACHE)).match(SESSION_URL);
    return entry ? entry.json() : null;
  }

  async function store(values) {
    const cache = await caches.open(SESSION_CACHE);
    const session = { ...((await stored()) || {}), ...values };
    await cache.put(SESSION_URL, new Response(JSON.stringify(session), { headers: { "Content-Type": "application/json" } }));
  }

  // The worker calls the API as this page does: the cookie goes along, the CSRF value from here.
  function session() {
    return { csrf: csrfMeta.content, header: headerMeta.content, deviceName: deviceName(), person: document.body.dataset.person };
  }

  function deviceName() {
    if (platform.ipad) return text("push.device_name.ipad");
    if (platform.ios) return text("push.device_name.iphone");
    if (platform.android) return text("push.device_name.android");
    return text("push.device_name.other");
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json", [headerMeta.content]: csrfMeta.content };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch("/api/v1" + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new Error((data && data.message) || response.statusText);
    return data;
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }


  // Turning notifications on and off ----------------------------------------------------------

  async function enable() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") return permission;
    const registration = await navigator.serviceWorker.ready;
    const { public_key: key } = await call("GET", "/webpush/key");
    const before = await stored();
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && subscription.options && subscription.options.applicationServerKey) {
      const current = new Uint8Array(subscription.options.applicationServerKey);
      const wanted = keyBytes(key);
      if (current.length !== wanted.length || current.some((b, i) => b !== wanted[i])) {
        await subscription.unsubscribe(); // made with another key: useless to Vila
        subscription = null;
      }
    }
    if (!subscription) subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    const json = subscription.toJSON();
    const replaces = before && before.endpoint !== json.endpoint ? before.endpoint : undefined;
    const device = await call("POST", "/devices", {
      platform: "web",
      provider: "webpush",
      token: json.endpoint,
      keys: json.keys,
      name: deviceName(),
      locale: document.documentElement.lang,
      replaces,
    });
    await store({ ...session(), endpoint: json.endpoint, deviceId: device.id, owner: document.body.dataset.person });
    await nameDeviceOnSignOut();
    return "granted";
  }

  async function disable() {
    const mine = await stored();
    if (mine && mine.deviceId) {
      await call("DELETE", "/devices/" + mine.deviceId).catch(() => null); // gone already: fine
    }
    const registration = await swReady;
    const subscription = registration ? await registration.pushManager.getSubscription() : null;
    if (subscription) await subscription.unsubscribe();
    await store({ endpoint: null, deviceId: null, owner: null });
    await nameDeviceOnSignOut();
  }

  // The card on the start page and "My devices" ------------------------------------------------

  function node(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v);
    }
    el.append(...children.filter((c) => c !== null));
    return el;
  }

  function installHelp() {
    if (platform.standalone) return null;
    if (platform.ios) {
      return node(
        "div",
        { class: "install", id: "install-ios" },
        node("h3", {}, text("install.title")),
        node("p", {}, text("install.ios_intro")),
        node("ol", {}, node("li", {}, text("install.ios_step1")), node("li", {}, text("install.ios_step2")), node("li", {}, text("install.ios_step3"))),
        platform.iosTooOld ? node("p", { class: "error" }, text("install.ios_old")) : null,
      );
    }
    if (!platform.android) return null;
    const box = node("div", { class: "install", id: "install-android" }, node("h3", {}, text("install.title")), node("p", {}, text("install.android")));
    if (deferredInstall) {
      box.append(node("button", { type: "button", id: "install-button", onclick: async () => { deferredInstall.prompt(); deferredInstall = null; render(); } }, text("install.button")));
    } else {
      box.append(node("p", { class: "muted" }, text("install.android_menu")));
    }
    return box;
  }

  async function state() {
    const registration = await swReady;
    if (!platform.pushable || !registration) return "unsupported";
    if (Notification.permission === "denied") return "denied";
    const subscription = await registration.pushManager.getSubscription();
    const mine = await stored();
    const registered = subscription && mine && mine.endpoint === subscription.endpoint && mine.owner === document.body.dataset.person;
    return registered && Notification.permission === "granted" ? "on" : "off";
  }

  async function render(message) {
    const card = document.getElementById("push-card");
    if (!card) return;
    const body = card.querySelector(".push-body");
    const status = card.querySelector("[role=status]");
    const iosFirst = platform.ios && !platform.standalone;
    const now = iosFirst ? "ios-home-screen" : await state();
    card.dataset.state = now;
    const parts = [installHelp()];
    if (now === "on") {
      parts.push(node("p", { class: "push-on" }, text("push.on")), node("button", { type: "button", id: "push-disable", onclick: () => act(disable, "push.disabled") }, text("push.disable")));
    } else if (now === "off") {
      parts.push(node("button", { type: "button", class: "primary", id: "push-enable", onclick: () => act(enable, "push.enabled") }, text("push.enable")));
    } else if (now === "denied") {
      parts.push(node("p", { class: "error" }, text("push.denied")));
    } else if (now === "unsupported" && !iosFirst) {
      parts.push(node("p", { class: "error" }, text("push.unsupported")));
    }
    body.replaceChildren(...parts.filter((p) => p !== null));
    status.textContent = message || "";
  }

  async function act(fn, done) {
    const card = document.getElementById("push-card");
    card.querySelector("[role=status]").textContent = text("push.working");
    for (const button of card.querySelectorAll("button")) button.disabled = true;
    try {
      const outcome = await fn();
      await render(outcome === "denied" ? text("push.denied") : text(done));
    } catch (err) {
      await render(text("push.failed") + ": " + (typeof errorText === "function" && err instanceof ApiError ? errorText(err) : err.message));
    }
  }

  let deferredInstall = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault(); // offered on the card, when the person chooses
    deferredInstall = event;
    render();
  });
  window.addEventListener("appinstalled", () => render(text("install.done")));

  // Sign-out removes this browser's subscription: the form names its device, and the sign-out
  // request removes it, so nothing waits on the page. Signed out, the CSRF value is dropped.

  async function nameDeviceOnSignOut() {
    const mine = await stored();
    const id = mine && mine.deviceId && mine.owner === document.body.dataset.person ? mine.deviceId : "";
    for (const field of document.querySelectorAll('form[action="/logout"] input[name="webpush_device"]')) field.value = id;
  }

  function onSignOut(form) {
    form.addEventListener("submit", () => {
      if (!form.elements.webpush_device || !form.elements.webpush_device.value) return;
      // The browser's own subscription goes too, as far as it gets before the next page.
      swReady.then((r) => r && r.pushManager.getSubscription()).then((s) => s && s.unsubscribe()).catch(() => null);
    });
  }

  // Start --------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    if (signedIn) {
      store(session()).then(nameDeviceOnSignOut).catch(() => null);
      for (const form of document.querySelectorAll('form[action="/logout"]')) onSignOut(form);
      if ("serviceWorker" in navigator) {
        navigator.serviceWorker.addEventListener("message", (event) => {
          if (event.data && event.data.type === "device") nameDeviceOnSignOut();
        });
      }
    } else if ("caches" in window) {
      caches.delete(SESSION_CACHE).catch(() => null);
    }
    render();
  });
})();
