"""Weekly-rest and jour-limit findings of people, read from the database: the facts (shifts,
weekly hours, stand-by, jour, contacts that broke rest) go to the pure `policies.core.rest_periods`,
and the findings come back as rows for the report, the roster check and the person's record."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from policies.core.rest_periods import JourFinding, WeeklyRestFinding, jour_findings, weekly_rest_findings
from policies.core.wallclock import local_date
from policies.rest_policies import policies_for
from policies.rest_records import contacts_of, entries_by_person, facts_of
from policies.states import load_states


@dataclass(frozen=True, slots=True)
class Findings:
    weekly_rest: tuple[WeeklyRestFinding, ...]
    jour: tuple[JourFinding, ...]


def findings_for(
    *, session: Session, person_ids: Iterable[uuid.UUID], since: datetime, until: datetime
) -> dict[uuid.UUID, Findings]:
    """Weekly-rest and jour-limit findings per person for the weeks and months around [since, until).

    Computed from shifts, weekly hours, stand-by, jour and the contacts that broke rest.
    """
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    # Jour limits look four weeks ahead of a slot and at whole months: read a month either side.
    lo, hi = since - timedelta(days=31), until + timedelta(days=31)
    states = load_states(session=session, person_ids=ids, at=lo, horizon=hi - lo, lookback=timedelta(0))
    policies = policies_for(session=session, person_ids=ids, at=until)
    entries = entries_by_person(session, ids, lo, hi)
    out: dict[uuid.UUID, Findings] = {}
    for pid in ids:
        state = states.get(pid)
        if state is None:
            continue
        policy = policies[pid]
        facts = facts_of(state, policy)
        weekly = weekly_rest_findings(
            work=facts.work,
            standby=facts.standby,
            contacts=contacts_of(entries.get(pid, [])),
            zone=state.zone,
            first_day=local_date(state.zone, since),
            last_day=local_date(state.zone, until - timedelta(microseconds=1)),
            weekly_rest_hours=policy.weekly_rest_hours,
        )
        jour = [f for f in jour_findings(jour=facts.jour, zone=state.zone) if f.start < until and f.end > since]
        if weekly or jour:
            out[pid] = Findings(tuple(weekly), tuple(jour))
    return out


def finding_rows(findings: dict[uuid.UUID, Findings]) -> list[dict[str, object]]:
    """The findings as plain rows (for JSON, CSV and pages), by person, then start."""
    rows: list[dict[str, object]] = []
    for pid, found in findings.items():
        for w in found.weekly_rest:
            rows.append(
                {
                    "person_id": str(pid),
                    "kind": "weekly_rest",
                    "period": w.week,
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat(),
                    "longest_rest_minutes": w.longest_rest_minutes,
                    "required_minutes": w.required_minutes,
                    "cause": w.cause,
                }
            )
        for j in found.jour:
            rows.append(
                {
                    "person_id": str(pid),
                    "kind": "jour_limit",
                    "period": j.basis,
                    "start": j.start.isoformat(),
                    "end": j.end.isoformat(),
                    "hours": j.hours,
                    "limit_hours": j.limit_hours,
                }
            )
    rows.sort(key=lambda r: (str(r["person_id"]), str(r["start"]), str(r["kind"])))
    return rows


def finding_key(row: dict[str, object]) -> tuple[object, ...]:
    """What makes two finding rows the same finding (the figures may differ)."""
    return (row["person_id"], row["kind"], row["period"], row["start"])
