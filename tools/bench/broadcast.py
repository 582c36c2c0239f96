"""`vila bench broadcast`: one broadcast through the real API, PostgreSQL, Redis and Celery workers.

It makes a throw-away database with N people on shift (one Android work phone each, a fifth of
them off duty so their messages are held), starts `vila api` and `vila worker` processes and a
push stand-in (nginx when installed, else the built-in emulator), sends one message as the unit's
manager and measures:

- `accept_ms`: the send call, until the 202 answer (message and audience committed);
- `decide_and_persist_s`: from the answer until every recipient has a decision and its rows;
- `rows_per_s`: recipients plus deliveries written per second in that phase;
- `deliveries_per_s`: pushes accepted by the stand-in per second, from the answer to the last one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from kernel import migrate
from kernel.auth.service import issue_token
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.directory.models import Group, GroupManager, GroupMember, Person
from notify.loop import BackgroundLoop
from notify.models import Delivery, Device, Message, Recipient
from policies.models import Shift
from tools.bench.transports import free_port, stop_process_groups


@contextlib.contextmanager
def _stand_in(directory: Path) -> Iterator[dict[str, str]]:
    """A push stand-in on a loop thread; returns the VILA_FCM_ settings that point at it."""
    import shutil

    from tools.bench.transports import nginx_stand_in, python_stand_in

    loop = BackgroundLoop("vila-bench-stand-in")
    manager = (
        nginx_stand_in(directory) if shutil.which("nginx") or Path("/usr/sbin/nginx").exists() else python_stand_in()
    )
    stand_in = loop.run(manager.__aenter__(), timeout=30)
    try:
        yield {
            "VILA_FCM_ENDPOINT": stand_in.fcm_endpoint,
            "VILA_FCM_CA_FILE": str(stand_in.ca.ca_file),
            "VILA_FCM_PROJECT_ID": "bench",
            "stand_in": stand_in.kind,
        }
    finally:
        loop.run(manager.__aexit__(None, None, None), timeout=30)
        loop.close()


def _seed(url: str, n: int) -> tuple[uuid.UUID, str, int]:
    """n people in one unit, each with one phone; four in five on shift now. Returns the unit, a
    manager token and how many are on shift."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    unit_id = uuid.uuid4()
    on_shift = 0
    with unit_of_work(factory) as s:
        s.execute(
            insert(Group),
            [
                {
                    "id": unit_id,
                    "name": "Bänkenheten",
                    "code": "bench",
                    "kind": "unit",
                    "parent_id": None,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        for start in range(0, n, 10_000):
            ids = [uuid.uuid4() for _ in range(min(10_000, n - start))]
            s.execute(
                insert(Person),
                [
                    {
                        "id": pid,
                        "name": f"Person {start + i}",
                        "email": f"p{start + i}@bench.exempel.se",
                        "timezone": "Europe/Stockholm",
                        "profession": "undersköterska",
                        "language": "sv",
                        "roles": ["staff"],
                        "active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, pid in enumerate(ids)
                ],
            )
            s.execute(insert(GroupMember), [{"group_id": unit_id, "person_id": pid} for pid in ids])
            shifts = []
            for i, pid in enumerate(ids):
                working = (start + i) % 5 != 0
                on_shift += working
                begin = now - timedelta(hours=2) if working else now + timedelta(hours=14)
                shifts.append(
                    {
                        "id": uuid.uuid4(),
                        "person_id": pid,
                        "planned_start": begin,
                        "planned_end": begin + timedelta(hours=8),
                        "kind": "planned",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            s.execute(insert(Shift), shifts)
            s.execute(
                insert(Device),
                [
                    {
                        "id": uuid.uuid4(),
                        "person_id": pid,
                        "name": "Arbetstelefon",
                        "platform": "android",
                        "provider": "fcm",
                        "token": f"bench-{pid.hex}",
                        "ownership": "work",
                        "state": "active",
                        "last_seen_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for pid in ids
                ],
            )
        manager_id = uuid.uuid4()
        s.execute(
            insert(Person),
            [
                {
                    "id": manager_id,
                    "name": "Chef",
                    "email": "chef@bench.exempel.se",
                    "timezone": "Europe/Stockholm",
                    "profession": "chef",
                    "language": "sv",
                    "roles": ["staff", "manager"],
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        s.execute(insert(GroupManager), [{"group_id": unit_id, "person_id": manager_id}])
        manager = s.get(Person, manager_id)
        if manager is None:
            raise RuntimeError("the bench manager was not stored")
        _, token = issue_token(session=s, person=manager, now=now)
    engine.dispose()
    return unit_id, token, on_shift


def _wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def run(
    *, recipients: int, database_url: str, broker_url: str, workers: int, concurrency: int, chunk: int = 5000
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vila-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    with migrate.scratch_database(database_url) as url, _stand_in(tmp) as stand_in:
        started = time.perf_counter()
        unit_id, token, on_shift = _seed(url, recipients)
        seed_s = time.perf_counter() - started
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VILA_")},
            "VILA_DATABASE_URL": url,
            "VILA_BROKER_URL": broker_url,
            "VILA_DATA_DIR": str(tmp),
            "VILA_BROKER_NAMESPACE": f"bench-{os.getpid()}",
            "VILA_FANOUT_CHUNK": str(chunk),
            "VILA_LOG_LEVEL": "WARNING",
            "VILA_TEST_INSTALLATION": "true",  # the providers are stand-ins
            **{k: v for k, v in stand_in.items() if k.startswith("VILA_")},
        }
        logs = [(tmp / f"proc{i}.log").open("wb") for i in range(workers + 1)]
        try:
            procs.append(
                subprocess.Popen(  # noqa: S603 - our own command line
                    [sys.executable, "-m", "vila.cli", "api", "--port", str(port)],
                    env=env,
                    stdout=logs[0],
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            for i in range(workers):
                procs.append(
                    subprocess.Popen(  # noqa: S603 - our own command line
                        [
                            sys.executable,
                            "-m",
                            "vila.cli",
                            "worker",
                            "-Q",
                            "urgent,default,bulk",
                            "-c",
                            str(concurrency),
                        ],
                        env=env,
                        stdout=logs[i + 1],
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz")
            time.sleep(3)  # let the workers connect to the broker
            body = {
                "title": "Bänkmätning",
                "body": "Ett meddelande till hela enheten.",
                "audience": {"groups": [str(unit_id)]},
            }
            headers = {"Authorization": f"Bearer {token}"}
            # A long-running API process has its connections (database, broker) open: warm them with a
            # small send first, so the measured call is not the process's first.
            with make_engine(url).connect() as conn:
                someone = conn.scalar(select(GroupMember.person_id).where(GroupMember.group_id == unit_id).limit(1))
            warm = {**body, "title": "Uppvärmning", "audience": {"people": [str(someone)]}}
            httpx.post(f"{base}/api/v1/messages", headers=headers, json=warm, timeout=30).raise_for_status()
            t0 = time.perf_counter()
            answer = httpx.post(f"{base}/api/v1/messages", headers=headers, json=body, timeout=120)
            t1 = time.perf_counter()
            accept_ms = (t1 - t0) * 1000
            answer.raise_for_status()
            message_id = uuid.UUID(answer.json()["message_id"])
            engine = make_engine(url)
            decided_s = sent_s = None
            rows = sent = 0
            deadline = time.monotonic() + max(120, recipients / 500)
            # Poll lightly: until the message is decided only its state (one row), then the count
            # of sent deliveries four times a second, so that the measuring takes little from the
            # database it measures.
            with engine.connect() as conn:
                while time.monotonic() < deadline and sent_s is None:
                    now = time.perf_counter() - t1  # from the answer: the send call is accept_ms
                    if decided_s is None:
                        if conn.scalar(select(Message.state).where(Message.id == message_id)) == "decided":
                            decided_s = now
                            rows = int(conn.scalar(select(func.count()).where(Recipient.message_id == message_id)) or 0)
                            rows += int(conn.scalar(select(func.count()).where(Delivery.message_id == message_id)) or 0)
                        conn.commit()
                        time.sleep(0.02)
                        continue
                    sent = int(
                        conn.scalar(
                            select(func.count()).where(Delivery.message_id == message_id, Delivery.state == "sent")
                        )
                        or 0
                    )
                    if sent >= on_shift:
                        sent_s = now
                    conn.commit()
                    time.sleep(0.25)
            engine.dispose()
        finally:
            stop_process_groups(procs)
            for log in logs:
                log.close()
    return {
        "recipients": recipients,
        "accept_ms": round(accept_ms, 1),
        "decide_and_persist_s": round(decided_s, 3) if decided_s else None,
        "rows_per_s": round(rows / decided_s) if decided_s else None,
        "decisions_per_s": round(recipients / decided_s) if decided_s else None,
        "deliveries_sent": sent,
        "deliveries_expected": on_shift,
        "deliveries_per_s": round(sent / sent_s) if sent_s else None,
        "seconds_to_last_push": round(sent_s, 3) if sent_s else None,
        "workers": workers,
        "concurrency": concurrency,
        "chunk": chunk,
        "stand_in": stand_in["stand_in"],
        "seed_s": round(seed_s, 1),
    }
