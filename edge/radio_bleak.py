"""BleakRadio: the gateway radio on real hardware (BlueZ through bleak).

Thin on purpose: scanning (passive through BlueZ advertisement monitors where the
adapter and BlueZ allow, active otherwise), filtering to bound addresses, and one
connection task per connectable device using bleak-retry-connector's
``establish_connection`` (a fresh client per call, retries with backoff, and BlueZ's
GATT cache reused while it is valid). It cannot be exercised against hardware here;
importing it needs no BlueZ, starting it without one raises a RuntimeError that names
the adapter problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Sequence

from anxin.devices.catalogue import DeviceKind, device_kind
from anxin.devices.uuids import uuid_string
from anxin.runtime import cancel_and_wait

from .radio import (
    Advertisement,
    AdvertisementCallback,
    Backoff,
    BoundDevice,
    Notification,
    NotificationCallback,
    ScanMode,
    _safe_call,
    _Tracker,
    check_scan_mode,
    normalise_address,
    wall_clock_ms,
)

logger = logging.getLogger(__name__)

_SIG_SUFFIX = "-0000-1000-8000-00805f9b34fb"
# AD types (Core Supplement Part A 1.1 and 1.11), as BlueZ advertisement monitors match them.
AD_INCOMPLETE_UUID16 = 0x02
AD_COMPLETE_UUID16 = 0x03
AD_INCOMPLETE_UUID128 = 0x06
AD_COMPLETE_UUID128 = 0x07
AD_SERVICE_DATA_UUID16 = 0x16


def uuid16_from_string(uuid: str) -> int | None:
    text = uuid.lower()
    if len(text) == 36 and text.startswith("0000") and text.endswith(_SIG_SUFFIX):
        return int(text[4:8], 16)
    return None


def passive_scan_patterns(kinds: Iterable[DeviceKind]) -> list[tuple[int, int, bytes]]:
    """BlueZ advertisement-monitor or-patterns ``(start, AD type, bytes)`` that match what
    the bound devices advertise: BTHome service data (UUID 0xFCD2) and the service UUIDs
    connectable devices list. BlueZ only reports matching advertisements in passive mode;
    the radio still keeps only bound addresses."""
    patterns: list[tuple[int, int, bytes]] = []
    for kind in kinds:
        if kind.service_data_uuid is not None and kind.service_data_uuid <= 0xFFFF:
            patterns.append(
                (0, AD_SERVICE_DATA_UUID16, kind.service_data_uuid.to_bytes(2, "little"))
            )
        for uuid in kind.advertised_service_uuids:
            if uuid <= 0xFFFF:
                value, types = (
                    uuid.to_bytes(2, "little"),
                    (AD_COMPLETE_UUID16, AD_INCOMPLETE_UUID16),
                )
            else:
                # 128-bit UUIDs go over the air least significant byte first.
                value = uuid_module.UUID(uuid_string(uuid)).bytes[::-1]
                types = (AD_COMPLETE_UUID128, AD_INCOMPLETE_UUID128)
            patterns.extend((0, ad_type, value) for ad_type in types)
    return list(dict.fromkeys(patterns))


class BleakRadio:
    def __init__(
        self,
        adapter: str | None = None,
        *,
        backoff: Backoff | None = None,
        out_of_range_after_s: float = 30.0,
        scan_mode: ScanMode = "auto",
        now_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adapter = adapter
        self.backoff = backoff or Backoff()
        self.out_of_range_after_s = out_of_range_after_s
        self.scan_mode = check_scan_mode(scan_mode)
        self.scan_mode_in_effect: str | None = None
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
        self._on_notification = on_notification
        self._on_advertisement = on_advertisement
        self._trackers = {normalise_address(b.address): _Tracker(b, self._monotonic) for b in bound}
        patterns = passive_scan_patterns({device_kind(b.kind) for b in bound})
        scanner = None
        if self.scan_mode != "active" and patterns:
            try:
                scanner = await self._start_scanner("passive", patterns)
            except Exception as error:
                # Passive scanning needs BlueZ >= 5.56 with advertisement monitors enabled
                # (bluetoothd --experimental before 5.65) and a controller that offloads them.
                logger.warning(
                    "passive scanning unavailable (%s: %s); scanning actively instead",
                    type(error).__name__,
                    error or "no detail",
                )
        elif self.scan_mode != "active":
            logger.info("no bound device to match passively; scanning actively")
        if scanner is None:
            try:
                scanner = await self._start_scanner("active", [])
            except Exception as error:
                adapter = self.adapter or "default adapter"
                raise RuntimeError(
                    f"cannot start Bluetooth scanning on {adapter}: {type(error).__name__}: "
                    f"{error or 'no detail'}; is BlueZ (bluetoothd) running, is D-Bus "
                    "reachable and is the adapter powered on (bluetoothctl power on)?"
                ) from None
        self._scanner = scanner
        for tracker in self._trackers.values():
            if tracker.kind.connectable:
                self._tasks.append(asyncio.create_task(self._keep_connected(tracker)))

    async def _start_scanner(self, mode: str, patterns: list[tuple[int, int, bytes]]):
        from bleak import BleakScanner

        bluez: dict[str, object] = {"adapter": self.adapter} if self.adapter else {}
        if mode == "passive":
            from bleak.args.bluez import OrPattern
            from bleak.assigned_numbers import AdvertisementDataType

            bluez["or_patterns"] = [
                OrPattern(start, AdvertisementDataType(ad_type), value)
                for start, ad_type, value in patterns
            ]
        scanner = BleakScanner(
            detection_callback=self._on_detection,
            scanning_mode=mode,  # type: ignore[arg-type]
            bluez=bluez,  # type: ignore[arg-type]
        )
        async with asyncio.timeout(20.0):
            await scanner.start()
        self.scan_mode_in_effect = mode
        logger.info("scanning %sly for %d bound devices", mode, len(self._trackers))
        return scanner

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        for client in list(self._clients.values()):
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._clients.clear()
        if self._scanner is not None:
            with contextlib.suppress(Exception):
                await self._scanner.stop()
            self._scanner = None
        self.scan_mode_in_effect = None

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
        failures = 0
        while True:
            await tracker.seen.wait()  # then up to max_attempts inside establish_connection
            tracker.seen.clear()
            disconnected = asyncio.Event()
            try:
                client = await self._connect_and_subscribe(tracker, disconnected)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                delay = self.backoff.delay(failures)
                failures += 1
                logger.info(
                    "%s: connect failed (%s); next try after %.1f s and a fresh advertisement",
                    tracker.address,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                tracker.seen.clear()
                continue
            failures = 0
            self._clients[tracker.address] = client
            tracker.connected = tracker.ever_connected = True
            try:
                await disconnected.wait()
            finally:
                tracker.connected = False
                self._clients.pop(tracker.address, None)
            await asyncio.sleep(self.backoff.delay(0))

    async def _connect_and_subscribe(self, tracker: _Tracker, disconnected: asyncio.Event):
        from bleak.exc import BleakCharacteristicNotFoundError
        from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

        address = tracker.address
        # A new client per call; BlueZ's GATT cache is reused while bleak-retry-connector
        # finds it valid (use_services_cache), so a reconnect skips service discovery.
        client = await establish_connection(
            BleakClientWithServiceCache,
            self._ble_devices[address],
            tracker.bound.device_id,
            disconnected_callback=lambda _c: disconnected.set(),
            max_attempts=self.backoff.max_attempts,
            use_services_cache=True,
            ble_device_callback=lambda: self._ble_devices[address],
            **({"bluez": {"adapter": self.adapter}} if self.adapter else {}),
        )
        try:
            for uuid in tracker.kind.streamed_characteristics:
                await client.start_notify(uuid_string(uuid), self._forwarder(tracker, uuid))
        except BaseException as error:
            if isinstance(error, BleakCharacteristicNotFoundError):
                # The cached table is stale (new firmware): the next connection discovers.
                with contextlib.suppress(Exception):
                    await client.clear_cache()
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        return client

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
