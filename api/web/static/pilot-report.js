// Vila web: the pilot report page: print, and (for those who may) the cost model's inputs and
// roll-out table, saved through the REST API; the page then shows the report recalculated.
"use strict";

function rolloutRow(index) {
  const kind = (value, label) => el("option", { value }, label);
  return el("tr", {},
    el("td", {}, el("input", { name: "profession", maxlength: "64", required: true, "aria-label": t("col.profession") + " " + index })),
    el("td", {}, el("input", { name: "headcount", type: "number", min: "0", step: "1", value: "0", required: true, "aria-label": t("col.headcount") + " " + index })),
    el("td", {}, el("select", { name: "device_kind", "aria-label": t("col.device_kind") + " " + index }, kind("phone", t("kind.phone")), kind("tablet", t("kind.tablet")))),
    el("td", {}, el("button", { type: "button", class: "remove-row" }, t("costs.rollout_remove", { profession: "" + index }))));
}

function costEditor(form) {
  const body = form.querySelector("#rollout tbody");
  const error = document.getElementById("costs-error");
  document.getElementById("add-row").addEventListener("click", () => {
    const row = rolloutRow(body.rows.length + 1);
    body.append(row);
    row.querySelector("input").focus();
  });
  body.addEventListener("click", (event) => {
    if (event.target.classList.contains("remove-row")) event.target.closest("tr").remove();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const inputs = {};
    for (const field of form.querySelectorAll(".grid3 input")) {
      if (field.value === "" || Number(field.value) < 0) {
        error.textContent = t("input." + field.name) + ": " + field.validationMessage;
        error.hidden = false;
        field.focus();
        return;
      }
      inputs[field.name] = field.name === "depreciation_years" ? Number(field.value) : field.value;
    }
    const rollout = [...body.rows].map((tr) => ({
      profession: tr.querySelector('[name="profession"]').value.trim(),
      headcount: Number(tr.querySelector('[name="headcount"]').value),
      device_kind: tr.querySelector('[name="device_kind"]').value,
    })).filter((r) => r.profession);
    try {
      await api("PUT", "/pilots/" + encodeURIComponent(form.dataset.pilot) + "/costs", { inputs, rollout });
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      return;
    }
    sessionStorage.setItem("vila-costs-saved", "1");
    window.location.reload();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("print-report").addEventListener("click", () => window.print());
  const form = document.getElementById("costs-form");
  if (form) costEditor(form);
  if (sessionStorage.getItem("vila-costs-saved")) {
    sessionStorage.removeItem("vila-costs-saved");
    flash(t("costs.saved"));
  }
});
