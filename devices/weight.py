"""Weight Scale: Weight Measurement (0x2A9D).

Flags uint8: bit0 imperial units (lb, in) instead of SI (kg, m), bit1 time stamp,
bit2 user id, bit3 BMI and height. Fields: weight uint16 (SI 0.005 kg, imperial
0.01 lb; 0xFFFF = measurement unsuccessful), time stamp (Date Time), user id
uint8 (255 = unknown), BMI uint16 (0.1 kg/m²), height uint16 (SI 0.001 m,
imperial 0.1 in). Everything is converted to kg and m here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ._fields import user_id_or_none
from .date_time import DateTime, encode_date_time, read_date_time
from .gatt import _Reader

WEIGHT_MEASUREMENT = 0x2A9D
WEIGHT_SCALE_FEATURE = 0x2A9E

KG_PER_LB = 0.45359237  # exact by definition
M_PER_IN = 0.0254  # exact by definition
MEASUREMENT_UNSUCCESSFUL = 0xFFFF

_IMPERIAL = 0x01
_TIMESTAMP = 0x02
_USER_ID = 0x04
_BMI_HEIGHT = 0x08


@dataclass(frozen=True)
class WeightMeasurement:
    """Weight in kg (None: the scale reported an unsuccessful measurement), height in m."""

    UUID: ClassVar[int] = WEIGHT_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {"body_weight": "kg", "bmi": "kg/m2", "height": "m"}

    kilograms: float | None
    timestamp: DateTime | None = None
    user_id: int | None = None
    bmi: float | None = None
    height_m: float | None = None
    imperial: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "body_weight": self.kilograms,
            "bmi": self.bmi,
            "height": self.height_m,
            "timestamp": None if self.timestamp is None else self.timestamp.iso(),
            "user_id": self.user_id,
        }


def decode_weight_measurement(payload: bytes) -> WeightMeasurement:
    r = _Reader(payload, "Weight Measurement", WEIGHT_MEASUREMENT)
    flags = r.take(1, "flags")
    imperial = bool(flags & _IMPERIAL)
    raw_weight = r.take(2, "weight")
    kilograms: float | None = None
    if raw_weight != MEASUREMENT_UNSUCCESSFUL:
        # Integer arithmetic first keeps SI weights exact (14400 * 5 / 1000 == 72.0).
        kilograms = round(raw_weight / 100 * KG_PER_LB, 4) if imperial else raw_weight * 5 / 1000
    timestamp = read_date_time(r, "time stamp") if flags & _TIMESTAMP else None
    user_id = user_id_or_none(r.take(1, "user id")) if flags & _USER_ID else None
    bmi = height = None
    if flags & _BMI_HEIGHT:
        bmi = r.take(2, "BMI") / 10
        raw_height = r.take(2, "height")
        height = round(raw_height / 10 * M_PER_IN, 4) if imperial else raw_height / 1000
    r.done()
    return WeightMeasurement(kilograms, timestamp, user_id, bmi, height, imperial)


def encode_weight_measurement(m: WeightMeasurement) -> bytes:
    """Encode, rounding to the resolution of the chosen units. BMI and height go
    together: both must be set or neither."""
    if (m.bmi is None) != (m.height_m is None):
        raise ValueError("BMI and height are sent together: set both or neither")
    flags = (
        (_IMPERIAL if m.imperial else 0)
        | (_TIMESTAMP if m.timestamp is not None else 0)
        | (_USER_ID if m.user_id is not None else 0)
        | (_BMI_HEIGHT if m.bmi is not None else 0)
    )
    if m.kilograms is None:
        raw_weight = MEASUREMENT_UNSUCCESSFUL
    elif m.imperial:
        raw_weight = round(m.kilograms / KG_PER_LB * 100)
    else:
        raw_weight = round(m.kilograms * 200)
    out = bytearray([flags]) + raw_weight.to_bytes(2, "little")
    if m.timestamp is not None:
        out += encode_date_time(m.timestamp)
    if m.user_id is not None:
        out.append(m.user_id)
    if m.bmi is not None and m.height_m is not None:
        out += round(m.bmi * 10).to_bytes(2, "little")
        raw_height = round(m.height_m / M_PER_IN * 10) if m.imperial else round(m.height_m * 1000)
        out += raw_height.to_bytes(2, "little")
    return bytes(out)
