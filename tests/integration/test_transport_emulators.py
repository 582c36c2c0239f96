"""The stand-ins as a person drives them: the control endpoint, and the benchmark's small run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from notify.transports.base import Sent, TokenInvalid
from tests.integration.transport_helpers import apns_token, apns_transport, fcm_token, fcm_transport, push
from tools.bench import transports as bench
from tools.standins.providers import Emulators, serve_emulators


@pytest.fixture
async def emulators(tmp_path: Path) -> AsyncIterator[Emulators]:
    running = await serve_emulators(state_dir=tmp_path)
    yield running
    await running.stop()


async def test_faults_and_records_over_the_control_endpoint(emulators: Emulators) -> None:
    control = emulators.control_url
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{control}/fcm/faults", json={"token_rules": {"gone": "unregistered"}}) as response:
            assert response.status == 200
        async with http.put(f"{control}/apns/faults", json={"unregistered_tokens": [apns_token(2)]}) as response:
            assert response.status == 200
        async with http.put(f"{control}/apns/faults", json={"rate_of_rain": 1}) as response:
            assert response.status == 422

        fcm = fcm_transport(emulators)
        apns = apns_transport(emulators)
        fcm_results = await fcm.send([push("fcm", fcm_token("gone")), push("fcm", fcm_token(1))])
        apns_results = await apns.send([push("apns", apns_token(1)), push("apns", apns_token(2))])
        await fcm.aclose()
        await apns.aclose()
        assert [type(r) for r in fcm_results] == [TokenInvalid, Sent]
        assert [type(r) for r in apns_results] == [Sent, TokenInvalid]

        async with http.get(f"{control}/apns/received") as response:
            received = await response.json()
        assert [r["status"] for r in received] == [200, 410]
        assert received[0]["payload"]["aps"]["alert"]["title"] == "Personalmöte"
        async with http.get(f"{control}/fcm/summary") as response:
            assert await response.json() == {
                "requests": 2,
                "by_status": {"404": 1, "200": 1},
                "accepted": 1,
                "accepted_twice": [],
            }
        async with http.post(f"{control}/fcm/reset") as response:
            assert response.status == 200
        assert emulators.fcm.recorder.received == []
        async with http.post(f"{control}/apns/expire-provider-tokens") as response:
            assert response.status == 200
        assert emulators.apns.tokens_not_before > 0


async def test_benchmark_runs_end_to_end_on_the_python_stand_ins() -> None:
    result = await bench.throughput(300, devices_per_message=10, prefer_nginx=False)
    assert result["stand_in"] == "python-emulators"
    for key in ("fcm_per_s", "apns_per_s", "baseline_send_each_async_per_s", "fcm_vs_baseline"):
        assert result[key] > 0
    faults = await bench.fault_run(400)
    assert faults["fcm"]["ok"] and faults["apns"]["ok"]
    assert faults["fcm"]["retries"] > 0


async def test_embedded_wiring_reaches_both_stand_ins(emulators: Emulators) -> None:
    from notify.transports.apns import ApnsTransport
    from notify.transports.base import Router
    from notify.transports.fcm import FcmTransport

    fcm_settings, apns_settings = emulators.transport_settings()
    router = Router({"fcm": FcmTransport(fcm_settings), "apns": ApnsTransport(apns_settings)})
    results = await router.send([push("apns", apns_token(1)), push("fcm", fcm_token(1))])
    await router.aclose()
    assert [type(r) for r in results] == [Sent, Sent]
