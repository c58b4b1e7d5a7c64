"""Faults a real home produces, applied to running simulated devices and schedulable
in simulated time: out of range, a disconnect mid-stream, sensor contact lost, NaN
readings, duplicate notifications, and a device that advertises but refuses every
connection.

Content faults rewrite frames on their way out (``SimulatedDevice.frame_filters``)
with the same pure encoders the devices use, so the gateway sees exactly the bytes a
misbehaving device would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from typing import ClassVar, Protocol

from bumble.core import UUID
from bumble.device import Connection, Device
from bumble.hci import HCI_ErrorCode

from anxin.devices.accelerometer import ACCELERATION_SAMPLES
from anxin.devices.gatt import (
    HEART_RATE_MEASUREMENT,
    PLX_CONTINUOUS_MEASUREMENT,
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    SensorContact,
    decode_heart_rate_measurement,
    decode_plx_continuous_measurement,
    encode_heart_rate_measurement,
    encode_plx_continuous_measurement,
)
from anxin.runtime import cancel_and_wait

from .accelerometer import bumble_uuid
from .clock import Clock
from .simulated import FrameFilter, SimulatedDevice

logger = logging.getLogger(__name__)

_HR = UUID.from_16_bits(HEART_RATE_MEASUREMENT)
_PLX = UUID.from_16_bits(PLX_CONTINUOUS_MEASUREMENT)


class Fault(Protocol):
    name: ClassVar[str]

    async def begin(self, device: SimulatedDevice) -> None: ...

    async def end(self, device: SimulatedDevice) -> None: ...


# -- frame rewriting ----------------------------------------------------------------------


def contact_lost_frame(uuid: UUID, payload: bytes) -> list[bytes]:
    """A strap off the skin: contact "not detected", no beats, heart rate 0."""
    if uuid != _HR:
        return [payload]
    m = decode_heart_rate_measurement(payload)
    lost = dataclasses.replace(
        m, heart_rate=0, sensor_contact=SensorContact.NOT_DETECTED, rr_intervals_1024=()
    )
    return [encode_heart_rate_measurement(lost)]


def nan_frame(uuid: UUID, payload: bytes) -> list[bytes]:
    """SpO2 and pulse rate sent as the IEEE-11073 SFLOAT NaN (the encoder's None)."""
    if uuid != _PLX:
        return [payload]
    m = decode_plx_continuous_measurement(payload)
    return [encode_plx_continuous_measurement(dataclasses.replace(m, spo2=None, pulse_rate=None))]


def sensor_off_frame(uuid: UUID, payload: bytes) -> list[bytes]:
    """An oximeter off the finger: no values, measurement unavailable, sensor unconnected."""
    if uuid != _PLX:
        return [payload]
    m = decode_plx_continuous_measurement(payload)
    off = dataclasses.replace(
        m,
        spo2=None,
        pulse_rate=None,
        pulse_amplitude_index=None,
        measurement_status=PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE,
        device_sensor_status=PlxDeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER,
    )
    return [encode_plx_continuous_measurement(off)]


def duplicate_frame(uuid: UUID, payload: bytes) -> list[bytes]:
    return [payload, payload]


@dataclass
class _FrameFault:
    """Installs one frame filter for the fault's duration."""

    frame_filter: ClassVar[FrameFilter]

    async def begin(self, device: SimulatedDevice) -> None:
        if self.frame_filter not in device.frame_filters:
            device.frame_filters.append(self.frame_filter)

    async def end(self, device: SimulatedDevice) -> None:
        with contextlib.suppress(ValueError):
            device.frame_filters.remove(self.frame_filter)


class ContactLost(_FrameFault):
    name = "contact_lost"
    frame_filter = staticmethod(contact_lost_frame)


class NanReadings(_FrameFault):
    name = "nan_readings"
    frame_filter = staticmethod(nan_frame)


class SensorOff(_FrameFault):
    name = "sensor_off"
    frame_filter = staticmethod(sensor_off_frame)


class DuplicateNotifications(_FrameFault):
    name = "duplicate_notifications"
    frame_filter = staticmethod(duplicate_frame)


_ACCELERATION = bumble_uuid(ACCELERATION_SAMPLES)


def off_body_frame(uuid: UUID, payload: bytes) -> list[bytes]:
    return [] if uuid == _ACCELERATION else [payload]


class OffBody(_FrameFault):
    """A wearable that senses it is off the body (the accelerometer's skin sensor) stays
    connected but streams nothing until worn again."""

    name = "off_body"
    frame_filter = staticmethod(off_body_frame)


# -- link faults ---------------------------------------------------------------------------


async def _disconnect_all(device: SimulatedDevice, reason: int) -> None:
    if device.device is None:
        return
    for connection in list(device.device.connections.values()):
        with contextlib.suppress(Exception):
            await connection.disconnect(reason)


@dataclass
class OutOfRange:
    name: ClassVar[str] = "out_of_range"

    async def begin(self, device: SimulatedDevice) -> None:
        await device.set_in_range(False)

    async def end(self, device: SimulatedDevice) -> None:
        await device.set_in_range(True)


@dataclass
class Disconnect:
    """The link drops mid-stream (a supervision timeout); the device advertises again."""

    name: ClassVar[str] = "disconnect"

    async def begin(self, device: SimulatedDevice) -> None:
        await _disconnect_all(device, HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)

    async def end(self, device: SimulatedDevice) -> None:
        pass


@dataclass
class RefuseConnections:
    """Keeps advertising, but the device's host drops every incoming link at once, as
    firmware with no free connection slot does."""

    name: ClassVar[str] = "refuse_connections"
    refused: int = 0
    _tasks: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)
    _device: Device | None = None

    def _on_connection(self, connection: Connection) -> None:
        self.refused += 1
        task = asyncio.create_task(
            connection.disconnect(
                HCI_ErrorCode.REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_LOW_RESOURCES_ERROR
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def begin(self, device: SimulatedDevice) -> None:
        if device.device is None:
            raise RuntimeError(f"{device.device_id}: start the device before refusing connections")
        self._device = device.device
        self._device.on(Device.EVENT_CONNECTION, self._on_connection)
        await _disconnect_all(
            device, HCI_ErrorCode.REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_LOW_RESOURCES_ERROR
        )

    async def end(self, device: SimulatedDevice) -> None:
        if self._device is not None:
            self._device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)
            self._device = None
        await asyncio.gather(*self._tasks, return_exceptions=True)


FAULTS: dict[str, type] = {
    cls.name: cls
    for cls in (
        OutOfRange,
        Disconnect,
        ContactLost,
        NanReadings,
        SensorOff,
        DuplicateNotifications,
        RefuseConnections,
    )
}


def make_fault(name: str) -> Fault:
    try:
        return FAULTS[name]()
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None


# -- scheduling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledFault:
    """``fault`` on ``device`` from ``start_s`` until ``end_s`` (simulated seconds);
    ``end_s`` None for an instantaneous fault (or one that never ends)."""

    device: SimulatedDevice
    fault: Fault
    start_s: float
    end_s: float | None = None


class FaultSchedule:
    """Begins and ends scheduled faults at their simulated times on ``clock``."""

    def __init__(self, clock: Clock, entries: list[ScheduledFault] | None = None) -> None:
        self.clock = clock
        self.entries = list(entries or [])
        self.log: list[tuple[float, str]] = []  # (simulated time, what happened)
        self._task: asyncio.Task[None] | None = None
        self._active: list[ScheduledFault] = []

    def add(self, entry: ScheduledFault) -> None:
        if self._task is not None:
            raise RuntimeError("add faults before FaultSchedule.start()")
        self.entries.append(entry)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fault-schedule")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for entry in reversed(self._active):
            with contextlib.suppress(Exception):
                await entry.fault.end(entry.device)
        self._active.clear()

    async def _run(self) -> None:
        steps: list[tuple[float, int, ScheduledFault]] = []
        for entry in self.entries:
            steps.append((entry.start_s, 1, entry))
            if entry.end_s is not None:
                steps.append((entry.end_s, 0, entry))  # ends sort before begins at one time
        steps.sort(key=lambda step: (step[0], step[1]))
        for at_s, begins, entry in steps:
            wait = at_s - self.clock.now()
            if wait > 0:
                await self.clock.sleep(wait)
            what = (
                f"{entry.fault.name} {'begins' if begins else 'ends'} on {entry.device.device_id}"
            )
            try:
                if begins:
                    await entry.fault.begin(entry.device)
                    self._active.append(entry)
                else:
                    await entry.fault.end(entry.device)
                    self._active.remove(entry)
            except Exception:
                logger.exception("fault step failed: %s", what)
                continue
            self.log.append((self.clock.now(), what))
            logger.info("t=%.0f s: %s", self.clock.now(), what)
