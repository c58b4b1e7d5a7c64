"""The gateway's radio: one interface over bumble (simulation) and bleak (hardware).

The radio scans, reports advertisements of bound devices, keeps a connection to
every bound connectable device (reconnecting with backoff: BLE links drop as a
matter of course), subscribes to the characteristics the catalogue lists and
forwards notifications. Callbacks are plain sync callables run on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from anxin.devices.advertising import service_data_16
from anxin.devices.catalogue import device_kind
from anxin.devices.errors import FrameError
from anxin.devices.uuids import uuid_label, uuid_string

logger = logging.getLogger(__name__)

CONNECTED = "connected"
CONNECTING = "connecting"
RECONNECTING = "reconnecting"
ADVERTISING = "advertising"
OUT_OF_RANGE = "out_of_range"
STANDING_BY = "standing_by"  # an advertiser not heard yet, within its own interval
HEARD_WITHIN_INTERVALS = 2.5


@dataclass(frozen=True)
class BoundDevice:
    device_id: str
    address: str
    kind: str  # a key of anxin.devices.catalogue.CATALOGUE


@dataclass(frozen=True)
class Notification:
    device_id: str
    address: str
    characteristic: int
    payload: bytes
    received_at_ms: int


@dataclass(frozen=True)
class Advertisement:
    device_id: str
    address: str
    service_data: dict[int, bytes]
    rssi: int | None
    received_at_ms: int


NotificationCallback = Callable[[Notification], None]
AdvertisementCallback = Callable[[Advertisement], None]


class Radio(Protocol):
    async def start(
        self,
        bound: Sequence[BoundDevice],
        on_notification: NotificationCallback,
        on_advertisement: AdvertisementCallback,
    ) -> None: ...

    async def stop(self) -> None: ...

    def device_states(self) -> dict[str, str]: ...


class RadioStopping(Exception):
    """A connection attempt that began waiting before the radio was stopped."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Backoff:
    """Exponential reconnect delay: initial, doubling, capped."""

    initial_s: float = 0.5
    maximum_s: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum_s, self.initial_s * self.factor ** max(0, attempt))


def normalise_address(address: str) -> str:
    return address.strip().upper()


class _Tracker:
    """Per-device bookkeeping shared by both radios: last advertisement seen, connection
    state, and the state name reported by ``device_states``."""

    def __init__(self, bound: BoundDevice, monotonic: Callable[[], float]) -> None:
        self.bound = bound
        self.kind = device_kind(bound.kind)
        self.address = normalise_address(bound.address)
        self._monotonic = monotonic
        self.last_seen: float | None = None
        self.started_at = monotonic()
        self.connected = False
        self.ever_connected = False
        self.seen = asyncio.Event()

    def saw_advertisement(self) -> None:
        self.last_seen = self._monotonic()
        self.seen.set()

    def recently_seen(self, within_s: float) -> bool:
        return self.last_seen is not None and self._monotonic() - self.last_seen <= within_s

    def state(self, out_of_range_after_s: float) -> str:
        if self.kind.connectable:
            if self.connected:
                return CONNECTED
            reference = self.last_seen if self.last_seen is not None else self.started_at
            if self._monotonic() - reference > out_of_range_after_s:
                return OUT_OF_RANGE
            return RECONNECTING if self.ever_connected else CONNECTING
        # An advertiser is judged by its own reporting interval: an SOS button is silent
        # for hours by design, a bed sensor repeats its state every minute.
        window_s = max(out_of_range_after_s, HEARD_WITHIN_INTERVALS * self.kind.nominal_interval_s)
        if self.recently_seen(window_s):
            return ADVERTISING
        if self.last_seen is None and self._monotonic() - self.started_at <= window_s:
            return STANDING_BY
        return OUT_OF_RANGE


def _bumble_uuid(uuid_class, value: int):
    # 16-bit UUIDs stay 16-bit on the wire: ATT matches service declarations byte for byte.
    return uuid_class.from_16_bits(value) if value <= 0xFFFF else uuid_class(uuid_string(value))


def _safe_call(callback: Callable[[object], None], value: object) -> None:
    try:
        callback(value)
    except Exception:
        logger.exception("radio callback %r failed", callback)


class BumbleRadio:
    """The gateway's own bumble controller on a home's ``LocalLink``."""

    def __init__(
        self,
        link: object,
        address: str = "F0:A1:00:00:00:01",
        *,
        name: str = "anxin-gateway",
        backoff: Backoff | None = None,
        connect_timeout_s: float = 10.0,
        out_of_range_after_s: float = 30.0,
        now_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.address = normalise_address(address)
        self.name = name
        self.backoff = backoff or Backoff()
        self.connect_timeout_s = connect_timeout_s
        self.out_of_range_after_s = out_of_range_after_s
        self._now_ms = now_ms
        self._monotonic = monotonic
        self._trackers: dict[str, _Tracker] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._connections: dict[str, object] = {}
        self._connect_lock = asyncio.Lock()
        # Connections between connect and subscribed; stop() waits for them to settle.
        self._setting_up = 0
        self._none_setting_up = asyncio.Event()
        self._none_setting_up.set()
        self._controller = None
        self._device = None
        self._on_notification: NotificationCallback | None = None
        self._on_advertisement: AdvertisementCallback | None = None
        self._stopping = False

    async def start(
        self,
        bound: Sequence[BoundDevice],
        on_notification: NotificationCallback,
        on_advertisement: AdvertisementCallback,
    ) -> None:
        from bumble.controller import Controller
        from bumble.device import Device

        from anxin.devices.virtual_host import virtual_host_device

        if self._device is not None:
            raise RuntimeError("BumbleRadio already started")
        self._stopping = False
        self._on_notification = on_notification
        self._on_advertisement = on_advertisement
        self._trackers = {normalise_address(b.address): _Tracker(b, self._monotonic) for b in bound}
        self._controller = Controller(self.name, link=self.link)
        self._device = virtual_host_device(self.name, self.address, self._controller)
        self._device.on(Device.EVENT_ADVERTISEMENT, self._on_bumble_advertisement)
        await self._device.power_on()
        await self._device.start_scanning(filter_duplicates=False)
        for tracker in self._trackers.values():
            if tracker.kind.connectable:
                self._tasks.append(
                    asyncio.create_task(
                        self._keep_connected(tracker), name=f"radio:{tracker.bound.device_id}"
                    )
                )

    async def stop(self) -> None:
        if self._device is None:
            return
        self._stopping = True
        # Let connection attempts and their GATT set-up finish (or time out) rather than
        # cancel them: cancelling bumble's connect or a GATT request just as the answer
        # arrives raises inside bumble's own event handler, and the link never settles.
        # Attempts still waiting for the lock give up once they get it.
        async with self._connect_lock:
            pass
        await self._none_setting_up.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        device, self._device = self._device, None
        with contextlib.suppress(Exception):
            await device.stop_scanning()
        for connection in list(device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect()
        await device.power_off()
        if self._controller is not None and self._controller in self.link.controllers:
            self.link.remove_controller(self._controller)
        self._controller = None
        self._connections.clear()
        for tracker in self._trackers.values():
            tracker.connected = False

    def device_states(self) -> dict[str, str]:
        return {
            t.bound.device_id: t.state(self.out_of_range_after_s) for t in self._trackers.values()
        }

    # -- advertisements ----------------------------------------------------------------

    def _on_bumble_advertisement(self, adv) -> None:
        # bumble's virtual controller echoes every PDU as a scan response too.
        if adv.is_scan_response:
            return
        tracker = self._trackers.get(str(adv.address).split("/")[0].upper())
        if tracker is None:
            return
        tracker.saw_advertisement()
        try:
            service_data = service_data_16(adv.data_bytes)
        except FrameError:
            logger.warning(
                "%s: malformed advertising data %s", tracker.address, adv.data_bytes.hex()
            )
            return
        if not service_data and tracker.kind.connectable:
            return  # a connectable device's plain "connect to me" advertisement
        rssi = adv.rssi if adv.rssi != adv.RSSI_NOT_AVAILABLE else None
        if self._on_advertisement is not None:
            _safe_call(
                self._on_advertisement,
                Advertisement(
                    tracker.bound.device_id, tracker.address, service_data, rssi, self._now_ms()
                ),
            )

    # -- connections -------------------------------------------------------------------

    async def _keep_connected(self, tracker: _Tracker) -> None:
        attempt = 0
        while not self._stopping:
            await tracker.seen.wait()  # only try devices that are advertising
            tracker.seen.clear()
            try:
                connection = await self._connect(tracker)
            except (asyncio.CancelledError, RadioStopping):
                raise
            except Exception as error:
                delay = self.backoff.delay(attempt)
                attempt += 1
                logger.info(
                    "%s: connection failed (%s); retrying in %.1f s",
                    tracker.bound.device_id,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            attempt = 0
            disconnected = asyncio.get_running_loop().create_future()
            connection.on(
                "disconnection",
                lambda reason, fut=disconnected: fut.done() or fut.set_result(reason),
            )
            if connection.handle not in self._device.connections:
                disconnected.done() or disconnected.set_result(None)
            try:
                reason = await disconnected
            finally:
                tracker.connected = False
                self._connections.pop(tracker.address, None)
            logger.info("%s: disconnected (reason %s)", tracker.bound.device_id, reason)
            await asyncio.sleep(self.backoff.delay(0))

    async def _connect(self, tracker: _Tracker):
        from bumble.device import Peer
        from bumble.hci import Address

        device = self._device
        async with self._connect_lock:
            if self._stopping:  # queued before stop(); stop() waits behind us for the lock
                raise RadioStopping(tracker.bound.device_id)
            # The virtual controller ignores Create Connection Cancel, so on timeout we
            # clear its pending connection ourselves or every later attempt is refused.
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the connection completes, and stop() would hang.
                async with asyncio.timeout(self.connect_timeout_s):
                    connection = await device.connect(Address(tracker.address), timeout=None)
            except TimeoutError:
                if self._controller is not None:
                    self._controller.pending_le_connection = None
                raise
            self._setting_up += 1
            self._none_setting_up.clear()
        try:
            await self._set_up(connection, Peer(connection), tracker)
        except BaseException:
            if connection.handle in device.connections:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.connect_timeout_s):
                        await connection.disconnect()
            raise
        finally:
            self._setting_up -= 1
            if not self._setting_up:
                self._none_setting_up.set()
        tracker.connected = True
        tracker.ever_connected = True
        self._connections[tracker.address] = connection
        logger.info("%s: connected and subscribed", tracker.bound.device_id)
        return connection

    async def _set_up(self, connection: Any, peer: Any, tracker: _Tracker) -> None:
        """Discover and subscribe, giving up at once if the device drops the link (no
        answer can come any more, so cancelling the request is safe) and after
        ``connect_timeout_s`` otherwise, rather than bumble's 30 s GATT timeout."""
        lost = asyncio.get_running_loop().create_future()
        connection.on("disconnection", lambda reason: lost.done() or lost.set_result(reason))
        subscribing = asyncio.ensure_future(self._subscribe_all(peer, tracker))
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await asyncio.wait({subscribing, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not subscribing.done():
                subscribing.cancel()
                await asyncio.gather(subscribing, return_exceptions=True)
        if not subscribing.done() or subscribing.cancelled():
            raise ConnectionError(f"link lost during set-up (reason {lost.result()})")
        subscribing.result()  # raises what discovery raised

    async def _subscribe_all(self, peer: Any, tracker: _Tracker) -> None:
        from bumble.core import UUID

        if tracker.kind.att_mtu > 23:  # longer notifications would be truncated
            await peer.request_mtu(tracker.kind.att_mtu)
        for service in tracker.kind.services:
            streamed = [c.uuid for c in service.characteristics if c.notify or c.indicate]
            indicated = {c.uuid for c in service.characteristics if c.indicate}
            if not streamed:
                continue
            proxies = await peer.discover_service(_bumble_uuid(UUID, service.uuid))
            if not proxies:
                raise RuntimeError(f"service {uuid_label(service.uuid)} not found")
            for uuid in streamed:
                characteristics = await peer.discover_characteristics(
                    uuids=[_bumble_uuid(UUID, uuid)], service=proxies[0]
                )
                if not characteristics:
                    raise RuntimeError(f"characteristic {uuid_label(uuid)} not found")
                # bumble enables indications on indicate-only characteristics and
                # confirms each one; where both exist, the catalogue picks.
                await peer.subscribe(
                    characteristics[0],
                    self._forwarder(tracker, uuid),
                    prefer_notify=uuid not in indicated,
                )

    def _forwarder(self, tracker: _Tracker, uuid: int) -> Callable[[bytes], None]:
        def forward(value: bytes) -> None:
            if self._on_notification is not None:
                _safe_call(
                    self._on_notification,
                    Notification(
                        tracker.bound.device_id,
                        tracker.address,
                        uuid,
                        bytes(value),
                        self._now_ms(),
                    ),
                )

        return forward
