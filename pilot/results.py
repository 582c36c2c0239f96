"""Survey results: the mean of each item per group and wave, for closed waves only, with every group
that the anonymity rule hides left without a figure. One aggregate query per pilot; no answer row
leaves the database."""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.spreadsheet import SafeWriter
from pilot import breakdown
from pilot.breakdown import AtomKey
from pilot.models import Answer, Survey
from pilot.questionnaire import ITEM_KEYS
from pilot.suppression import size


@dataclass(frozen=True)
class GroupResult:
    key: str
    n: int | None  # None: hidden (or no answers)
    means: dict[str, float] | None


@dataclass(frozen=True)
class WaveResult:
    wave: str
    survey_id: uuid.UUID
    opens_at: datetime
    closes_at: datetime
    closed: bool
    groups: dict[str, GroupResult] = field(default_factory=dict)


@dataclass(frozen=True)
class SurveyResults:
    waves: dict[str, WaveResult]
    keys: list[str]  # every group, in the order the report lists them

    def mean(self, wave: str, key: str, item: str) -> float | None:
        result = self.waves.get(wave)
        group = result.groups.get(key) if result else None
        return group.means[item] if group is not None and group.means is not None else None

    def delta(self, key: str, item: str) -> float | None:
        before, after = self.mean("baseline", key, item), self.mean("final", key, item)
        return None if before is None or after is None else after - before


def survey_results(
    *, session: Session, pilot_id: uuid.UUID, professions: Sequence[str], now: datetime
) -> SurveyResults:
    surveys = {s.id: s for s in session.scalars(select(Survey).where(Survey.pilot_id == pilot_id))}
    closed = [sid for sid, s in surveys.items() if s.closes_at <= now]
    sums: dict[uuid.UUID, dict[AtomKey, tuple[int, list[int]]]] = defaultdict(dict)
    if closed:
        item_sums = [func.sum(getattr(Answer, key)) for key in ITEM_KEYS]
        rows = session.execute(
            select(Answer.survey_id, Answer.arm, Answer.profession, Answer.device_kind, func.count(), *item_sums)
            .where(Answer.survey_id.in_(closed))
            .group_by(Answer.survey_id, Answer.arm, Answer.profession, Answer.device_kind)
        ).all()
        for survey_id, arm, profession, kind, n, *totals in rows:
            sums[survey_id][(arm, profession, kind)] = (int(n), [int(t) for t in totals])
    keys = [g.key for g in breakdown.groups([], professions)]
    waves: dict[str, WaveResult] = {}
    for survey_id, survey in surveys.items():
        result = WaveResult(
            wave=survey.wave,
            survey_id=survey_id,
            opens_at=survey.opens_at,
            closes_at=survey.closes_at,
            closed=survey_id in closed,
        )
        atoms = sums.get(survey_id, {})
        sizes = {atom: n for atom, (n, _) in atoms.items()}
        groups, hidden = breakdown.shown(sizes, professions)
        for group in groups:
            n = size(group, sizes)
            if group.key in hidden or not result.closed:
                result.groups[group.key] = GroupResult(group.key, None, None)
                continue
            totals = [sum(atoms[a][1][i] for a in group.atoms if a in atoms) for i in range(len(ITEM_KEYS))]
            means = {key: totals[i] / n for i, key in enumerate(ITEM_KEYS)}
            result.groups[group.key] = GroupResult(group.key, n, means)
        waves[survey.wave] = result
    return SurveyResults(waves=waves, keys=keys)


def to_csv(results: SurveyResults) -> str:
    """The shown results as CSV: one row per wave and group; a hidden group's cells stay empty."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["wave", "group", "answers", *ITEM_KEYS])
    for wave in ("baseline", "midpoint", "final"):
        result = results.waves.get(wave)
        if result is None:
            continue
        for key in results.keys:
            group = result.groups.get(key)
            if group is None or group.means is None:
                writer.writerow([wave, key, "", *([""] * len(ITEM_KEYS))])
            else:
                writer.writerow([wave, key, group.n, *(f"{group.means[k]:.2f}" for k in ITEM_KEYS)])
    return out.getvalue()
