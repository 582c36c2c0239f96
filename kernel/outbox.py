"""The transactional outbox's rows: a job is a row written in the transaction that caused it,
and a broker message (a wake-up) only after that transaction commits.

This is infrastructure beside the database code: the unit of work (`kernel.uow`) writes job rows
here; workers claim and run them (`notify.outbox`), and a sweeper re-finds what a lost wake-up
or a dead worker left behind. A job's payload is a frozen dataclass declared once with the job's
name and default queue (`JobPayload`, the declarations in `kernel.jobs`); its row holds the
payload as JSON, written by `encode` and read back by `decode`.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from kernel.checks import one_of
from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.settings import Queue

log = logging.getLogger("vila.jobs")

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_state_available", "state", "available_at"),
        one_of("state", (PENDING, RUNNING, DONE, FAILED)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(json_type())
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobPayload:
    """The base of every job's payload: a frozen dataclass of ids and numbers, declared once with
    the job's name, its default queue and, for a periodic job, its interval:

        @dataclass(frozen=True)
        class FanOut(JobPayload, job="notify.fan_out", queue="bulk"):
            message_id: uuid.UUID
            chunk: int

    Fields are `uuid.UUID`, `int`, `float`, `str`, `bool`, tuples of those (`tuple[uuid.UUID, ...]`)
    or any of them `| None`; in the row's JSON a UUID is its string and a tuple a list.
    """

    job_name: ClassVar[str]
    job_queue: ClassVar[Queue]
    job_every_s: ClassVar[float | None]

    def __init_subclass__(cls, *, job: str, queue: Queue, every_s: float | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.job_name, cls.job_queue, cls.job_every_s = job, queue, every_s


P = TypeVar("P", bound=JobPayload)


class MalformedJob(ValueError):
    """A job row's JSON payload does not fit its job's declared payload (missing, unknown or
    mistyped keys): the job fails for good, with this as its error."""


def encode(payload: JobPayload) -> dict[str, Any]:
    """The JSON a job row stores for `payload`."""
    if not (dataclasses.is_dataclass(payload) and type(payload).__dataclass_params__.frozen):
        raise TypeError(f"{type(payload).__name__} is not a frozen dataclass")
    return {f.name: _to_json(getattr(payload, f.name)) for f in dataclasses.fields(payload)}


def _to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


def decode(kind: type[P], raw: Mapping[str, Any]) -> P:
    """The payload a job row's JSON stands for; `MalformedJob` when it does not fit `kind`."""
    if not isinstance(raw, Mapping):
        raise MalformedJob(f"job {kind.job_name!r}: the payload is {type(raw).__name__}, not a JSON object")
    hints = get_type_hints(kind)
    fields = dataclasses.fields(kind)  # type: ignore[arg-type]
    unknown = sorted(set(raw) - {f.name for f in fields})
    if unknown:
        raise MalformedJob(f"job {kind.job_name!r}: unknown payload key(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for field in fields:
        name = field.name
        if name not in raw:
            if field.default is not dataclasses.MISSING:
                continue  # a key added later with a default: older rows lack it
            raise MalformedJob(f"job {kind.job_name!r}: the payload has no {name!r}")
        try:
            values[name] = _from_json(hints[name], raw[name])
        except (TypeError, ValueError, AttributeError) as exc:
            raise MalformedJob(f"job {kind.job_name!r}: payload key {name!r}: {exc}") from None
    return kind(**values)


def _from_json(hint: Any, value: Any) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _from_json(inner, value)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {value!r}")
        return tuple(_from_json(args[0], v) for v in value)
    if hint is uuid.UUID:
        if not isinstance(value, str):
            raise TypeError(f"expected a UUID string, got {value!r}")
        return uuid.UUID(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise TypeError(f"expected {hint.__name__}, got {value!r}")
    return value


class Waker(Protocol):
    """Tells a worker that a committed job is ready. Losing a wake-up is allowed; the sweeper repairs it.

    A waker may also offer `wake_at(job_id, queue, at)`: run the job at a later instant (a release
    at the next due hold). One that does not leaves such jobs to the sweeper."""

    def wake(self, job_id: uuid.UUID, queue: str) -> None: ...


class NullWaker:
    """Wakes nobody: jobs wait for the sweeper (or a test that runs them by hand)."""

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        return None


_WAKE_KEY = "vila.wake"


def enqueue(
    session: Session,
    payload: JobPayload,
    *,
    now: datetime,
    queue: Queue | None = None,
    not_before: datetime | None = None,
    wake: bool = False,
) -> Job:
    """Add the job of `payload` to the caller's transaction, on its declared queue unless `queue`
    says otherwise (a message's priority picks it); its wake-up is sent only after that commits.

    A job for later is left to the sweeper, unless `wake`: then the waker is asked to run it at
    `not_before` (and the sweeper looks at it only if it has not run a while after that)."""
    due = not_before is None or not_before <= now
    queue = queue or payload.job_queue
    job = Job(
        name=payload.job_name,
        queue=queue,
        payload=encode(payload),
        state=PENDING,
        available_at=not_before or now,
        dispatched_at=now if due else (not_before if wake else None),
        attempts=0,
        created_at=now,
    )
    session.add(job)
    if due:
        session.info.setdefault(_WAKE_KEY, []).append((job, queue, None))
    elif wake:
        session.info.setdefault(_WAKE_KEY, []).append((job, queue, not_before))
    return job


def install_waker(factory: sessionmaker[Session], waker: Waker) -> None:
    """Send the wake-ups of jobs enqueued in a session once, and only if, it commits."""
    from sqlalchemy import event

    def after_commit(session: Session) -> None:
        pending = session.info.pop(_WAKE_KEY, [])
        for job, queue, at in pending:
            try:
                if at is None:
                    waker.wake(job.id, queue)
                elif (wake_at := getattr(waker, "wake_at", None)) is not None:
                    wake_at(job.id, queue, at)
            except Exception:  # a lost wake-up is repaired by the sweeper
                log.warning("could not wake job %s; the sweeper will", job.id, exc_info=True)

    def after_rollback(session: Session) -> None:
        session.info.pop(_WAKE_KEY, None)

    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_soft_rollback", lambda s, _t: after_rollback(s))
