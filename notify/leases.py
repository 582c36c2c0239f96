"""Leases that stay short and are renewed while the holder works.

A worker that dies holding a lease blocks its work until the lease runs out; a long lease makes
that wait long, a short one lets a live worker's lease run out under it. So leases are short where
waiting hurts (the urgent queue, `VILA_URGENT_LEASE_S`), and every holder renews its lease while it
works: a `LeaseKeeper` thread extends it every third of its length until the work ends. A dead
worker renews nothing, and the sweeper hands its work to another worker once the lease is out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from kernel.settings import Settings

log = logging.getLogger("vila.jobs")


def lease_for(settings: Settings, queue: str) -> timedelta:
    """The lease of work on `queue`: short for urgent work, `VILA_JOB_LEASE_S` for the rest."""
    seconds = settings.urgent_lease_s if queue == "urgent" else settings.job_lease_s
    return timedelta(seconds=seconds)


class LeaseKeeper:
    """Calls `renew` every `lease / 3` in a thread of its own, from entering the block until it ends.

    `renew` extends the lease from the current instant; it should touch only rows the holder still
    holds, so a renewal after the work finished (or after another worker took it over) does nothing.
    """

    def __init__(self, lease: timedelta, renew: Callable[[], None], *, name: str = "lease") -> None:
        self._interval = max(lease.total_seconds() / 3, 0.05)
        self._renew = renew
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"vila-{name}-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._renew()
            except Exception:  # a missed renewal shortens the lease; the next one may succeed
                log.warning("could not renew a lease", exc_info=True)
