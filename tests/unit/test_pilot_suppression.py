"""The anonymity rule: no shown group under five, and no sum or difference of shown groups that
isolates fewer than five. Checked against a brute force that knows nothing of the linear algebra."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from pilot.breakdown import AtomKey, groups
from pilot.suppression import Group, hidden_groups, size

P = "pilot"


def _isolates_few(shown: list[Group[AtomKey]], sizes: Mapping[AtomKey, int]) -> bool:
    """Some combination of the shown groups with coefficients -1, 0 or 1 adds up to a set of
    1..4 members (each member counted once, none counted negatively)."""
    atoms = [a for a, n in sizes.items() if n > 0]
    for coefficients in itertools.product((-1, 0, 1), repeat=len(shown)):
        weight = {a: sum(c for c, g in zip(coefficients, shown, strict=True) if a in g.atoms) for a in atoms}
        if set(weight.values()) <= {0, 1} and 0 < sum(sizes[a] for a in atoms if weight[a] == 1) < 5:
            return True
    return False


def _shown(sizes: dict[AtomKey, int], professions: list[str]) -> list[Group[AtomKey]]:
    every = groups(sizes, professions)
    hidden = hidden_groups(every, sizes)
    return [g for g in every if g.key not in hidden]


def test_a_group_under_five_is_hidden_and_so_is_what_would_give_it_away() -> None:
    sizes = {(P, "a", "phone"): 3, (P, "a", "tablet"): 3, (P, "b", "phone"): 2, (P, "b", "tablet"): 2}
    every = groups(sizes, ["a", "b"])
    # b has 4: hidden. Everyone (10) minus a (6) would be b, so a goes too; the device kinds (5 and 5) stay.
    assert hidden_groups(every, sizes) == {"comparison", "profession:a", "profession:b"}


def test_nothing_is_hidden_when_every_group_is_large_and_the_design_is_mixed() -> None:
    sizes = {(P, p, k): n for p, k, n in [("a", "phone", 3), ("a", "tablet", 2), ("b", "phone", 2), ("b", "tablet", 3)]}
    sizes[("comparison", "a", None)] = 6
    assert hidden_groups(groups(sizes, ["a", "b"]), sizes) == set()


def test_a_profession_with_one_kind_of_device_cannot_be_subtracted_to_one_person() -> None:
    # All of a have phones; the phones are a plus one person of b: phones minus a is that person.
    sizes = {(P, "a", "phone"): 5, (P, "b", "phone"): 1, (P, "b", "tablet"): 5, (P, "c", "tablet"): 6}
    shown = _shown(sizes, ["a", "b", "c"])
    assert not _isolates_few(shown, sizes)
    assert {g.key for g in shown} & {"device:phone", "profession:a"} != {"device:phone", "profession:a"}


atom_sizes = st.dictionaries(
    st.tuples(
        st.sampled_from([P, P, P, "comparison"]), st.sampled_from(["a", "b", "c"]), st.sampled_from(["phone", "tablet"])
    ),
    st.integers(min_value=0, max_value=8),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(atom_sizes)
def test_what_is_shown_never_isolates_fewer_than_five(sizes: dict[AtomKey, int]) -> None:
    sizes = {(arm, p, k if arm == P else None): n for (arm, p, k), n in sizes.items()}
    shown = _shown(sizes, ["a", "b", "c"])
    assert all(size(g, sizes) >= 5 for g in shown)
    assert not _isolates_few(shown, sizes)
