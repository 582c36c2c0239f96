"""The SCIM provisioning benchmark: N users and G groups provisioned through /scim/v2 against
`vila api` processes on a throw-away database, in one of two modes.

`bulk` (the default): SCIM bulk requests (RFC 7644 §3.7) of `bulk_size` operations, the users
first, then the groups with their members; each request is one transaction written set-based.

`entra`: one request per change, the way Entra ID's provisioning service sends them. Per user: a lookup
(`GET /Users?filter=userName eq "..."`, which finds nothing) and a `POST /Users` with the enterprise
extension. Per group: a lookup by displayName, a `POST /Groups` without members,
then `PATCH` requests adding its members (at most `members_per_patch` each, as Entra batches them).
Every user is a member of one group. Requests are sent over `concurrency` keep-alive connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from kernel import migrate
from kernel.auth.service import issue_token
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.directory.models import Group, GroupMember, Person

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PROFESSIONS = ("Sjuksköterska", "Undersköterska", "Läkare", "Fysioterapeut", "Arbetsterapeut")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(url: str) -> str:
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            pid = uuid.uuid4()
            s.execute(
                insert(Person),
                [{"id": pid, "name": "Entra ID provisioning", "email": "scim@bench.exempel.se", "language": "sv",
                  "timezone": "Europe/Stockholm", "roles": ["integration"], "active": True, "created_at": now,
                  "updated_at": now}],
            )  # fmt: skip
            person = s.get(Person, pid)
            if person is None:
                raise RuntimeError("the provisioning account was not stored")
            return issue_token(session=s, person=person, now=now, name="bench scim")[1]
    finally:
        engine.dispose()


def _user(n: int) -> dict[str, Any]:
    given, family = f"Förnamn{n}", f"Åberg{n}"
    upn = f"user{n}@bench.exempel.se"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": f"00000000-0000-0000-0000-{n:012d}",
        "userName": upn,
        "active": True,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "title": PROFESSIONS[n % len(PROFESSIONS)],
        ENTERPRISE: {"employeeNumber": f"E-{n:06d}", "department": f"Enhet {n % 500}"},
    }


async def _provision(
    base: str, token: str, users: int, groups: int, concurrency: int, members_per_patch: int, bulk_size: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:

        async def ok(response: httpx.Response, expected: int) -> httpx.Response:
            if response.status_code != expected:
                failures.append(f"{response.request.method} {response.request.url.path}: {response.status_code}")
            return response

        async def one_user(n: int) -> str:
            body = _user(n)
            await ok(await client.get("/scim/v2/Users", params={"filter": f'userName eq "{body["userName"]}"'}), 200)
            created = await ok(await client.post("/scim/v2/Users", json=body), 201)
            return str(created.json().get("id"))

        async def one_group(g: int, member_ids: list[str]) -> None:
            name = f"Enhet {g}"
            await ok(await client.get("/scim/v2/Groups", params={"filter": f'displayName eq "{name}"'}), 200)
            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
                    "externalId": f"group-{g}"}  # fmt: skip
            gid = (await ok(await client.post("/scim/v2/Groups", json=body), 201)).json().get("id")
            for i in range(0, len(member_ids), members_per_patch):
                ops = [{"op": "Add", "path": "members",
                        "value": [{"value": m} for m in member_ids[i : i + members_per_patch]]}]  # fmt: skip
                patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
                await ok(await client.patch(f"/scim/v2/Groups/{gid}", json=patch), 204)

        async def bounded(jobs: list[Any]) -> list[Any]:
            gate = asyncio.Semaphore(concurrency)

            async def run(job: Any) -> Any:
                async with gate:
                    return await job

            return await asyncio.gather(*(run(j) for j in jobs))

        async def bulk_post(operations: list[dict[str, Any]]) -> list[str]:
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations}
            answer = await ok(await client.post("/scim/v2/Bulk", json=body), 200)
            return [str(o.get("location", "")).rsplit("/", 1)[-1] for o in answer.json().get("Operations", [])]

        t0 = time.perf_counter()
        if bulk_size:
            user_ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": _user(n)} for n in range(users)]
            chunks = [user_ops[i : i + bulk_size] for i in range(0, users, bulk_size)]
            ids = [pid for found in await bounded([bulk_post(c) for c in chunks]) for pid in found]
            t1 = time.perf_counter()
            members: list[list[str]] = [[] for _ in range(groups)]
            for n, pid in enumerate(ids):
                members[n % groups].append(pid)
            group_ops = [
                {"method": "POST", "path": "/Groups", "bulkId": f"g{g}",
                 "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": f"Enhet {g}",
                          "externalId": f"group-{g}", "members": [{"value": m} for m in members[g]]}}
                for g in range(groups)
            ]  # fmt: skip
            per = max(1, bulk_size // max(1, users // groups))
            await bounded([bulk_post(group_ops[i : i + per]) for i in range(0, groups, per)])
            t2 = time.perf_counter()
            requests = len(chunks) + -(-groups // per)
            return {"users_s": t1 - t0, "groups_s": t2 - t1, "total_s": t2 - t0, "requests": requests,
                    "failures": failures}  # fmt: skip
        ids = await bounded([one_user(n) for n in range(users)])
        t1 = time.perf_counter()
        by_group: list[list[str]] = [[] for _ in range(groups)]
        for n, pid in enumerate(ids):
            by_group[n % groups].append(pid)
        await bounded([one_group(g, by_group[g]) for g in range(groups)])
        t2 = time.perf_counter()
    requests = users * 2 + groups * 2 + sum(-(-len(m) // members_per_patch) for m in by_group)
    return {"users_s": t1 - t0, "groups_s": t2 - t1, "total_s": t2 - t0, "requests": requests, "failures": failures}


def _wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def run(
    *,
    database_url: str | None,
    users: int,
    groups: int,
    api_workers: int = 2,
    concurrency: int = 16,
    members_per_patch: int = 50,
    mode: str = "bulk",
    bulk_size: int = 500,
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vila-bench-scim-"))
    with migrate.scratch_database(database_url) as url:
        token = _token(url)
        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VILA_")},
            "VILA_DATABASE_URL": url,
            "VILA_DATA_DIR": str(tmp),
            "VILA_LOG_LEVEL": "WARNING",
        }
        log = (tmp / "api.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "vila.cli", "api", "--port", str(port), "--workers", str(api_workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz")
            result = asyncio.run(
                _provision(
                    base, token, users, groups, concurrency, members_per_patch, bulk_size if mode == "bulk" else 0
                )
            )
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                people = int(conn.scalar(select(func.count()).select_from(Person)) or 0) - 1
                stored_groups = int(conn.scalar(select(func.count()).select_from(Group)) or 0)
                members = int(conn.scalar(select(func.count()).select_from(GroupMember)) or 0)
            backend = engine.dialect.name
        finally:
            engine.dispose()
    total = result["total_s"]
    return {
        "backend": backend,
        "mode": mode,
        "users": users,
        "groups": groups,
        "api_workers": api_workers,
        "concurrency": concurrency,
        "requests": result["requests"],
        "users_s": round(result["users_s"], 2),
        "groups_s": round(result["groups_s"], 2),
        "total_s": round(total, 2),
        "requests_per_s": round(result["requests"] / total),
        "failures": len(result["failures"]),
        "first_failures": result["failures"][:5],
        "people_stored": people,
        "groups_stored": stored_groups,
        "memberships_stored": members,
    }
