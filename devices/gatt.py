"""Bluetooth SIG GATT characteristics: pure decoders and encoders.

Heart Rate Measurement (0x2A37), PLX Continuous Measurement (0x2A5F) and
Battery Level (0x2A19). Decoders take the characteristic value exactly as
notified or read and return frozen dataclasses; anything truncated, oversized
or inconsistent raises :class:`FrameError`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import FrameError
from .ieee11073 import SpecialValue, decode_sfloat, encode_sfloat, value_or_none

HEART_RATE_MEASUREMENT = 0x2A37
PLX_CONTINUOUS_MEASUREMENT = 0x2A5F
BATTERY_LEVEL = 0x2A19

RR_RESOLUTION_S = 1 / 1024  # RR intervals are sent in units of 1/1024 s


class _Reader:
    """Cursor over a frame that raises FrameError naming the field it was after."""

    def __init__(self, payload: bytes, name: str, uuid: int) -> None:
        self.payload = bytes(payload)
        self.name = name
        self.uuid = f"0x{uuid:04X}"
        self.offset = 0

    def error(self, reason: str, offset: int | None = None) -> FrameError:
        return FrameError(self.name, self.uuid, self.offset if offset is None else offset, reason)

    def take(self, size: int, what: str) -> int:
        end = self.offset + size
        if end > len(self.payload):
            raise self.error(
                f"truncated {what}: needs {size} byte(s), {len(self.payload) - self.offset} left"
            )
        value = int.from_bytes(self.payload[self.offset : end], "little")
        self.offset = end
        return value

    @property
    def remaining(self) -> int:
        return len(self.payload) - self.offset

    def done(self) -> None:
        if self.remaining:
            raise self.error(f"{self.remaining} unexpected trailing byte(s)")


# --------------------------------------------------------------------------- heart rate


class SensorContact(enum.Enum):
    NOT_SUPPORTED = "not_supported"
    NOT_DETECTED = "not_detected"
    DETECTED = "detected"


@dataclass(frozen=True)
class HeartRateMeasurement:
    """Heart Rate Measurement (0x2A37). ``rr_intervals_1024`` keeps the raw 1/1024 s units."""

    UUID: ClassVar[int] = HEART_RATE_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {
        "heart_rate": "/min",
        "rr_intervals": "s",
        "energy_expended": "kJ",
    }

    heart_rate: int
    sensor_contact: SensorContact = SensorContact.NOT_SUPPORTED
    energy_expended_kj: int | None = None
    rr_intervals_1024: tuple[int, ...] = ()
    uint16_format: bool = False

    @property
    def rr_intervals_s(self) -> tuple[float, ...]:
        return tuple(rr * RR_RESOLUTION_S for rr in self.rr_intervals_1024)

    def as_dict(self) -> dict[str, Any]:
        return {
            "heart_rate": self.heart_rate,
            "sensor_contact": self.sensor_contact.value,
            "energy_expended": self.energy_expended_kj,
            "rr_intervals": list(self.rr_intervals_s),
        }


_HR_FLAG_UINT16 = 0x01
_HR_FLAG_CONTACT_DETECTED = 0x02
_HR_FLAG_CONTACT_SUPPORTED = 0x04
_HR_FLAG_ENERGY = 0x08
_HR_FLAG_RR = 0x10


def decode_heart_rate_measurement(payload: bytes) -> HeartRateMeasurement:
    r = _Reader(payload, "Heart Rate Measurement", HEART_RATE_MEASUREMENT)
    # Reserved (RFU) bits are ignored as the SIG asks of receivers; a future field
    # they announce would still show up as unexpected trailing bytes.
    flags = r.take(1, "flags")
    uint16 = bool(flags & _HR_FLAG_UINT16)
    heart_rate = r.take(2 if uint16 else 1, "heart rate value")
    if not flags & _HR_FLAG_CONTACT_SUPPORTED:
        contact = SensorContact.NOT_SUPPORTED
    elif flags & _HR_FLAG_CONTACT_DETECTED:
        contact = SensorContact.DETECTED
    else:
        contact = SensorContact.NOT_DETECTED
    energy = r.take(2, "energy expended") if flags & _HR_FLAG_ENERGY else None
    rr: list[int] = []
    if flags & _HR_FLAG_RR:
        if r.remaining == 0:
            raise r.error("RR-interval flag set but no RR interval present")
        while r.remaining:
            rr.append(r.take(2, "RR interval"))
    r.done()
    return HeartRateMeasurement(
        heart_rate=heart_rate,
        sensor_contact=contact,
        energy_expended_kj=energy,
        rr_intervals_1024=tuple(rr),
        uint16_format=uint16,
    )


def rr_seconds_to_1024(seconds: float) -> int:
    return max(0, min(0xFFFF, round(seconds * 1024)))


def encode_heart_rate_measurement(m: HeartRateMeasurement) -> bytes:
    uint16 = m.uint16_format or m.heart_rate > 0xFF
    flags = _HR_FLAG_UINT16 if uint16 else 0
    if m.sensor_contact is not SensorContact.NOT_SUPPORTED:
        flags |= _HR_FLAG_CONTACT_SUPPORTED
        if m.sensor_contact is SensorContact.DETECTED:
            flags |= _HR_FLAG_CONTACT_DETECTED
    if m.energy_expended_kj is not None:
        flags |= _HR_FLAG_ENERGY
    if m.rr_intervals_1024:
        flags |= _HR_FLAG_RR
    out = bytearray([flags])
    out += m.heart_rate.to_bytes(2 if uint16 else 1, "little")
    if m.energy_expended_kj is not None:
        out += m.energy_expended_kj.to_bytes(2, "little")
    for rr in m.rr_intervals_1024:
        out += rr.to_bytes(2, "little")
    return bytes(out)


# --------------------------------------------------------------------------- pulse oximeter


class PlxMeasurementStatus(enum.IntFlag):
    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT = 1 << 14
    INVALID_MEASUREMENT = 1 << 15


class PlxDeviceSensorStatus(enum.IntFlag):
    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY = 1 << 2
    INADEQUATE_SIGNAL = 1 << 3
    POOR_SIGNAL = 1 << 4
    LOW_PERFUSION = 1 << 5
    ERRATIC_SIGNAL = 1 << 6
    NONPULSATILE_SIGNAL = 1 << 7
    QUESTIONABLE_PULSE = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


@dataclass(frozen=True)
class PlxContinuousMeasurement:
    """PLX Continuous Measurement (0x2A5F); None wherever the device sent a special value
    or left the optional field out. ``specials`` names the fields that carried one."""

    UUID: ClassVar[int] = PLX_CONTINUOUS_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {
        "spo2": "%",
        "pulse_rate": "/min",
        "spo2_fast": "%",
        "pulse_rate_fast": "/min",
        "spo2_slow": "%",
        "pulse_rate_slow": "/min",
        "pulse_amplitude_index": "%",
    }

    spo2: float | None
    pulse_rate: float | None
    spo2_fast: float | None = None
    pulse_rate_fast: float | None = None
    spo2_slow: float | None = None
    pulse_rate_slow: float | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_sensor_status: PlxDeviceSensorStatus | None = None
    pulse_amplitude_index: float | None = None
    specials: tuple[tuple[str, SpecialValue], ...] = field(default=(), compare=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "spo2": self.spo2,
            "pulse_rate": self.pulse_rate,
            "spo2_fast": self.spo2_fast,
            "pulse_rate_fast": self.pulse_rate_fast,
            "spo2_slow": self.spo2_slow,
            "pulse_rate_slow": self.pulse_rate_slow,
            "measurement_status": _flag_names(self.measurement_status),
            "device_sensor_status": _flag_names(self.device_sensor_status),
            "pulse_amplitude_index": self.pulse_amplitude_index,
        }


def _flag_names(flags: enum.IntFlag | None) -> list[str] | None:
    if flags is None:
        return None
    return sorted(member.name.lower() for member in type(flags) if member in flags and member.name)


_PLX_FAST = 0x01
_PLX_SLOW = 0x02
_PLX_MEAS_STATUS = 0x04
_PLX_DEV_STATUS = 0x08
_PLX_PAI = 0x10


def decode_plx_continuous_measurement(payload: bytes) -> PlxContinuousMeasurement:
    r = _Reader(payload, "PLX Continuous Measurement", PLX_CONTINUOUS_MEASUREMENT)
    flags = r.take(1, "flags")
    values: dict[str, float | None] = {}
    specials: list[tuple[str, SpecialValue]] = []

    def sfloat(name: str) -> None:
        decoded = decode_sfloat(r.take(2, name))
        if isinstance(decoded, SpecialValue):
            specials.append((name, decoded))
        values[name] = value_or_none(decoded)

    sfloat("spo2")
    sfloat("pulse_rate")
    if flags & _PLX_FAST:
        sfloat("spo2_fast")
        sfloat("pulse_rate_fast")
    if flags & _PLX_SLOW:
        sfloat("spo2_slow")
        sfloat("pulse_rate_slow")
    meas_status = None
    if flags & _PLX_MEAS_STATUS:
        meas_status = PlxMeasurementStatus(r.take(2, "measurement status") & 0xFFE0)
    dev_status = None
    if flags & _PLX_DEV_STATUS:
        dev_status = PlxDeviceSensorStatus(r.take(3, "device and sensor status") & 0x00FFFF)
    if flags & _PLX_PAI:
        sfloat("pulse_amplitude_index")
    r.done()
    return PlxContinuousMeasurement(
        **values,
        measurement_status=meas_status,
        device_sensor_status=dev_status,
        specials=tuple(specials),
    )


def _sfloat_bytes(value: float | None) -> bytes:
    raw = encode_sfloat(SpecialValue.NAN if value is None else value)
    return raw.to_bytes(2, "little")


def encode_plx_continuous_measurement(m: PlxContinuousMeasurement) -> bytes:
    """Encode; a None value in a present field is sent as NaN. Optional pairs are sent
    when either member is set."""
    fast = m.spo2_fast is not None or m.pulse_rate_fast is not None
    slow = m.spo2_slow is not None or m.pulse_rate_slow is not None
    flags = (
        (_PLX_FAST if fast else 0)
        | (_PLX_SLOW if slow else 0)
        | (_PLX_MEAS_STATUS if m.measurement_status is not None else 0)
        | (_PLX_DEV_STATUS if m.device_sensor_status is not None else 0)
        | (_PLX_PAI if m.pulse_amplitude_index is not None else 0)
    )
    out = bytearray([flags])
    out += _sfloat_bytes(m.spo2) + _sfloat_bytes(m.pulse_rate)
    if fast:
        out += _sfloat_bytes(m.spo2_fast) + _sfloat_bytes(m.pulse_rate_fast)
    if slow:
        out += _sfloat_bytes(m.spo2_slow) + _sfloat_bytes(m.pulse_rate_slow)
    if m.measurement_status is not None:
        out += int(m.measurement_status).to_bytes(2, "little")
    if m.device_sensor_status is not None:
        out += int(m.device_sensor_status).to_bytes(3, "little")
    if m.pulse_amplitude_index is not None:
        out += _sfloat_bytes(m.pulse_amplitude_index)
    return bytes(out)


# --------------------------------------------------------------------------- battery


@dataclass(frozen=True)
class BatteryLevel:
    UUID: ClassVar[int] = BATTERY_LEVEL
    UNITS: ClassVar[dict[str, str]] = {"battery": "%"}

    percent: int

    def as_dict(self) -> dict[str, Any]:
        return {"battery": self.percent}


def decode_battery_level(payload: bytes) -> BatteryLevel:
    r = _Reader(payload, "Battery Level", BATTERY_LEVEL)
    level = r.take(1, "battery level")
    r.done()
    if level > 100:
        raise r.error(f"battery level {level} % is above 100 (values 101-255 are reserved)", 0)
    return BatteryLevel(level)


def encode_battery_level(level: BatteryLevel | int) -> bytes:
    percent = level.percent if isinstance(level, BatteryLevel) else level
    if not 0 <= percent <= 100:
        raise ValueError(f"battery level must be 0-100 %, got {percent}")
    return bytes([percent])
