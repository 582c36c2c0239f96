// Vila web: the pilots, for the evaluator, HR and admin: period, participation, the report and its
// downloads. Uses app.js's helpers (api, el, t).
"use strict";

function pilotDay(iso) {
  return new Date(iso + "T12:00:00").toLocaleDateString(LANG === "en" ? "en-GB" : "sv-SE", { dateStyle: "long" });
}

async function pagePilots() {
  const box = document.getElementById("pilots");
  const freeText = box.dataset.freeText === "1";
  const list = await api("GET", "/pilots");
  if (!list.length) {
    box.replaceChildren(el("p", {}, t("pilots.none")));
  } else {
    box.replaceChildren(...list.map((p) => {
      const base = "/api/v1/pilots/" + encodeURIComponent(p.code);
      const waves = p.surveys.map((s) => el("li", {}, t("survey.wave." + s.wave) + ": " + s.answered + " / " + s.invited + " " + t("col.answers").toLowerCase()));
      return el("section", { class: "card pilot", "aria-labelledby": "p-" + p.code },
        el("h2", { id: "p-" + p.code }, p.name),
        el("p", {}, pilotDay(p.start_date) + " – " + pilotDay(p.end_date) + " · " + t("report.status." + p.status)),
        el("p", {}, t("report.participants_short", { n: p.participants, c: p.comparison })),
        el("ul", {}, waves),
        el("ul", { class: "row links" },
          el("li", {}, el("a", { class: "button primary", href: "/pilots/" + encodeURIComponent(p.code) }, t("pilots.open"))),
          el("li", {}, el("a", { class: "button", href: base + "/report?format=pdf&lang=" + LANG, download: "" }, t("pilots.pdf"))),
          el("li", {}, el("a", { class: "button", href: base + "/report?format=json&lang=" + LANG }, t("pilots.json"))),
          freeText ? el("li", {}, el("a", { class: "button", href: base + "/free-text.csv", download: "" }, t("pilots.free_text"))) : null));
    }));
  }
  box.setAttribute("data-loaded", "1");
}

document.addEventListener("DOMContentLoaded", () => {
  guard(pagePilots)();
});
