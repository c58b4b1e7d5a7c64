"""BleakRadio: the gateway radio on real hardware (BlueZ through bleak).

Thin on purpose: scanning, filtering to bound addresses, and one connection
task per connectable device using bleak-retry-connector's ``establish_connection``
(which treats BLE failures as normal and retries). It cannot be exercised
against hardware here; importing it needs no BlueZ, starting it without one
raises a RuntimeError that names the adapter problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from anxin.devices.uuids import uuid_string

from .radio import (
    Advertisement,
    AdvertisementCallback,
    Backoff,
    BoundDevice,
    Notification,
    NotificationCallback,
    _safe_call,
    _Tracker,
    normalise_address,
    wall_clock_ms,
)

logger = logging.getLogger(__name__)

_SIG_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16_from_string(uuid: str) -> int | None:
    text = uuid.lower()
    if len(text) == 36 and text.startswith("0000") and text.endswith(_SIG_SUFFIX):
        return int(text[4:8], 16)
    return None


class BleakRadio:
    def __init__(
        self,
        adapter: str | None = None,
        *,
        backoff: Backoff | None = None,
        out_of_range_after_s: float = 30.0,
        now_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adapter = adapter
        self.backoff = backoff or Backoff()
        self.out_of_range_after_s = out_of_range_after_s
        self._now_ms = now_ms
        self._monotonic = monotonic
        self._trackers: dict[str, _Tracker] = {}
        self._ble_devices: dict[str, object] = {}
        self._clients: dict[str, object] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._scanner = None
        self._on_notification: NotificationCallback | None = None
        self._on_advertisement: AdvertisementCallback | None = None

    async def start(
        self,
        bound: Sequence[BoundDevice],
        on_notification: NotificationCallback,
        on_advertisement: AdvertisementCallback,
    ) -> None:
        from bleak import BleakScanner

        self._on_notification = on_notification
        self._on_advertisement = on_advertisement
        self._trackers = {normalise_address(b.address): _Tracker(b, self._monotonic) for b in bound}
        kwargs = {"bluez": {"adapter": self.adapter}} if self.adapter else {}
        scanner = BleakScanner(detection_callback=self._on_detection, **kwargs)
        try:
            async with asyncio.timeout(20.0):
                await scanner.start()
        except Exception as error:
            adapter = self.adapter or "default adapter"
            raise RuntimeError(
                f"cannot start Bluetooth scanning on {adapter}: {type(error).__name__}: "
                f"{error or 'no detail'}; is BlueZ (bluetoothd) running, is D-Bus reachable "
                "and is the adapter powered on (bluetoothctl power on)?"
            ) from None
        self._scanner = scanner
        for tracker in self._trackers.values():
            if tracker.kind.connectable:
                self._tasks.append(asyncio.create_task(self._keep_connected(tracker)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for client in list(self._clients.values()):
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._clients.clear()
        if self._scanner is not None:
            with contextlib.suppress(Exception):
                await self._scanner.stop()
            self._scanner = None

    def device_states(self) -> dict[str, str]:
        return {
            t.bound.device_id: t.state(self.out_of_range_after_s) for t in self._trackers.values()
        }

    def _on_detection(self, ble_device, adv_data) -> None:
        tracker = self._trackers.get(normalise_address(ble_device.address))
        if tracker is None:
            return
        self._ble_devices[tracker.address] = ble_device
        tracker.saw_advertisement()
        service_data = {
            uuid16: bytes(value)
            for uuid, value in adv_data.service_data.items()
            if (uuid16 := uuid16_from_string(uuid)) is not None
        }
        if service_data and self._on_advertisement is not None:
            _safe_call(
                self._on_advertisement,
                Advertisement(
                    tracker.bound.device_id,
                    tracker.address,
                    service_data,
                    adv_data.rssi,
                    self._now_ms(),
                ),
            )

    async def _keep_connected(self, tracker: _Tracker) -> None:
        from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

        attempt = 0
        while True:
            await tracker.seen.wait()
            tracker.seen.clear()
            disconnected = asyncio.Event()
            try:
                client = await establish_connection(
                    BleakClientWithServiceCache,
                    self._ble_devices[tracker.address],
                    tracker.bound.device_id,
                    disconnected_callback=lambda _c, event=disconnected: event.set(),
                )
                for uuid in tracker.kind.streamed_characteristics:
                    await client.start_notify(uuid_string(uuid), self._forwarder(tracker, uuid))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                delay = self.backoff.delay(attempt)
                attempt += 1
                logger.info(
                    "%s: connect failed (%s); retry in %.1f s", tracker.address, error, delay
                )
                await asyncio.sleep(delay)
                continue
            attempt = 0
            self._clients[tracker.address] = client
            tracker.connected = tracker.ever_connected = True
            try:
                await disconnected.wait()
            finally:
                tracker.connected = False
                self._clients.pop(tracker.address, None)
            await asyncio.sleep(self.backoff.delay(0))

    def _forwarder(self, tracker: _Tracker, uuid: int):
        def forward(_sender, data: bytearray) -> None:
            if self._on_notification is not None:
                _safe_call(
                    self._on_notification,
                    Notification(
                        tracker.bound.device_id, tracker.address, uuid, bytes(data), self._now_ms()
                    ),
                )

        return forward
