"""Body Sensor Location (0x2A38): one uint8, read beside the Heart Rate Measurement."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from .gatt import _Reader

BODY_SENSOR_LOCATION = 0x2A38


class SensorLocation(enum.Enum):
    """Values 7-255 are reserved."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


@dataclass(frozen=True)
class BodySensorLocation:
    UUID: ClassVar[int] = BODY_SENSOR_LOCATION
    UNITS: ClassVar[dict[str, str]] = {}

    location: SensorLocation

    def as_dict(self) -> dict[str, Any]:
        return {"body_sensor_location": self.location.name.lower()}


def decode_body_sensor_location(payload: bytes) -> BodySensorLocation:
    r = _Reader(payload, "Body Sensor Location", BODY_SENSOR_LOCATION)
    raw = r.take(1, "body sensor location")
    r.done()
    try:
        return BodySensorLocation(SensorLocation(raw))
    except ValueError:
        raise r.error(f"body sensor location {raw} is reserved", 0) from None


def encode_body_sensor_location(value: BodySensorLocation | SensorLocation) -> bytes:
    location = value.location if isinstance(value, BodySensorLocation) else value
    return bytes([location.value])
