"""Retrying transient provider errors.

The transports put a batch on the wire once per round. Requests that came back transient are
sent again, each no earlier than its own due time: exponential backoff with jitter, or the
provider's Retry-After when that is longer. After `max_attempts`, or when the provider asks for a
wait longer than `max_retry_after_s`, the request is returned as a `TransientFailure` and the
pipeline schedules it again: an outage slows delivery and never loses it. Permanent failures and
invalid tokens are never retried. A request that got no answer in time may have been accepted: it
is retried once at most, and then returned as uncertain, which the pipeline records and does not
send again (with the message id as collapse identifier, the one retry replaces rather than stacks).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime

from kernel.clock import Clock
from notify.transports.base import (
    PermanentFailure,
    PushRequest,
    PushResult,
    Sent,
    TokenInvalid,
    TransientFailure,
)

logger = logging.getLogger("vila.transports")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    max_retry_after_s: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def backoff_s(self, attempt: int, rng: random.Random) -> float:
        """Delay after the `attempt`-th failed try (1-based): exponential, the top `jitter`
        fraction of it random, so many clients that failed together do not return together."""
        delay: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return delay * (1 - self.jitter * rng.random())

    def delay_s(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        backoff = self.backoff_s(attempt, rng)
        return backoff if retry_after_s is None else max(backoff, retry_after_s)


@dataclass
class RetryStats:
    """Counters over a transport's life; `retries` counts re-sends, not requests."""

    requests: int = 0
    attempts: int = 0
    retries: int = 0
    sent: int = 0
    pruned: int = 0
    permanent: int = 0
    transient: int = 0
    retried_reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "attempts": self.attempts,
            "retries": self.retries,
            "sent": self.sent,
            "pruned": self.pruned,
            "permanent": self.permanent,
            "transient": self.transient,
            "retried_reasons": dict(self.retried_reasons),
        }


def parse_retry_after(value: str | None, *, clock: Clock) -> float | None:
    """A Retry-After header in seconds: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - clock.now()).total_seconds())


# Refusals of a request unprocessed (GOAWAY) that are sent again without spending an attempt.
UNPROCESSED_CAP = 16

AttemptFn = Callable[[Sequence[PushRequest]], Awaitable[list[PushResult]]]


async def send_with_retries(
    batch: Sequence[PushRequest],
    attempt: AttemptFn,
    *,
    policy: RetryPolicy,
    stats: RetryStats,
    provider: str,
    rng: random.Random | None = None,
) -> list[PushResult]:
    """Send `batch` through `attempt` (one try per request per call), retrying transient results.

    Returns one final result per request, in order, each with its number of attempts.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    loop = asyncio.get_running_loop()
    stats.requests += len(batch)
    final: list[PushResult | None] = [None] * len(batch)
    tries = [0] * len(batch)
    first_uncertain: dict[int, int] = {}  # the try that first went unanswered: it may have arrived
    refusals = [0] * len(batch)  # tries the provider refused unprocessed: they cost no attempt
    due: dict[int, float] = {i: 0.0 for i in range(len(batch))}

    while due:
        now = loop.time()
        earliest = min(due.values())
        if earliest > now:
            await asyncio.sleep(earliest - now)
            now = loop.time()
        ready = sorted(i for i, t in due.items() if t <= now)
        for i in ready:
            del due[i]
            tries[i] += 1
        stats.attempts += len(ready)
        answers = await attempt([batch[i] for i in ready])
        for i, answer in zip(ready, answers, strict=True):
            request = batch[i]
            if isinstance(answer, TransientFailure):
                if answer.unprocessed and refusals[i] < UNPROCESSED_CAP:
                    # A connection going away refused it before processing: certainly not sent,
                    # so it goes again at once on a fresh connection without spending an attempt.
                    refusals[i] += 1
                    tries[i] -= 1
                    stats.retried_reasons[answer.reason] += 1  # counted here, not as an attempt
                    due[i] = loop.time()
                    continue
                if answer.uncertain:
                    first_uncertain.setdefault(i, tries[i])
                if i in first_uncertain:
                    answer = replace(answer, uncertain=True)
                retry_after = answer.retry_after_s
                too_long = retry_after is not None and retry_after > policy.max_retry_after_s
                # After a try that may have arrived, one more at most: a provider that is slow,
                # not down, would otherwise get the same push once per attempt.
                spent = i in first_uncertain and tries[i] > first_uncertain[i]
                if tries[i] < policy.max_attempts and not too_long and not spent:
                    stats.retries += 1
                    stats.retried_reasons[answer.reason] += 1
                    due[i] = loop.time() + policy.delay_s(tries[i], retry_after, rng)
                    continue
                stats.transient += 1
                logger.warning(
                    "%s delivery %s still failing after %d attempts: %s",
                    provider,
                    request.delivery_id,
                    tries[i],
                    answer.reason,
                )
            elif isinstance(answer, Sent):
                stats.sent += 1
            elif isinstance(answer, TokenInvalid):
                stats.pruned += 1
                logger.info(
                    "%s token of delivery %s is invalid (%s): prune the device",
                    provider,
                    request.delivery_id,
                    answer.reason,
                )
            elif isinstance(answer, PermanentFailure):
                stats.permanent += 1
                logger.error(
                    "%s rejected delivery %s for good: %s",
                    provider,
                    request.delivery_id,
                    answer.reason,
                )
            final[i] = replace(answer, attempts=tries[i])
    return [r for r in final if r is not None]
