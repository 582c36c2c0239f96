"""The anonymity rule: no figure for fewer than five answers (or people), and no set of shown
figures from which the figure of fewer than five could be worked out by adding and subtracting.

A breakdown shows groups (everyone, each profession, each device kind, ...). Each group is a union
of *atoms*: the finest cells the data has (arm x profession x device kind). Sums and counts of
groups are linear, so from the shown groups a reader can compute the figures of every union of
atoms whose indicator vector lies in the span of the shown groups' vectors: "everyone minus three
professions" is the fourth. A group below the minimum is hidden; then, while some union of atoms
with between 1 and minimum - 1 members can still be derived from what is shown, the smallest shown
group is hidden too (complementary suppression). Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Generic, TypeVar

from pilot.vocabulary import MIN_GROUP

Atom = TypeVar("Atom", bound=Hashable)


@dataclass(frozen=True)
class Group(Generic[Atom]):
    key: str
    atoms: frozenset[Atom]


def size(group: Group[Atom], sizes: Mapping[Atom, int]) -> int:
    return sum(sizes.get(a, 0) for a in group.atoms)


def _cells(shown: Sequence[Group[Atom]], sizes: Mapping[Atom, int]) -> dict[tuple[bool, ...], set[Atom]]:
    """The common refinement of the shown groups over the non-empty atoms: membership -> atoms.
    Every derivable set is a union of these cells; a cell in no shown group never is."""
    cells: dict[tuple[bool, ...], set[Atom]] = {}
    for atom, n in sizes.items():
        if n > 0:
            cells.setdefault(tuple(atom in g.atoms for g in shown), set()).add(atom)
    return {sig: atoms for sig, atoms in cells.items() if any(sig)}


def _reduced(rows: list[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Row-reduce (Gauss-Jordan over the rationals): [(pivot column, row)]."""
    basis: list[tuple[int, list[Fraction]]] = []
    for original in rows:
        row = list(original)
        for pivot, b in basis:
            if row[pivot]:
                factor = row[pivot]
                row = [x - factor * y for x, y in zip(row, b, strict=True)]
        lead = next((i for i, x in enumerate(row) if x), None)
        if lead is None:
            continue
        row = [x / row[lead] for x in row]
        basis = [(p, [x - b[lead] * y for x, y in zip(b, row, strict=True)]) for p, b in basis]
        basis.append((lead, row))
    return basis


def _in_span(vector: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> bool:
    rest = list(vector)
    for pivot, row in basis:
        if rest[pivot]:
            factor = rest[pivot]
            rest = [x - factor * y for x, y in zip(rest, row, strict=True)]
    return not any(rest)


def _basis(shown: Sequence[Group[Atom]], cells: list[tuple[bool, ...]]) -> list[tuple[int, list[Fraction]]]:
    return _reduced([[Fraction(int(sig[g])) for sig in cells] for g in range(len(shown))])


def derivable(atoms: set[Atom], shown: Sequence[Group[Atom]], sizes: Mapping[Atom, int]) -> bool:
    """Do the figures of these atoms together follow from the shown groups' figures?"""
    wanted = {a for a in atoms if sizes.get(a, 0) > 0}
    cells = _cells(shown, sizes)
    if not wanted or not wanted <= {a for members in cells.values() for a in members}:
        return False  # nothing there, or part of it lies in no shown group
    chosen = {sig for sig, members in cells.items() if members & wanted}
    if any(not cells[sig] <= wanted for sig in chosen):
        return False  # it splits a cell that every shown group either holds whole or not at all
    order = list(cells)
    return _in_span([Fraction(1 if sig in chosen else 0) for sig in order], _basis(shown, order))


def derivable_small_set(
    shown: Sequence[Group[Atom]], sizes: Mapping[Atom, int], minimum: int = MIN_GROUP
) -> set[Atom] | None:
    """Atoms with 1..minimum-1 members in all whose figures follow from the shown groups' figures;
    None when there are none."""
    cells = _cells(shown, sizes)
    order = list(cells)
    weight = {sig: sum(sizes[a] for a in cells[sig]) for sig in order}
    small = [sig for sig in order if weight[sig] < minimum]
    basis = _basis(shown, order)
    # A union of fewer than `minimum` members has at most minimum - 1 non-empty cells.
    for k in range(1, min(len(small), minimum - 1) + 1):
        for chosen in combinations(small, k):
            if sum(weight[sig] for sig in chosen) >= minimum:
                continue
            if _in_span([Fraction(1 if sig in chosen else 0) for sig in order], basis):
                return {a for sig in chosen for a in cells[sig]}
    return None


def hidden_groups(groups: Sequence[Group[Atom]], sizes: Mapping[Atom, int], minimum: int = MIN_GROUP) -> set[str]:
    """The keys of the groups that must not be shown. While a small set can be worked out, hide the
    smallest shown group whose removal stops that (or, failing any one, the smallest)."""
    shown = [g for g in groups if size(g, sizes) >= minimum]
    hidden = {g.key for g in groups if size(g, sizes) < minimum}
    while shown:
        leak = derivable_small_set(shown, sizes, minimum)
        if leak is None:
            break
        by_size = sorted(shown, key=lambda g: (size(g, sizes), g.key))
        victim = next((g for g in by_size if not derivable(leak, [h for h in shown if h is not g], sizes)), by_size[0])
        shown.remove(victim)
        hidden.add(victim.key)
    return hidden
