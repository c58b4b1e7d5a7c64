"""What a device says, as pure functions (see DESIGN.md).

``decode(characteristic, payload)`` turns a GATT characteristic value into a
typed, frozen value whose ``as_dict()`` gives plain numbers in UCUM/SI units;
``decode_bthome(service_data)`` does the same for BTHome v2 advertisements.
Anything that cannot be decoded raises :class:`FrameError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .accelerometer import (
    ACCELERATION_SAMPLES,
    ACCELEROMETER_SERVICE,
    AccelerometerFrame,
    decode_accelerometer_frame,
    encode_accelerometer_frame,
)
from .bthome import BTHOME_UUID, BTHomeAdvertisement, decode_bthome, encode_bthome
from .catalogue import CATALOGUE, DeviceKind, device_kind
from .errors import FrameError
from .gatt import (
    BATTERY_LEVEL,
    HEART_RATE_MEASUREMENT,
    PLX_CONTINUOUS_MEASUREMENT,
    BatteryLevel,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    SensorContact,
    decode_battery_level,
    decode_heart_rate_measurement,
    decode_plx_continuous_measurement,
    encode_battery_level,
    encode_heart_rate_measurement,
    encode_plx_continuous_measurement,
)
from .ieee11073 import SpecialValue
from .profiles import PROFILE_DECODERS, PROFILE_NAMES
from .uuids import uuid_key, uuid_label

DECODERS: dict[int, Callable[[bytes], Any]] = {
    HEART_RATE_MEASUREMENT: decode_heart_rate_measurement,
    PLX_CONTINUOUS_MEASUREMENT: decode_plx_continuous_measurement,
    BATTERY_LEVEL: decode_battery_level,
    **PROFILE_DECODERS,  # BP, thermometer, weight, glucose, PLX spot-check, ...
    ACCELERATION_SAMPLES: decode_accelerometer_frame,  # 128-bit UUIDs are keyed by their int
}
_NAMES = {
    "heart_rate_measurement": HEART_RATE_MEASUREMENT,
    "plx_continuous_measurement": PLX_CONTINUOUS_MEASUREMENT,
    "battery_level": BATTERY_LEVEL,
    **PROFILE_NAMES,
    "acceleration_samples": ACCELERATION_SAMPLES,
}


def characteristic_uuid16(characteristic: int | str) -> int | None:
    """16-bit UUID from an int, "2A37", "0x2A37", a full SIG-base UUID or a name; a custom
    128-bit UUID string gives its 128-bit int (see ``uuids.uuid_key``)."""
    if isinstance(characteristic, int):
        return characteristic
    text = characteristic.strip().lower()
    if text in _NAMES:
        return _NAMES[text]
    return uuid_key(text)


def decode(characteristic: int | str, payload: bytes) -> Any:
    """Decode a characteristic value; unsupported characteristics raise FrameError."""
    uuid = characteristic_uuid16(characteristic)
    decoder = DECODERS.get(uuid) if uuid is not None else None
    if decoder is None:
        label = uuid_label(uuid) if uuid is not None else str(characteristic)
        raise FrameError("unsupported characteristic", label, 0, "no decoder for it")
    return decoder(payload)


__all__ = [
    "ACCELERATION_SAMPLES",
    "ACCELEROMETER_SERVICE",
    "BATTERY_LEVEL",
    "BTHOME_UUID",
    "CATALOGUE",
    "DECODERS",
    "HEART_RATE_MEASUREMENT",
    "PLX_CONTINUOUS_MEASUREMENT",
    "AccelerometerFrame",
    "BTHomeAdvertisement",
    "BatteryLevel",
    "DeviceKind",
    "FrameError",
    "HeartRateMeasurement",
    "PlxContinuousMeasurement",
    "SensorContact",
    "SpecialValue",
    "characteristic_uuid16",
    "decode",
    "decode_accelerometer_frame",
    "decode_bthome",
    "device_kind",
    "encode_accelerometer_frame",
    "encode_battery_level",
    "encode_bthome",
    "encode_heart_rate_measurement",
    "encode_plx_continuous_measurement",
]
