// Vila's service worker (scope "/"): shows Vila's pushes, opens a tapped message in the inbox,
// acknowledges from the notification, and re-registers a subscription the browser replaced.
//
// It calls Vila's API as the signed-in page does: the browser sends the HttpOnly session cookie
// with the worker's same-origin requests, and the page leaves the CSRF value (derived from that
// session) in the origin's Cache Storage, which no other site can read; the first page after
// sign-out deletes it (staff-app.js). Without it, or once the session has ended, a tap opens the
// app instead.
"use strict";

const SESSION_CACHE = "vila-session";
const SESSION_URL = "/__vila/session";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function loadSession() {
  const cache = await caches.open(SESSION_CACHE);
  const stored = await cache.match(SESSION_URL);
  return stored ? stored.json() : null;
}

async function saveSession(session) {
  const cache = await caches.open(SESSION_CACHE);
  await cache.put(SESSION_URL, new Response(JSON.stringify(session), { headers: { "Content-Type": "application/json" } }));
}


// Showing a push -------------------------------------------------------------------------------

function notificationOf(payload) {
  const options = {
    body: payload.body || "",
    tag: payload.tag || undefined, // the message id: a resend replaces, never stacks
    renotify: Boolean(payload.tag),
    data: payload.data || {},
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/badge-96.png",
    silent: Boolean(payload.silent),
    requireInteraction: Boolean(payload.requireInteraction),
    actions: payload.actions || [],
  };
  return [payload.title || "Vila", options];
}

async function showPush(payload) {
  const [title, options] = notificationOf(payload);
  await self.registration.showNotification(title, options);
}

self.addEventListener("push", (event) => {
  let payload;
  try {
    payload = event.data ? event.data.json() : {};
  } catch (err) {
    payload = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(showPush(payload));
});

// Tapping a notification ----------------------------------------------------------------------

function urlFor(data) {
  if (data.kind === "digest" || !data.message_id) return "/inbox";
  return "/inbox?message=" + encodeURIComponent(data.message_id);
}

async function openApp(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === self.location.origin && "navigate" in client) {
      // Focus is allowed only while the tap is being handled; the navigation matters more.
      await client.focus().catch(() => null);
      return client.navigate(url);
    }
  }
  return self.clients.openWindow(url);
}

async function apiPost(path, body) {
  const session = await loadSession();
  if (!session || !session.csrf) return null;
  const headers = { Accept: "application/json", [session.header]: session.csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch("/api/v1" + path, {
    method: "POST",
    credentials: "same-origin",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// Acknowledge without opening the app; when that cannot be done (signed out, offline), open the
// message so the person can acknowledge it there.
async function acknowledge(notification) {
  const data = notification.data || {};
  let response = null;
  try {
    response = await apiPost("/inbox/" + encodeURIComponent(data.message_id) + "/ack");
  } catch (err) {
    response = null;
  }
  if (response && response.ok) {
    notification.close();
    return "acknowledged";
  }
  notification.close();
  await openApp(urlFor(data));
  return "opened";
}

async function handleNotificationClick(notification, action) {
  if (action === "ack") return acknowledge(notification);
  notification.close();
  await openApp(urlFor(notification.data || {}));
  return "opened";
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(handleNotificationClick(event.notification, event.action));
});

// A subscription the browser replaced --------------------------------------------------------------

function keyBytes(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function resubscribe(oldSubscription, newSubscription) {
  const session = await loadSession();
  if (!session || !session.csrf) return "signed out";
  let subscription = newSubscription;
  if (!subscription) {
    const key = await (await fetch("/api/v1/webpush/key", { credentials: "same-origin" })).json();
    subscription = await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key.public_key),
    });
  }
  const json = subscription.toJSON();
  const replaces = oldSubscription ? oldSubscription.endpoint : session.endpoint;
  const response = await apiPost("/devices", {
    platform: "web",
    provider: "webpush",
    token: json.endpoint,
    keys: json.keys,
    name: session.deviceName || "Vila",
    replaces: replaces && replaces !== json.endpoint ? replaces : undefined,
  });
  if (!response || !response.ok) return "refused";
  const device = await response.json();
  await saveSession({ ...session, endpoint: json.endpoint, deviceId: device.id });
  // Open pages name the device in their sign-out form: tell them it changed.
  for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "device" });
  return "registered";
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});
