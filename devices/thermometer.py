"""Health Thermometer: Temperature Measurement (0x2A1C) and Temperature Type (0x2A1D).

0x2A1C: flags uint8 (bit0 units Fahrenheit, bit1 time stamp, bit2 temperature
type), temperature as a 32-bit IEEE-11073 FLOAT, then time stamp (Date Time) and
temperature type uint8. Fahrenheit is converted to Celsius here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from ._fields import Specials, float_bytes, special_of
from .date_time import DateTime, encode_date_time, read_date_time
from .gatt import _Reader
from .ieee11073 import SpecialValue

TEMPERATURE_MEASUREMENT = 0x2A1C
TEMPERATURE_TYPE = 0x2A1D

_FAHRENHEIT = 0x01
_TIMESTAMP = 0x02
_TYPE = 0x04


class TemperatureType(enum.Enum):
    """Where the temperature was taken (0 and 10-255 are reserved)."""

    ARMPIT = 1
    BODY = 2
    EAR = 3  # usually the earlobe
    FINGER = 4
    GASTROINTESTINAL_TRACT = 5
    MOUTH = 6
    RECTUM = 7
    TOE = 8
    TYMPANUM = 9  # ear drum


@dataclass(frozen=True)
class TemperatureMeasurement:
    UUID: ClassVar[int] = TEMPERATURE_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {"body_temperature": "Cel"}

    celsius: float | None
    timestamp: DateTime | None = None
    temperature_type: TemperatureType | None = None
    reported_in_fahrenheit: bool = False
    special: SpecialValue | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "body_temperature": self.celsius,
            "timestamp": None if self.timestamp is None else self.timestamp.iso(),
            "temperature_type": None
            if self.temperature_type is None
            else self.temperature_type.name.lower(),
        }


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    # Rounded to 1/1000 °C: finer than any thermometer, and 98.6 °F gives 37.0, not 36.99999…
    return round((fahrenheit - 32.0) * 5.0 / 9.0, 3)


def celsius_to_fahrenheit(celsius: float) -> float:
    return celsius * 9.0 / 5.0 + 32.0


def _read_type(r: _Reader) -> TemperatureType:
    at = r.offset
    raw = r.take(1, "temperature type")
    try:
        return TemperatureType(raw)
    except ValueError:
        raise r.error(f"temperature type {raw} is reserved", at) from None


def decode_temperature_measurement(payload: bytes) -> TemperatureMeasurement:
    r = _Reader(payload, "Temperature Measurement", TEMPERATURE_MEASUREMENT)
    flags = r.take(1, "flags")
    fahrenheit = bool(flags & _FAHRENHEIT)
    specials = Specials()
    value = specials.float32(r, "temperature")
    timestamp = read_date_time(r, "time stamp") if flags & _TIMESTAMP else None
    kind = _read_type(r) if flags & _TYPE else None
    r.done()
    if fahrenheit and value is not None:
        value = fahrenheit_to_celsius(value)
    return TemperatureMeasurement(
        celsius=value,
        timestamp=timestamp,
        temperature_type=kind,
        reported_in_fahrenheit=fahrenheit,
        special=special_of(specials.as_tuple(), "temperature"),
    )


def encode_temperature_measurement(m: TemperatureMeasurement) -> bytes:
    """Encode; with ``reported_in_fahrenheit`` the value is sent in °F (rounded to 0.01)."""
    flags = (
        (_FAHRENHEIT if m.reported_in_fahrenheit else 0)
        | (_TIMESTAMP if m.timestamp is not None else 0)
        | (_TYPE if m.temperature_type is not None else 0)
    )
    value: float | SpecialValue | None = m.celsius if m.celsius is not None else m.special
    if isinstance(value, float | int) and m.reported_in_fahrenheit:
        value = round(celsius_to_fahrenheit(value), 2)
    out = bytearray([flags]) + float_bytes(value)
    if m.timestamp is not None:
        out += encode_date_time(m.timestamp)
    if m.temperature_type is not None:
        out.append(m.temperature_type.value)
    return bytes(out)


@dataclass(frozen=True)
class TemperatureTypeValue:
    """Temperature Type (0x2A1D), the readable characteristic beside the measurement."""

    UUID: ClassVar[int] = TEMPERATURE_TYPE
    UNITS: ClassVar[dict[str, str]] = {}

    temperature_type: TemperatureType

    def as_dict(self) -> dict[str, Any]:
        return {"temperature_type": self.temperature_type.name.lower()}


def decode_temperature_type(payload: bytes) -> TemperatureTypeValue:
    r = _Reader(payload, "Temperature Type", TEMPERATURE_TYPE)
    kind = _read_type(r)
    r.done()
    return TemperatureTypeValue(kind)


def encode_temperature_type(kind: TemperatureType) -> bytes:
    return bytes([kind.value])
