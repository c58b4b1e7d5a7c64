"""Blood Pressure Measurement (0x2A35) and Intermediate Cuff Pressure (0x2A36).

Both share one layout: flags uint8 (bit0 units kPa, bit1 time stamp, bit2 pulse
rate, bit3 user id, bit4 measurement status), three SFLOATs (systolic, diastolic,
mean arterial pressure; in 0x2A36 the first is the current cuff pressure and the
other two are unused), then the optional fields in flag order: time stamp
(Date Time), pulse rate SFLOAT, user id uint8 (255 = unknown), measurement
status uint16. Pressures are converted to mmHg here; RFU flag bits are ignored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from ._fields import UNKNOWN_USER, Specials, sfloat_bytes, special_of, user_id_or_none
from .date_time import DateTime, encode_date_time, read_date_time
from .gatt import _Reader
from .ieee11073 import SpecialValue

BLOOD_PRESSURE_MEASUREMENT = 0x2A35
INTERMEDIATE_CUFF_PRESSURE = 0x2A36
BLOOD_PRESSURE_FEATURE = 0x2A49

KPA_PER_MMHG = 0.133322387415  # 1 mmHg = 133.322387415 Pa (exact by definition)

_UNITS_KPA = 0x01
_TIMESTAMP = 0x02
_PULSE_RATE = 0x04
_USER_ID = 0x08
_STATUS = 0x10


class PulseRateRange(enum.Enum):
    WITHIN_RANGE = 0
    EXCEEDS_UPPER_LIMIT = 1
    BELOW_LOWER_LIMIT = 2


@dataclass(frozen=True)
class BloodPressureStatus:
    """Measurement Status (uint16): bits 0-2 and 5 are flags, bits 3-4 the pulse-rate range."""

    body_movement: bool = False
    cuff_too_loose: bool = False
    irregular_pulse: bool = False
    pulse_rate_range: PulseRateRange = PulseRateRange.WITHIN_RANGE
    improper_position: bool = False

    @property
    def raw(self) -> int:
        return (
            int(self.body_movement)
            | int(self.cuff_too_loose) << 1
            | int(self.irregular_pulse) << 2
            | self.pulse_rate_range.value << 3
            | int(self.improper_position) << 5
        )

    def names(self) -> list[str]:
        names = [
            name
            for name, on in (
                ("body_movement", self.body_movement),
                ("cuff_too_loose", self.cuff_too_loose),
                ("irregular_pulse", self.irregular_pulse),
                ("improper_measurement_position", self.improper_position),
            )
            if on
        ]
        if self.pulse_rate_range is PulseRateRange.EXCEEDS_UPPER_LIMIT:
            names.append("pulse_rate_exceeds_upper_limit")
        elif self.pulse_rate_range is PulseRateRange.BELOW_LOWER_LIMIT:
            names.append("pulse_rate_below_lower_limit")
        return sorted(names)


@dataclass(frozen=True)
class BloodPressureMeasurement:
    """Blood Pressure Measurement (0x2A35), pressures in mmHg whatever the device sent.

    ``None`` where the field was absent or carried a special value; ``specials``
    names the fields that carried one. ``reported_in_kpa`` records the device's unit.
    """

    UUID: ClassVar[int] = BLOOD_PRESSURE_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {
        "systolic": "mm[Hg]",
        "diastolic": "mm[Hg]",
        "mean_arterial_pressure": "mm[Hg]",
        "pulse_rate": "/min",
    }

    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    timestamp: DateTime | None = None
    pulse_rate: float | None = None
    user_id: int | None = None
    status: BloodPressureStatus | None = None
    reported_in_kpa: bool = False
    specials: tuple[tuple[str, SpecialValue], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "systolic": self.systolic,
            "diastolic": self.diastolic,
            "mean_arterial_pressure": self.mean_arterial_pressure,
        } | _reading_context(self)


@dataclass(frozen=True)
class IntermediateCuffPressure:
    """Intermediate Cuff Pressure (0x2A36): the cuff pressure while a measurement runs."""

    UUID: ClassVar[int] = INTERMEDIATE_CUFF_PRESSURE
    UNITS: ClassVar[dict[str, str]] = {"cuff_pressure": "mm[Hg]", "pulse_rate": "/min"}

    cuff_pressure: float | None
    timestamp: DateTime | None = None
    pulse_rate: float | None = None
    user_id: int | None = None
    status: BloodPressureStatus | None = None
    reported_in_kpa: bool = False
    specials: tuple[tuple[str, SpecialValue], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"cuff_pressure": self.cuff_pressure} | _reading_context(self)


def _reading_context(
    reading: BloodPressureMeasurement | IntermediateCuffPressure,
) -> dict[str, Any]:
    """The fields both blood-pressure characteristics carry besides the pressures."""
    return {
        "pulse_rate": reading.pulse_rate,
        "timestamp": None if reading.timestamp is None else reading.timestamp.iso(),
        "user_id": reading.user_id,
        "measurement_status": None if reading.status is None else reading.status.names(),
    }


def kpa_to_mmhg(kpa: float) -> float:
    return round(kpa / KPA_PER_MMHG, 2)


def mmhg_to_kpa(mmhg: float) -> float:
    return mmhg * KPA_PER_MMHG


def _decode(payload: bytes, name: str, uuid: int) -> dict[str, Any]:
    r = _Reader(payload, name, uuid)
    flags = r.take(1, "flags")
    kpa = bool(flags & _UNITS_KPA)
    specials = Specials()
    fields: dict[str, Any] = {"reported_in_kpa": kpa}
    for key in ("systolic", "diastolic", "mean_arterial_pressure"):
        value = specials.sfloat(r, key)
        fields[key] = kpa_to_mmhg(value) if kpa and value is not None else value
    if flags & _TIMESTAMP:
        fields["timestamp"] = read_date_time(r, "time stamp")
    if flags & _PULSE_RATE:
        fields["pulse_rate"] = specials.sfloat(r, "pulse_rate")
    if flags & _USER_ID:
        fields["user_id"] = user_id_or_none(r.take(1, "user id"))
    if flags & _STATUS:
        at = r.offset
        raw = r.take(2, "measurement status")
        pulse_range = (raw >> 3) & 0x03
        if pulse_range == 3:
            raise r.error("measurement status: pulse rate range value 3 is reserved", at)
        fields["status"] = BloodPressureStatus(
            body_movement=bool(raw & 0x01),
            cuff_too_loose=bool(raw & 0x02),
            irregular_pulse=bool(raw & 0x04),
            pulse_rate_range=PulseRateRange(pulse_range),
            improper_position=bool(raw & 0x20),
        )
    r.done()
    fields["specials"] = specials.as_tuple()
    return fields


def decode_blood_pressure_measurement(payload: bytes) -> BloodPressureMeasurement:
    fields = _decode(payload, "Blood Pressure Measurement", BLOOD_PRESSURE_MEASUREMENT)
    return BloodPressureMeasurement(**fields)


def decode_intermediate_cuff_pressure(payload: bytes) -> IntermediateCuffPressure:
    fields = _decode(payload, "Intermediate Cuff Pressure", INTERMEDIATE_CUFF_PRESSURE)
    # The diastolic and MAP fields are unused in this characteristic (sent as NaN).
    fields["cuff_pressure"] = fields.pop("systolic")
    del fields["diastolic"], fields["mean_arterial_pressure"]
    fields["specials"] = tuple(
        ("cuff_pressure" if n == "systolic" else n, s)
        for n, s in fields["specials"]
        if n not in ("diastolic", "mean_arterial_pressure")
    )
    return IntermediateCuffPressure(**fields)


def _encode(
    pressures: tuple[tuple[str, float | None], ...],
    m: BloodPressureMeasurement | IntermediateCuffPressure,
) -> bytes:
    flags = (
        (_UNITS_KPA if m.reported_in_kpa else 0)
        | (_TIMESTAMP if m.timestamp is not None else 0)
        | (_PULSE_RATE if m.pulse_rate is not None or special_of(m.specials, "pulse_rate") else 0)
        | (_USER_ID if m.user_id is not None else 0)
        | (_STATUS if m.status is not None else 0)
    )
    out = bytearray([flags])
    for key, value in pressures:
        if value is not None and m.reported_in_kpa:
            value = mmhg_to_kpa(value)
        out += sfloat_bytes(value if value is not None else special_of(m.specials, key))
    if m.timestamp is not None:
        out += encode_date_time(m.timestamp)
    if flags & _PULSE_RATE:
        out += sfloat_bytes(
            m.pulse_rate if m.pulse_rate is not None else special_of(m.specials, "pulse_rate")
        )
    if m.user_id is not None:
        out.append(m.user_id)
    if m.status is not None:
        out += m.status.raw.to_bytes(2, "little")
    return bytes(out)


def encode_blood_pressure_measurement(m: BloodPressureMeasurement) -> bytes:
    """Encode; a field that is None is sent as its recorded special value, else NaN.
    kPa values are rounded to what an SFLOAT holds. Pass ``user_id=None`` to omit the
    field; an unknown user is user id 255."""
    return _encode(
        (
            ("systolic", m.systolic),
            ("diastolic", m.diastolic),
            ("mean_arterial_pressure", m.mean_arterial_pressure),
        ),
        m,
    )


def encode_intermediate_cuff_pressure(m: IntermediateCuffPressure) -> bytes:
    return _encode(
        (
            ("cuff_pressure", m.cuff_pressure),
            ("diastolic", None),
            ("mean_arterial_pressure", None),
        ),
        m,
    )


__all__ = [
    "BLOOD_PRESSURE_FEATURE",
    "BLOOD_PRESSURE_MEASUREMENT",
    "INTERMEDIATE_CUFF_PRESSURE",
    "UNKNOWN_USER",
    "BloodPressureMeasurement",
    "BloodPressureStatus",
    "IntermediateCuffPressure",
    "PulseRateRange",
    "decode_blood_pressure_measurement",
    "decode_intermediate_cuff_pressure",
    "encode_blood_pressure_measurement",
    "encode_intermediate_cuff_pressure",
    "kpa_to_mmhg",
]
