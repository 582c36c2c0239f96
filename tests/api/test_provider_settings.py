"""Provider settings are read once at start, a device is registered only for a provider Vila can
send through, and production processes refuse the local stand-ins unless told this is a test
installation. The embedded mode needs no configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from notify.transports.config import ApnsSettings, FcmSettings, PushSettings, WebPushSettings
from tests.factories import Factory
from vila.cli import main

FCM_DEVICE = {"name": "Telefon", "platform": "android", "provider": "fcm", "token": "fcm-token-of-anna-0001"}
APNS_DEVICE = {"name": "iPad", "platform": "ios", "provider": "apns", "token": "a" * 64}


def test_a_device_of_a_provider_without_transport_is_refused_with_422(
    settings: Settings, clock: ManualClock, make: Factory
) -> None:
    only_apns = PushSettings(fcm=FcmSettings(enabled=False), apns=ApnsSettings(), webpush=WebPushSettings())
    anna = make.actor()
    with TestClient(create_app(settings, clock=clock, waker=NullWaker(), providers=only_apns)) as client:
        refused = client.post("/api/v1/devices", headers=anna.headers, json=FCM_DEVICE)
        assert refused.status_code == 422, refused.text
        assert "does not send through fcm" in refused.json()["message"]
        assert "VILA_FCM_ENABLED" in refused.json()["message"]
        accepted = client.post("/api/v1/devices", headers=anna.headers, json=APNS_DEVICE)
        assert accepted.status_code == 201, accepted.text


def test_provider_settings_are_read_when_the_app_is_built_not_at_the_first_push(
    settings: Settings, clock: ManualClock, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VILA_FCM_ENABLED", "false")
    app = create_app(settings, clock=clock, waker=NullWaker())
    monkeypatch.setenv("VILA_FCM_ENABLED", "true")  # too late: the app has read its settings
    anna = make.actor()
    with TestClient(app) as client:
        assert client.post("/api/v1/devices", headers=anna.headers, json=FCM_DEVICE).status_code == 422


def test_the_embedded_defaults_register_every_kind_of_device(
    settings: Settings, clock: ManualClock, make: Factory
) -> None:
    anna = make.actor()
    with TestClient(create_app(settings, clock=clock, waker=NullWaker())) as client:
        assert client.post("/api/v1/devices", headers=anna.headers, json=FCM_DEVICE).status_code == 201
        assert client.post("/api/v1/devices", headers=anna.headers, json=APNS_DEVICE).status_code == 201


def test_the_default_provider_settings_are_the_stand_ins_and_production_refuses_them() -> None:
    defaults = PushSettings(fcm=FcmSettings(), apns=ApnsSettings(), webpush=WebPushSettings())
    assert len(defaults.standins()) == 2
    with pytest.raises(ValueError, match="VILA_TEST_INSTALLATION"):
        defaults.check_for_production(test_installation=False)
    defaults.check_for_production(test_installation=True)
    real = PushSettings(
        fcm=FcmSettings(endpoint="https://fcm.googleapis.com", credentials="application_default"),
        apns=ApnsSettings(enabled=False),
        webpush=WebPushSettings(),
    )
    assert real.standins() == []
    real.check_for_production(test_installation=False)


@pytest.mark.parametrize("command", [["api"], ["worker", "-Q", "urgent"]])
def test_vila_api_and_worker_refuse_to_start_with_stand_in_credentials(command: list[str], tmp_path: Path) -> None:
    env = {"VILA_DATA_DIR": str(tmp_path), "VILA_BROKER_URL": "redis://127.0.0.1:6379/15"}
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 1, result.output
    assert "point at the local stand-ins" in result.output
    assert "VILA_TEST_INSTALLATION=true" in result.output
