"""The groups every figure is broken down by, the same for survey results and usage figures.

An atom is (arm, profession, device kind); a group is a named union of atoms:

    pilot              everyone in the pilot arm
    comparison         everyone in the comparison group
    profession:<name>  the pilot arm's people of one profession
    device:<kind>      the pilot arm's people with one kind of device

Which groups may be shown follows from the sizes of the atoms (`pilot.suppression`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

from pilot.suppression import Group, hidden_groups
from pilot.vocabulary import DEVICE_KINDS, MIN_GROUP

AtomKey: TypeAlias = tuple[str, str, str | None]  # (arm, profession, device kind)

PILOT = "pilot"
COMPARISON = "comparison"


def profession_key(profession: str) -> str:
    return f"profession:{profession}"


def device_key(kind: str) -> str:
    return f"device:{kind}"


def groups(atoms: Iterable[AtomKey], professions: Iterable[str]) -> list[Group[AtomKey]]:
    """The groups over these atoms; professions listed even when none of their atoms has anyone."""
    every = frozenset(atoms)
    result: list[Group[AtomKey]] = [
        Group(PILOT, frozenset(a for a in every if a[0] == "pilot")),
        Group(COMPARISON, frozenset(a for a in every if a[0] == "comparison")),
    ]
    for profession in professions:
        result.append(
            Group(profession_key(profession), frozenset(a for a in every if a[0] == "pilot" and a[1] == profession))
        )
    for kind in DEVICE_KINDS:
        result.append(Group(device_key(kind), frozenset(a for a in every if a[0] == "pilot" and a[2] == kind)))
    return result


def shown(sizes: Mapping[AtomKey, int], professions: Iterable[str]) -> tuple[list[Group[AtomKey]], set[str]]:
    """The groups and the keys of those that must stay hidden."""
    every = groups(sizes.keys(), professions)
    return every, hidden_groups(every, sizes, MIN_GROUP)
