"""The gateway's radio: one interface over bumble (simulation) and bleak (hardware).

The radio scans (passively unless told or forced otherwise), reports advertisements of
bound devices only, keeps a connection to every bound connectable device (bounded bursts
of attempts with jittered backoff, each on a fresh connection: BLE links drop as a
matter of course), subscribes to the characteristics the catalogue lists through GATT
handles cached per device, and forwards notifications. Callbacks are plain sync
callables run on the loop. ``device_states`` is the link state only; the gateway adds
not_worn and battery_low on top (``overlay_state``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from anxin.devices.advertising import service_data_16
from anxin.devices.catalogue import device_kind
from anxin.devices.errors import FrameError
from anxin.devices.uuids import uuid_label, uuid_string
from anxin.edge.gatt_cache import CachedCharacteristic, CachedTable, GattCache
from anxin.runtime import cancel_and_wait

logger = logging.getLogger(__name__)

CONNECTED = "connected"
CONNECTING = "connecting"
RECONNECTING = "reconnecting"
ADVERTISING = "advertising"
OUT_OF_RANGE = "out_of_range"
STANDING_BY = "standing_by"  # an advertiser not heard yet, within its own interval
# Facts the gateway's analytics adds on top of the radio's link state (see overlay_state).
NOT_WORN = "not_worn"
BATTERY_LOW = "battery_low"
HEARD_WITHIN_INTERVALS = 2.5

ScanMode = Literal["auto", "passive", "active"]
SCAN_MODES: tuple[str, ...] = ("auto", "passive", "active")


def overlay_state(link_state: str, *, not_worn: bool, battery_low: bool) -> str:
    """One state name per device, by precedence: out_of_range > not_worn > battery_low >
    the link state. Out of range comes first because nothing else about a device that is
    not heard can be current; a battery that is low matters less than a wearable that is
    not on the person."""
    if link_state == OUT_OF_RANGE:
        return OUT_OF_RANGE
    if not_worn:
        return NOT_WORN
    if battery_low:
        return BATTERY_LOW
    return link_state


def check_scan_mode(scan_mode: str) -> str:
    if scan_mode not in SCAN_MODES:
        raise ValueError(f"scan_mode must be one of {', '.join(SCAN_MODES)}, not {scan_mode!r}")
    return scan_mode


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
    """Reconnect policy in the manner of bleak-retry-connector: up to ``max_attempts``
    connection attempts each time the device is heard advertising, each one on a fresh
    connection, separated by an exponential delay with random jitter, capped at
    ``maximum_s``. The delay keeps growing over failed bursts and resets on success."""

    initial_s: float = 0.5
    maximum_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.25  # up to this fraction added, so retries do not run in lockstep
    max_attempts: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.maximum_s:
            raise ValueError(
                f"backoff initial_s ({self.initial_s}) must be > 0 and <= maximum_s "
                f"({self.maximum_s})"
            )
        if self.factor < 1 or not 0 <= self.jitter <= 1 or self.max_attempts < 1:
            raise ValueError(
                f"backoff needs factor >= 1 (got {self.factor}), 0 <= jitter <= 1 "
                f"(got {self.jitter}) and max_attempts >= 1 (got {self.max_attempts})"
            )

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        base = self.initial_s * self.factor ** min(max(0, attempt), 64)
        return min(self.maximum_s, base * (1.0 + self.jitter * rng()))


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


class StaleGattCache(Exception):
    """A cached handle no longer holds what the cache says (the device's table changed)."""


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
        scan_mode: ScanMode = "auto",
        gatt_cache: GattCache | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.address = normalise_address(address)
        self.name = name
        self.backoff = backoff or Backoff()
        self.connect_timeout_s = connect_timeout_s
        self.out_of_range_after_s = out_of_range_after_s
        self.scan_mode = check_scan_mode(scan_mode)
        self.scan_mode_in_effect: str | None = None  # "passive" or "active" once scanning
        self.gatt_cache = gatt_cache if gatt_cache is not None else GattCache()
        # connect_attempts and connect_failures by address; gatt_discoveries,
        # gatt_cache_hits and gatt_cache_stale in total.
        self.counters: Counter[str] = Counter()
        self.connect_attempts: Counter[str] = Counter()
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
        await self._start_scanning()
        for tracker in self._trackers.values():
            if tracker.kind.connectable:
                self._tasks.append(
                    asyncio.create_task(
                        self._keep_connected(tracker), name=f"radio:{tracker.bound.device_id}"
                    )
                )

    async def _start_scanning(self) -> None:
        # Every LE controller can scan passively, and the gateway needs nothing a scan
        # response carries (names; service data and UUIDs are in the advertisements), so
        # "auto" is passive here: the radio never transmits while it listens.
        active = self.scan_mode == "active"
        try:
            await self._device.start_scanning(active=active, filter_duplicates=False)
        except Exception as error:
            if active:
                raise
            logger.warning(
                "passive scanning refused by the controller (%s: %s); scanning actively",
                type(error).__name__,
                error,
            )
            active = True
            await self._device.start_scanning(active=True, filter_duplicates=False)
        self.scan_mode_in_effect = "active" if active else "passive"
        logger.info(
            "scanning %sly for %d bound devices", self.scan_mode_in_effect, len(self._trackers)
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
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        device, self._device = self._device, None
        with contextlib.suppress(Exception):
            await device.stop_scanning()
        self.scan_mode_in_effect = None
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
        # bumble's virtual controller echoes every PDU as a scan response too, whatever
        # the scan type; a real controller scanning passively sends none.
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
        failures = 0  # consecutive, over bursts: drives the backoff, reset on success
        while not self._stopping:
            await tracker.seen.wait()  # only try devices that are advertising
            tracker.seen.clear()
            connection = None
            for _ in range(self.backoff.max_attempts):
                try:
                    connection = await self._connect(tracker)
                    break
                except (asyncio.CancelledError, RadioStopping):
                    raise
                except Exception as error:
                    self.counters["connect_failures"] += 1
                    delay = self.backoff.delay(failures)
                    failures += 1
                    logger.info(
                        "%s: connection failed (%s); retrying in %.1f s",
                        tracker.bound.device_id,
                        error,
                        delay,
                    )
                    await asyncio.sleep(delay)
            if connection is None:
                logger.info(
                    "%s: %d attempts failed; waiting to hear it advertise again",
                    tracker.bound.device_id,
                    self.backoff.max_attempts,
                )
                tracker.seen.clear()  # only an advertisement heard after the burst counts
                continue
            failures = 0
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
            self.connect_attempts[tracker.address] += 1
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
            # A new Peer (and GATT client) per connection: subscriptions of an earlier link
            # are gone with it, so each reconnect subscribes exactly once.
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
        if tracker.kind.att_mtu > 23:  # longer notifications would be truncated
            await peer.request_mtu(tracker.kind.att_mtu)
        table = self.gatt_cache.get(tracker.address, tracker.kind.kind)
        if table is not None:
            if await self._table_still_holds(peer, table):
                self.counters["gatt_cache_hits"] += 1
                try:
                    await self._subscribe(peer, tracker, table)
                except Exception as error:
                    # Nothing half-subscribed survives: the caller drops this link and the
                    # next attempt, on a fresh one, discovers.
                    self.gatt_cache.drop(tracker.address)
                    raise StaleGattCache(f"subscribing through cached handles: {error}") from error
                return
            self.counters["gatt_cache_stale"] += 1
            self.gatt_cache.drop(tracker.address)
            logger.info("%s: GATT table changed; discovering it again", tracker.bound.device_id)
        table = await self._discover(peer, tracker)
        self.counters["gatt_discoveries"] += 1
        self.gatt_cache.put(tracker.address, table)
        await self._subscribe(peer, tracker, table)

    async def _discover(self, peer: Any, tracker: _Tracker) -> CachedTable:
        from bumble.core import UUID
        from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR as CCCD

        found: list[CachedCharacteristic] = []
        for service in tracker.kind.services:
            streamed = [c.uuid for c in service.characteristics if c.notify or c.indicate]
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
                characteristic = characteristics[0]
                await characteristic.discover_descriptors()
                cccd = characteristic.get_descriptor(CCCD)
                if cccd is None:
                    raise RuntimeError(f"characteristic {uuid_label(uuid)} has no CCCD")
                found.append(
                    CachedCharacteristic(
                        uuid=uuid,
                        value_handle=characteristic.handle,
                        end_handle=characteristic.end_group_handle,
                        properties=int(characteristic.properties),
                        cccd_handle=cccd.handle,
                    )
                )
        return CachedTable(tracker.kind.kind, tuple(found))

    async def _table_still_holds(self, peer: Any, table: CachedTable) -> bool:
        """One ATT Read per characteristic declaration instead of a full discovery."""
        from bumble.core import UUID, ProtocolError

        for cached in table.characteristics:
            expected = cached.declaration(_bumble_uuid(UUID, cached.uuid).to_pdu_bytes())
            try:
                value = await peer.gatt_client.read_value(
                    cached.declaration_handle, no_long_read=True
                )
            except ProtocolError:  # no such handle any more, or not readable
                return False
            if bytes(value) != expected:
                return False
        return True

    async def _subscribe(self, peer: Any, tracker: _Tracker, table: CachedTable) -> None:
        from bumble.core import UUID
        from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR as CCCD
        from bumble.gatt_client import CharacteristicProxy, DescriptorProxy

        indicated = {c.uuid for s in tracker.kind.services for c in s.characteristics if c.indicate}
        client = peer.gatt_client
        for cached in table.characteristics:
            characteristic = CharacteristicProxy(
                client,
                cached.value_handle,
                cached.end_handle,
                _bumble_uuid(UUID, cached.uuid),
                cached.properties,
            )
            characteristic.descriptors = [DescriptorProxy(client, cached.cccd_handle, CCCD)]
            characteristic.descriptors_discovered = True
            # bumble enables indications on indicate-only characteristics and confirms
            # each one; where both exist, the catalogue picks.
            await peer.subscribe(
                characteristic,
                self._forwarder(tracker, cached.uuid),
                prefer_notify=cached.uuid not in indicated,
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
