// Vila web: the pilot surveys a person is asked to answer. Uses app.js's helpers (api, el, t, flash).
// An answer is sent once and cannot be changed: it is stored without a link to the person.
"use strict";

const SCALE = [1, 2, 3, 4, 5];

function surveyWhen(iso) {
  return new Date(iso).toLocaleString(LANG === "en" ? "en-GB" : "sv-SE", { dateStyle: "long", timeStyle: "short" });
}

function surveyForm(s) {
  const id = "s-" + s.survey_id;
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const items = s.items.map((item, n) => {
    const name = id + "-" + item.key;
    return el("fieldset", { class: "likert" },
      el("legend", {}, (n + 1) + ". " + item.text),
      el("div", { class: "scale" }, SCALE.map((v) => el("label", {},
        el("input", { type: "radio", name, value: String(v), "data-item": item.key }),
        " " + v + " – " + t("survey.scale." + v)))));
  });
  const free = el("textarea", { id: id + "-free", rows: "4", maxlength: "2000", "aria-describedby": id + "-free-help" });
  const form = el("form", { class: "survey-form", novalidate: true },
    ...items,
    el("label", { for: id + "-free" }, t("survey.free_text")),
    el("p", { class: "help", id: id + "-free-help" }, t("survey.free_text_help")),
    free,
    error,
    el("button", { type: "submit", class: "primary" }, t("survey.submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const item of s.items) {
      const picked = form.querySelector('input[data-item="' + item.key + '"]:checked');
      if (!picked) {
        error.textContent = t("survey.required");
        error.hidden = false;
        form.querySelector('input[data-item="' + item.key + '"]').focus();
        return;
      }
      body[item.key] = Number(picked.value);
    }
    if (free.value.trim()) body.free_text = free.value.trim();
    error.hidden = true;
    try {
      await api("POST", "/surveys/" + s.survey_id + "/answers", body);
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      return;
    }
    const done = el("p", { class: "answered", tabindex: "-1" }, t("survey.thanks"));
    form.replaceWith(done);
    done.focus();
  });
  return form;
}

async function pageSurveys() {
  const box = document.getElementById("surveys");
  const mine = await api("GET", "/surveys/mine");
  if (!mine.length) {
    box.replaceChildren(el("p", {}, t("survey.none")));
  } else {
    box.replaceChildren(...mine.map((s) => el("section", { class: "card survey", "aria-labelledby": "h-" + s.survey_id },
      el("h2", { id: "h-" + s.survey_id }, s.pilot_name + ": " + s.wave_label),
      el("p", { class: "muted" }, t("survey.open_until", { when: surveyWhen(s.closes_at) })),
      s.answered ? el("p", { class: "answered" }, t("survey.answered")) : surveyForm(s))));
  }
  box.setAttribute("data-loaded", "1");
}

document.addEventListener("DOMContentLoaded", () => {
  guard(pageSurveys)();
});
