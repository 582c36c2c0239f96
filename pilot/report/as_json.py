"""The report as JSON: the board's figures for other tools. A hidden group's figures are null,
never a number; money is in kronor (SEK, excluding VAT) with two decimals."""

from __future__ import annotations

from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pilot.breakdown import COMPARISON, PILOT, device_key, profession_key
from pilot.costs.model import Costing, GroupCost
from pilot.questionnaire import ITEM_KEYS
from pilot.report.build import Report
from pilot.usage import UsageFigures
from pilot.vocabulary import DEVICE_KINDS, MIN_GROUP, WAVES


def kronor(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _mean(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _usage(figures: UsageFigures | None) -> dict[str, Any] | None:
    if figures is None:
        return None
    data = asdict(figures)
    for key, value in data.items():
        if isinstance(value, float):
            data[key] = round(value, 3)
    return data


def _group_cost(group: GroupCost) -> dict[str, Any]:
    return {
        "people": group.people,
        "devices": dict(group.devices),
        "introduction": kronor(group.introduction),
        "operation_per_year": kronor(group.operation),
        "introduction_per_person": kronor(group.introduction_per_person),
        "operation_per_person_per_year": kronor(group.operation_per_person),
    }


def _costing(costing: Costing) -> dict[str, Any]:
    return {
        "people": costing.people,
        "introduction": kronor(costing.introduction),
        "operation_per_year": kronor(costing.operation),
        "introduction_per_person": kronor(costing.introduction_per_person),
        "operation_per_person_per_year": kronor(costing.operation_per_person),
        "loaners": {kind: loaner.count for kind, loaner in costing.loaners.items()},
    }


def _survey_of(report: Report, key: str) -> dict[str, Any]:
    answers: dict[str, int | None] = {}
    means: dict[str, dict[str, float | None] | None] = {}
    for wave in WAVES:
        result = report.survey.waves.get(wave)
        group = result.groups.get(key) if result else None
        answers[wave] = group.n if group else None
        means[wave] = {k: _mean(v) for k, v in group.means.items()} if group and group.means else None
    return {
        "answers": answers,
        **means,
        "change": {item: _mean(report.survey.delta(key, item)) for item in ITEM_KEYS},
    }


def to_dict(report: Report) -> dict[str, Any]:
    costs = report.costs
    rollout_by = {g.group: g for g in costs.rollout.groups} if costs.rollout else {}
    pilot_by = {g.group: g for g in costs.pilot.groups}
    professions = []
    for profession in report.professions:
        rollout_row = next((r for r in costs.rollout_rows if r.profession == profession), None)
        professions.append(
            {
                "profession": profession,
                "participants": sum(report.devices[profession].values()),
                "devices": dict(report.devices[profession]),
                "survey": _survey_of(report, profession_key(profession)),
                "usage": _usage(report.usage.groups.get(profession_key(profession))),
                "costs": {
                    "pilot": _group_cost(pilot_by[profession]),
                    "rollout": (
                        {"headcount": rollout_row.headcount, "device_kind": rollout_row.device_kind}
                        | _group_cost(rollout_by[profession])
                        if rollout_row is not None
                        else None
                    ),
                },
            }
        )
    return {
        "pilot": {
            "code": report.code,
            "name": report.name,
            "description": report.description,
            "start_date": report.start_date.isoformat(),
            "last_day": report.last_day.isoformat(),
            "timezone": report.timezone,
            "status": report.status,
            "participants": report.participants,
            "comparison": report.comparison,
            "devices": {kind: report.device_total(kind) for kind in DEVICE_KINDS},
        },
        "generated_at": report.generated_at.isoformat(),
        "min_group": MIN_GROUP,
        "surveys": [
            {
                "wave": w.wave,
                "opens_at": w.opens_at.isoformat(),
                "closes_at": w.closes_at.isoformat(),
                "closed": w.closed,
                "invited": w.invited,
                "answered": w.answered,
            }
            for w in report.waves
        ],
        "groups": {
            key: {"survey": _survey_of(report, key), "usage": _usage(report.usage.groups.get(key))}
            for key in (PILOT, COMPARISON, *(device_key(k) for k in DEVICE_KINDS))
        },
        "usage_period": {
            "since": report.usage.since.isoformat(),
            "until": report.usage.until.isoformat(),
            "weeks": round(report.usage.weeks, 2),
        },
        "costs": {
            "currency": "SEK",
            "inputs": {
                name: {
                    "value": float(value) if isinstance(value, Decimal) else value,
                    "source": costs.resolved.sources[name],
                    "fleet_devices": costs.resolved.fleet_counts.get(name),
                }
                for name, value in costs.resolved.inputs.model_dump().items()
            },
            "per_device": {
                kind: {
                    "introduction": kronor(line.introduction),
                    "operation_per_year": kronor(line.operation),
                    "lines": {
                        name: kronor(getattr(line, name))
                        for name in (
                            "device",
                            "training",
                            "depreciation",
                            "subscription",
                            "licence",
                            "admin",
                            "support",
                        )
                    },
                }
                for kind, line in costs.pilot.per_device.items()
            },
            "pilot": _costing(costs.pilot),
            "rollout": _costing(costs.rollout) if costs.rollout else None,
        },
        "professions": professions,
        "open_questions": list(report.open_questions),
    }
