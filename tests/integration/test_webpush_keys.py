"""`vila webpush keys`: Vila's VAPID key made once in the data directory and shown again after; the
production settings it prints give the same key; a bad key is refused with the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from notify.transports.vapid import KEY_FILE_NAME, VapidKey
from vila.cli import main


def keys(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str, key: str = "") -> tuple[int, str]:
    for name in ("VILA_WEBPUSH_VAPID_PRIVATE_KEY", "VILA_WEBPUSH_SUBJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VILA_DATA_DIR", str(data_dir))
    if key:
        monkeypatch.setenv("VILA_WEBPUSH_VAPID_PRIVATE_KEY", key)
    result = CliRunner().invoke(main, ["webpush", "keys", *args])
    return result.exit_code, result.output


def public_key(output: str) -> str:
    found = re.search(r"applicationServerKey\): (\S+)", output)
    assert found is not None, output
    return found.group(1)


def test_the_key_is_made_once_and_the_settings_it_prints_give_the_same_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, first = keys(monkeypatch, tmp_path)
    assert code == 0 and "made in" in first and (tmp_path / KEY_FILE_NAME).exists()
    code, again = keys(monkeypatch, tmp_path, "--env")
    assert code == 0 and "kept in" in again
    assert public_key(again) == public_key(first)
    private = re.search(r"VILA_WEBPUSH_VAPID_PRIVATE_KEY=(\S+)", again)
    assert private is not None and "VILA_WEBPUSH_SUBJECT=mailto:vila@localhost" in again
    assert VapidKey.parse(private.group(1)).public_key == public_key(first)

    code, production = keys(monkeypatch, tmp_path / "elsewhere", key=private.group(1))
    assert code == 0 and "from VILA_WEBPUSH_VAPID_PRIVATE_KEY" in production
    assert public_key(production) == public_key(first)
    assert not (tmp_path / "elsewhere" / KEY_FILE_NAME).exists()


def test_a_bad_key_setting_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, output = keys(monkeypatch, tmp_path, key="not-a-key")
    assert code != 0
    assert "neither base64url nor PEM" in output
