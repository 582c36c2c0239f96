"""The embedded runner: the same job code as the Celery workers, on threads in this process.

One thread per queue, so an urgent job never waits behind a bulk one, and a scheduler thread
that runs the sweeper, the periodic jobs and the jobs woken for a later instant (by the job
context's clock). It is the `Waker` of the embedded mode.
"""

from __future__ import annotations

import heapq
import logging
import queue as queuelib
import threading
import time
import uuid
from datetime import datetime

from kernel.settings import QUEUES
from notify.outbox import JobContext, JobRegistry, run_job, sweep

log = logging.getLogger("vila.runner")


class EmbeddedRunner:
    def __init__(self, ctx: JobContext, registry: JobRegistry, *, threads_per_queue: int = 1) -> None:
        self.ctx = ctx
        self.registry = registry
        self._queues: dict[str, queuelib.Queue[uuid.UUID]] = {q: queuelib.Queue() for q in QUEUES}
        self._threads_per_queue = threads_per_queue
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._later: list[tuple[datetime, int, uuid.UUID, str]] = []  # a heap, the earliest first
        self._seq = 0

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        self._queues.get(queue, self._queues["default"]).put(job_id)

    def wake_at(self, job_id: uuid.UUID, queue: str, at: datetime) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._later, (at, self._seq, job_id, queue))

    def _wake_due(self) -> None:
        now = self.ctx.clock.now()
        due: list[tuple[uuid.UUID, str]] = []
        with self._lock:
            while self._later and self._later[0][0] <= now:
                _, _, job_id, queue = heapq.heappop(self._later)
                due.append((job_id, queue))
        for job_id, queue in due:
            self.wake(job_id, queue)

    def start(self) -> None:
        self._stop.clear()
        for name, q in self._queues.items():
            for i in range(self._threads_per_queue):
                t = threading.Thread(target=self._consume, args=(q,), name=f"vila-{name}-{i}", daemon=True)
                t.start()
                self._threads.append(t)
        t = threading.Thread(target=self._schedule, name="vila-scheduler", daemon=True)
        t.start()
        self._threads.append(t)
        log.info("embedded runner started: queues %s", ", ".join(self._queues))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def idle(self) -> bool:
        with self._lock:
            return self._busy == 0 and all(q.empty() for q in self._queues.values())

    def _consume(self, q: queuelib.Queue[uuid.UUID]) -> None:
        while not self._stop.is_set():
            try:
                job_id = q.get(timeout=0.2)
            except queuelib.Empty:
                continue
            with self._lock:
                self._busy += 1
            try:
                run_job(self.ctx, self.registry, job_id)
            except Exception:
                log.exception("job %s could not be run; the sweeper will retry it", job_id)
            finally:
                with self._lock:
                    self._busy -= 1

    def _schedule(self) -> None:
        last_run: dict[str, float] = {}
        next_sweep = 0.0
        while not self._stop.is_set():
            self._wake_due()
            now = time.monotonic()
            if now >= next_sweep:
                try:
                    sweep(self.ctx, self)
                except Exception:
                    log.exception("sweep failed")
                next_sweep = now + self.ctx.settings.sweep_interval_s
            for spec in self.registry.periodic():
                if now - last_run.get(spec.name, -1e9) >= (spec.every_s or 60.0):
                    last_run[spec.name] = now
                    try:
                        spec.tick(self.ctx)
                    except Exception:
                        log.exception("periodic job %s failed", spec.name)
            self._stop.wait(0.2)
