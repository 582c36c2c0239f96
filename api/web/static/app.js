// Vila web: each page calls the REST API with the session cookie and the CSRF header.
// No framework, no request to any host but this one.
"use strict";

const T = JSON.parse(document.getElementById("i18n").textContent);
const LANG = document.body.dataset.lang || "sv";
const ME = document.body.dataset.person;
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const CSRF_HEADER = document.querySelector('meta[name="csrf-header"]').content;

function t(key, vars) {
  let s = T[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// An API error: Vila answers {error, message, details}; `code` and `details` let errorText() say
// it in the reader's language, `message` is the API's own (English) sentence.
class ApiError extends Error {
  constructor(status, detail, code, details) {
    super(detail);
    this.status = status;
    this.code = code || "";
    this.details = details;
  }
}

// The known validator sentences of the API, mapped to catalog keys (kernel/i18n/errors.py).
const KNOWN = Object.entries(T).filter(([k]) => k.startsWith("known.")).map(([k, v]) => [k.slice(6), v]);
function knownSentence(message) {
  const found = KNOWN.find(([said]) => String(message || "").includes(said));
  return found ? t(found[1]) : null;
}
function fieldName(field) {
  const last = String(field || "").split(".").filter((p) => !/^\d+$/.test(p)).pop();
  return last && T["field." + last] ? T["field." + last] : t("err.field_unknown");
}
// What went wrong and what to do, in the page's language, for any error a page catches.
function errorText(err) {
  if (!(err instanceof ApiError)) return t("err.network");
  if (err.status === 403 && /CSRF/i.test(err.message)) return t("err.csrf");
  if (err.code === "payload_too_large" && err.details) return t("err.payload_too_large", { bytes: number(err.details.bytes || Math.max(...Object.values(err.details.sizes || { x: 0 }))), limit: number(err.details.limit) });
  if (err.status === 422 && Array.isArray(err.details) && err.details.length) {
    const lines = err.details.map((d) => {
      const known = knownSentence(d.message);
      if (known) return known;
      const said = T["err.type." + d.type] ? t("err.type." + d.type, d.limits || {}) : t("err.type.value_error");
      return d.field ? fieldName(d.field) + " " + said + "." : t("err.invalid");
    });
    return [...new Set(lines)].join(" ");
  }
  const known = knownSentence(err.message);
  if (known) return known;
  const byCode = { invalid: "err.invalid", forbidden: "err.forbidden", not_found: "err.not_found", conflict: "err.conflict", not_authenticated: "err.not_authenticated", internal: "err.internal", rate_limited: "err.rate_limited", too_many_requests: "err.rate_limited" }[err.code];
  if (byCode) return t(byCode);
  const byStatus = { 403: "err.forbidden", 404: "err.not_found", 409: "err.conflict", 413: "err.payload_too_large", 422: "err.invalid", 429: "err.rate_limited" }[err.status];
  if (byStatus && err.status !== 413) return t(byStatus);
  return err.status >= 500 ? t("err.internal") : t("err.unknown", { status: err.status });
}
async function apiError(response) {
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = null;
  }
  const message = data && typeof data.message === "string" ? data.message : response.statusText;
  return new ApiError(response.status, message, data && data.error, data && data.details);
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = CSRF;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/api/v1" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) {
    window.location.assign("/login");
    throw new ApiError(401, "not logged in");
  }
  if (!response.ok) throw await apiError(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

function flash(message, bad) {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = "flash" + (bad ? " bad" : "");
  box.hidden = false;
}

function guard(fn) {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      if (err.status !== 401) flash(errorText(err), true);
    }
  };
}

// Formats: one place, the reader's language and zone (the person's zone, from the page), the same
// shapes as kernel/formats.py writes on the server ("tors 3 dec. 06:45", "Thu 3 Dec 06:45").
const locale = LANG === "en" ? "en-GB" : "sv-SE";
const ZONE = document.body.dataset.zone || undefined;
function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(locale, { timeZone: ZONE, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}
function dayText(iso) {
  if (!iso) return "";
  // A plain date ("2026-12-17") is a calendar day, not an instant: shown as that day.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(iso + "T12:00:00Z") : new Date(iso);
  const zone = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? "UTC" : ZONE;
  return date.toLocaleDateString(locale, { timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric" });
}
function hhmm(date) {
  return date.toLocaleTimeString(locale, { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
}
function number(n, digits) {
  return Number(n).toLocaleString(locale, { maximumFractionDigits: digits || 0 });
}
// A code from the API as a person reads it: code.<kind>.<value> in the catalogs (kernel/i18n/codes.py).
function label(kind, code) {
  const key = "code." + kind + "." + code;
  return T[key] !== undefined ? T[key] : String(code);
}
function reasonsList(reasons) {
  return el("ul", { class: "reasons" }, reasons.map((r) => el("li", { "data-rule": r.rule }, LANG === "en" ? r.en : r.sv)));
}
function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
function countsList(items) {
  return el(
    "ul",
    { class: "counts" },
    items.map(([key, label, value]) => el("li", { class: "c-" + key, "data-count": key }, el("strong", {}, String(value)), label)),
  );
}
function table(headers, rows) {
  return el(
    "div",
    // Focusable, so a keyboard can scroll a table wider than a narrow screen (WCAG 2.1.1).
    { class: "table-wrap", tabindex: "0" },
    el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, rows)),
  );
}
function decisionText(d) {
  return label("decision", d);
}

// Manager: compose with a live preview ----------------------------------------------------------

async function pageCompose() {
  const form = document.getElementById("compose");
  const groupList = document.getElementById("group-list");
  const chosen = new Map();
  const peopleByLabel = new Map();
  const groups = await api("GET", "/groups?limit=200&managed=true");
  for (const g of groups.items) {
    const id = "g-" + g.id;
    groupList.append(el("label", { for: id }, el("input", { type: "checkbox", id, value: g.id, name: "groups" }), g.name));
  }
  let lastPreview = null;
  // Templates of the groups this person may send to: choosing one fills in the message.
  const templates = await api("GET", "/templates");
  const templateSelect = document.getElementById("template");
  for (const tpl of templates) templateSelect.append(el("option", { value: tpl.id }, tpl.name));
  templateSelect.addEventListener("change", () => {
    const tpl = templates.find((x) => x.id === templateSelect.value);
    if (!tpl) return;
    document.getElementById("title").value = tpl.title;
    document.getElementById("body").value = tpl.body;
    document.getElementById("priority").value = tpl.priority;
    document.getElementById("link").value = tpl.deep_link || "";
    const box = document.getElementById("g-" + tpl.group_id);
    if (box) box.checked = true;
  });

  function body() {
    const audience = {
      groups: [...form.querySelectorAll('input[name="groups"]:checked')].map((i) => i.value),
      people: [...chosen.keys()],
      roles: document.getElementById("roles").value.split(",").map((s) => s.trim()).filter(Boolean),
    };
    // "Urgent, but respect rest" is priority urgent without an override reason: on-duty and
    // on-call people are reached now, the others when their rest ends.
    const choice = document.getElementById("priority").value;
    const out = {
      title: document.getElementById("title").value.trim(),
      body: document.getElementById("body").value.trim(),
      priority: choice === "urgent_rest" ? "urgent" : choice,
      audience,
    };
    const ack = document.getElementById("requires-ack").checked && (out.priority === "urgent" || out.priority === "emergency");
    if (ack) {
      out.requires_ack = true;
      out.ack_timeout_minutes = Number(document.getElementById("ack-minutes").value) || 15;
    }
    if (document.getElementById("sensitive").checked) out.sensitive = true;
    const link = document.getElementById("link").value.trim();
    if (link) out.deep_link = link;
    const expires = document.getElementById("expires").value;
    if (expires) out.expires_at = new Date(expires).toISOString();
    const sendAt = document.getElementById("send-at").value; // local time; the API takes an instant
    if (sendAt) out.send_at = new Date(sendAt).toISOString();
    return out;
  }
  const mayBreakRest = () => ["urgent", "emergency"].includes(document.getElementById("priority").value);
  // Urgent and emergency messages may break rest only with a reason, which the confirmation asks
  // for; the preview shows what sending with a reason would do.
  function forPreview(b) {
    return mayBreakRest() ? { ...b, override_reason: "preview" } : b;
  }
  function syncOptions() {
    const urgent = document.getElementById("priority").value !== "info" && document.getElementById("priority").value !== "normal";
    const ackBox = document.getElementById("requires-ack");
    ackBox.disabled = !urgent;
    if (!urgent) ackBox.checked = false;
    document.getElementById("ack-minutes-row").hidden = !ackBox.checked;
  }
  // The byte counter: the server counts the largest push as a send would (the 413's computation).
  const sizeBox = document.getElementById("size");
  let sizeSeq = 0;
  const measure = debounce(async () => {
    const b = body();
    const mine = ++sizeSeq;
    try {
      const probe = { title: b.title, body: b.body };
      if (b.deep_link) probe.deep_link = b.deep_link;
      const size = await api("POST", "/messages/size", probe);
      if (mine !== sizeSeq) return;
      const vars = { bytes: number(size.bytes), limit: number(size.limit) };
      sizeBox.textContent = size.fits ? t("compose.size", vars) : t("compose.size_over", vars);
      sizeBox.className = size.fits ? "help" : "error";
    } catch (err) {
      if (mine === sizeSeq && err.status !== 401) sizeBox.textContent = errorText(err);
    }
  }, 300);
  document.getElementById("priority").addEventListener("change", syncOptions);
  document.getElementById("requires-ack").addEventListener("change", syncOptions);
  syncOptions();
  for (const id of ["title", "body", "link"]) document.getElementById(id).addEventListener("input", measure);
  measure();
  function ready(b) {
    return b.title && b.body && (b.audience.groups.length || b.audience.people.length || b.audience.roles.length);
  }
  function renderPreview(p) {
    const names = new Map(p.recipients.map((r) => [r.person_id, r.name]));
    const box = document.getElementById("preview");
    box.replaceChildren(
      countsList([
        ["deliver", t("count.deliver"), p.counts.deliver],
        ["hold", t("count.hold"), p.counts.hold],
        ["reroute", t("count.reroute"), p.counts.reroute],
        ["drop", t("count.drop"), p.counts.drop],
        ["breaks", t("count.breaks_rest"), p.breaks_rest],
      ]),
      el("ul", { class: "summary" }, p.summary.map((s) => el("li", {}, s))),
      table(
        [t("col.name"), t("col.decision"), t("col.when"), t("col.reasons")],
        p.recipients.map((r) =>
          el(
            "tr",
            {},
            el("td", {}, r.name),
            el("td", { class: "dec-" + r.decision }, decisionText(r.decision)),
            el("td", {}, r.release_at ? when(r.release_at) : r.reroute_to ? "→ " + (names.get(r.reroute_to) || t("count.reroute")) : ""),
            el("td", {}, reasonsList(r.reasons)),
          ),
        ),
      ),
    );
  }
  let seq = 0;
  let lastKey = "";
  const refresh = debounce(async () => {
    const b = body();
    if (!ready(b)) {
      lastPreview = null;
      document.getElementById("preview").replaceChildren(el("p", { class: "muted" }, t("compose.empty")));
      return;
    }
    // Who is reached and when depends on the audience, the priority, the expiry and the time, not
    // on the words: typing the text of a region-wide message decides for everyone again at most
    // once a minute.
    const { title: _title, body: _body, ...decisive } = forPreview(b);
    const key = JSON.stringify(decisive) + "@" + Math.floor(Date.now() / 60000);
    if (lastPreview && key === lastKey) return;
    const mine = ++seq;
    try {
      const p = await api("POST", "/messages/preview?language=" + LANG, forPreview(b));
      if (mine === seq) {
        lastPreview = p;
        lastKey = key;
        renderPreview(p);
      }
    } catch (err) {
      if (mine === seq && err.status !== 401) document.getElementById("preview").replaceChildren(el("p", { class: "error", role: "alert" }, errorText(err)));
    }
  }, 350);
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);

  const search = document.getElementById("people-search");
  search.addEventListener(
    "input",
    debounce(async () => {
      const q = search.value.trim();
      if (peopleByLabel.has(q)) {
        const p = peopleByLabel.get(q);
        chosen.set(p.id, p.name);
        search.value = "";
        renderChosen();
        refresh();
        return;
      }
      if (q.length < 2) return;
      const found = await api("GET", "/people?limit=20&q=" + encodeURIComponent(q));
      const options = document.getElementById("people-options");
      options.replaceChildren();
      for (const p of found.items) {
        const label = p.name + " (" + p.email + ")";
        peopleByLabel.set(label, p);
        options.append(el("option", { value: label }));
      }
    }, 250),
  );
  function renderChosen() {
    document.getElementById("people-chosen").replaceChildren(
      ...[...chosen.entries()].map(([id, name]) =>
        el("li", {}, el("button", { type: "button", "aria-label": t("quiet.remove") + " " + name, onclick: () => { chosen.delete(id); renderChosen(); refresh(); } }, name + " ×")),
      ),
    );
  }

  async function send(reason) {
    const b = body();
    if (reason) b.override_reason = reason;
    const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    const response = await fetch("/api/v1/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", [CSRF_HEADER]: CSRF, "Idempotency-Key": key },
      body: JSON.stringify(b),
      credentials: "same-origin",
    });
    if (!response.ok) throw await apiError(response);
    const data = await response.json();
    window.location.assign("/messages/" + data.message_id);
  }
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-form").addEventListener("submit", (e) => {
    const reason = document.getElementById("reason").value.trim();
    if (e.submitter && e.submitter.value === "send") {
      if (!reason) {
        e.preventDefault();
        document.getElementById("reason").focus();
        return;
      }
      guard(send)(reason);
    }
  });
  form.addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const b = body();
      if (!ready(b)) {
        flash(t("compose.empty"), true);
        return;
      }
      const p = await api("POST", "/messages/preview?language=" + LANG, forPreview(b));
      renderPreview(p);
      if ((mayBreakRest() && p.breaks_rest > 0) || b.priority === "emergency") {
        const breaks = p.breaks_rest > 0;
        document.getElementById("confirm-h").textContent = breaks ? t("compose.confirm_title") : t("compose.confirm_emergency_title");
        document.getElementById("confirm-text").textContent = breaks ? t("compose.confirm_text", { n: p.breaks_rest }) : t("compose.confirm_emergency");
        dialog.showModal();
        document.getElementById("reason").focus();
        return;
      }
      await send(null);
    }),
  );
}

// Manager: status and history -------------------------------------------------------------------

async function pageStatus() {
  const box = document.getElementById("status");
  const id = box.dataset.message;
  async function load() {
    const s = await api("GET", "/messages/" + id + "?limit=500");
    const run = await api("GET", "/messages/" + id + "/escalation");
    document.getElementById("status-title").textContent = t("status.title") + ": " + s.message.title;
    const recall = s.message.recalled_at
      ? el("p", { class: "recalled", id: "recalled" }, t("recall.done", { when: when(s.message.recalled_at) }))
      : el("button", { type: "button", id: "recall", class: "danger", onclick: guard(recallMessage) }, t("recall.button"));
    const scheduled =
      s.message.state === "scheduled" && s.message.send_at
        ? el("p", { id: "scheduled" }, t("schedule.pending", { when: when(s.message.send_at) }))
        : s.message.send_error
          ? el("p", { class: "error", id: "scheduled" }, t("schedule.failed", { why: s.message.send_error }))
          : null;
    box.replaceChildren(
      el("p", {}, t("col.audience") + ": " + s.message.audience_label + " · " + t("col.priority") + ": " + label("priority", s.message.priority) + " · " + when(s.message.created_at)),
      ...(scheduled ? [scheduled] : []),
      recall,
      ...(run.length ? [el("h2", {}, t("chain.title")), escalationTable(run)] : []),
      countsList([
        ["deliver", t("count.deliver"), s.counts.deliver],
        ["hold", t("count.hold"), s.counts.hold],
        ["reroute", t("count.reroute"), s.counts.reroute],
        ["drop", t("count.drop"), s.counts.drop],
      ]),
      el("h2", {}, t("status.deliveries")),
      countsList(Object.entries(s.deliveries).filter(([, n]) => n > 0).map(([k, n]) => [k, t("delivery." + k), n])),
      table(
        [t("col.name"), t("col.decision"), t("col.when"), t("col.read"), t("col.reasons")],
        s.recipients.map((r) =>
          el(
            "tr",
            {},
            el("td", {}, r.name),
            el("td", { class: "dec-" + r.decision }, decisionText(r.decision)),
            el("td", {}, r.release_at ? when(r.release_at) : ""),
            // Reads outside working time come back as null and stay hidden (no surveillance of rest).
            el("td", {}, r.read === null ? t("status.private") : r.read ? when(r.read_at) : "–"),
            el("td", {}, reasonsList(r.reasons)),
          ),
        ),
      ),
    );
  }
  async function recallMessage() {
    if (!window.confirm(t("recall.confirm"))) return;
    await api("POST", "/messages/" + id + "/recall");
    await load();
  }
  await guard(load)();
  setInterval(guard(load), 5000);
}

function escalationTable(run) {
  return table(
    [t("chain.step"), t("chain.who"), t("col.name"), t("col.decision"), t("chain.channel"), t("col.when"), t("col.reasons")],
    run.map((step) =>
      el(
        "tr",
        { "data-step": step.step_no },
        el("td", {}, String(step.step_no)),
        el("td", {}, step.who),
        el("td", {}, step.name || "–"),
        el("td", { class: "dec-" + step.decision }, t("chain.decision." + step.decision)),
        el("td", {}, step.channel === "email" ? t("chain.email") : t("chain.push")),
        el("td", {}, when(step.at)),
        el("td", {}, reasonsList(step.reasons)),
      ),
    ),
  );
}

async function pageHistory() {
  const page = await api("GET", "/messages?limit=100");
  const box = document.getElementById("history");
  if (!page.items.length) {
    box.replaceChildren(el("p", { class: "muted" }, t("history.empty")));
    return;
  }
  box.replaceChildren(
    table(
      [t("col.title"), t("col.audience"), t("col.priority"), t("col.sent"), t("col.state")],
      page.items.map((m) =>
        el("tr", {}, el("td", {}, el("a", { href: "/messages/" + m.id }, m.title)), el("td", {}, m.audience_label), el("td", {}, label("priority", m.priority)), el("td", {}, when(m.created_at)), el("td", {}, label("message_state", m.state))),
      ),
    ),
  );
}

// Staff: "Med patient", my week, quiet hours, leave -----------------------------------------------

async function pageMe() {
  let timer = null;
  async function loadDnd() {
    const dnd = await api("GET", "/people/me/dnd");
    const idle = document.getElementById("dnd-idle");
    const active = document.getElementById("dnd-active");
    clearInterval(timer);
    if (!dnd) {
      idle.hidden = false;
      active.hidden = true;
      return;
    }
    idle.hidden = true;
    active.hidden = false;
    const end = new Date(dnd.end_at);
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      const h = Math.floor(left / 3600);
      const m = Math.floor((left % 3600) / 60);
      const s = left % 60;
      document.getElementById("dnd-left").textContent = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
      document.getElementById("dnd-left").setAttribute("aria-label", hhmm(end));
      if (left === 0) {
        clearInterval(timer);
        guard(loadDnd)();
      }
    };
    tick();
    timer = setInterval(tick, 1000);
  }
  document.getElementById("dnd-button").addEventListener(
    "click",
    guard(async () => {
      const choice = document.querySelector('input[name="dnd-minutes"]:checked').value;
      let data;
      if (choice === "until") {
        const value = document.getElementById("dnd-until").value;
        if (!value) {
          document.getElementById("dnd-until").focus();
          flash(t("dnd.until"), true);
          return;
        }
        const [h, m] = value.split(":").map(Number);
        const until = new Date();
        until.setHours(h, m, 0, 0);
        if (until <= new Date()) until.setDate(until.getDate() + 1);
        data = { until: until.toISOString() };
      } else {
        data = { minutes: Number(choice) };
      }
      await api("POST", "/people/me/dnd", data);
      await loadDnd();
      await loadWeek();
      document.getElementById("dnd-end").focus();
    }),
  );
  document.getElementById("dnd-until").addEventListener("input", () => {
    document.getElementById("dnd-until-r").checked = true;
  });
  document.getElementById("dnd-end").addEventListener(
    "click",
    guard(async () => {
      await api("POST", "/people/me/dnd/end");
      await loadDnd();
      await loadWeek();
      document.getElementById("dnd-button").focus();
    }),
  );

  async function loadWeek() {
    const a = await api("GET", "/people/me/availability?days=7");
    const box = document.getElementById("week");
    const start = new Date(a.at);
    start.setHours(0, 0, 0, 0);
    const days = [];
    for (let i = 0; i < 7; i++) {
      const d0 = new Date(start);
      d0.setDate(start.getDate() + i);
      const d1 = new Date(d0);
      d1.setDate(d0.getDate() + 1);
      const segs = [];
      const described = [];
      for (const iv of a.intervals) {
        const s = Math.max(new Date(iv.start), d0);
        const e = Math.min(new Date(iv.end), d1);
        if (e <= s) continue;
        const left = ((s - d0) / (d1 - d0)) * 100;
        const width = ((e - s) / (d1 - d0)) * 100;
        segs.push(el("span", { class: "seg " + iv.status, style: null, "data-left": left, "data-width": width }));
        described.push(hhmm(new Date(s)) + "–" + hhmm(new Date(e)) + " " + t("week." + iv.status));
      }
      const label = d0.toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short" });
      const bar = el("div", { class: "bar", role: "img", "aria-label": label + ": " + described.join(", ") }, segs);
      days.push(el("div", { class: "day" }, el("span", {}, label), bar));
    }
    // The hour scale above the days: every third hour, in the reader's clock.
    const ticks = [0, 3, 6, 9, 12, 15, 18, 21, 24].map((h) => el("span", { class: "tick", "data-left": (h / 24) * 100 }, String(h).padStart(2, "0")));
    const scale = el("div", { class: "day scale", "aria-hidden": "true" }, el("span", {}, t("week.scale")), el("div", { class: "hours" }, ticks));
    box.replaceChildren(el("p", {}, t("week.now") + ": " + t("week." + a.now.status) + (a.now.held_until ? " – " + when(a.now.held_until) : "")), scale, ...days);
    for (const tick of box.querySelectorAll(".tick")) tick.style.left = tick.dataset.left + "%";
    // Positions are set through the CSSOM: the page's policy allows no inline style attributes.
    for (const seg of box.querySelectorAll(".seg")) {
      seg.style.left = seg.dataset.left + "%";
      seg.style.width = seg.dataset.width + "%";
    }
  }

  const quietRows = document.getElementById("quiet-rows");
  const dayNames = LANG === "en" ? ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] : ["mån", "tis", "ons", "tor", "fre", "lör", "sön"];
  let rowId = 0;
  function quietRow(w) {
    const n = ++rowId;
    for (const none of quietRows.querySelectorAll(".quiet-none")) none.remove();
    const row = el(
      "fieldset",
      { class: "quiet-row" },
      el("legend", {}, t("quiet.title") + " " + n),
      el("div", { class: "checks row" }, dayNames.map((name, i) => el("label", {}, el("input", { type: "checkbox", value: i + 1, checked: w.days.includes(i + 1) }), name))),
      el("div", { class: "grid3" },
        el("div", {}, el("label", { for: "q-from-" + n }, t("quiet.from")), el("input", { type: "time", id: "q-from-" + n, value: w.start.slice(0, 5), required: true })),
        el("div", {}, el("label", { for: "q-to-" + n }, t("quiet.to")), el("input", { type: "time", id: "q-to-" + n, value: w.end.slice(0, 5), required: true })),
        el("button", { type: "button", onclick: () => row.remove() }, t("quiet.remove")),
      ),
    );
    quietRows.append(row);
  }
  async function loadQuiet() {
    const q = await api("GET", "/people/me/quiet-hours");
    quietRows.replaceChildren();
    if (!q.windows.length) quietRows.append(el("p", { class: "muted quiet-none" }, t("quiet.none")));
    q.windows.forEach(quietRow);
  }
  document.getElementById("quiet-add").addEventListener("click", () => quietRow({ days: [1, 2, 3, 4, 5], start: "21:00", end: "07:00" }));
  document.getElementById("quiet").addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const windows = [...quietRows.querySelectorAll(".quiet-row")].map((row) => ({
        days: [...row.querySelectorAll("input[type=checkbox]:checked")].map((i) => Number(i.value)),
        start: row.querySelectorAll("input[type=time]")[0].value,
        end: row.querySelectorAll("input[type=time]")[1].value,
      }));
      await api("PUT", "/people/me/quiet-hours", { windows });
      flash(t("quiet.saved"));
      await loadWeek();
    }),
  );

  async function loadLeave() {
    const rows = await api("GET", "/people/me/leave");
    document.getElementById("leave-list").replaceChildren(
      ...rows.map((l) =>
        el("li", {}, t("leave." + l.kind) + ": " + when(l.start_at) + " – " + when(l.end_at) + " ",
          el("button", { type: "button", onclick: guard(async () => { await api("DELETE", "/leave/" + l.id); await loadLeave(); await loadWeek(); }) }, t("leave.delete"))),
      ),
    );
  }
  document.getElementById("leave").addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const start = document.getElementById("leave-start").value;
      const end = document.getElementById("leave-end").value;
      await api("POST", "/people/me/leave", { kind: document.getElementById("leave-kind").value, start: new Date(start).toISOString(), end: new Date(end).toISOString() });
      flash(t("saved"));
      await loadLeave();
      await loadWeek();
    }),
  );
  await Promise.all([guard(loadDnd)(), guard(loadWeek)(), guard(loadQuiet)(), guard(loadLeave)()]);
}

// Staff: inbox and devices ----------------------------------------------------------------------

async function pageInbox() {
  const page = await api("GET", "/inbox?limit=100");
  const box = document.getElementById("inbox");
  if (!page.items.length) {
    box.replaceChildren(el("p", { class: "muted" }, t("inbox.empty")));
    return;
  }
  // A tapped notification opens the inbox at its message (/inbox?message=ID).
  const opened = new URLSearchParams(window.location.search).get("message");
  box.replaceChildren(
    ...page.items.map((m) => {
      const held = m.decision === "hold";
      const target = m.message_id === opened;
      return el(
        "article",
        { class: "card inbox-item" + (held ? " held" : "") + (m.read_at ? "" : " unread") + (target ? " opened" : ""), "data-decision": m.decision, "aria-labelledby": "m-" + m.message_id, "aria-describedby": target ? "opened-note" : null },
        target ? el("p", { class: "visually-hidden", id: "opened-note" }, t("inbox.opened")) : null,
        el("h2", { id: "m-" + m.message_id, tabindex: target ? "-1" : null }, m.title),
        held ? el("p", { class: "held-note" }, t("inbox.held", { when: when(m.held_until) })) : null,
        el("p", {}, m.body),
        el("p", { class: "muted" }, (m.sender_name || "") + " · " + when(m.created_at)),
        m.reasons.length ? reasonsList(m.reasons) : null,
        el("div", { class: "row" },
          m.requires_ack && !m.acked_at ? el("button", { type: "button", class: "primary", onclick: guard(async () => { await api("POST", "/inbox/" + m.message_id + "/ack"); await pageInbox(); }) }, t("inbox.ack")) : null,
          m.acked_at ? el("p", { class: "acked" }, t("inbox.acked", { when: when(m.acked_at) })) : null,
          m.read_at ? null : el("button", { type: "button", onclick: guard(async () => { await api("POST", "/inbox/" + m.message_id + "/read"); await pageInbox(); }) }, t("inbox.mark_read")),
        ),
      );
    }),
  );
  const heading = opened && document.getElementById("m-" + opened);
  if (heading) {
    heading.scrollIntoView({ block: "start" });
    heading.focus();
  }
}

async function pageDevices() {
  const rows = await api("GET", "/devices");
  const box = document.getElementById("devices");
  box.replaceChildren(
    ...rows.map((d) => {
      const input = el("input", { id: "dev-" + d.id, value: d.name, maxlength: 200 });
      return el(
        "section",
        { class: "card", "aria-labelledby": "devh-" + d.id },
        el("h2", { id: "devh-" + d.id }, d.name),
        el("p", {}, [label("platform", d.platform), label("provider", d.provider), label("ownership", d.ownership), label("device_state", d.state)].join(" · ")),
        el("label", { for: "dev-" + d.id }, t("devices.name")),
        input,
        el("div", { class: "row" },
          el("button", { type: "button", onclick: guard(async () => { await api("PATCH", "/devices/" + d.id, { name: input.value }); flash(t("saved")); await pageDevices(); }) }, t("devices.rename")),
          el("button", { type: "button", onclick: guard(async () => { await api("PATCH", "/devices/" + d.id, { lost: true }); flash(t("saved")); await pageDevices(); }) }, t("devices.lost")),
          el("button", { type: "button", class: "danger", onclick: guard(async () => { if (!window.confirm(t("devices.confirm_remove"))) return; await api("DELETE", "/devices/" + d.id); await pageDevices(); }) }, t("devices.remove")),
        ),
      );
    }),
  );
}

// Everyone: on-call rosters, the next 14 days, gaps and overlaps; keepers add and remove overrides --

// Times are shown in the roster's own zone (the API's instants are UTC), as "2026-11-28 08:00".
function zoned(iso, zone) {
  const parts = {};
  const format = new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  for (const p of format.formatToParts(new Date(iso))) parts[p.type] = p.value;
  return { day: parts.year + "-" + parts.month + "-" + parts.day, time: parts.hour + ":" + parts.minute };
}
function span(start, end, zone) {
  const a = zoned(start, zone);
  const b = zoned(end, zone);
  return a.day === b.day ? a.day + " " + a.time + "–" + b.time : a.day + " " + a.time + " – " + b.day + " " + b.time;
}
function zoneOffset(ms, zone) {
  const f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  const p = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}
// A datetime-local value read as wall-clock time in the roster's zone, whatever the browser's zone.
function fromZoned(value, zone) {
  const [d, tm] = value.split("T");
  const [y, mo, da] = d.split("-").map(Number);
  const [h, mi] = tm.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, da, h, mi);
  let ms = wall - zoneOffset(wall, zone);
  ms = wall - zoneOffset(ms, zone);
  return new Date(ms).toISOString();
}
function sourceText(source) {
  if (source === "override") return t("rosters.source.override");
  const layer = /^layer (\d+)$/.exec(source);
  return layer ? t("rosters.source.layer", { n: Number(layer[1]) + 1 }) : source;
}

async function pageRosters() {
  const box = document.getElementById("rosters");
  const keeper = box.dataset.keeper === "1";
  const [rosters, groups] = await Promise.all([api("GET", "/rosters"), api("GET", "/groups?limit=200")]);
  if (!rosters.length) {
    box.replaceChildren(el("p", { class: "muted" }, t("rosters.none")));
    return;
  }
  const groupName = new Map(groups.items.map((g) => [g.id, g.name]));
  // Members are listed to the group's own people and keepers; the timeline names whoever is on call.
  const details = new Map();
  for (const id of new Set(rosters.map((r) => r.group_id))) {
    details.set(id, await api("GET", "/groups/" + id).catch(() => ({ members: [], managers: [] })));
  }
  const sections = [];
  for (const r of [...rosters].sort((a, b) => a.name.localeCompare(b.name, locale))) {
    const [timeline, now] = await Promise.all([
      api("GET", "/rosters/" + r.id + "/timeline"),
      api("GET", "/on-call?role=" + encodeURIComponent(r.role)),
    ]);
    sections.push(rosterSection(r, timeline, now, details.get(r.group_id), groupName, keeper));
  }
  box.replaceChildren(...sections);
}

function rosterSection(r, timeline, now, group, groupName, keeper) {
  const zone = r.timezone;
  const kind = t("rosters.kind." + r.kind);
  // The whole id: ids are time-ordered, so rosters made together share their first digits.
  const slug = r.id;
  const names = new Map();
  for (const p of [...group.members, ...group.managers]) names.set(p.id, p.name);
  for (const s of timeline.segments) if (s.person_name) names.set(s.person_id, s.person_name);
  const nameOf = (id) => names.get(id) || t("rosters.unknown_person");

  const current = now.person_id
    ? el("p", { class: "on-call-now", "data-on-call": now.person_id }, t("rosters.now", { kind }) + ": ", el("strong", {}, now.person_name || nameOf(now.person_id)), now.end ? " (" + t("rosters.now_until", { end: zoned(now.end, zone).day + " " + zoned(now.end, zone).time }) + ")" : "")
    : el("p", { class: "on-call-now gap" }, el("strong", {}, t("rosters.nobody_now", { kind })));

  const alerts = [
    ...timeline.gaps.map((g) => el("li", { class: "gap" }, t("rosters.gap", { kind, span: span(g.start, g.end, zone) }))),
    ...timeline.overlaps.map((o) => el("li", { class: "overlap" }, t("rosters.overlap", { span: span(o.start, o.end, zone), winner: sourceText(o.winner), shadowed: o.shadowed.map(sourceText).join(", ") }))),
  ];
  const rows = [
    ...timeline.segments.map((s) => ({ start: s.start, end: s.end, who: s.person_name || nameOf(s.person_id), source: sourceText(s.source), gap: false })),
    ...timeline.gaps.map((g) => ({ start: g.start, end: g.end, who: t("rosters.nobody"), source: "", gap: true })),
  ].sort((a, b) => new Date(a.start) - new Date(b.start));
  const fmt = (iso) => { const z = zoned(iso, zone); return z.day + " " + z.time; };

  return el(
    "section",
    { class: "card roster", "data-roster": r.role, "aria-labelledby": "rh-" + slug },
    el("h2", { id: "rh-" + slug }, r.name),
    el("p", {}, t("rosters.role") + ": " + r.role + " · " + t("rosters.group") + ": " + (groupName.get(r.group_id) || "–") + " · " + t("rosters.kind") + ": " + kind),
    current,
    el("h3", {}, t("rosters.timeline")),
    alerts.length ? el("ul", { class: "alerts" }, alerts) : el("p", { class: "muted" }, t("rosters.no_gaps")),
    table(
      [t("rosters.from"), t("rosters.to"), t("rosters.who"), t("rosters.source")],
      rows.map((row) => el("tr", { class: row.gap ? "gap" : null }, el("td", {}, fmt(row.start)), el("td", {}, fmt(row.end)), el("td", {}, row.gap ? el("strong", {}, row.who) : row.who), el("td", {}, row.source))),
    ),
    overridesPart(r, slug, nameOf, group, keeper),
  );
}

function overridesPart(r, slug, nameOf, group, keeper) {
  const zone = r.timezone;
  const error = el("p", { class: "error", role: "alert", id: "oe-" + slug, hidden: true });
  const fail = (err) => {
    if (err.status === 401) return;
    error.textContent = errorText(err);
    error.hidden = false;
  };
  const list = r.overrides.length
    ? el("ul", { class: "overrides" }, r.overrides.map((o) => {
        const when = span(o.start_at, o.end_at, zone);
        return el("li", {}, nameOf(o.person_id) + ", " + when + (o.note ? " – " + o.note : "") + " ",
          keeper ? el("button", { type: "button", "aria-label": t("rosters.override_remove_label", { name: nameOf(o.person_id), span: when }), onclick: async () => {
            try {
              await api("DELETE", "/rosters/" + r.id + "/overrides/" + o.id);
            } catch (err) {
              fail(err);
              return;
            }
            await guard(pageRosters)();
            flash(t("rosters.override_removed"));
          } }, t("rosters.override_remove")) : null);
      }))
    : el("p", { class: "muted" }, t("rosters.no_overrides"));
  if (!keeper) return el("div", {}, el("h3", {}, t("rosters.overrides")), list);

  const people = new Map();
  for (const p of [...group.members, ...group.managers]) people.set(p.id, p.name);
  for (const layer of r.layers) for (const id of layer.participants) if (!people.has(id)) people.set(id, nameOf(id));
  const who = el("select", { id: "op-" + slug, required: true }, [...people.entries()].sort((a, b) => a[1].localeCompare(b[1], locale)).map(([id, name]) => el("option", { value: id }, name)));
  const start = el("input", { type: "datetime-local", id: "os-" + slug, required: true });
  const end = el("input", { type: "datetime-local", id: "oend-" + slug, required: true });
  const note = el("input", { id: "on-" + slug, maxlength: 500 });
  const warning = el("div", { class: "warning", role: "alert", id: "ow-" + slug, hidden: true });
  const submit = el("button", { type: "submit", class: "primary" }, t("rosters.override_add"));
  const form = el("form", { class: "grid3 override-form", "aria-labelledby": "oh-" + slug, "aria-describedby": error.id, onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    const body = { person_id: who.value, start: fromZoned(start.value, zone), end: fromZoned(end.value, zone) };
    if (note.value.trim()) body.note = note.value.trim();
    try {
      // Before saving: would it put someone above the jour limits or leave a week without weekly rest?
      if (form.dataset.confirmed !== JSON.stringify(body)) {
        const check = await api("POST", "/rosters/" + r.id + "/overrides/check", body);
        if (!check.ok) {
          warning.replaceChildren(el("p", {}, t("rest.check.warning")), el("ul", {}, check.findings.map(findingText).map((line) => el("li", {}, line))));
          warning.hidden = false;
          form.dataset.confirmed = JSON.stringify(body);
          submit.textContent = t("rest.check.save_anyway");
          return;
        }
      }
      await api("POST", "/rosters/" + r.id + "/overrides", body);
    } catch (err) {
      fail(err);
      return;
    }
    await guard(pageRosters)();
    flash(t("rosters.override_added"));
  } },
    el("div", {}, el("label", { for: who.id }, t("rosters.override_person")), who),
    el("div", {}, el("label", { for: start.id }, t("rosters.override_start", { zone })), start),
    el("div", {}, el("label", { for: end.id }, t("rosters.override_end", { zone })), end),
    el("div", {}, el("label", { for: note.id }, t("rosters.override_note")), note),
    warning,
    submit,
    error,
  );
  return el("div", {}, el("h3", { id: "oh-" + slug }, t("rosters.overrides")), list, form);
}

// HR: policies, ledger, dashboard ---------------------------------------------------------------

// How a policy field's value reads: times in the reader's zone, lists as words, yes/no.
function policyValue(field, value) {
  if (value === null || value === undefined) return "–";
  if (field === "effective_from") return when(value);
  if (field === "morning_time") return String(value).slice(0, 5);
  if (field === "working_time") return value.map((v) => label("work_source", v)).join(", ");
  if (field === "override_roles") return value.map((v) => label("role", v)).join(", ");
  if (field === "hold_target") return label("hold_target", value);
  if (typeof value === "boolean") return label("bool", value);
  if (typeof value === "number") return number(value, 1);
  return String(value);
}
// Lists compare as sets: the same roles in another order are no change.
function sameValue(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  return JSON.stringify(a) === JSON.stringify(b);
}
const POLICY_FIELDS = ["effective_from", "daily_rest_hours", "weekly_rest_hours", "working_time", "hold_target", "morning_time", "urgent_override_allowed", "override_roles", "override_reason_required", "override_weekly_cap", "compensatory_days", "content_free_push", "private_devices_allowed", "approval_note"];

function versionParams(v) {
  const out = {};
  for (const f of POLICY_FIELDS) if (f !== "effective_from" && f !== "approval_note") out[f] = v[f];
  return out;
}

async function pagePolicies() {
  const [policies, groups] = await Promise.all([api("GET", "/policies"), api("GET", "/groups?limit=200")]);
  const groupName = new Map(groups.items.map((g) => [g.id, g.name]));
  const box = document.getElementById("policies");
  const editor = box.dataset.editor === "1";  // HR and admin; a union representative reads
  box.replaceChildren(
    ...policies.map((p) => {
      const versions = [...p.versions].sort((a, b) => a.version - b.version);
      const latest = versions[versions.length - 1];
      const diffs = versions.map((v, i) => {
        if (i === 0) return null;
        const prev = versions[i - 1];
        const lines = POLICY_FIELDS.filter((f) => f !== "approval_note" && !sameValue(prev[f], v[f])).map((f) =>
          el("div", { "data-field": f }, label("policy_field", f) + ": ", el("span", { class: "del" }, "− " + policyValue(f, prev[f])), " ", el("span", { class: "ins" }, "+ " + policyValue(f, v[f]))),
        );
        return el("details", {}, el("summary", {}, t("policies.diff") + " (v" + prev.version + " → v" + v.version + ")"), lines.length ? el("div", { class: "diff" }, lines) : el("p", {}, t("policies.nodiff")));
      });
      const slug = p.id;  // the whole id: ids made together share their first characters (the time)
      const eff = el("input", { type: "datetime-local", id: "eff-" + slug, required: true });
      const note = el("input", { id: "note-" + slug, required: true, maxlength: 2000 });
      const daily = el("input", { type: "number", id: "daily-" + slug, min: 0, max: 24, step: 0.5, value: latest.daily_rest_hours });
      const weekly = el("input", { type: "number", id: "weekly-" + slug, min: 0, max: 168, step: 0.5, value: latest.weekly_rest_hours });
      const cap = el("input", { type: "number", id: "cap-" + slug, min: 0, max: 100, value: latest.override_weekly_cap });
      const comp = el("input", { type: "number", id: "comp-" + slug, min: 0, max: 365, value: latest.compensatory_days });
      const override = el("input", { type: "checkbox", id: "ovr-" + slug, checked: latest.urgent_override_allowed });
      const groupSel = el("select", { id: "grp-" + slug }, groups.items.map((g) => el("option", { value: g.id }, g.name)));
      return el(
        "section",
        { class: "card policy", "data-policy": p.name, "aria-labelledby": "ph-" + slug },
        el("h2", { id: "ph-" + slug }, p.name),
        p.description ? el("p", {}, p.description) : null,
        el("p", {}, t("policies.groups") + ": " + (p.groups.map((g) => groupName.get(g) || g).join(", ") || "–")),
        table(
          [t("policies.version"), t("policies.effective"), t("policies.rest_hours"), t("policies.cap"), t("policies.comp_days"), t("policies.note")],
          versions.map((v) => el("tr", {}, el("td", {}, "v" + v.version), el("td", {}, when(v.effective_from)), el("td", {}, number(v.daily_rest_hours, 1) + " / " + number(v.weekly_rest_hours, 1)), el("td", {}, String(v.override_weekly_cap)), el("td", {}, String(v.compensatory_days)), el("td", {}, v.approval_note))),
        ),
        diffs,
        editor && el("form", { class: "grid3 new-version", onsubmit: guard(async (e) => {
          e.preventDefault();
          const data = { ...versionParams(latest), effective_from: new Date(eff.value).toISOString(), approval_note: note.value.trim(), daily_rest_hours: Number(daily.value), weekly_rest_hours: Number(weekly.value), override_weekly_cap: Number(cap.value), compensatory_days: Number(comp.value), urgent_override_allowed: override.checked };
          await api("POST", "/policies/" + p.id + "/versions", data);
          flash(t("saved"));
          await pagePolicies();
        }) },
          el("h3", {}, t("policies.new_version")),
          el("div", {}, el("label", { for: eff.id }, t("policies.effective")), eff),
          el("div", {}, el("label", { for: daily.id }, t("policies.daily")), daily),
          el("div", {}, el("label", { for: weekly.id }, t("policies.weekly")), weekly),
          el("div", {}, el("label", { for: cap.id }, t("policies.cap")), cap),
          el("div", {}, el("label", { for: comp.id }, t("policies.comp_days")), comp),
          el("div", {}, el("label", { for: override.id }, override, " " + t("policies.override"))),
          el("div", {}, el("label", { for: note.id }, t("policies.note")), note),
          el("button", { type: "submit", class: "primary" }, t("policies.new_version")),
        ),
        editor && el("form", { class: "row", onsubmit: guard(async (e) => { e.preventDefault(); await api("PUT", "/policies/" + p.id + "/groups/" + groupSel.value); flash(t("saved")); await pagePolicies(); }) },
          el("label", { for: groupSel.id }, t("policies.assign")), groupSel, el("button", { type: "submit" }, t("policies.assign"))),
      );
    }),
  );
}

function initNewPolicy() {
  const form = document.getElementById("new-policy");
  if (!form) return;  // read-only for a union representative
  form.addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      await api("POST", "/policies", { name: document.getElementById("np-name").value.trim(), approval_note: document.getElementById("np-note").value.trim(), effective_from: new Date().toISOString() });
      form.reset();
      flash(t("saved"));
      await pagePolicies();
    }),
  );
}

// The ledger's filters live in the page's address, so a filtered view can be bookmarked.
async function pageLedger() {
  const form = document.getElementById("ledger-filters");
  const [people, groups] = await Promise.all([api("GET", "/people?limit=500"), api("GET", "/groups?limit=200")]);
  const names = new Map(people.items.map((p) => [p.id, p.name]));
  const personBox = document.getElementById("lf-person");
  const groupBox = document.getElementById("lf-group");
  personBox.append(...[...people.items].sort((a, b) => a.name.localeCompare(b.name, locale)).map((p) => el("option", { value: p.id }, p.name)));
  groupBox.append(...groups.items.map((g) => el("option", { value: g.id }, g.name)));
  const asked = new URLSearchParams(location.search);
  for (const [id, key] of [["lf-person", "person_id"], ["lf-group", "group_id"], ["lf-since", "since"], ["lf-until", "until"]]) {
    if (asked.get(key)) document.getElementById(id).value = asked.get(key);
  }
  async function load() {
    const query = new URLSearchParams({ limit: "200" });
    const shown = new URLSearchParams();
    if (personBox.value) query.set("person_id", personBox.value), shown.set("person_id", personBox.value);
    if (groupBox.value) query.set("group_id", groupBox.value), shown.set("group_id", groupBox.value);
    // Days are the reader's days: from the start of "from" to the end of "to", in the browser's zone.
    const since = document.getElementById("lf-since").value;
    const until = document.getElementById("lf-until").value;
    if (since) query.set("since", new Date(since + "T00:00").toISOString()), shown.set("since", since);
    if (until) {
      const end = new Date(until + "T00:00");
      end.setDate(end.getDate() + 1);
      query.set("until", end.toISOString());
      shown.set("until", until);
    }
    history.replaceState(null, "", shown.toString() ? "?" + shown : location.pathname);
    renderLedger(await api("GET", "/rest-ledger?" + query), names, load);
  }
  form.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    await load();
  }));
  await load();
}

function renderLedger(page, names, reload) {
  function grant(e) {
    const open = e.compensatory_minutes - e.granted_minutes;
    if (open <= 0) return null;
    const id = "grant-" + e.id;
    const input = el("input", { type: "number", id, min: 1, max: open, value: open });
    return el("form", { class: "row", onsubmit: guard(async (ev) => {
      ev.preventDefault();
      await api("POST", "/rest-ledger/" + e.id + "/grant", { minutes: Number(input.value) });
      flash(t("saved"));
      await reload();
    }) }, el("label", { for: id, class: "visually-hidden" }, t("ledger.grant_minutes")), input, el("button", { type: "submit" }, t("ledger.grant")));
  }
  document.getElementById("ledger").replaceChildren(
    countsList([["owed", t("ledger.owed"), number(page.owed_minutes)], ["granted", t("ledger.granted"), number(page.granted_minutes)]]),
    page.items.length ? table(
      [t("col.when"), t("ledger.person"), t("ledger.kind"), t("col.priority"), t("col.reasons"), t("ledger.owed_granted"), t("ledger.due"), t("ledger.grant")],
      page.items.map((e) =>
        el("tr", {},
          el("td", {}, when(e.at)),
          el("td", {}, names.get(e.person_id) || e.person_id),
          el("td", {}, label("contact", e.kind)),
          el("td", {}, label("priority", e.priority)),
          el("td", {}, e.reason || [...e.rules, ...e.states].filter((v, i, all) => all.indexOf(v) === i).map((r) => label("rule", r)).join(", ")),
          el("td", {}, number(e.compensatory_minutes) + " / " + number(e.granted_minutes)),
          el("td", {}, dayText(e.compensatory_due)),
          el("td", {}, grant(e)),
        ),
      ),
    ) : el("p", { class: "muted" }, t("ledger.none")),
  );
}

// Charts: plain SVG built here, each with a title, a description and the numbers as a table.
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
const PALETTE = ["#1d4e89", "#b35c00", "#2e7d32", "#8e24aa", "#a4161a", "#00695c", "#5d4037"];

function barChart(id, title, labels, series) {
  // series: [{name, values[]}] drawn as grouped bars
  const width = 560, height = 240, left = 40, bottom = 40, top = 10;
  const peak = Math.max(1, ...series.flatMap((s) => s.values));
  const step = Math.max(1, Math.ceil(peak / 4));
  const max = step * Math.ceil(peak / step);
  const band = (width - left - 10) / Math.max(1, labels.length);
  const barW = Math.min(48, Math.max(2, (band - 6) / Math.max(1, series.length)));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const parts = [svg("title", { id: id + "-t" }, title)];
  for (let v = 0; v <= max; v += step) {
    parts.push(svg("line", { x1: left, x2: width, y1: y(v), y2: y(v), stroke: "#ccc" }), svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, v));
  }
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      const x0 = left + i * band + (band - barW * series.length) / 2;
      parts.push(svg("rect", { x: x0 + j * barW, y: y(v), width: barW - 1, height: y(0) - y(v), fill: PALETTE[j % PALETTE.length] }, svg("title", {}, s.name + ", " + label + ": " + v)));
    });
    parts.push(svg("text", { x: left + i * band + band / 2, y: height - bottom + 14, "text-anchor": "middle" }, label.length > 12 ? label.slice(0, 11) + "…" : label));
  });
  const legend = series.length > 1 ? el("ul", { class: "legend" }, series.map((s, j) => el("li", {}, el("span", { class: "sw", "data-color": PALETTE[j % PALETTE.length] }), s.name))) : null;
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": id + "-t", width: "100%" }, parts);
  const numbers = el("details", {}, el("summary", {}, title + " – " + (LANG === "en" ? "numbers" : "siffror")),
    table(["", ...labels], series.map((s) => el("tr", {}, el("th", { scope: "row" }, s.name), s.values.map((v) => el("td", {}, String(v)))))));
  return [chart, legend, numbers];
}

async function pageDashboard() {
  // The period and group are kept in the page's address, so a view can be bookmarked and shared.
  const weeksBox = document.getElementById("dash-weeks");
  const groupBox = document.getElementById("dash-group");
  const asked = new URLSearchParams(location.search);
  if (asked.get("weeks") && [...weeksBox.options].some((o) => o.value === asked.get("weeks"))) weeksBox.value = asked.get("weeks");
  const groups = await api("GET", "/groups?limit=200");
  groupBox.append(...groups.items.map((g) => el("option", { value: g.id }, g.name)));
  if (asked.get("group")) groupBox.value = asked.get("group");
  const change = guard(async () => {
    const query = new URLSearchParams({ weeks: weeksBox.value });
    if (groupBox.value) query.set("group", groupBox.value);
    history.replaceState(null, "", "?" + query);
    await renderDashboard(weeksBox.value, groupBox.value);
  });
  weeksBox.addEventListener("change", change);
  groupBox.addEventListener("change", change);
  await renderDashboard(weeksBox.value, groupBox.value);
}

async function renderDashboard(weeks, groupId) {
  const query = "?weeks=" + encodeURIComponent(weeks) + (groupId ? "&group_id=" + encodeURIComponent(groupId) : "");
  const r = await api("GET", "/reports/compliance" + query);
  const csv = (name) => el("a", { href: "/api/v1/reports/compliance/" + name + ".csv" + query, download: "vila-" + name + ".csv" }, t("dash.csv"));
  const xlsx = (name) => el("a", { href: "/api/v1/reports/compliance/" + name + ".xlsx" + query, download: "vila-" + name + ".xlsx" }, t("dash.xlsx"));
  const section = (id, title, name, ...body) => el("section", { class: "card", id, "aria-labelledby": id + "-h" }, el("h2", { id: id + "-h" }, title), ...body, el("p", { class: "row" }, csv(name), xlsx(name)));
  const groups = Object.keys(r.after_hours).sort();
  const comp = r.compensatory;
  const weekLabels = r.weeks.map((w) => (LANG === "en" ? "W" : "v") + Number(w.split("-W")[1]));
  document.getElementById("dashboard").replaceChildren(
    section("after-hours", t("dash.after_hours"), "after-hours", groups.length ? barChart("c-after", t("dash.after_hours"), weekLabels, groups.map((g) => ({ name: g, values: r.weeks.map((w) => r.after_hours[g][w] || 0) }))) : el("p", {}, t("dash.none"))),
    section("overrides", t("dash.overrides"), "overrides", r.overrides.length ? barChart("c-ovr", t("dash.overrides"), r.overrides.map((o) => o.sender), [{ name: t("dash.overrides"), values: r.overrides.map((o) => o.count) }]) : el("p", {}, t("dash.none"))),
    section("broken", t("dash.broken"), "broken-rest", barChart("c-broken", t("dash.broken"), weekLabels, [{ name: t("dash.broken"), values: r.weeks.map((w) => r.broken_rest[w] || 0) }])),
    section("comp", t("dash.comp"), "compensatory",
      countsList([["owed", t("ledger.owed"), comp.owed_minutes], ["granted", t("ledger.granted"), comp.granted_minutes], ["breaks", t("dash.overdue"), comp.overdue_minutes]]),
      barChart("c-comp", t("dash.comp"), [t("ledger.owed"), t("ledger.granted"), t("dash.overdue")], [{ name: t("dash.comp"), values: [comp.owed_minutes, comp.granted_minutes, comp.overdue_minutes] }])),
    section("weekly-rest", t("dash.weekly_rest"), "weekly-rest", Object.keys(r.weekly_rest).length
      ? barChart("c-weekly", t("dash.weekly_rest"), weekLabels, Object.keys(r.weekly_rest).sort().map((g) => ({ name: g, values: r.weeks.map((w) => r.weekly_rest[g][w] || 0) })))
      : el("p", {}, t("dash.none"))),
    section("jour-limits", t("dash.jour_limits"), "jour-limits", Object.keys(r.jour_limits).length
      ? el("ul", { id: "jour-limits-list" }, Object.keys(r.jour_limits).sort().map((g) => el("li", {}, g + ": " + ["four_weeks", "month"].filter((b) => r.jour_limits[g][b]).map((b) => r.jour_limits[g][b] + " " + t("dash.jour." + b)).join(", "))))
      : el("p", {}, t("dash.none"))),
    section("changes", t("dash.changes"), "policy-changes",
      el("p", { id: "changes-count" }, el("strong", { "data-count": "policy-changes" }, String(r.policy_changes.length))),
      r.policy_changes.length
        ? el("ul", {}, r.policy_changes.map((c) => el("li", {}, c.policy + " v" + c.version + " – " + t("policies.effective") + " " + when(c.effective_from) + ": " + c.approval_note)))
        : el("p", {}, t("dash.none"))),
  );
  for (const sw of document.querySelectorAll(".sw[data-color]")) sw.style.background = sw.dataset.color;
}

function findingText(f) {
  if (f.kind === "jour_limit") return t("rest.check.jour", { name: f.name, hours: f.hours, limit: f.limit_hours, basis: t("rest.basis." + f.period) });
  return t("rest.check.weekly", { name: f.name, week: f.period, cause: t("rest.cause." + f.cause) });
}

// Staff: held messages also by e-mail --------------------------------------------------------------

async function emailChoice() {
  const form = document.getElementById("email-choice");
  const show = (c) => {
    document.getElementById("email-enabled").checked = c.enabled;
    document.getElementById("email-address").value = c.address;
    const bounced = document.getElementById("email-bounced");
    bounced.hidden = !c.bounced_at;
    bounced.textContent = c.bounced_at ? t("email.bounced", { why: c.bounce_reason || "" }) : "";
  };
  show(await api("GET", "/people/me/email"));
  form.addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const address = document.getElementById("email-address").value.trim();
      const choice = await api("PUT", "/people/me/email", {
        enabled: document.getElementById("email-enabled").checked,
        ...(address ? { address } : {}),
      });
      show(choice);
      flash(t("email.saved"));
    }),
  );
}

const PAGES = {
  compose: pageCompose,
  status: pageStatus,
  messages: pageHistory,
  me: async () => { await pageMe(); await emailChoice(); },
  rosters: pageRosters,
  inbox: pageInbox,
  devices: pageDevices,
  policies: async () => { initNewPolicy(); await pagePolicies(); },
  ledger: pageLedger,
  dashboard: pageDashboard,
};

document.addEventListener("DOMContentLoaded", () => {
  const init = PAGES[document.body.dataset.page];
  if (init) guard(init)().then(() => document.body.setAttribute("data-ready", "1"));
  else document.body.setAttribute("data-ready", "1");
});
