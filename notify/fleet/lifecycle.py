"""The asset lifecycle: one table of transitions, each with who may make it. Pure: no I/O.

    in_stock --assign--> assigned --return--> returned --wipe--> wiped --restock--> in_stock (reused)
    in_stock --to_pool--> loaner --lend--> on_loan --return--> returned --wipe--> wiped --to_pool--> loaner
    (almost) any state --report_lost--> lost --found--> returned
    in use or in stock --repair--> in_repair --repaired--> returned
    anything not in use --retire--> retired (the end: kept for the audit, never deleted)

Who may make a transition is a set of actor kinds: `it` (roles it and admin), `holder` (the person
the asset is assigned or lent to) and `holder_manager` (a manager of one of the holder's groups).
A returned, lost or repaired asset always passes `wiped` before anyone else gets it: a phone with a
previous user's account on it is what blocked reuse.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kernel.audit.service import SYSTEM, RequestMeta
from kernel.errors import Conflict, PermissionDenied
from notify.fleet.models import AssetState

Who = Literal["it", "holder", "holder_manager"]
IT_ROLES = frozenset({"it", "admin"})
# Push devices on an asset receive pushes only in these states: the asset is with someone.
IN_USE: frozenset[AssetState] = frozenset({"assigned", "on_loan"})


@dataclass(frozen=True)
class Transition:
    action: str
    source: AssetState
    target: AssetState
    who: frozenset[Who]


_IT: frozenset[Who] = frozenset({"it"})
_REPORTERS: frozenset[Who] = frozenset({"it", "holder", "holder_manager"})


def _t(action: str, sources: Iterable[AssetState], target: AssetState, who: frozenset[Who] = _IT) -> list[Transition]:
    return [Transition(action, source, target, who) for source in sources]


TRANSITIONS: tuple[Transition, ...] = (
    *_t("assign", ["in_stock"], "assigned"),
    *_t("to_pool", ["in_stock", "wiped"], "loaner"),
    *_t("from_pool", ["loaner"], "in_stock"),
    *_t("lend", ["loaner"], "on_loan"),
    *_t("return", ["assigned", "on_loan"], "returned"),
    *_t("wipe", ["returned"], "wiped"),
    *_t("restock", ["wiped"], "in_stock"),
    *_t("repair", ["assigned", "on_loan", "in_stock", "loaner", "returned"], "in_repair"),
    *_t("repaired", ["in_repair"], "returned"),
    *_t("report_lost", ["assigned", "on_loan"], "lost", _REPORTERS),
    *_t("report_lost", ["in_stock", "loaner", "returned", "wiped", "in_repair"], "lost"),
    *_t("found", ["lost"], "returned"),
    *_t("retire", ["in_stock", "loaner", "returned", "wiped", "in_repair", "lost"], "retired"),
)
_BY_MOVE = {(t.source, t.target): t for t in TRANSITIONS}
# These targets need an assignee, so they are reached through their own use case (assign, lend).
NEEDS_ASSIGNEE: frozenset[AssetState] = frozenset({"assigned", "on_loan"})


@dataclass(frozen=True)
class By:
    """Who makes a change, with which roles, and from where: for the rules and the audit log."""

    person_id: uuid.UUID | None
    label: str
    roles: frozenset[str] = frozenset()
    meta: RequestMeta = SYSTEM

    @property
    def is_it(self) -> bool:
        return bool(self.roles & IT_ROLES)

    @classmethod
    def system(cls, label: str = "system") -> By:
        """The product itself (an import run from the command line, a job): device administration's rights."""
        return cls(person_id=None, label=label, roles=frozenset({"it"}))


def allowed_from(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == state]


def describe(transitions: Iterable[Transition]) -> str:
    return ", ".join(f"{t.action} (-> {t.target})" for t in transitions) or "none (the asset is retired)"


class IllegalTransition(Conflict):
    """The move is not in the table: answered with 409 and the moves that are allowed from here."""


def check(source: str, target: str, who: frozenset[Who]) -> Transition:
    """The transition from `source` to `target` if it exists and `who` may make it."""
    move = _BY_MOVE.get((source, target))  # type: ignore[arg-type]
    if move is None:
        allowed = allowed_from(source)
        raise IllegalTransition(
            f"an asset that is {source} cannot become {target}; allowed from {source}: {describe(allowed)}",
            details={
                "state": source,
                "requested": target,
                "allowed": [{"action": t.action, "to": t.target} for t in allowed],
            },
        )
    if not (move.who & who):
        names = {"it": "device administration (role it or admin)", "holder": "the person who has it"}
        names["holder_manager"] = "their manager"
        raise PermissionDenied(f"{move.action} may be done only by {' or '.join(names[w] for w in sorted(move.who))}")
    return move
