"""BleakRadio's decisions around bleak, with bleak's BlueZ side replaced (no adapter
here): passive scanning falls back to active, and a reconnect goes through
bleak-retry-connector with the service cache, clearing it when it turns out stale."""

from __future__ import annotations

import asyncio
import logging

import bleak_retry_connector
import pytest
from bleak.exc import BleakCharacteristicNotFoundError

from anxin.edge.radio import Backoff, BoundDevice, _Tracker
from anxin.edge.radio_bleak import BleakRadio

STRAP = BoundDevice("strap", "C0:A1:01:00:00:01", "heart_rate_strap")


class FakeScanners:
    def __init__(self, refuse_passive: bool) -> None:
        self.refuse_passive = refuse_passive
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, radio: BleakRadio, mode: str, patterns: list) -> object:
        self.asked.append((mode, len(patterns)))
        if mode == "passive" and self.refuse_passive:
            raise RuntimeError("org.bluez.Error.NotSupported: advertisement monitor")
        radio.scan_mode_in_effect = mode
        return object()


@pytest.mark.parametrize(
    ("scan_mode", "refuse_passive", "asked", "in_effect"),
    [
        ("auto", False, ["passive"], "passive"),
        ("auto", True, ["passive", "active"], "active"),
        ("passive", True, ["passive", "active"], "active"),
        ("active", False, ["active"], "active"),
    ],
)
async def test_passive_scanning_falls_back_to_active_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    scan_mode: str,
    refuse_passive: bool,
    asked: list[str],
    in_effect: str,
) -> None:
    scanners = FakeScanners(refuse_passive)

    async def start_scanner(radio: BleakRadio, mode: str, patterns: list) -> object:
        return await scanners(radio, mode, patterns)

    monkeypatch.setattr(BleakRadio, "_start_scanner", start_scanner)
    radio = BleakRadio(scan_mode=scan_mode)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        await radio.start([STRAP], lambda n: None, lambda a: None)
    await radio.stop()
    assert [mode for mode, _ in scanners.asked] == asked
    assert all(count > 0 for mode, count in scanners.asked if mode == "passive")
    assert radio.scan_mode_in_effect is None  # after stop
    if refuse_passive:
        assert "advertisement monitor" in caplog.text and "actively" in caplog.text


class FakeClient:
    def __init__(self, stale: bool) -> None:
        self.stale = stale
        self.cleared = self.disconnected = False
        self.subscribed: list[str] = []

    async def start_notify(self, uuid: str, callback) -> None:
        if self.stale:
            raise BleakCharacteristicNotFoundError(uuid)
        self.subscribed.append(uuid)

    async def clear_cache(self) -> bool:
        self.cleared = True
        return True

    async def disconnect(self) -> None:
        self.disconnected = True


@pytest.mark.parametrize("stale", [False, True])
async def test_connections_use_the_service_cache_and_clear_it_when_stale(
    monkeypatch: pytest.MonkeyPatch, stale: bool
) -> None:
    calls: list[dict] = []
    client = FakeClient(stale)

    async def establish_connection(client_class, device, name, **kwargs):
        calls.append({"class": client_class, "device": device, "name": name, **kwargs})
        return client

    monkeypatch.setattr(bleak_retry_connector, "establish_connection", establish_connection)
    radio = BleakRadio(backoff=Backoff(max_attempts=3))
    tracker = _Tracker(STRAP, lambda: 0.0)
    radio._ble_devices[tracker.address] = "ble-device"
    disconnected = asyncio.Event()
    if stale:
        with pytest.raises(BleakCharacteristicNotFoundError):
            await radio._connect_and_subscribe(tracker, disconnected)
        assert client.cleared and client.disconnected
    else:
        assert await radio._connect_and_subscribe(tracker, disconnected) is client
        assert client.subscribed == ["00002a37-0000-1000-8000-00805f9b34fb"]
        assert not client.cleared
    (call,) = calls
    assert call["class"] is bleak_retry_connector.BleakClientWithServiceCache
    assert call["use_services_cache"] is True and call["max_attempts"] == 3
    assert call["ble_device_callback"]() == "ble-device"
    call["disconnected_callback"](client)
    assert disconnected.is_set()
