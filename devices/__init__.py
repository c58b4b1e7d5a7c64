"""What a device says, as pure functions (see DESIGN.md).

``decode(characteristic, payload)`` turns a GATT characteristic value into a
typed, frozen value whose ``as_dict()`` gives plain numbers in UCUM/SI units;
``decode_bthome(service_data)`` does the same for BTHome v2 advertisements.
Anything that cannot be decoded raises :class:`FrameError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

DECODERS: dict[int, Callable[[bytes], Any]] = {
    HEART_RATE_MEASUREMENT: decode_heart_rate_measurement,
    PLX_CONTINUOUS_MEASUREMENT: decode_plx_continuous_measurement,
    BATTERY_LEVEL: decode_battery_level,
}
_NAMES = {
    "heart_rate_measurement": HEART_RATE_MEASUREMENT,
    "plx_continuous_measurement": PLX_CONTINUOUS_MEASUREMENT,
    "battery_level": BATTERY_LEVEL,
}
_SIG_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def characteristic_uuid16(characteristic: int | str) -> int | None:
    """16-bit UUID from an int, "2A37", "0x2A37", a full SIG-base UUID or a name."""
    if isinstance(characteristic, int):
        return characteristic
    text = characteristic.strip().lower()
    if text in _NAMES:
        return _NAMES[text]
    if text.endswith(_SIG_BASE_SUFFIX) and text.startswith("0000") and len(text) == 36:
        text = text[4:8]
    text = text.removeprefix("0x")
    if len(text) == 4:
        try:
            return int(text, 16)
        except ValueError:
            return None
    return None


def decode(characteristic: int | str, payload: bytes) -> Any:
    """Decode a characteristic value; unsupported characteristics raise FrameError."""
    uuid = characteristic_uuid16(characteristic)
    decoder = DECODERS.get(uuid) if uuid is not None else None
    if decoder is None:
        label = f"0x{uuid:04X}" if uuid is not None else str(characteristic)
        raise FrameError("unsupported characteristic", label, 0, "no decoder for it")
    return decoder(payload)


__all__ = [
    "BATTERY_LEVEL",
    "BTHOME_UUID",
    "CATALOGUE",
    "DECODERS",
    "HEART_RATE_MEASUREMENT",
    "PLX_CONTINUOUS_MEASUREMENT",
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
    "decode_bthome",
    "device_kind",
    "encode_battery_level",
    "encode_bthome",
    "encode_heart_rate_measurement",
    "encode_plx_continuous_measurement",
]
