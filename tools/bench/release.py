"""`vila bench release`: the morning release in production mode, measured at the push stand-in.

It makes a throw-away PostgreSQL database with `people` people, each with `messages` messages
held until one instant (tools/bench/held.py) and one work phone (Android through FCM, or with
`platform="ios"` an iPhone through APNs). It starts `vila api`, `workers` worker processes for
the release, default and bulk queues, one for the urgent queue (as docker-compose.yml does),
`vila beat`, and Debian's nginx as the FCM and APNs stand-in, which logs every push it accepts
(time, device token, whether a digest). The instant comes just after all that is up; the bench
schedules the release's wake-up for it as writing a hold does, and measures after that instant:

- `digests`: digest rows written (one per person is the promise); `pushes`: pushes the stand-in
  accepted for the held people; `duplicates`: pushes beyond one per device;
- `first_push_s`, `last_push_s`: the first and last of those pushes, in seconds after the instant;
- `urgent_latency_ms`: an urgent message to one on-duty person, sent through the API two seconds
  into the release, from the call to its arrival at the stand-in.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from kernel import migrate
from kernel.auth.service import issue_token
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.directory.models import GroupMember, Person
from kernel.settings import Settings
from notify.celery_waker import CeleryWaker
from notify.loop import BackgroundLoop
from notify.models import Delivery, Device, Digest
from notify.outbox import install_waker
from notify.release_timing import schedule_wake
from policies.models import Shift
from tools.bench.held import Held, seed_held
from tools.bench.transports import free_port, run_nginx, stop_process_groups
from tools.standins.tls import make_local_ca

LEAD_S = 5.0  # at least this long between everything being up and the release instant
URGENT_AFTER_S = 2.0
ON_DUTY_TOKEN = "f" * 64

NGINX = """\
worker_processes 1;
daemon off;
master_process off;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format apns '$msec $request_uri $http_apns_collapse_id';
    log_format fcm escape=none '$msec $request_body';
    access_log off;
    client_body_temp_path {dir}/body;
    client_body_buffer_size 64k;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    upstream answer {{ server 127.0.0.1:{answer_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location /3/device/ {{
            access_log {dir}/pushes.log apns;
            add_header apns-id $http_apns_id always;
            return 200;
        }}
        # nginx reads a request's body only to pass it on: FCM's requests go to a second server
        # that answers, so that the log has each body (the device token and the data).
        location ~ ^/v1/projects/[^/]+/messages:send$ {{
            access_log {dir}/pushes.log fcm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://answer;
        }}
    }}
    server {{
        listen 127.0.0.1:{answer_port};
        location / {{
            default_type application/json;
            return 200 '{{"name":"projects/bench/messages/0:1"}}';
        }}
    }}
}}
"""
_FCM_TOKEN = re.compile(r'"token":"([^"]+)"')


@contextlib.contextmanager
def _stand_in(directory: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """nginx as APNs and FCM, logging each push; the settings that point at it, and its log."""
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        raise RuntimeError("vila bench release needs Debian's nginx as its stand-in (apt-get install nginx-light)")
    ca = make_local_ca(directory / "tls")
    port = free_port()
    conf = NGINX.format(
        dir=directory, port=port, answer_port=free_port(), cert=ca.server_cert_file, key=ca.server_key_file
    )
    loop = BackgroundLoop("vila-bench-stand-in")
    manager = run_nginx(directory, conf, port)
    loop.run(manager.__aenter__(), timeout=30)
    try:
        env = {
            "VILA_APNS_HOST": "127.0.0.1",
            "VILA_APNS_PORT": str(port),
            "VILA_APNS_CA_FILE": str(ca.ca_file),
            "VILA_FCM_ENDPOINT": f"https://127.0.0.1:{port}",
            "VILA_FCM_CA_FILE": str(ca.ca_file),
            "VILA_FCM_PROJECT_ID": "bench",
        }
        yield env, directory / "pushes.log"
    finally:
        loop.run(manager.__aexit__(None, None, None), timeout=30)
        loop.close()


def _on_duty(url: str, held: Held, now: datetime) -> tuple[uuid.UUID, str]:
    """One person at work now in the unit, with an iPhone; and the manager's API token."""
    factory = make_session_factory(make_engine(url))
    pid = uuid.uuid4()
    with unit_of_work(factory) as s:
        s.execute(
            insert(Person),
            [
                {
                    "id": pid,
                    "name": "Jourhavande",
                    "email": "jour@bench.exempel.se",
                    "timezone": "Europe/Stockholm",
                    "profession": "sjuksköterska",
                    "language": "sv",
                    "roles": ["staff"],
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        s.execute(insert(GroupMember), [{"group_id": held.unit_id, "person_id": pid}])
        s.execute(
            insert(Shift),
            [
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "planned_start": now - timedelta(hours=2),
                    "planned_end": now + timedelta(hours=6),
                    "kind": "planned",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        s.add(
            Device(
                person_id=pid, name="Jourtelefon", platform="ios", provider="apns", token=ON_DUTY_TOKEN,
                ownership="work", state="active", last_seen_at=now, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        manager = s.get(Person, held.manager_id)
        if manager is None:
            raise RuntimeError("the bench's manager was not stored")
        _, token = issue_token(session=s, person=manager, now=now)
    return pid, token


def _pushes(log: Path) -> list[tuple[float, str, bool]]:
    """(time, device token, a digest?) of every push the stand-in accepted."""
    if not log.exists():
        return []
    rows = []
    for line in log.read_text().splitlines():
        at, _, rest = line.partition(" ")
        if rest.startswith("/3/device/"):
            token, _, collapse = rest.removeprefix("/3/device/").partition(" ")
            rows.append((float(at), token, collapse == "vila-digest"))
        elif (found := _FCM_TOKEN.search(rest)) is not None:
            rows.append((float(at), found.group(1), '"digest_id"' in rest))
    return rows


def _wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "vila.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run(
    *,
    people: int,
    messages: int,
    database_url: str,
    broker_url: str,
    workers: int,
    concurrency: int,
    batch: int,
    platform: str = "android",
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vila-bench-release-"))
    procs: list[subprocess.Popen[bytes]] = []
    with migrate.scratch_database(database_url) as url, _stand_in(tmp) as (apns, log):
        started = time.perf_counter()
        now = datetime.now(UTC)
        factory = make_session_factory(make_engine(url))
        # The release instant comes once everything runs: seeding, starting the processes and
        # warming them take about this long (a lead too short is reported, not measured).
        release_at = now + timedelta(seconds=LEAD_S + 30 + people * messages / 2500)
        held = seed_held(
            factory,
            people=people,
            messages=messages,
            release_at=release_at,
            shift_start=now - timedelta(hours=1),  # at work by the release instant
            now=now,
            platform=platform,
            second_device_every=0,
        )
        on_duty, token = _on_duty(url, held, now)
        seed_s = time.perf_counter() - started
        port = free_port()
        namespace = f"bench-release-{os.getpid()}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VILA_")},
            "VILA_DATABASE_URL": url,
            "VILA_BROKER_URL": broker_url,
            "VILA_BROKER_NAMESPACE": namespace,
            "VILA_DATA_DIR": str(tmp),
            "VILA_LOG_LEVEL": os.environ.get("VILA_BENCH_LOG_LEVEL", "WARNING"),  # INFO: what each job did
            "VILA_RELEASE_BATCH": str(batch),
            "VILA_TEST_INSTALLATION": "true",  # the providers are the stand-in
            **apns,
        }
        try:
            procs.append(_spawn(["api", "--port", str(port)], env, tmp / "api.log"))
            for i in range(workers):
                queues = ["worker", "-Q", "release,default,bulk", "-c", str(concurrency)]
                procs.append(_spawn(queues, env, tmp / f"worker{i}.log"))
            procs.append(_spawn(["worker", "-Q", "urgent", "-c", "1"], env, tmp / "urgent.log"))
            procs.append(_spawn(["beat", "--schedule", str(tmp / "beat-schedule")], env, tmp / "beat.log"))
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz")
            time.sleep(5)  # the workers connect to the broker
            headers = {"Authorization": f"Bearer {token}"}
            urgent = {
                "title": "Larm: hjärtstopp sal 4",
                "body": "Kom direkt.",
                "priority": "urgent",
                "audience": {"people": [str(on_duty)]},
            }
            # Long-running processes have their connections open (database, broker, APNs): warm the
            # urgent path once, so that the measured message is not its process's first.
            warm = {**urgent, "title": "Uppvärmning"}
            httpx.post(f"{base}/api/v1/messages", headers=headers, json=warm, timeout=60).raise_for_status()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(p[1] == ON_DUTY_TOKEN for p in _pushes(log)):
                time.sleep(0.2)
            with make_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE delivery"))
                conn.execute(text("VACUUM ANALYZE recipient"))
            if datetime.now(UTC) > release_at - timedelta(seconds=LEAD_S):
                raise RuntimeError("the release instant came before everything was ready: nothing to measure")
            # What writing a hold does: wake the release at its instant (Celery's eta).
            settings = Settings(broker_url=broker_url, broker_namespace=namespace)
            waker = CeleryWaker(broker_url, settings.broker_transport_options)
            install_waker(factory, waker)
            with unit_of_work(factory) as s:
                schedule_wake(s, at=release_at, now=datetime.now(UTC))
            time.sleep(max(0.0, (release_at - datetime.now(UTC)).total_seconds() + URGENT_AFTER_S))
            sent_at = time.time()
            answer = httpx.post(f"{base}/api/v1/messages", headers=headers, json=urgent, timeout=60)
            answer.raise_for_status()
            expected = len(held.tokens)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if sum(1 for p in _pushes(log) if p[1] != ON_DUTY_TOKEN) >= expected:
                    break
                time.sleep(0.5)
            time.sleep(2)  # anything pushed twice would come now
            waker.close()
        finally:
            stop_process_groups(procs)
        pushes = _pushes(log)
        with factory() as s:
            digests = int(s.scalar(select(func.count()).select_from(Digest)) or 0)
            people_digested = int(s.scalar(select(func.count(func.distinct(Digest.person_id)))) or 0)
            still_held = int(s.scalar(select(func.count()).where(Delivery.state == "held")) or 0)
    instant = release_at.timestamp()
    mine = [p for p in pushes if p[1] != ON_DUTY_TOKEN]
    per_device = Counter(p[1] for p in mine)
    urgent_pushes = [p for p in pushes if p[1] == ON_DUTY_TOKEN and p[0] >= sent_at]
    return {
        "people": people,
        "messages_per_person": messages,
        "digests": digests,
        "people_with_a_digest": people_digested,
        "pushes": len(mine),
        "digest_pushes": sum(1 for p in mine if p[2]),
        "devices_pushed": len(per_device),
        "duplicates": sum(n - 1 for n in per_device.values()),
        "still_held": still_held,
        "first_push_s": round(min(p[0] for p in mine) - instant, 3) if mine else None,
        "last_push_s": round(max(p[0] for p in mine) - instant, 3) if mine else None,
        "urgent_latency_ms": round((urgent_pushes[0][0] - sent_at) * 1000, 1) if urgent_pushes else None,
        "workers": workers,
        "concurrency": concurrency,
        "release_batch": batch,
        "stand_in": "nginx",
        "provider": "apns" if platform == "ios" else "fcm",
        "seed_s": round(seed_s, 1),
    }
