"""The built-in questionnaire: the same Likert items in every wave, so that answers compare over time.

Each item is a statement answered on a five-point scale (1 = does not apply at all, 5 = applies
completely). `lower_is_better` says which way an improvement goes: less worry about being
reachable is better, more help in keeping the team in step is better. The texts live in the
pilot's text catalog under `survey.item.<key>`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    key: str
    lower_is_better: bool


ITEMS: tuple[Item, ...] = (
    Item("reachability", lower_is_better=True),  # the expectation to be reachable at all times
    Item("stress", lower_is_better=True),  # work contacts outside working time cause stress
    Item("coordination", lower_is_better=False),  # "gå i takt": the team moves in step
    Item("information", lower_is_better=False),  # information can be read when it suits
    Item("disturbance", lower_is_better=True),  # the device disturbs meetings with patients
)
ITEM_KEYS: tuple[str, ...] = tuple(item.key for item in ITEMS)
SCALE = (1, 2, 3, 4, 5)
FREE_TEXT_MAX = 2000


def improvement(item: Item, delta: float) -> float:
    """The change as an improvement: positive is better, whichever way the item points."""
    return -delta if item.lower_is_better else delta
