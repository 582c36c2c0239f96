"""Faults the stand-ins inject, and what they record.

A `FaultPlan` is set in code or over the control endpoint (`PUT /{provider}/faults` with the same
fields as JSON). Faults by token pattern are deterministic; rates are drawn from a seeded random
generator, except `rate_unregistered`, which is decided by a hash of the token so that a token once
unregistered stays unregistered.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Fault = Literal[
    "unregistered",
    "quota",
    "unavailable",
    "internal",
    "invalid_argument",
    "sender_id_mismatch",
    "third_party_auth",
]
FAULTS: tuple[Fault, ...] = (
    "unregistered",
    "quota",
    "unavailable",
    "internal",
    "invalid_argument",
    "sender_id_mismatch",
    "third_party_auth",
)


@dataclass
class FaultPlan:
    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_500: float = 0.0
    rate_unregistered: float = 0.0
    retry_after_s: float | None = None
    latency_s: float = 0.0
    goaway_after: int | None = None
    drop_after: int | None = None
    token_rules: dict[str, Fault] = field(default_factory=dict)
    unregistered_tokens: set[str] = field(default_factory=set)
    seed: int | None = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault injection, not security
        self._rules = [(re.compile(p), f) for p, f in self.token_rules.items()]
        for fault in self.token_rules.values():
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultPlan:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "unregistered_tokens" in values:
            values["unregistered_tokens"] = set(values["unregistered_tokens"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unregistered_tokens"] = sorted(self.unregistered_tokens)
        return data

    def drops(self, count: int) -> bool:
        """Cut the connection, unanswered, at its `count`-th request (HTTP/1.1 stand-ins)."""
        return self.drop_after is not None and count > self.drop_after

    def closes(self, count: int) -> bool:
        """Answer the `count`-th request of a connection, then close it (HTTP/1.1 stand-ins)."""
        return self.goaway_after is not None and count >= self.goaway_after

    def retry_after_header(self) -> str | None:
        """The Retry-After value to send with a 429 or 503, when the plan sets one."""
        if self.retry_after_s is None:
            return None
        value = float(self.retry_after_s)
        return str(int(value)) if value.is_integer() else str(value)

    def decide(self, token: str) -> Fault | None:
        if token in self.unregistered_tokens:
            return "unregistered"
        for pattern, fault in self._rules:
            if pattern.search(token):
                return fault
        if self.rate_unregistered and _token_fraction(token) < self.rate_unregistered:
            return "unregistered"
        draw = self._rng.random()
        if draw < self.rate_429:
            return "quota"
        if draw < self.rate_429 + self.rate_503:
            return "unavailable"
        if draw < self.rate_429 + self.rate_503 + self.rate_500:
            return "internal"
        return None


def _token_fraction(token: str) -> float:
    digest = hashlib.sha256(token.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class RequestCounter:
    """Requests per connection, for `FaultPlan.drops` and `FaultPlan.closes`."""

    counts: dict[int, int] = field(default_factory=dict)

    def next(self, connection: int) -> int:
        self.counts[connection] = self.counts.get(connection, 0) + 1
        return self.counts[connection]

    def clear(self) -> None:
        self.counts.clear()


@dataclass
class Received:
    """One request as the stand-in saw it, and what it answered."""

    token: str
    status: int
    reason: str | None
    headers: dict[str, str]
    payload: Any
    key: str
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)

    def add(self, item: Received) -> None:
        self.received.append(item)

    def accepted(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    def summary(self) -> dict[str, Any]:
        accepted = Counter(r.key for r in self.accepted())
        return {
            "requests": len(self.received),
            "by_status": dict(Counter(str(r.status) for r in self.received)),
            "accepted": sum(accepted.values()),
            "accepted_twice": sorted(k for k, n in accepted.items() if n > 1),
        }

    def clear(self) -> None:
        self.received.clear()
