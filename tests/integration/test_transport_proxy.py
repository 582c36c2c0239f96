"""Both transports through an outbound CONNECT proxy (the project's stand-in), in front of the FCM
and APNs stand-ins. The transports are configured with the providers' real host names; only the
proxy knows where those lead, as in a hospital network."""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from notify.transports.base import Sent, TransientFailure
from tests.integration.transport_helpers import (
    apns_token,
    apns_transport,
    fcm_token,
    fcm_transport,
    push,
    service_account_file,
)
from tools.standins.providers import ConnectProxy, Emulators, serve_emulators

USER, PASSWORD = "vila-push", "hem:ligt@42"  # ':' and '@' must survive the URL and the header
PROXY_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
PASSWORD_IN_URL = "hem%3Aligt%4042"


@pytest.fixture
async def emulators(tmp_path: Path) -> AsyncIterator[Emulators]:
    running = await serve_emulators(state_dir=tmp_path, fcm_tls=True)
    yield running
    await running.stop()


@pytest.fixture
async def proxy(emulators: Emulators) -> AsyncIterator[ConnectProxy]:
    fcm = urlsplit(emulators.fcm_url)
    fcm_address = (fcm.hostname or "", fcm.port or 0)
    stand_in = ConnectProxy(
        routes={
            "fcm.googleapis.com:443": fcm_address,
            "oauth2.googleapis.com:443": fcm_address,  # the FCM stand-in also issues tokens
            "api.sandbox.push.apple.com:443": (emulators.apns_host, emulators.apns_port),
        },
        credentials=(USER, PASSWORD),
    )
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


def proxy_url(proxy: ConnectProxy, *, password: str = PASSWORD_IN_URL) -> str:
    return proxy.url.replace("http://", f"http://{USER}:{password}@")


def fcm_via(emulators: Emulators, proxy_setting: str, **settings: Any) -> Any:
    values = {"endpoint": "https://fcm.googleapis.com", "ca_file": emulators.ca.ca_file, "proxy": proxy_setting}
    return fcm_transport(emulators, **{**values, **settings})


def apns_via(emulators: Emulators, proxy_setting: str, **settings: Any) -> Any:
    values = {"host": "api.sandbox.push.apple.com", "port": 443, "proxy": proxy_setting}
    return apns_transport(emulators, **{**values, **settings})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_fcm_push_travels_through_the_proxy_with_its_credentials(
    emulators: Emulators, proxy: ConnectProxy
) -> None:
    transport = fcm_via(emulators, proxy_url(proxy), connections=1)
    results = await transport.send([push("fcm", fcm_token(i)) for i in range(3)])
    await transport.aclose()
    assert [type(r) for r in results] == [Sent, Sent, Sent]
    assert sorted(r.token for r in emulators.fcm.recorder.received) == [fcm_token(i) for i in range(3)]
    # One tunnel carried all three: keep-alive works through the proxy.
    assert [(r.target, r.proxy_authorization, r.status) for r in proxy.records] == [
        ("fcm.googleapis.com:443", PROXY_AUTH, 200)
    ]


async def test_the_fcm_access_token_is_fetched_through_the_proxy(
    emulators: Emulators, proxy: ConnectProxy, tmp_path: Path
) -> None:
    path = service_account_file(tmp_path, "https://oauth2.googleapis.com/token")
    transport = fcm_via(emulators, proxy_url(proxy), credentials="service_account", credentials_file=path)
    (result,) = await transport.send([push("fcm", fcm_token(1))])
    await transport.aclose()
    assert isinstance(result, Sent)
    assert emulators.fcm.token_requests == 1
    assert emulators.fcm.recorder.received[0].headers["authorization"].startswith("Bearer ya29.emulator-")
    token_tunnels = [r for r in proxy.records if r.target == "oauth2.googleapis.com:443"]
    assert [(r.proxy_authorization, r.status) for r in token_tunnels] == [(PROXY_AUTH, 200)]


async def test_wrong_proxy_password_is_reported_clearly_and_the_push_is_kept(
    emulators: Emulators, proxy: ConnectProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "vila.transports")
    transport = fcm_via(emulators, proxy_url(proxy, password="wrong-secret"))
    request = push("fcm", fcm_token(1))
    (result,) = await transport.send([request])
    await transport.aclose()
    assert isinstance(result, TransientFailure)  # the pipeline schedules it again
    assert result.attempts == 4  # retried like any connection failure
    proxy_name = f"http://{USER}@127.0.0.1:{urlsplit(proxy.url).port}"
    expected = f"proxy {proxy_name} refused CONNECT fcm.googleapis.com:443: 407 Proxy Authentication Required"
    assert expected in result.reason
    assert expected in caplog.text
    assert "wrong-secret" not in result.reason + caplog.text
    assert emulators.fcm.recorder.received == []
    assert {r.status for r in proxy.records} == {407}

    # Once the proxy lets it through, the same push arrives.
    transport = fcm_via(emulators, proxy_url(proxy))
    (result,) = await transport.send([request])
    await transport.aclose()
    assert isinstance(result, Sent)
    assert [r.token for r in emulators.fcm.recorder.received] == [fcm_token(1)]


@pytest.mark.parametrize(("status", "reason"), [(403, "Forbidden"), (502, "Bad Gateway")])
async def test_a_refusing_proxy_is_a_transient_failure_until_it_relents(
    emulators: Emulators, proxy: ConnectProxy, status: int, reason: str
) -> None:
    proxy.refuse_with = status
    transport = fcm_via(emulators, proxy_url(proxy), retry_max_attempts=1)
    (refused,) = await transport.send([push("fcm", fcm_token(1))])
    assert isinstance(refused, TransientFailure)
    assert f"refused CONNECT fcm.googleapis.com:443: {status} {reason}" in refused.reason
    proxy.refuse_with = None
    (sent,) = await transport.send([push("fcm", fcm_token(1))])  # the same transport recovers
    await transport.aclose()
    assert isinstance(sent, Sent)


async def test_an_unreachable_proxy_is_named_in_the_failure(emulators: Emulators) -> None:
    port = closed_port()
    transport = fcm_via(emulators, f"http://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{port}", retry_max_attempts=2)
    (fcm_result,) = await transport.send([push("fcm", fcm_token(1))])
    await transport.aclose()
    apns = apns_via(emulators, f"http://127.0.0.1:{port}", retry_max_attempts=1)
    (apns_result,) = await apns.send([push("apns", apns_token(1))])
    await apns.aclose()
    assert isinstance(fcm_result, TransientFailure) and fcm_result.attempts == 2
    assert f"cannot reach proxy http://{USER}@127.0.0.1:{port}" in fcm_result.reason
    assert PASSWORD not in fcm_result.reason and PASSWORD_IN_URL not in fcm_result.reason
    assert isinstance(apns_result, TransientFailure)
    assert f"cannot reach proxy http://127.0.0.1:{port}" in apns_result.reason


async def test_no_proxy_hosts_connect_directly(emulators: Emulators, proxy: ConnectProxy) -> None:
    fcm = fcm_via(
        emulators, proxy_url(proxy), endpoint=emulators.fcm_url.replace("127.0.0.1", "localhost"), no_proxy="localhost"
    )
    apns = apns_via(
        emulators, proxy_url(proxy), host=emulators.apns_host, port=emulators.apns_port, no_proxy="127.0.0.0/8"
    )
    (fcm_result,) = await fcm.send([push("fcm", fcm_token(1))])
    (apns_result,) = await apns.send([push("apns", apns_token(1))])
    await fcm.aclose()
    await apns.aclose()
    assert isinstance(fcm_result, Sent) and isinstance(apns_result, Sent)
    assert len(emulators.fcm.recorder.received) == len(emulators.apns.recorder.received) == 1
    assert proxy.records == []


async def test_apns_push_travels_through_the_proxy_with_its_credentials(
    emulators: Emulators, proxy: ConnectProxy
) -> None:
    transport = apns_via(emulators, proxy_url(proxy), connections=1)
    requests = [push("apns", apns_token(i)) for i in range(3)]
    results = await transport.send(requests)
    await transport.aclose()
    assert results == [Sent(str(r.delivery_id), attempts=1) for r in requests]
    assert sorted(r.token for r in emulators.apns.recorder.received) == [apns_token(i) for i in range(3)]
    assert [(r.target, r.proxy_authorization, r.status) for r in proxy.records] == [
        ("api.sandbox.push.apple.com:443", PROXY_AUTH, 200)
    ]


async def test_apns_behind_a_refusing_proxy_fails_transiently_and_names_it(
    emulators: Emulators, proxy: ConnectProxy
) -> None:
    transport = apns_via(emulators, proxy_url(proxy, password="wrong-secret"), retry_max_attempts=2)
    (result,) = await transport.send([push("apns", apns_token(1))])
    await transport.aclose()
    assert isinstance(result, TransientFailure) and result.attempts == 2
    assert "refused CONNECT api.sandbox.push.apple.com:443: 407 Proxy Authentication Required" in result.reason
    assert "wrong-secret" not in result.reason
    assert emulators.apns.recorder.received == []
