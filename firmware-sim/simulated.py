"""Simulated devices: real bumble GATT servers and advertisers on a virtual link.

Each device owns its own bumble Controller + Host + Device on the home's
``LocalLink``, with a fixed random static address, so the gateway talks to it
through the full HCI/L2CAP/ATT stack exactly as it would to hardware.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink

from anxin.devices.advertising import connectable_ad, service_data_ad
from anxin.devices.bthome import BTHOME_UUID, encode_motion
from anxin.devices.catalogue import (
    BATTERY_SERVICE,
    HEART_RATE_SERVICE,
    PULSE_OXIMETER_SERVICE,
)
from anxin.devices.gatt import (
    BATTERY_LEVEL,
    HEART_RATE_MEASUREMENT,
    PLX_CONTINUOUS_MEASUREMENT,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    SensorContact,
    encode_battery_level,
    encode_heart_rate_measurement,
    encode_plx_continuous_measurement,
    rr_seconds_to_1024,
)
from anxin.devices.virtual_host import virtual_host_device

from .activity import ActivityModel
from .clock import Clock, ScaledClock
from .perfusion import PerfusionModel
from .physiology import SimulatedPerson

logger = logging.getLogger(__name__)

BODY_SENSOR_LOCATION = 0x2A38
PLX_FEATURES = 0x2A60
_PLX_STATUS_USED = (
    PlxMeasurementStatus.VALIDATED_DATA
    | PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT
    | PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE
)
_PLX_SENSOR_STATUS_USED = (
    PlxDeviceSensorStatus.LOW_PERFUSION | PlxDeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER
)
MAX_RR_PER_NOTIFICATION = 9  # 1 flag + 1 HR + 9*2 RR = 20 bytes, fits the default ATT MTU


# Rewrites one notification (characteristic UUID, payload) into the frames actually sent;
# faults use it to corrupt, drop or repeat frames.
FrameFilter = Callable[[UUID, bytes], list[bytes]]


def _uuid(value: int) -> UUID:
    return UUID.from_16_bits(value)


@dataclass(frozen=True)
class AirFrame:
    """A frame a receiver could get: a notification to a subscribed peer, or a new
    advertising payload (``uuid`` then names the advertised service)."""

    uuid: UUID
    payload: bytes
    at_ms: int  # wall clock


class SimulatedDevice:
    """Lifecycle shared by all simulated devices: ``start()``, ``stop()``, range."""

    kind: ClassVar[str]
    # Simulated-time battery drain; 0 for mains-powered devices. Instances may override.
    battery_drain_pct_per_day: float = 0.0

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        device_id: str,
        name: str,
        clock: Clock | None = None,
        interval_s: float = 1.0,
        battery_pct: int = 90,
    ) -> None:
        self.link = link
        self.address = address.upper()
        self.device_id = device_id
        self.name = name
        self.clock: Clock = clock or ScaledClock()
        self.interval_s = interval_s
        self.battery_pct = battery_pct
        self._battery_origin: tuple[float, int] | None = None  # (t_s, pct) when first ticked
        self.sent = 0  # notifications or advertisement updates produced
        self.resent = 0  # of those, identical copies sent straight after their original
        self.in_range = True
        self.controller: Controller | None = None
        self.device: Device | None = None
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.frame_filters: list[FrameFilter] = []
        # Set to a list to record every frame a receiver could get (tests count them).
        self.air_log: list[AirFrame] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self.device is not None:
            return
        self.controller = Controller(self.device_id, link=self.link)
        self.device = virtual_host_device(self.name, self.address, self.controller)
        self._setup_gatt(self.device)
        await self.device.power_on()
        await self._start_radio()
        self._task = asyncio.create_task(self._run(), name=f"sim:{self.device_id}")

    async def stop(self) -> None:
        if self.device is None:
            return
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._quiet_radio()
        for task in list(self._side_tasks):
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)
        await self.device.power_off()
        if self.controller is not None and self.controller in self.link.controllers:
            self.link.remove_controller(self.controller)
        self.device = None
        self.controller = None

    async def set_in_range(self, in_range: bool) -> None:
        """Out of range: drop connections and go silent. Back in range: advertise again."""
        if in_range == self.in_range:
            return
        self.in_range = in_range
        if self.device is None:
            return
        if in_range:
            await self._start_radio()
        else:
            await self._quiet_radio()

    @property
    def is_connected(self) -> bool:
        return bool(self.device and self.device.connections)

    # -- hooks -----------------------------------------------------------------------

    def _setup_gatt(self, device: Device) -> None:
        pass

    async def _start_radio(self) -> None:
        raise NotImplementedError

    async def _quiet_radio(self) -> None:
        raise NotImplementedError

    async def _tick(self, t_s: float) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.interval_s)
            if not self.in_range:
                continue
            try:
                self._drain_battery(self.clock.now())
                await self._tick(self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                # A dropped link mid-notification is normal radio life; keep ticking.
                logger.debug("%s: tick failed", self.device_id, exc_info=True)

    def _drain_battery(self, t_s: float) -> None:
        """Linear drain in simulated time; a GATT ``battery_char`` follows the level."""
        if self._battery_origin is None:
            self._battery_origin = (t_s, self.battery_pct)
        start_t, start_pct = self._battery_origin
        drained = self.battery_drain_pct_per_day * (t_s - start_t) / 86_400
        level = max(0, min(100, round(start_pct - drained)))
        if level != self.battery_pct:
            self.battery_pct = level
            battery_char = getattr(self, "battery_char", None)
            if battery_char is not None:
                battery_char.value = encode_battery_level(level)

    async def _notify(self, characteristic: Characteristic, payload: bytes) -> None:
        """Notify subscribers through ``frame_filters``."""
        assert self.device is not None
        for frame in self._filtered(characteristic.uuid, payload):
            heard = self._subscribed(characteristic)
            await self.device.notify_subscribers(characteristic, frame)
            self.sent += 1
            if heard:
                self._on_air(characteristic.uuid, frame)

    def _subscribed(self, characteristic: Characteristic) -> bool:
        """Some connected peer enabled notifications or indications of ``characteristic``."""
        if self.device is None:
            return False
        for cccds in self.device.gatt_server.subscribers.values():
            cccd = cccds.get(characteristic.handle, b"\x00\x00")
            if cccd and cccd[0] & 0x03:
                return True
        return False

    def _on_air(self, uuid: UUID, payload: bytes) -> None:
        if self.air_log is not None:
            self.air_log.append(AirFrame(uuid, payload, int(time.time() * 1000)))

    def _filtered(self, uuid: UUID, payload: bytes) -> list[bytes]:
        """The frames ``frame_filters`` make of ``payload``, counting copies in ``resent``."""
        frames = [payload]
        for frame_filter in self.frame_filters:
            frames = [out for frame in frames for out in frame_filter(uuid, frame)]
        self.resent += sum(a == b for a, b in itertools.pairwise(frames))
        return frames

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)


class _GattPeripheral(SimulatedDevice):
    """A connectable peripheral: advertises until connected, again after a disconnect."""

    service_uuids: ClassVar[tuple[int, ...]] = ()
    advertising_interval_ms: float = 100.0

    async def _start_radio(self) -> None:
        assert self.device is not None
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self._advertise()

    async def _advertise(self) -> None:
        assert self.device is not None
        if not self.in_range or self.device.connections:
            return
        # auto_restart is not used: bumble would restart even after we went out of range.
        await self.device.start_advertising(
            advertising_data=connectable_ad(self.name, self.service_uuids),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    def _on_connection(self, connection: Connection) -> None:
        connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        if self.device is not None and self.in_range:
            self._spawn(self._advertise())

    async def _quiet_radio(self) -> None:
        assert self.device is not None
        self.device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)
        # A re-advertise spawned by a just-dropped link may be half done; stopping
        # advertising under it leaves bumble's advertising-set table inconsistent.
        await asyncio.gather(*self._side_tasks, return_exceptions=True)
        await self.device.stop_advertising()
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect()


class HeartRateStrap(_GattPeripheral):
    """Heart Rate service (0x180D) notifying 0x2A37 about once per simulated second with
    a uint8 heart rate and the RR intervals of the beats since the last notification."""

    kind = "heart_rate_strap"
    battery_drain_pct_per_day = 5.0  # coin cell, a few weeks of wear
    service_uuids = (HEART_RATE_SERVICE,)

    def __init__(self, link: LocalLink, address: str, person: SimulatedPerson, **kw) -> None:
        kw.setdefault("name", "Anxin HR Strap")
        super().__init__(link, address, **kw)
        self.person = person
        self._last_t: float | None = None
        self.last_measurement: HeartRateMeasurement | None = None

    def _setup_gatt(self, device: Device) -> None:
        self.hr_char = Characteristic(
            _uuid(HEART_RATE_MEASUREMENT),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            bytes([0, 0]),
        )
        location = Characteristic(
            _uuid(BODY_SENSOR_LOCATION),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            bytes([1]),  # chest
        )
        self.battery_char = Characteristic(
            _uuid(BATTERY_LEVEL),
            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            encode_battery_level(self.battery_pct),
        )
        device.add_services(
            [
                Service(_uuid(HEART_RATE_SERVICE), [self.hr_char, location]),
                Service(_uuid(BATTERY_SERVICE), [self.battery_char]),
            ]
        )

    def measure(self, t_s: float) -> HeartRateMeasurement:
        since = t_s - self.interval_s if self._last_t is None else self._last_t
        sample = self.person.sample(since, t_s)
        self._last_t = t_s
        rr = tuple(rr_seconds_to_1024(s) for s in sample.rr_intervals_s[-MAX_RR_PER_NOTIFICATION:])
        return HeartRateMeasurement(
            heart_rate=min(255, round(sample.heart_rate_bpm)),
            sensor_contact=SensorContact.DETECTED,
            rr_intervals_1024=rr,
        )

    async def _tick(self, t_s: float) -> None:
        assert self.device is not None
        measurement = self.measure(t_s)
        self.last_measurement = measurement
        if self.device.connections:
            await self._notify(self.hr_char, encode_heart_rate_measurement(measurement))


class PulseOximeter(_GattPeripheral):
    """Pulse Oximeter service (0x1822) notifying 0x2A5F about once per simulated second."""

    kind = "pulse_oximeter"
    battery_drain_pct_per_day = 20.0  # AAA cells, continuous measurement
    service_uuids = (PULSE_OXIMETER_SERVICE,)

    def __init__(self, link: LocalLink, address: str, person: SimulatedPerson, **kw) -> None:
        kw.setdefault("name", "Anxin Oximeter")
        super().__init__(link, address, **kw)
        self.person = person
        self.perfusion = PerfusionModel()
        self.last_measurement: PlxContinuousMeasurement | None = None

    def _setup_gatt(self, device: Device) -> None:
        self.plx_char = Characteristic(
            _uuid(PLX_CONTINUOUS_MEASUREMENT),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            bytes(5),
        )
        features = Characteristic(
            _uuid(PLX_FEATURES),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            # Features: measurement status, device/sensor status and PAI supported, then
            # which measurement-status and device/sensor-status bits this device sets.
            (0x0043).to_bytes(2, "little")
            + int(_PLX_STATUS_USED).to_bytes(2, "little")
            + int(_PLX_SENSOR_STATUS_USED).to_bytes(3, "little"),
        )
        self.battery_char = Characteristic(
            _uuid(BATTERY_LEVEL),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            encode_battery_level(self.battery_pct),
        )
        device.add_services(
            [
                Service(_uuid(PULSE_OXIMETER_SERVICE), [self.plx_char, features]),
                Service(_uuid(BATTERY_SERVICE), [self.battery_char]),
            ]
        )

    def measure(self, t_s: float) -> PlxContinuousMeasurement:
        sample = self.person.sample(t_s, t_s)
        low = self.perfusion.is_low(t_s)
        return PlxContinuousMeasurement(
            spo2=float(round(sample.spo2_pct)),
            pulse_rate=float(round(sample.heart_rate_bpm)),
            measurement_status=PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT
            if low
            else PlxMeasurementStatus.VALIDATED_DATA,
            device_sensor_status=PlxDeviceSensorStatus.LOW_PERFUSION
            if low
            else PlxDeviceSensorStatus(0),
            pulse_amplitude_index=round(self.perfusion.index_pct(t_s), 1),
        )

    async def _tick(self, t_s: float) -> None:
        assert self.device is not None
        measurement = self.measure(t_s)
        self.last_measurement = measurement
        if self.device.connections:
            await self._notify(self.plx_char, encode_plx_continuous_measurement(measurement))


class BTHomeMotionSensor(SimulatedDevice):
    """Non-connectable BTHome v2 advertiser (0xFCD2): packet id, battery, motion.

    Uses an extended advertising set with legacy PDUs: bumble's virtual controller
    only emits legacy-command advertising for the connectable ADV_IND type.
    """

    kind = "bthome_motion"
    battery_drain_pct_per_day = 0.3  # coin cell, about a year

    def __init__(
        self,
        link: LocalLink,
        address: str,
        activity: ActivityModel | None = None,
        **kw,
    ) -> None:
        kw.setdefault("name", "Anxin Motion")
        kw.setdefault("interval_s", 5.0)
        super().__init__(link, address, **kw)
        self.activity = activity or ActivityModel()
        self.packet_id = 0
        self.motion = False
        self._adv_set: AdvertisingSet | None = None

    def service_data(self) -> bytes:
        return encode_motion(self.packet_id, self.battery_pct, self.motion)

    def _advertising_data(self) -> bytes:
        return service_data_ad(BTHOME_UUID, self.service_data())

    def _advertising_interval_ms(self) -> float:
        speed = getattr(self.clock, "speed", 1.0)
        # Re-broadcast a few times per update, in wall time, within BLE's 20 ms..10.24 s.
        return min(10_240.0, max(20.0, self.interval_s * 1000.0 / speed / 4))

    async def _start_radio(self) -> None:
        assert self.device is not None
        interval = self._advertising_interval_ms()
        self._adv_set = await self.device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=False, is_scannable=False, is_legacy=True
                ),
                primary_advertising_interval_min=interval,
                primary_advertising_interval_max=interval,
            ),
            random_address=self.device.random_address,
            advertising_data=self._advertising_data(),
        )
        self._on_air(_uuid(BTHOME_UUID), self.service_data())

    async def _quiet_radio(self) -> None:
        if self._adv_set is not None:
            adv_set, self._adv_set = self._adv_set, None
            with contextlib.suppress(Exception):
                await adv_set.stop()
                await adv_set.remove()

    async def _tick(self, t_s: float) -> None:
        self.motion = self.activity.step(t_s)
        self.packet_id = (self.packet_id + 1) & 0xFF
        if self._adv_set is not None:
            await self._adv_set.set_advertising_data(self._advertising_data())
            self.sent += 1
            self._on_air(_uuid(BTHOME_UUID), self.service_data())
