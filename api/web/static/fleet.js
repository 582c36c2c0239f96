// Vila web: the device fleet's pages for device administration (role it). Loaded after app.js,
// whose helpers (t, el, api, flash, guard, when, table, countsList, svg, PALETTE) it uses, and
// whose PAGES table it adds its pages to.
"use strict";

const FLEET_STATES = ["in_stock", "assigned", "loaner", "on_loan", "returned", "wiped", "in_repair", "lost", "retired"];
const OUTCOMES = {
  disable_push: ["disabled", "not_needed"],
  return_asset: ["returned", "lost", "not_needed"],
  wipe_asset: ["wiped", "not_needed"],
  subscription: ["ended", "transferred", "not_needed"],
  extension: ["ended", "transferred", "not_needed"],
};

function stateBadge(state) {
  return el("span", { class: "state state-" + state, "data-state": state }, t("fleet.state." + state));
}
function holderText(h) {
  if (!h) return "";
  return h.person_name || h.group_name || h.role || "";
}
function day(iso) {
  return iso ? new Date(iso).toLocaleDateString(locale) : "";
}
function kr(value) {
  return value === null || value === undefined ? "" : value.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " kr";
}
async function unitOptions(select) {
  const units = await api("GET", "/groups?kind=unit&limit=500");
  select.append(...units.items.map((g) => el("option", { value: g.id }, g.name)));
}

// The register: filters kept in the address, pages of 100, register one, import a file -----------

async function pageFleet() {
  const form = document.getElementById("fleet-filter");
  await unitOptions(document.getElementById("f-unit"));
  const asked = new URLSearchParams(location.search);
  for (const name of ["state", "kind", "unit", "site", "q"]) if (asked.get(name)) form.elements[name].value = asked.get(name);
  const more = document.getElementById("fleet-more");
  let offset = 0;
  let body = null;

  function row(a) {
    return el(
      "tr",
      { "data-serial": a.serial },
      el("th", { scope: "row" }, el("a", { href: "/fleet/assets/" + a.id }, a.serial)),
      el("td", {}, a.model),
      el("td", {}, t("fleet.kind." + a.kind)),
      el("td", {}, stateBadge(a.state)),
      el("td", {}, holderText(a.holder)),
      el("td", {}, a.subscription ? a.subscription.number : ""),
      el("td", {}, when(a.last_check_in_at)),
    );
  }
  async function load(reset) {
    const query = new URLSearchParams();
    for (const name of ["state", "kind", "unit", "site", "q"]) {
      const value = form.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    history.replaceState(null, "", "?" + query);
    if (reset) offset = 0;
    query.set("limit", "100");
    query.set("offset", String(offset));
    const page = await api("GET", "/fleet/assets?" + query);
    if (reset) {
      const wrap = table([t("fleet.col.serial"), t("fleet.col.model"), t("fleet.col.kind"), t("fleet.col.state"), t("fleet.col.holder"), t("fleet.col.number"), t("fleet.col.checkin")], []);
      body = wrap.querySelector("tbody");
      document.getElementById("fleet-list").replaceChildren(page.total ? wrap : el("p", {}, t("fleet.none")));
    }
    body.append(...page.items.map(row));
    offset += page.items.length;
    document.getElementById("fleet-count").textContent = t("fleet.count", { n: page.total });
    more.hidden = offset >= page.total;
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    guard(load)(true);
  });
  more.addEventListener("click", guard(() => load(false)));

  document.getElementById("asset-form").addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const data = Object.fromEntries([...new FormData(e.target).entries()].filter(([, v]) => String(v).trim() !== ""));
      if (data.purchase_price) data.purchase_price = data.purchase_price.replace(",", ".").replace(/\s/g, "");
      const a = await api("POST", "/fleet/assets", data);
      e.target.reset();
      flash(t("fleet.added") + " " + a.serial);
      await load(true);
    }),
  );
  document.getElementById("import-form").addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const dry = e.submitter && e.submitter.name === "check";
      const file = document.getElementById("i-file").files[0];
      if (!file) return;
      const kind = document.getElementById("i-kind").value;
      const response = await fetch("/api/v1/fleet/imports/" + kind + (dry ? "?dry_run=true" : ""), {
        method: "POST",
        headers: { "Content-Type": "text/csv", Accept: "application/json", [CSRF_HEADER]: CSRF },
        body: await file.arrayBuffer(),
        credentials: "same-origin",
      });
      const answer = await response.json();
      const report = response.ok ? answer : answer.details;
      const box = document.getElementById("import-report");
      if (!report) {
        box.replaceChildren(el("p", { class: "error", role: "alert" }, answer.message));
        return;
      }
      const parts = [el("p", { class: report.rejected.length ? "error" : "" }, t("fleet.import.result", report))];
      if (report.rejected.length) {
        parts.push(el("p", { class: "error", role: "alert" }, t("fleet.import.rejected", { n: report.rejected.length })));
        parts.push(table([t("fleet.col.line"), t("fleet.col.ref"), t("fleet.col.reason")], report.rejected.map((r) => el("tr", {}, el("td", {}, String(r.line)), el("td", {}, r.ref), el("td", {}, r.reason)))));
      } else if (dry) {
        parts.push(el("p", {}, t("fleet.import.checked")));
      }
      if (report.warnings.length) {
        parts.push(table([t("fleet.col.line"), t("fleet.col.ref"), t("fleet.col.warning")], report.warnings.map((w) => el("tr", {}, el("td", {}, String(w.line)), el("td", {}, w.ref), el("td", {}, w.text)))));
      }
      box.replaceChildren(...parts);
      if (report.written) await load(true);
    }),
  );
  await load(true);
}

// One asset: facts, the moves allowed now, assignment, app installs and its history --------------

async function pageFleetAsset() {
  const title = document.getElementById("asset-title");
  const id = title.dataset.asset;
  const assignForm = document.getElementById("assign-form");
  const people = new Map();
  let asset = null;
  await unitOptions(document.getElementById("assign-unit"));

  async function render() {
    asset = await api("GET", "/fleet/assets/" + id);
    title.textContent = t("fleet.asset.title", { serial: asset.serial });
    const sub = asset.subscription;
    const facts = [
      [t("fleet.col.state"), [stateBadge(asset.state), " ", t("fleet.col.since").toLowerCase() + " " + when(asset.state_since)]],
      [t("fleet.asset.holder"), holderText(asset.holder) || t("fleet.asset.nobody")],
      [t("fleet.col.kind"), t("fleet.kind." + asset.kind)],
      [t("fleet.field.model"), [asset.manufacturer, asset.model].filter(Boolean).join(" ")],
      [t("fleet.field.imei"), asset.imei || ""],
      [t("fleet.field.managed"), t("fleet.account." + asset.managed_account)],
      [t("fleet.field.mdm"), asset.mdm_id || ""],
      [t("fleet.field.site"), asset.site || ""],
      [t("fleet.field.price"), kr(asset.purchase_price)],
      [t("fleet.field.purchased"), day(asset.purchase_date)],
      [t("fleet.field.warranty"), day(asset.warranty_end)],
      [t("fleet.col.checkin"), when(asset.last_check_in_at)],
      [t("fleet.asset.subscription"), sub ? sub.number + " · " + sub.operator + " " + sub.plan + " · " + kr(sub.monthly_cost) : t("fleet.asset.no_subscription")],
      [t("fleet.asset.extension"), sub && sub.extension ? sub.extension : ""],
    ];
    document.getElementById("asset-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    const moves = asset.allowed.filter((m) => m.to !== "assigned" && m.to !== "on_loan");
    document.getElementById("asset-actions").replaceChildren(
      ...(moves.length
        ? moves.map((m) => el("button", { type: "button", "data-to": m.to, class: m.to === "lost" ? "danger" : "", onclick: guard(() => move(m.to)) }, t("fleet.action." + m.action)))
        : [el("p", { class: "muted" }, t("fleet.asset.no_actions"))]),
    );
    assignForm.hidden = !asset.allowed.some((m) => m.to === "assigned");
    document.getElementById("assign-person").hidden = asset.kind === "shared_tablet";
    document.getElementById("assign-shared").hidden = asset.kind !== "shared_tablet";
    document.getElementById("asset-installs").replaceChildren(
      asset.installs.length
        ? table([t("fleet.col.device"), t("fleet.col.holder"), t("fleet.col.state"), t("fleet.col.checkin")], asset.installs.map((d) => el("tr", {}, el("td", {}, d.name + " (" + label("platform", d.platform) + ")"), el("td", {}, d.person_id ? t("fleet.asset.personal_device") : t("fleet.asset.shared_device")), el("td", {}, label("device_state", d.state)), el("td", {}, when(d.last_seen_at)))))
        : el("p", { class: "muted" }, t("fleet.asset.no_installs")),
    );
    const log = await api("GET", "/fleet/assets/" + id + "/history?limit=100");
    document.getElementById("asset-history").replaceChildren(
      table([t("fleet.col.when"), t("fleet.col.who"), t("fleet.col.what"), t("fleet.col.change")], log.items.map((h) => {
        const before = (h.before || {}).state;
        const after = (h.after || {}).state;
        const change = [before && after ? t("fleet.state." + before) + " → " + t("fleet.state." + after) : "", (h.after || {}).note || ""].filter(Boolean).join(" · ");
        const action = h.action.split(".").pop();
        return el("tr", {}, el("td", {}, when(h.at)), el("td", {}, h.actor_label), el("td", {}, T["fleet.action." + action] || action), el("td", {}, change));
      })),
    );
  }
  async function move(to) {
    const note = document.getElementById("move-note").value.trim();
    await api("POST", "/fleet/assets/" + id + "/transitions", note ? { to, note } : { to });
    document.getElementById("move-note").value = "";
    flash(t("fleet.asset.moved", { state: t("fleet.state." + to) }));
    await render();
  }
  const search = document.getElementById("assign-search");
  search.addEventListener(
    "input",
    debounce(
      guard(async () => {
        const q = search.value.trim();
        if (q.length < 2 || people.has(q)) return;
        const found = await api("GET", "/people?limit=20&q=" + encodeURIComponent(q));
        const options = document.getElementById("assign-options");
        options.replaceChildren();
        for (const p of found.items) {
          const label = p.name + " (" + p.email + ")";
          people.set(label, p);
          options.append(el("option", { value: label }));
        }
      }),
      250,
    ),
  );
  assignForm.addEventListener(
    "submit",
    guard(async (e) => {
      e.preventDefault();
      const body = { asset_id: id };
      if (asset.kind === "shared_tablet") {
        const unit = document.getElementById("assign-unit").value;
        const role = document.getElementById("assign-role").value.trim();
        if (role) body.role = role;
        else body.group_id = unit;
        if (role && unit) body.cost_unit_id = unit;
      } else {
        const person = people.get(search.value.trim());
        if (!person) throw new Error(t("fleet.asset.assign_person"));
        body.person_id = person.id;
      }
      await api("POST", "/fleet/assignments", body);
      flash(t("fleet.asset.assigned"));
      await render();
    }),
  );
  await render();
}

// The loaner pool and the goal -------------------------------------------------------------------

async function pageFleetLoans() {
  async function render() {
    const pool = await api("GET", "/fleet/loans");
    const goal = pool.goal;
    document.getElementById("goal-figure").replaceChildren(
      countsList([
        ["without", t("fleet.loans.without"), goal.without_device],
        ["over", t("fleet.loans.over"), goal.over_goal],
      ]),
      el("p", { class: goal.met ? "goal-met" : "goal-missed", id: "goal-verdict" }, goal.met ? t("fleet.loans.met") : t("fleet.loans.missed", { n: goal.over_goal })),
    );
    const sites = pool.sites.filter((s) => s.available.length).map((s) => s.site);
    document.getElementById("without").replaceChildren(
      pool.without_device.length
        ? table([t("fleet.col.name"), t("fleet.col.since"), t("fleet.col.deadline"), t("fleet.col.own"), t("fleet.loans.lend")], pool.without_device.map((w) => {
            const pick = el("select", { "aria-label": t("fleet.loans.lend_site") + ": " + w.name }, sites.map((s) => el("option", { value: s }, s || t("fleet.loans.no_site"))));
            const lend = el("button", { type: "button", disabled: !sites.length, onclick: guard(async () => {
              const loan = await api("POST", "/fleet/loans", { person_id: w.person_id, site: pick.value });
              const serial = pool.sites.flatMap((s) => s.available).find((a) => a.id === loan.asset_id);
              flash(t("fleet.loans.lent", { serial: serial ? serial.serial : "", name: w.name }));
              await render();
            }) }, t("fleet.loans.lend_to", { name: w.name }));
            return el("tr", { class: w.over_goal ? "over" : "" }, el("th", { scope: "row" }, w.name), el("td", {}, when(w.since)), el("td", {}, when(w.deadline)), el("td", {}, w.asset_state ? stateBadge(w.asset_state) : ""), el("td", {}, el("div", { class: "row" }, pick, lend)));
          }))
        : el("p", {}, t("fleet.loans.nobody")),
    );
    document.getElementById("sites").replaceChildren(
      ...pool.sites.map((s, i) =>
        el(
          "section",
          { class: "card", "aria-labelledby": "site-" + i },
          el("h2", { id: "site-" + i }, t("fleet.loans.site", { site: s.site || t("fleet.loans.no_site") })),
          el("h3", {}, t("fleet.loans.available") + " (" + s.available.length + ")"),
          s.available.length ? el("ul", {}, s.available.map((a) => el("li", {}, el("a", { href: "/fleet/assets/" + a.id }, a.serial), " " + a.model))) : el("p", { class: "muted" }, t("fleet.loans.none_available")),
          el("h3", {}, t("fleet.loans.out") + " (" + s.on_loan.length + ")"),
          s.on_loan.length
            ? table([t("fleet.col.serial"), t("fleet.col.name"), t("fleet.col.since"), t("fleet.loans.replaces"), ""], s.on_loan.map((l) => el("tr", {}, el("td", {}, el("a", { href: "/fleet/assets/" + l.asset_id }, l.serial)), el("td", {}, l.person_name), el("td", {}, when(l.since)), el("td", {}, l.replaces_serial || ""), el("td", {}, el("button", { type: "button", onclick: guard(async () => {
                await api("POST", "/fleet/loans/" + l.assignment_id + "/return");
                flash(t("fleet.loans.returned", { serial: l.serial }));
                await render();
              }) }, t("fleet.loans.return", { serial: l.serial }))))))
            : el("p", { class: "muted" }, t("fleet.loans.none_out")),
        ),
      ),
    );
  }
  await render();
}

// The offboarding queue --------------------------------------------------------------------------

async function pageFleetOffboarding() {
  const finished = document.getElementById("off-finished");
  async function render() {
    const queue = await api("GET", "/fleet/offboarding" + (finished.checked ? "?finished=true" : ""));
    document.getElementById("offboarding").replaceChildren(
      ...(queue.length ? [] : [el("p", {}, t("fleet.off.none"))]),
      ...queue.map((o) =>
        el(
          "section",
          { class: "card offboarding", "aria-labelledby": "off-" + o.id, "data-person": o.person_name },
          el("h2", { id: "off-" + o.id }, o.person_name),
          el("p", { class: "muted" }, [t("fleet.off.started", { when: when(o.started_at) }), o.leaving_on ? t("fleet.off.leaving", { day: day(o.leaving_on) }) : "", o.finished_at ? t("fleet.off.finished", { when: when(o.finished_at) }) : ""].filter(Boolean).join(" · ")),
          table([t("fleet.off.step"), t("fleet.off.owner"), t("fleet.off.due"), t("fleet.off.done")], o.steps.map((s) => step(o, s))),
        ),
      ),
    );
  }
  function step(o, s) {
    const what = [t("fleet.step." + s.kind), s.serial, s.kind === "extension" ? s.extension : s.number].filter(Boolean).join(" · ");
    let status;
    if (s.done_at) {
      status = el("span", { class: "done" }, t("fleet.outcome." + s.outcome) + " · " + when(s.done_at) + (s.note ? " · " + s.note : ""));
    } else {
      const label = t("fleet.off.outcome", { step: what });
      const pick = el("select", { "aria-label": label }, OUTCOMES[s.kind].map((v) => el("option", { value: v }, t("fleet.outcome." + v))));
      status = el("div", { class: "row" }, pick, el("button", { type: "button", onclick: guard(async () => {
        await api("POST", "/fleet/offboarding/" + o.id + "/steps/" + s.id + "/done", { outcome: pick.value });
        flash(t("fleet.off.marked"));
        await render();
      }) }, t("fleet.off.mark")));
    }
    const due = [when(s.due_at), s.overdue ? el("strong", { class: "overdue" }, " " + t("fleet.off.overdue")) : ""];
    return el("tr", { class: s.overdue ? "overdue" : "", "data-kind": s.kind }, el("th", { scope: "row" }, what), el("td", {}, s.owner_name || ""), el("td", {}, due), el("td", {}, status));
  }
  finished.addEventListener("change", guard(render));
  await render();
}

// Costs per unit and month: a stacked bar chart (inline SVG), the table, and the CSV ------------

function stackedBars(id, title, labels, series) {
  const width = 640, height = 260, left = 56, bottom = 36, top = 10;
  const sums = labels.map((_, i) => series.reduce((acc, s) => acc + (s.values[i] || 0), 0));
  const peak = Math.max(1, ...sums);
  const step = Math.pow(10, Math.floor(Math.log10(peak))) * (peak / Math.pow(10, Math.floor(Math.log10(peak))) > 5 ? 2 : 1);
  const max = step * Math.ceil(peak / step);
  const band = (width - left - 10) / Math.max(1, labels.length);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const parts = [svg("title", { id: id + "-t" }, title)];
  for (let v = 0; v <= max; v += step) parts.push(svg("line", { x1: left, x2: width, y1: y(v), y2: y(v), stroke: "#ccc" }), svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, Math.round(v).toLocaleString(locale)));
  labels.forEach((label, i) => {
    let base = 0;
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      if (v > 0) parts.push(svg("rect", { x: left + i * band + band * 0.15, y: y(base + v), width: band * 0.7, height: y(base) - y(base + v), fill: PALETTE[j % PALETTE.length] }, svg("title", {}, s.name + ", " + label + ": " + kr(v))));
      base += v;
    });
    parts.push(svg("text", { x: left + i * band + band / 2, y: height - bottom + 14, "text-anchor": "middle" }, label));
  });
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": id + "-t", width: "100%" }, parts);
  const legend = el("ul", { class: "legend" }, series.map((s, j) => el("li", {}, el("span", { class: "sw", "data-color": PALETTE[j % PALETTE.length] }), s.name)));
  return [chart, legend];
}

async function pageFleetCosts() {
  const form = document.getElementById("costs-filter");
  await unitOptions(document.getElementById("c-unit"));
  async function render() {
    const query = new URLSearchParams();
    for (const name of ["from", "to", "unit"]) if (form.elements[name].value) query.set(name, form.elements[name].value);
    const costs = await api("GET", "/fleet/costs?" + query);
    if (!form.elements.from.value) form.elements.from.value = costs.months[0];
    if (!form.elements.to.value) form.elements.to.value = costs.months[costs.months.length - 1];
    const name = (u) => u.unit_name || t("fleet.costs.unallocated");
    const monthLabel = (m) => new Date(m + "-01T12:00:00").toLocaleDateString(locale, { month: "short", year: "2-digit" });
    const series = costs.units.map((u) => ({ name: name(u), values: costs.months.map((m) => u.months[m]) }));
    document.getElementById("costs-chart").replaceChildren(...stackedBars("costs-svg", t("fleet.costs.chart"), costs.months.map(monthLabel), series));
    for (const sw of document.querySelectorAll("#costs-chart .sw[data-color]")) sw.style.background = sw.dataset.color;
    document.getElementById("costs-table").replaceChildren(
      table([t("fleet.costs.unit"), ...costs.months, t("fleet.costs.total")], [
        ...costs.units.map((u) => el("tr", {}, el("th", { scope: "row" }, name(u)), costs.months.map((m) => el("td", { class: "num" }, kr(u.months[m]))), el("td", { class: "num" }, kr(u.total)))),
        el("tr", { class: "total" }, el("th", { scope: "row" }, t("fleet.costs.total")), costs.months.map((m) => el("td", { class: "num" }, kr(costs.totals[m]))), el("td", { class: "num", "data-total": "all" }, kr(Object.values(costs.totals).reduce((a, b) => a + b, 0)))),
      ]),
    );
    document.getElementById("costs-method").textContent = t("fleet.costs.method", { years: costs.depreciation_years });
    document.getElementById("costs-csv").href = "/api/v1/fleet/costs.csv?" + query;
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    guard(render)();
  });
  await render();
}

Object.assign(PAGES, {
  fleet: pageFleet,
  "fleet/asset": pageFleetAsset,
  "fleet/loans": pageFleetLoans,
  "fleet/offboarding": pageFleetOffboarding,
  "fleet/costs": pageFleetCosts,
});
