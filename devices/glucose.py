"""Glucose: Glucose Measurement (0x2A18).

Flags uint8: bit0 time offset, bit1 concentration + type/sample location, bit2
concentration units mol/L (else kg/L), bit3 sensor status annunciation, bit4
context information follows. Fields: sequence number uint16, base time (Date
Time), time offset sint16 minutes, concentration SFLOAT, type (low nibble) and
sample location (high nibble) in one byte, sensor status annunciation uint16.
Concentrations are stored in mmol/L.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from ._fields import Specials, sfloat_bytes
from .date_time import DateTime, encode_date_time, read_date_time
from .gatt import _flag_names, _Reader
from .ieee11073 import SpecialValue

GLUCOSE_MEASUREMENT = 0x2A18
GLUCOSE_FEATURE = 0x2A51
RECORD_ACCESS_CONTROL_POINT = 0x2A52

GLUCOSE_MOLAR_MASS_G_PER_MOL = 180.16  # C6H12O6

_TIME_OFFSET = 0x01
_CONCENTRATION = 0x02
_MOL_PER_L = 0x04
_SENSOR_STATUS = 0x08
_CONTEXT_FOLLOWS = 0x10


class GlucoseSampleType(enum.Enum):
    CAPILLARY_WHOLE_BLOOD = 1
    CAPILLARY_PLASMA = 2
    VENOUS_WHOLE_BLOOD = 3
    VENOUS_PLASMA = 4
    ARTERIAL_WHOLE_BLOOD = 5
    ARTERIAL_PLASMA = 6
    UNDETERMINED_WHOLE_BLOOD = 7
    UNDETERMINED_PLASMA = 8
    INTERSTITIAL_FLUID = 9
    CONTROL_SOLUTION = 10


class GlucoseSampleLocation(enum.Enum):
    FINGER = 1
    ALTERNATE_SITE_TEST = 2
    EARLOBE = 3
    CONTROL_SOLUTION = 4
    NOT_AVAILABLE = 15


class GlucoseSensorStatus(enum.IntFlag):
    DEVICE_BATTERY_LOW = 1 << 0
    SENSOR_MALFUNCTION = 1 << 1
    SAMPLE_SIZE_INSUFFICIENT = 1 << 2
    STRIP_INSERTION_ERROR = 1 << 3
    STRIP_TYPE_INCORRECT = 1 << 4
    RESULT_TOO_HIGH = 1 << 5
    RESULT_TOO_LOW = 1 << 6
    TEMPERATURE_TOO_HIGH = 1 << 7
    TEMPERATURE_TOO_LOW = 1 << 8
    STRIP_PULLED_TOO_SOON = 1 << 9
    GENERAL_DEVICE_FAULT = 1 << 10
    TIME_FAULT = 1 << 11


@dataclass(frozen=True)
class GlucoseMeasurement:
    """``mmol_per_l`` is None when the concentration was absent or a special value;
    ``timestamp`` in ``as_dict`` is base time plus time offset."""

    UUID: ClassVar[int] = GLUCOSE_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {"glucose": "mmol/L"}

    sequence_number: int
    base_time: DateTime
    time_offset_min: int | None = None
    mmol_per_l: float | None = None
    sample_type: GlucoseSampleType | None = None
    sample_location: GlucoseSampleLocation | None = None
    sensor_status: GlucoseSensorStatus | None = None
    reported_in_mol_per_l: bool = False
    context_follows: bool = False
    special: SpecialValue | None = None

    @property
    def timestamp(self) -> _dt.datetime | None:
        base = self.base_time.to_datetime()
        if base is None:
            return None
        return base + _dt.timedelta(minutes=self.time_offset_min or 0)

    def as_dict(self) -> dict[str, Any]:
        timestamp = self.timestamp
        location = self.sample_location
        if location is GlucoseSampleLocation.NOT_AVAILABLE:
            location = None
        return {
            "glucose": self.mmol_per_l,
            "sequence_number": self.sequence_number,
            "timestamp": None if timestamp is None else timestamp.isoformat(),
            "sample_type": None if self.sample_type is None else self.sample_type.name.lower(),
            "sample_location": None if location is None else location.name.lower(),
            "sensor_status": _flag_names(self.sensor_status),
        }


def kg_per_l_to_mmol_per_l(kg_per_l: float) -> float:
    # kg/L -> g/L is x1000, g/L -> mol/L is / 180.16 g/mol (glucose), mol -> mmol x1000.
    return round(kg_per_l * 1e6 / GLUCOSE_MOLAR_MASS_G_PER_MOL, 3)


def mmol_per_l_to_kg_per_l(mmol_per_l: float) -> float:
    return mmol_per_l * GLUCOSE_MOLAR_MASS_G_PER_MOL / 1e6


def decode_glucose_measurement(payload: bytes) -> GlucoseMeasurement:
    r = _Reader(payload, "Glucose Measurement", GLUCOSE_MEASUREMENT)
    flags = r.take(1, "flags")
    sequence = r.take(2, "sequence number")
    base_time = read_date_time(r, "base time")
    offset = None
    if flags & _TIME_OFFSET:
        raw = r.take(2, "time offset")
        offset = raw - 0x10000 if raw & 0x8000 else raw
    mol = bool(flags & _MOL_PER_L)
    concentration = sample_type = location = None
    specials = Specials()
    if flags & _CONCENTRATION:
        value = specials.sfloat(r, "concentration")
        if value is not None:
            concentration = round(value * 1000, 3) if mol else kg_per_l_to_mmol_per_l(value)
        at = r.offset
        nibbles = r.take(1, "type and sample location")
        try:
            sample_type = GlucoseSampleType(nibbles & 0x0F)
        except ValueError:
            raise r.error(f"glucose type {nibbles & 0x0F} is reserved", at) from None
        try:
            location = GlucoseSampleLocation(nibbles >> 4)
        except ValueError:
            raise r.error(f"sample location {nibbles >> 4} is reserved", at) from None
    status = None
    if flags & _SENSOR_STATUS:
        status = GlucoseSensorStatus(r.take(2, "sensor status annunciation") & 0x0FFF)
    r.done()
    return GlucoseMeasurement(
        sequence_number=sequence,
        base_time=base_time,
        time_offset_min=offset,
        mmol_per_l=concentration,
        sample_type=sample_type,
        sample_location=location,
        sensor_status=status,
        reported_in_mol_per_l=mol,
        context_follows=bool(flags & _CONTEXT_FOLLOWS),
        special=specials.found[0][1] if specials.found else None,
    )


def encode_glucose_measurement(m: GlucoseMeasurement) -> bytes:
    """Encode. The concentration group is sent when a value, special or sample type is
    set (type and location default to undetermined whole blood / not available)."""
    concentration = m.mmol_per_l is not None or m.special is not None or m.sample_type is not None
    flags = (
        (_TIME_OFFSET if m.time_offset_min is not None else 0)
        | (_CONCENTRATION if concentration else 0)
        | (_MOL_PER_L if m.reported_in_mol_per_l else 0)
        | (_SENSOR_STATUS if m.sensor_status is not None else 0)
        | (_CONTEXT_FOLLOWS if m.context_follows else 0)
    )
    out = bytearray([flags]) + m.sequence_number.to_bytes(2, "little")
    out += encode_date_time(m.base_time)
    if m.time_offset_min is not None:
        out += m.time_offset_min.to_bytes(2, "little", signed=True)
    if concentration:
        value: float | SpecialValue | None = m.special
        if m.mmol_per_l is not None:
            value = (
                m.mmol_per_l / 1000
                if m.reported_in_mol_per_l
                else mmol_per_l_to_kg_per_l(m.mmol_per_l)
            )
        out += sfloat_bytes(value)
        sample_type = m.sample_type or GlucoseSampleType.UNDETERMINED_WHOLE_BLOOD
        location = m.sample_location or GlucoseSampleLocation.NOT_AVAILABLE
        out.append(sample_type.value | location.value << 4)
    if m.sensor_status is not None:
        out += int(m.sensor_status).to_bytes(2, "little")
    return bytes(out)
