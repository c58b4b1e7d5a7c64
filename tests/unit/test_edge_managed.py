"""What the cloud changed on a gateway is kept on disk: applied over the file's settings,
refused with a clear error when the file is damaged, and bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.config import (
    ConfigError,
    DeviceBindingConfig,
    EdgeConfig,
    GatewayConfig,
    load_config,
)
from anxin.edge.managed import (
    RESULTS_KEPT,
    ManagedSettings,
    Snooze,
    load_managed,
    managed_path,
    save_managed,
)
from anxin.protocol import STAMPED_HERE, CommandResult


def config(tmp_path: Path) -> EdgeConfig:
    return EdgeConfig(
        gateway=GatewayConfig(site_id="s", gateway_id="g", queue_path=tmp_path / "q.sqlite"),
        devices=(
            DeviceBindingConfig(device_id="a", address="AA:00:00:00:00:01", kind="sos_button"),
        ),
    )


def result(number: int) -> CommandResult:
    # Stamped by a gateway whose clock was never set: it must still read its own file.
    fields = {
        "site_id": "s",
        "gateway_id": "g",
        "command_id": f"c{number}",
        "action": "snooze",
        "status": "done",
        "at_ms": 1,
    }
    return CommandResult.model_validate(fields, context={STAMPED_HERE: True})


def test_settings_round_trip_and_override_the_file(tmp_path: Path) -> None:
    base = config(tmp_path)
    path = managed_path(base)
    assert path == tmp_path / "edge-managed.json"
    assert load_managed(path) == ManagedSettings()  # nothing sent yet
    assert ManagedSettings().apply_to(base) == base

    settings = ManagedSettings(devices=(), snoozes=[Snooze(subject="p", kind=None, until_ms=9)])
    settings.remember(result(1))
    save_managed(path, settings)
    loaded = load_managed(path)
    assert loaded == settings
    assert loaded.apply_to(base).devices == ()  # the cloud unbound every device
    assert loaded.apply_to(base).thresholds == base.thresholds  # not sent: the file's


def test_a_damaged_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "edge-managed.json"
    path.write_text('{"devices": "lots"}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"edge-managed\.json .*damaged"):
        load_managed(path)


def test_only_the_latest_results_are_kept() -> None:
    settings = ManagedSettings()
    for number in range(RESULTS_KEPT + 10):
        settings.remember(result(number))
    assert len(settings.results) == RESULTS_KEPT
    assert "c9" not in settings.results and f"c{RESULTS_KEPT + 9}" in settings.results


def test_a_session_shorter_than_the_offline_grace_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "edge.toml"
    toml.write_text(
        '[gateway]\nsite_id = "s"\ngateway_id = "g"\noffline_grace_s = 120\n'
        "[mqtt]\nsession_expiry_s = 60\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"session_expiry_s \(60\) must be at least"):
        load_config(EdgeConfig, toml)
