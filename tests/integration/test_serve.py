"""`vila serve` on a fresh data directory: migrates, loads the demo region, serves the API and /docs,
and a demo token works; `vila token create` issues a working token."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILA_")}
    env["VILA_DATA_DIR"] = str(tmp_path / "var")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vila.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text())
        yield base, tmp_path / "var", env
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def log_text(data_dir: Path) -> str:
    return (data_dir.parent / "serve.log").read_text()


def test_serve_loads_the_demo_and_a_demo_token_works(served: tuple[str, Path, dict[str, str]]) -> None:
    base, data_dir, env = served
    tokens = {
        line.split()[0]: line.split()[2]
        for line in (data_dir / "demo-tokens.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert set(tokens) == {"admin", "hr", "manager", "staff", "union", "evaluator", "it"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    people = httpx.get(f"{base}/api/v1/people", headers=admin, params={"limit": 500}).json()
    assert 55 <= people["total"] <= 70
    professions = {p["profession"] for p in people["items"]}
    assert {"sjuksköterska", "undersköterska", "läkare", "ambulanssjuksköterska"} <= professions
    units = httpx.get(f"{base}/api/v1/groups", headers=admin, params={"kind": "unit"}).json()
    assert units["total"] >= 4
    assert "Akutmottagningen Exempelstad" in {g["name"] for g in units["items"]}
    assert httpx.get(f"{base}/docs").status_code == 200
    # Every demo person has a work device: phones and tablets, on both platforms.
    devices = [
        httpx.get(f"{base}/api/v1/devices", headers=admin, params={"person": p["id"]}).json() for p in people["items"]
    ]
    assert all(len(d) == 1 for d in devices)
    names = {d[0]["name"] for d in devices}
    platforms = {d[0]["platform"] for d in devices}
    assert names == {"Arbetstelefon", "Surfplatta"}
    assert platforms == {"ios", "android"}
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    assert httpx.get(f"{base}/api/v1/people/me", headers=staff).status_code == 200
    assert httpx.get(f"{base}/api/v1/audit", headers=staff).status_code == 403

    # The demo manager previews and sends to their unit; pushes arrive at the built-in stand-ins.
    manager = {"Authorization": f"Bearer {tokens['manager']}"}
    unit = next(g for g in units["items"] if g["name"] == "Akutmottagningen Exempelstad")
    message = {"title": "Välkommen till Vila", "body": "Testmeddelande.", "audience": {"groups": [unit["id"]]}}
    preview = httpx.post(f"{base}/api/v1/messages/preview", headers=manager, json=message).json()
    assert preview["recipients_total"] >= 15
    assert preview["counts"]["deliver"] >= 1, preview["summary"]
    assert preview["counts"]["hold"] >= 1, preview["summary"]
    sent = httpx.post(f"{base}/api/v1/messages", headers=manager, json=message)
    assert sent.status_code == 202
    control = re.search(r"see what arrived: (\S+)/fcm/received", log_text(data_dir)).group(1)  # type: ignore[union-attr]
    delivered = sum(d["devices"] for d in preview["recipients"] if d["decision"] == "deliver")

    def arrived() -> int:
        return sum(httpx.get(f"{control}/{p}/summary").json().get("accepted", 0) for p in ("fcm", "apns"))

    deadline = time.monotonic() + 30
    while arrived() < delivered and time.monotonic() < deadline:
        time.sleep(0.3)
    assert arrived() == delivered

    # An operator issues a token from the command line; it works at once.
    manager_email = httpx.get(
        f"{base}/api/v1/people/me", headers={"Authorization": f"Bearer {tokens['manager']}"}
    ).json()["email"]
    out = subprocess.run(
        [sys.executable, "-m", "vila.cli", "token", "create", "--person", manager_email, "--role", "manager"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    fresh = out.stdout.strip().splitlines()[-1]
    me = httpx.get(f"{base}/api/v1/people/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.json()["email"] == manager_email

    # On a loopback address the embedded mode serves /metrics without a token.
    assert "vila_held_backlog" in httpx.get(f"{base}/metrics").text


def test_a_calendar_feed_secret_never_reaches_the_servers_log(served: tuple[str, Path, dict[str, str]]) -> None:
    base, data_dir, _ = served
    staff_token = next(
        line.split()[2] for line in (data_dir / "demo-tokens.txt").read_text().splitlines() if line.startswith("staff")
    )
    feed = httpx.post(f"{base}/api/v1/people/me/calendar-feed", headers={"Authorization": f"Bearer {staff_token}"})
    assert feed.status_code == 201
    secret = feed.json()["secret"]
    assert httpx.get(feed.json()["url"]).status_code == 200
    assert httpx.get(f"{base}/api/v1/calendar-feeds/{secret}x.ics").status_code == 404
    deadline = time.monotonic() + 10
    while "/api/v1/calendar-feeds/<secret> -> 404" not in log_text(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)  # the log line is written after the answer
    logged = log_text(data_dir)
    assert "GET /api/v1/calendar-feeds/<secret> -> 200" in logged
    assert secret not in logged


def test_token_create_for_unknown_person_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILA_")}
    env["VILA_DATA_DIR"] = str(tmp_path)
    subprocess.run([sys.executable, "-m", "vila.cli", "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-m", "vila.cli", "token", "create", "--person", "nobody@exempel.se"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "no person with e-mail nobody@exempel.se" in out.stderr
