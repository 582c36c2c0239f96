"""The morning release: held messages go out as ONE digest per person, however many batches the
release takes and however many workers run it at once, and nothing is pushed twice or left held."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.jobs import ReleasePeople
from kernel.settings import Settings
from notify.jobs import registry
from notify.models import Delivery, Digest
from notify.outbox import Job, JobContext, NullWaker, run_due, sweep
from notify.push import PushClient
from notify.release import _held, claim_people, release
from notify.transports import mapping
from notify.transports.base import RecordingTransport
from tests.messaging_helpers import recording_push, together
from tools.bench.held import SENSITIVE_TITLE, Held, seed_held

# More held rows than one batch of the old row-wise release (5,000), and many batches of people.
PEOPLE = 1300
MESSAGES = 4
BATCH = 40


@pytest.fixture
def push() -> tuple[PushClient, RecordingTransport]:
    client, transport = recording_push()
    yield client, transport  # type: ignore[misc]
    client.close()


def _seed(session_factory: sessionmaker[Session], clock: ManualClock) -> Held:
    release_at = clock.now() + timedelta(hours=12)
    held = seed_held(session_factory, people=PEOPLE, messages=MESSAGES, release_at=release_at, now=clock.now())
    clock.set(release_at + timedelta(minutes=1))
    return held


def _ctx(
    settings: Settings, session_factory: sessionmaker[Session], clock: ManualClock, push: PushClient
) -> JobContext:
    small = settings.model_copy(update={"release_batch": BATCH})
    return JobContext(settings=small, session_factory=session_factory, clock=clock, resources={"push": push})


def _assert_one_digest_each(session_factory: sessionmaker[Session], held: Held, transport: RecordingTransport) -> None:
    with session_factory() as s:
        states = Counter(s.scalars(select(Delivery.state)))
        digests = s.execute(select(Digest.person_id, Digest.message_ids)).all()
    assert states["held"] == 0, f"{states['held']} deliveries are still held"
    per_person = Counter(pid for pid, _ in digests)
    assert set(per_person) == set(held.people), "someone got no digest"
    split = {pid: n for pid, n in per_person.items() if n > 1}
    assert not split, f"{len(split)} people got more than one digest"
    messages_of: dict[uuid.UUID, list[str]] = defaultdict(list)
    for pid, ids in digests:
        messages_of[pid].extend(ids)
    expected = sorted(str(m) for m in held.messages)
    wrong = [pid for pid, ids in messages_of.items() if sorted(ids) != expected]
    assert not wrong, f"{len(wrong)} digests do not hold every message exactly once"
    pushes = Counter(r.token for r in transport.requests)
    assert sum(pushes.values()) == len(held.tokens), f"{sum(pushes.values())} pushes for {len(held.tokens)} devices"
    assert set(pushes) == set(held.tokens)
    assert max(pushes.values()) == 1, "a device was pushed twice"
    assert {r.kind for r in transport.requests} == {"digest"}
    leaked = [r for r in transport.requests if "HEMLIGT" in r.title + r.body or SENSITIVE_TITLE in r.body]
    assert not leaked, "a sensitive message's title went into a digest push"


def test_two_workers_release_many_batches_as_one_digest_per_person(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    held = _seed(session_factory, clock)
    ctx = _ctx(settings, session_factory, clock, push[0])
    release = registry.get("notify.release_holds")
    assert release is not None

    def worker() -> None:
        # What beat's tick does on a worker, then the worker running whatever that queued.
        release.tick(ctx)
        run_due(ctx, registry)

    together(worker, worker)
    run_due(ctx, registry)
    _assert_one_digest_each(session_factory, held, push[1])


def test_two_releases_of_the_same_people_at_once_push_each_once(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    """Both workers are handed every batch (a re-planned release, a redelivered job): each person
    is released by whichever claims them first, and by nobody else."""
    held = _seed(session_factory, clock)
    ctx = _ctx(settings, session_factory, clock, push[0])
    batch = registry.get("notify.release_people")
    assert batch is not None
    people = list(held.people)
    batches = [ReleasePeople(person_ids=tuple(people[i : i + BATCH])) for i in range(0, len(people), BATCH)]

    def forwards() -> None:
        for payload in batches:
            batch.handler(ctx, payload)

    def backwards() -> None:
        for payload in reversed(batches):
            batch.handler(ctx, payload)

    together(forwards, backwards)
    run_due(ctx, registry)
    _assert_one_digest_each(session_factory, held, push[1])


def test_a_release_runs_once_on_its_own_queue(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    """Beat's tick while a release is under way plans nothing more; the release and its digest
    pushes never take a place on the urgent or default queues."""
    held = _seed(session_factory, clock)
    ctx = _ctx(settings, session_factory, clock, push[0])
    release = registry.get("notify.release_holds")
    assert release is not None
    release.tick(ctx)
    release.tick(ctx)  # the next tick, the batches not yet run
    with session_factory() as s:
        planned = Counter(s.scalars(select(Job.queue).where(Job.name == "notify.release_people")))
    assert planned == {"release": -(-PEOPLE // BATCH)}, "each person is planned once, on the release queue"
    run_due(ctx, registry)
    with session_factory() as s:
        sends = Counter(s.scalars(select(Job.queue).where(Job.name == "notify.send")))
    assert sends and set(sends) == {"release"}
    _assert_one_digest_each(session_factory, held, push[1])


def test_a_digest_of_300_held_messages_fits_every_provider(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    """One person, 300 held messages with long titles, every fifth sensitive: one push, under
    4 KB for APNs, FCM and Web Push alike, naming no sensitive message."""
    release_at = clock.now() + timedelta(hours=12)
    held = seed_held(
        session_factory,
        people=1,
        messages=300,
        release_at=release_at,
        now=clock.now(),
        second_device_every=0,
        sensitive_every=5,
        title_length=200,
    )
    clock.set(release_at + timedelta(minutes=1))
    ctx = _ctx(settings, session_factory, clock, push[0])
    release = registry.get("notify.release_holds")
    assert release is not None
    release.tick(ctx)
    run_due(ctx, registry)
    [sent] = push[1].requests
    assert sent.kind == "digest" and sent.data["count"] == "300"
    assert "HEMLIGT" not in sent.title + sent.body + str(sent.data)
    assert sent.body.startswith("Senaste: Meddelande 299")
    platforms = {"apns": "ios", "fcm": "android", "webpush": "web"}
    for provider, platform in platforms.items():
        request = replace(sent, provider=provider, platform=platform)  # type: ignore[arg-type]
        sizes = mapping.payload_sizes(request, now=clock.now())
        assert max(sizes.values()) < mapping.PAYLOAD_LIMIT_BYTES, (provider, sizes)
    with session_factory() as s:
        [digest] = s.scalars(select(Digest)).all()
    assert sorted(digest.message_ids) == sorted(str(m) for m in held.messages), "the inbox has the full list"


def test_a_release_whose_worker_dies_before_pushing_is_pushed_once_after_its_lease(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    """A release claims its digests' deliveries and send jobs in its own transaction, to push
    them itself: no other worker takes them meanwhile; if it dies before pushing, the sweeper
    finds the lease run out and the digests go out once, then."""
    held = _seed(session_factory, clock)
    ctx = _ctx(settings, session_factory, clock, push[0])
    with unit_of_work(session_factory) as session:  # release_people, up to its commit: then it dies
        people = claim_people(session, held.people, wait=False)
        rows = _held(session, Delivery.person_id.in_(people))
        claimed = release(ctx, session, rows, now=clock.now(), claim_sends=True)
    assert claimed and all(j.state == "running" for j in claimed)
    run_due(ctx, registry)  # any other worker, now
    sweep(ctx, NullWaker())
    run_due(ctx, registry)
    assert push[1].requests == [], "a digest its releasing worker still holds went out elsewhere"
    with session_factory() as s:
        assert Counter(s.scalars(select(Delivery.state)))["sending"] == len(held.tokens)
    clock.advance(timedelta(seconds=settings.job_lease_s + 1))
    assert sweep(ctx, NullWaker()).expired_leases == len(claimed)
    run_due(ctx, registry)
    _assert_one_digest_each(session_factory, held, push[1])
    with session_factory() as s:
        assert Counter(s.scalars(select(Delivery.state)))["sent"] == len(held.tokens)
