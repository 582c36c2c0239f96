"""The report as a reader sees it: every figure formatted for their language, the summary's
sentences, the tables and the charts. The templates only lay this out."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from kernel.i18n import catalog, text
from kernel.i18n import pilot as pilot_texts
from pilot import formatting as fmt
from pilot.breakdown import COMPARISON, PILOT, device_key, profession_key
from pilot.costs.model import Costing
from pilot.questionnaire import ITEMS
from pilot.report import charts
from pilot.report.build import Report
from pilot.usage import ACK_WINDOW, UsageFigures
from pilot.vocabulary import DEVICE_KINDS, MIN_GROUP, WAVES


@dataclass
class Table:
    caption: str
    head: list[str]  # the columns after the row headings
    rows: list[tuple[str, list[str]]] = field(default_factory=list)  # (row heading, cells)
    corner: str = ""  # the heading above the row headings


class View:
    """Formatting helpers bound to one language."""

    def __init__(self, report: Report, language: str) -> None:
        self.r = report
        self.lang = "en" if language == "en" else "sv"
        self.hidden = text("report.hidden", self.lang, min=MIN_GROUP)

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def mean(self, value: float | None) -> str:
        return fmt.number(value, self.lang, 1) if value is not None else self.hidden

    def change(self, value: float | None) -> str:
        return fmt.signed(value, self.lang, 1) if value is not None else self.hidden

    def money(self, value: Decimal | None) -> str:
        return fmt.money(value, self.lang)

    def group_name(self, key: str) -> str:
        if key == PILOT:
            return self.t("group.pilot")
        if key == COMPARISON:
            return self.t("group.comparison")
        kind, _, name = key.partition(":")
        return self.t(f"kind.{name}") if kind == "device" else name


def render_view(report: Report, language: str) -> dict[str, Any]:
    v = View(report, language)
    r = report
    first, last = fmt.day(r.start_date, v.lang), fmt.day(r.last_day, v.lang)
    return {
        "lang": v.lang,
        "t": catalog(v.lang, pilot_texts),
        "title": v.t("report.title", name=r.name),
        "description": r.description,
        "period": f"{first} – {last}",
        "status": v.t(f"report.status.{r.status}"),
        "generated": v.t("report.generated", when=fmt.instant(r.generated_at, r.timezone, v.lang)),
        "participants": v.t(
            "report.participants",
            n=r.participants,
            p=len(r.professions),
            phones=r.device_total("phone"),
            tablets=r.device_total("tablet"),
        ),
        "comparison": v.t("report.comparison", n=r.comparison) if r.comparison else None,
        "anonymity": v.t("report.anonymity", min=MIN_GROUP),
        "summary": _summary(v),
        "benefit_chart": _benefit_chart(v),
        "benefit_table": _benefit_table(v),
        "usage_chart": _usage_chart(v),
        "worry_intro": v.t("report.worry_intro", item=v.t("survey.item.reachability")),
        "worry_chart": _worry_chart(v),
        "survey_table": _survey_table(v),
        "usage_intro": v.t(
            "report.usage_intro",
            weeks=fmt.number(r.usage.weeks, v.lang, 1),
            hours=int(ACK_WINDOW.total_seconds() // 3600),
        ),
        "usage_table": _usage_table(v),
        "cost_tables": _cost_tables(v),
        "rollout_table": _rollout_table(v),
        "assumptions": _assumptions(v),
        "open_questions": list(r.open_questions),
        "method": v.t("report.method_text"),
    }


def _summary(v: View) -> list[str]:
    r, lines = v.r, []
    before, after = r.survey.mean("baseline", PILOT, "reachability"), r.survey.mean("final", PILOT, "reachability")
    if before is not None and after is not None:
        lines.append(
            v.t("report.summary.worry", before=v.mean(before), after=v.mean(after), delta=v.change(after - before))
        )
        cb, ca = (
            r.survey.mean("baseline", COMPARISON, "reachability"),
            r.survey.mean("final", COMPARISON, "reachability"),
        )
        if cb is not None and ca is not None:
            lines.append(
                v.t("report.summary.worry_comparison", before=v.mean(cb), after=v.mean(ca), delta=v.change(ca - cb))
            )
    else:
        lines.append(v.t("report.summary.worry_hidden", min=MIN_GROUP))
    best = r.most_benefit()
    if best is not None:
        key = profession_key(best)
        lines.append(
            v.t(
                "report.summary.benefit",
                profession=best,
                coordination=v.change(r.survey.delta(key, "coordination")),
                information=v.change(r.survey.delta(key, "information")),
            )
        )
    total = r.usage.groups.get(PILOT)
    if total is not None:
        lines.append(
            v.t(
                "report.summary.usage",
                at_once=fmt.share(total.at_once_share, v.lang),
                held=fmt.share(total.held_share, v.lang),
                contacts=fmt.number(total.contacts_per_person_week, v.lang, 2),
            )
        )
    pilot_costs = r.costs.pilot
    lines.append(
        v.t(
            "report.summary.costs",
            intro=v.money(pilot_costs.introduction_per_person),
            operation=v.money(pilot_costs.operation_per_person),
        )
    )
    if r.costs.rollout is not None and r.costs.rollout.people:
        lines.append(
            v.t(
                "report.summary.rollout",
                people=fmt.number(r.costs.rollout.people, v.lang, 0),
                intro=v.money(r.costs.rollout.introduction),
                operation=v.money(r.costs.rollout.operation),
            )
        )
    return lines


def _benefit_chart(v: View) -> Markup:
    from pilot.questionnaire import improvement

    series = []
    for item in ITEMS:
        values: list[float | None] = []
        for profession in v.r.professions:
            delta = v.r.survey.delta(profession_key(profession), item.key)
            values.append(None if delta is None else improvement(item, delta))
        series.append(charts.Series(v.t(f"survey.short.{item.key}"), values))
    return Markup(  # noqa: S704 - built from escaped parts in pilot.report.charts
        charts.diverging(
            "chart-benefit",
            v.t("report.benefit_chart"),
            list(v.r.professions),
            series,
            fmt=lambda x: fmt.signed(x, v.lang, 1),
            hidden=v.hidden,
        )
    )


def _benefit_table(v: View) -> Table:
    """Per profession and item: before -> after (change)."""
    table = Table(
        v.t("report.benefit_table"), [v.t(f"survey.short.{i.key}") for i in ITEMS], corner=v.t("col.profession")
    )
    for profession in v.r.professions:
        key = profession_key(profession)
        cells = []
        for item in ITEMS:
            before = v.r.survey.mean("baseline", key, item.key)
            after = v.r.survey.mean("final", key, item.key)
            if before is None or after is None:
                cells.append(v.hidden)
            else:
                cells.append(f"{v.mean(before)} → {v.mean(after)} ({v.change(after - before)})")
        table.rows.append((profession, cells))
    return table


def _usage_chart(v: View) -> Markup:
    groups = [v.r.usage.groups.get(profession_key(p)) for p in v.r.professions]

    def part(figures: UsageFigures | None, share: str) -> float | None:
        if figures is None:
            return None
        value = getattr(figures, share)
        return figures.received_per_person_week * (value or 0.0)

    series = [
        charts.Series(v.t("col.at_once"), [part(g, "at_once_share") for g in groups]),
        charts.Series(v.t("col.held"), [part(g, "held_share") for g in groups]),
    ]
    return Markup(  # noqa: S704 - built from escaped parts in pilot.report.charts
        charts.stacked(
            "chart-usage",
            v.t("report.usage_chart"),
            list(v.r.professions),
            series,
            fmt=lambda x: fmt.number(x, v.lang, 1),
            hidden=v.hidden,
        )
    )


def _worry_keys(v: View) -> list[str]:
    return [PILOT, COMPARISON, *(device_key(k) for k in DEVICE_KINDS)]


def _worry_chart(v: View) -> Markup:
    keys = _worry_keys(v)
    series = [
        charts.Series(v.t(f"survey.wave.{wave}"), [v.r.survey.mean(wave, key, "reachability") for key in keys])
        for wave in WAVES
        if wave in v.r.survey.waves
    ]
    return Markup(  # noqa: S704 - built from escaped parts in pilot.report.charts
        charts.columns(
            "chart-worry",
            v.t("report.worry_chart"),
            [v.group_name(k) for k in keys],
            series,
            low=1,
            high=5,
            fmt=lambda x: fmt.number(x, v.lang, 1),
            hidden=v.hidden,
        )
    )


def _survey_table(v: View) -> Table:
    waves = [w for w in WAVES if w in v.r.survey.waves]
    table = Table(
        v.t("report.survey_table"),
        [v.t("col.wave"), v.t("col.answers"), *(v.t(f"survey.short.{i.key}") for i in ITEMS)],
        corner=v.t("col.group"),
    )
    for key in v.r.survey.keys:
        for wave in waves:
            result = v.r.survey.waves[wave]
            group = result.groups.get(key)
            if not result.closed:
                cells = [v.t("report.not_closed"), *(["–"] * len(ITEMS))]
            elif group is None or group.means is None:
                cells = [v.hidden, *(["–"] * len(ITEMS))]
            else:
                cells = [str(group.n), *(v.mean(group.means[i.key]) for i in ITEMS)]
            table.rows.append((v.group_name(key), [v.t(f"survey.wave.{wave}"), *cells]))
    return table


def _usage_table(v: View) -> Table:
    """One column per group (everyone, each device kind, each profession), one row per figure."""
    keys = [PILOT, *(device_key(k) for k in DEVICE_KINDS), *(profession_key(p) for p in v.r.professions)]
    groups = [v.r.usage.groups.get(key) for key in keys]
    table = Table(v.t("report.usage"), [v.group_name(key) for key in keys])
    lines: list[tuple[str, Any]] = [
        ("col.people", lambda g: str(g.people)),
        ("col.received", lambda g: fmt.number(g.received_per_person_week, v.lang, 1)),
        ("col.at_once", lambda g: fmt.share(g.at_once_share, v.lang)),
        ("col.held", lambda g: fmt.share(g.held_share, v.lang)),
        ("col.contacts", lambda g: fmt.number(g.contacts_per_person_week, v.lang, 2)),
        ("col.rest_breaks", lambda g: fmt.number(g.rest_breaks_per_person_week, v.lang, 2)),
        ("col.overrides", lambda g: str(g.overrides)),
        ("col.ack", lambda g: fmt.number(g.ack_median_minutes, v.lang, 0)),
        ("col.silent", lambda g: str(g.devices_without_checkin)),
        ("col.no_device", lambda g: str(g.people_without_device)),
    ]
    for label, cell in lines:
        table.rows.append((v.t(label), [cell(g) if g is not None else v.hidden for g in groups]))
    return table


def _costing_rows(v: View, table: Table, costing: Costing) -> None:
    for group in costing.groups:
        table.rows.append(
            (
                group.group,
                [
                    fmt.number(group.people, v.lang, 0),
                    v.money(group.introduction_per_person),
                    v.money(group.operation_per_person),
                    v.money(group.introduction),
                    v.money(group.operation),
                ],
            )
        )
    table.rows.append(
        (
            v.t("col.total"),
            [
                fmt.number(costing.people, v.lang, 0),
                v.money(costing.introduction_per_person),
                v.money(costing.operation_per_person),
                v.money(costing.introduction),
                v.money(costing.operation),
            ],
        )
    )


def _cost_head(v: View, first: str) -> list[str]:
    return [
        first,
        v.t("col.introduction_pp"),
        v.t("col.operation_pp"),
        v.t("col.introduction"),
        v.t("col.operation"),
    ]


def _cost_tables(v: View) -> list[Table]:
    costs = v.r.costs
    lines = ("device", "training", "depreciation", "subscription", "licence", "admin", "support")
    per_device = Table(
        v.t("report.costs_per_device"), [v.t(f"kind.{k}") for k in DEVICE_KINDS], corner=v.t("col.cost_line")
    )
    for name in lines:
        per_device.rows.append(
            (v.t(f"cost.{name}"), [v.money(getattr(costs.pilot.per_device[k], name)) for k in DEVICE_KINDS])
        )
    per_device.rows.append(
        (v.t("col.introduction"), [v.money(costs.pilot.per_device[k].introduction) for k in DEVICE_KINDS])
    )
    per_device.rows.append((v.t("col.operation"), [v.money(costs.pilot.per_device[k].operation) for k in DEVICE_KINDS]))
    per_device.rows.append((v.t("col.loaners"), [str(costs.pilot.loaners[k].count) for k in DEVICE_KINDS]))
    per_profession = Table(
        v.t("report.costs_per_profession"), _cost_head(v, v.t("col.people")), corner=v.t("col.profession")
    )
    _costing_rows(v, per_profession, costs.pilot)
    return [per_device, per_profession]


def _rollout_table(v: View) -> Table | None:
    costs = v.r.costs
    if costs.rollout is None:
        return None
    table = Table(v.t("report.rollout"), _cost_head(v, v.t("col.headcount")), corner=v.t("col.profession"))
    _costing_rows(v, table, costs.rollout)
    kinds = {row.profession: v.t(f"kind.{row.device_kind}") for row in costs.rollout_rows}
    table.rows = [(f"{name} ({kinds[name]})" if name in kinds else name, cells) for name, cells in table.rows]
    return table


def _assumptions(v: View) -> Table:
    resolved = v.r.costs.resolved
    table = Table(v.t("report.assumptions"), [v.t("col.value"), v.t("col.source")], corner=v.t("col.input"))
    plain = {"depreciation_years", "admin_hours_per_device_per_year", "support_cases_per_device_per_year"}
    plain |= {"loaner_pool_percent", "training_hours_per_person"}  # the others are amounts in kronor
    for name, value in resolved.inputs.model_dump().items():
        digits = 0 if isinstance(value, int) or value == int(value) else 1
        shown = fmt.number(value, v.lang, digits) if name in plain else v.money(value)
        source = resolved.sources[name]
        label = v.t(f"report.source.{source}", n=resolved.fleet_counts.get(name, 0))
        table.rows.append((v.t(f"input.{name}"), [shown, label]))
    return table
