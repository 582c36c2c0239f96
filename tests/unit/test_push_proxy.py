"""The push proxy setting: what is accepted, what bypasses it, and that the password stays out of
anything printed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notify.transports.config import ApnsSettings, FcmSettings
from notify.transports.proxy import Proxy


def test_both_providers_read_the_shared_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILA_PUSH_PROXY", "http://vila:p%40ss@proxy.region.se:3128")
    monkeypatch.setenv("VILA_PUSH_NO_PROXY", "internal.region.se, 10.0.0.0/8")
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere:8080")
    for settings in (FcmSettings(), ApnsSettings()):
        proxy = settings.proxy_config
        assert proxy is not None
        assert (proxy.host, proxy.port, proxy.username, proxy.password) == ("proxy.region.se", 3128, "vila", "p@ss")
        assert "p@ss" not in repr(settings) and "p%40ss" not in repr(settings)
        assert "p@ss" not in proxy.display and "p@ss" not in repr(proxy)


def test_no_proxy_by_default_even_with_https_proxy_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere:8080")
    assert FcmSettings().proxy_config is None
    assert ApnsSettings().proxy_config is None


@pytest.mark.parametrize(
    "url", ["https://proxy:3128", "http://proxy", "socks5://proxy:1080", "http://proxy:3128/path", "http://:3128"]
)
def test_unusable_proxy_urls_stop_the_start_without_echoing_them(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FcmSettings(proxy=url.replace("://", "://u:topsecret@"))
    assert "topsecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "applies"),
    [
        ("fcm.googleapis.com", True),
        ("internal.region.se", False),
        ("push.internal.region.se", False),
        ("notinternal.region.se", True),
        ("10.1.2.3", False),
        ("192.168.1.1", True),
    ],
)
def test_no_proxy_matches_names_subdomains_and_networks(host: str, applies: bool) -> None:
    proxy = Proxy.parse("http://proxy:3128", ".internal.region.se, 10.0.0.0/8")
    assert proxy is not None and proxy.applies_to(host) is applies


def test_star_bypasses_everything() -> None:
    proxy = Proxy.parse("http://proxy:3128", "*")
    assert proxy is not None and not proxy.applies_to("api.push.apple.com")
