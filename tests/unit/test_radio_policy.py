"""The radio's policies that need no radio: retry backoff, state precedence, the GATT
cache file, passive-scan patterns for BlueZ and the scan_mode setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anxin.config import ConfigError, EdgeConfig, load_config
from anxin.devices.catalogue import device_kind
from anxin.edge.gatt_cache import CachedCharacteristic, CachedTable, GattCache
from anxin.edge.radio import Backoff, overlay_state
from anxin.edge.radio_bleak import passive_scan_patterns


def test_backoff_grows_with_jitter_and_never_passes_its_cap() -> None:
    backoff = Backoff(initial_s=0.5, maximum_s=30.0, factor=2.0, jitter=0.25)
    assert backoff.delay(0, rng=lambda: 0.0) == 0.5
    assert backoff.delay(0, rng=lambda: 1.0) == 0.625
    assert backoff.delay(3, rng=lambda: 0.5) == 4.0 * 1.125
    assert backoff.delay(10, rng=lambda: 1.0) == 30.0
    assert backoff.delay(10_000) == 30.0  # no overflow after a long outage
    delays = {backoff.delay(2) for _ in range(50)}
    assert len(delays) > 1 and all(2.0 <= d <= 2.5 for d in delays)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"initial_s": 0.0}, "initial_s"),
        ({"initial_s": 5.0, "maximum_s": 1.0}, "maximum_s"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"jitter": 2.0}, "jitter"),
    ],
)
def test_a_nonsensical_backoff_is_refused(fields: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Backoff(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("link", "not_worn", "battery_low", "shown"),
    [
        ("connected", False, False, "connected"),
        ("connected", False, True, "battery_low"),
        ("connected", True, True, "not_worn"),
        ("reconnecting", True, False, "not_worn"),
        ("advertising", False, True, "battery_low"),
        ("out_of_range", True, True, "out_of_range"),
    ],
)
def test_state_precedence(link: str, not_worn: bool, battery_low: bool, shown: str) -> None:
    assert overlay_state(link, not_worn=not_worn, battery_low=battery_low) == shown


def table(value_handle: int = 3) -> CachedTable:
    return CachedTable(
        "heart_rate_strap",
        (CachedCharacteristic(0x2A37, value_handle, value_handle + 1, 0x10, value_handle + 1),),
    )


def test_the_gatt_cache_survives_a_restart_and_is_per_kind(tmp_path: Path) -> None:
    path = tmp_path / "gatt-cache.json"
    cache = GattCache(path)
    cache.put("C0:A1:01:00:00:01", table())
    reloaded = GattCache(path)
    assert reloaded.get("C0:A1:01:00:00:01", "heart_rate_strap") == table()
    # Rebound to another kind of device at the same address: the entry does not apply.
    assert reloaded.get("C0:A1:01:00:00:01", "pulse_oximeter") is None
    reloaded.drop("C0:A1:01:00:00:01")
    assert GattCache(path).get("C0:A1:01:00:00:01", "heart_rate_strap") is None
    assert table().characteristics[0].declaration(b"\x37\x2a") == b"\x10\x03\x00\x37\x2a"


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"format": 99, "devices": {}}),
        json.dumps({"format": 1, "devices": {"A": {"kind": "x"}}}),
    ],
)
def test_an_unusable_cache_file_means_discovering_again(tmp_path: Path, content: str) -> None:
    path = tmp_path / "gatt-cache.json"
    path.write_text(content)
    cache = GattCache(path)
    assert cache.get("A", "x") is None
    cache.put("B", table())  # and it is rewritten whole
    assert GattCache(path).get("B", "heart_rate_strap") == table()


def test_passive_scan_patterns_match_what_bound_devices_advertise() -> None:
    kinds = [device_kind(k) for k in ("bthome_motion", "bthome_door", "heart_rate_strap")]
    patterns = passive_scan_patterns(kinds)
    assert (0, 0x16, b"\xd2\xfc") in patterns  # BTHome service data, once for both sensors
    assert len([p for p in patterns if p[1] == 0x16]) == 1
    assert (0, 0x03, b"\x0d\x18") in patterns and (0, 0x02, b"\x0d\x18") in patterns
    wearable = passive_scan_patterns([device_kind("accelerometer_wearable")])
    assert {p[1] for p in wearable} == {0x06, 0x07} and all(len(p[2]) == 16 for p in wearable)
    assert passive_scan_patterns([]) == []


def test_scan_mode_is_configurable_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('[gateway]\nsite_id = "s"\ngateway_id = "g"\nscan_mode = "active"\n')
    assert load_config(EdgeConfig, path, environ={}).gateway.scan_mode == "active"
    assert (
        load_config(
            EdgeConfig, path, environ={"ANXIN_GATEWAY__SCAN_MODE": "passive"}
        ).gateway.scan_mode
        == "passive"
    )
    default = load_config(EdgeConfig, environ={}, gateway={"site_id": "s", "gateway_id": "g"})
    assert default.gateway.scan_mode == "auto"
    with pytest.raises(ConfigError, match=r"gateway\.scan_mode"):
        load_config(EdgeConfig, path, environ={"ANXIN_GATEWAY__SCAN_MODE": "sometimes"})
