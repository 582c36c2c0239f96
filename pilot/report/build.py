"""Build a pilot's report from the data: participants, survey results, usage figures and costs.

The report is language-neutral; `pilot.report.as_json` and `pilot.report.html` write it for a reader.
Nothing here writes to the database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from pilot import pilots, surveys, usage
from pilot.breakdown import profession_key
from pilot.costs.fleet import NO_FLEET, FleetCostSource, ResolvedInputs, resolve
from pilot.costs.inputs import RolloutRow
from pilot.costs.model import Costing, cost
from pilot.models import Pilot
from pilot.questionnaire import ITEMS, improvement
from pilot.results import SurveyResults, survey_results
from pilot.usage import Usage
from pilot.vocabulary import DEVICE_KINDS, DeviceKind


@dataclass(frozen=True)
class Wave:
    wave: str
    opens_at: datetime
    closes_at: datetime
    closed: bool
    invited: int
    answered: int


@dataclass(frozen=True)
class Costs:
    resolved: ResolvedInputs
    pilot: Costing  # one group per profession of the pilot arm
    rollout_rows: tuple[RolloutRow, ...]
    rollout: Costing | None  # one group per row of the roll-out table; None when it is empty


@dataclass(frozen=True)
class Report:
    code: str
    name: str
    description: str | None
    start_date: date
    last_day: date
    timezone: str
    status: str
    open_questions: tuple[str, ...]
    generated_at: datetime
    professions: tuple[str, ...]
    devices: dict[str, dict[DeviceKind, int]]  # profession -> device kind -> people (pilot arm)
    comparison: int
    waves: tuple[Wave, ...]
    survey: SurveyResults
    usage: Usage
    costs: Costs

    @property
    def participants(self) -> int:
        return sum(sum(kinds.values()) for kinds in self.devices.values())

    def device_total(self, kind: DeviceKind) -> int:
        return sum(kinds.get(kind, 0) for kinds in self.devices.values())

    def benefit(self, profession: str) -> float | None:
        """The mean improvement before -> after over all items; None when hidden."""
        changes = [self.survey.delta(profession_key(profession), item.key) for item in ITEMS]
        if any(c is None for c in changes):
            return None
        return sum(improvement(item, c) for item, c in zip(ITEMS, changes, strict=True) if c is not None) / len(ITEMS)

    def most_benefit(self) -> str | None:
        scored = [(b, p) for p in self.professions if (b := self.benefit(p)) is not None]
        return max(scored)[1] if scored else None


def build(*, session: Session, pilot: Pilot, now: datetime, fleet: FleetCostSource = NO_FLEET) -> Report:
    rows = pilots.participants(session=session, pilot_id=pilot.id)
    devices: dict[str, dict[DeviceKind, int]] = defaultdict(lambda: {kind: 0 for kind in DEVICE_KINDS})
    comparison = 0
    for row in rows:
        p = row.participant
        if p.arm == "comparison":
            comparison += 1
        elif p.device_kind in DEVICE_KINDS:
            devices[p.profession][p.device_kind] += 1
    professions = tuple(sorted(devices, key=str.casefold))
    counts = surveys.participation(session=session, pilot_id=pilot.id)
    waves = tuple(
        Wave(
            wave=s.wave,
            opens_at=s.opens_at,
            closes_at=s.closes_at,
            closed=s.closes_at <= now,
            invited=counts.get(s.id, (0, 0))[0],
            answered=counts.get(s.id, (0, 0))[1],
        )
        for s in pilots.surveys(session=session, pilot_id=pilot.id)
    )
    since, end = pilots.period(pilot)
    figures = usage.usage(
        session=session, pilot_id=pilot.id, professions=professions, since=since, until=min(end, max(now, since))
    )
    return Report(
        code=pilot.code,
        name=pilot.name,
        description=pilot.description,
        start_date=pilot.start_date,
        last_day=pilot.end_date,
        timezone=pilot.timezone,
        status=pilot.status,
        open_questions=tuple(pilot.open_questions),
        generated_at=now,
        professions=professions,
        devices={p: dict(devices[p]) for p in professions},
        comparison=comparison,
        waves=waves,
        survey=survey_results(session=session, pilot_id=pilot.id, professions=professions, now=now),
        usage=figures,
        costs=_costs(session, pilot, {p: dict(devices[p]) for p in professions}, fleet),
    )


def _costs(session: Session, pilot: Pilot, devices: dict[str, dict[DeviceKind, int]], fleet: FleetCostSource) -> Costs:
    _, rollout_rows = pilots.costs_of(pilot)
    figures = fleet.figures(session=session, person_ids=usage.active_people(session=session, pilot_id=pilot.id))
    resolved = resolve(stored=pilot.cost_inputs or {}, fleet=figures)
    rollout_population: dict[str, dict[DeviceKind, int]] = {}
    for row in rollout_rows:
        rollout_population[row.profession] = dict(Counter({row.device_kind: row.headcount}))
    rollout = cost(resolved.inputs, rollout_population) if rollout_rows else None
    return Costs(
        resolved=resolved, pilot=cost(resolved.inputs, devices), rollout_rows=tuple(rollout_rows), rollout=rollout
    )
