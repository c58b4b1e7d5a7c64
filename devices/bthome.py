"""BTHome v2 advertisements (service data UUID 0xFCD2), decoded as a pure function.

Layout (bthome.io/format): one device-information byte (bit 0 encryption, bit 2
trigger-based device, bits 5-7 version, 2 for v2), then objects, each an object
id followed by a value of a fixed length that the id determines. Unencrypted
only unless a 16-byte bind key is given: encrypted frames carry the AES-CCM
ciphertext, a 4-byte counter and a 4-byte MIC after the info byte.

Why not wrap ``bthome-ble``: its parser is a stateful Home Assistant data
object (drops repeated packet ids, needs habluetooth service-info objects) and
logs and skips malformed frames instead of failing; here we need a pure
bytes-in/value-out function that raises FrameError with an offset. The tests
use bthome-ble as an independent oracle for the encoder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import FrameError

BTHOME_UUID = 0xFCD2
_NAME = "BTHome v2 service data"
_UUID_TEXT = "0xFCD2"

_INFO_ENCRYPTED = 0x01
_INFO_TRIGGER_BASED = 0x04
_INFO_VERSION_SHIFT = 5

BUTTON_EVENTS: dict[int, str | None] = {
    0x00: None,
    0x01: "press",
    0x02: "double_press",
    0x03: "triple_press",
    0x04: "long_press",
    0x05: "long_double_press",
    0x06: "long_triple_press",
    0x80: "hold_press",
    0x81: "hold_release",
}
_BUTTON_CODES = {name: code for code, name in BUTTON_EVENTS.items() if name is not None}


@dataclass(frozen=True)
class ObjectType:
    object_id: int
    name: str
    length: int
    kind: str  # "uint", "sint", "binary", "button", "raw"
    factor: float = 1
    unit: str | None = None  # UCUM


# Subset of the BTHome v2 object table: what home-care sensors send.
OBJECT_TYPES: dict[int, ObjectType] = {
    t.object_id: t
    for t in (
        ObjectType(0x00, "packet_id", 1, "uint"),
        ObjectType(0x01, "battery", 1, "uint", 1, "%"),
        ObjectType(0x02, "temperature", 2, "sint", 0.01, "Cel"),
        ObjectType(0x03, "humidity", 2, "uint", 0.01, "%"),
        ObjectType(0x0C, "voltage", 2, "uint", 0.001, "V"),
        ObjectType(0x0F, "generic_boolean", 1, "binary"),
        ObjectType(0x11, "opening", 1, "binary"),
        ObjectType(0x15, "battery_low", 1, "binary"),
        ObjectType(0x1A, "door", 1, "binary"),
        ObjectType(0x21, "motion", 1, "binary"),
        ObjectType(0x23, "occupancy", 1, "binary"),
        ObjectType(0x25, "presence", 1, "binary"),
        ObjectType(0x2D, "window", 1, "binary"),
        ObjectType(0x2E, "humidity", 1, "uint", 1, "%"),
        ObjectType(0x3A, "button", 1, "button"),
        ObjectType(0x45, "temperature", 2, "sint", 0.1, "Cel"),
        ObjectType(0xF0, "device_type_id", 2, "uint"),
        ObjectType(0xF1, "firmware_version", 4, "raw"),
        ObjectType(0xF2, "firmware_version", 3, "raw"),
    )
}
_FIELD_NAMES = tuple(dict.fromkeys(t.name for t in OBJECT_TYPES.values()))
_ID_BY_NAME = {
    "packet_id": 0x00,
    "battery": 0x01,
    "temperature": 0x02,
    "humidity": 0x03,
    "voltage": 0x0C,
    "generic_boolean": 0x0F,
    "opening": 0x11,
    "battery_low": 0x15,
    "door": 0x1A,
    "motion": 0x21,
    "occupancy": 0x23,
    "presence": 0x25,
    "window": 0x2D,
    "button": 0x3A,
}

Value = int | float | bool | str | None


@dataclass(frozen=True)
class BTHomeObject:
    object_id: int
    name: str
    value: Value
    unit: str | None


@dataclass(frozen=True)
class BTHomeAdvertisement:
    """Decoded BTHome v2 service data. Named accessors give the first object of a kind."""

    UUID: ClassVar[int] = BTHOME_UUID

    version: int
    encrypted: bool
    trigger_based: bool
    objects: tuple[BTHomeObject, ...]
    counter: int | None = None  # encryption counter, when encrypted

    def get(self, name: str) -> Value:
        return next((o.value for o in self.objects if o.name == name), None)

    @property
    def packet_id(self) -> int | None:
        return self.get("packet_id")  # type: ignore[return-value]

    @property
    def battery(self) -> int | None:
        return self.get("battery")  # type: ignore[return-value]

    @property
    def motion(self) -> bool | None:
        return self.get("motion")  # type: ignore[return-value]

    @property
    def units(self) -> dict[str, str]:
        return {o.name: o.unit for o in self.objects if o.unit}

    def as_dict(self) -> dict[str, Any]:
        """Every known field name, None where the advertisement did not carry it."""
        out: dict[str, Any] = dict.fromkeys(_FIELD_NAMES)
        for obj in reversed(self.objects):  # first occurrence wins
            out[obj.name] = obj.value
        return out


def _error(offset: int, reason: str) -> FrameError:
    return FrameError(_NAME, _UUID_TEXT, offset, reason)


def _mac_bytes(address: str) -> bytes:
    raw = bytes.fromhex(address.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a Bluetooth address: {address!r}")
    return raw


def _nonce(address: str, info: int, counter: bytes) -> bytes:
    return _mac_bytes(address) + BTHOME_UUID.to_bytes(2, "little") + bytes([info]) + counter


def _decode_value(t: ObjectType, raw: bytes, offset: int) -> Value:
    if t.kind == "raw":
        # firmware versions are sent least-significant component first
        return ".".join(str(b) for b in reversed(raw))
    number = int.from_bytes(raw, "little", signed=t.kind == "sint")
    if t.kind == "binary":
        if number > 1:
            raise _error(offset, f"{t.name} must be 0 or 1, got {number}")
        return bool(number)
    if t.kind == "button":
        if number not in BUTTON_EVENTS:
            raise _error(offset, f"unknown button event 0x{number:02X}")
        return BUTTON_EVENTS[number]
    if t.factor == 1:
        return number
    digits = len(str(t.factor).split(".")[1])
    return round(number * t.factor, digits)


def decode_bthome(
    service_data: bytes, *, key: bytes | None = None, address: str | None = None
) -> BTHomeAdvertisement:
    """Decode the value of the 0xFCD2 service data (without the UUID itself).

    Encrypted frames need ``key`` (16 bytes) and the advertiser's ``address``.
    """
    data = bytes(service_data)
    if not data:
        raise _error(0, "empty service data: missing device information byte")
    info = data[0]
    version = info >> _INFO_VERSION_SHIFT
    if version != 2:
        raise _error(0, f"unsupported BTHome version {version} (device info 0x{info:02X})")
    encrypted = bool(info & _INFO_ENCRYPTED)
    counter = None
    payload = data[1:]
    if encrypted:
        if len(payload) < 8:
            raise _error(1, "encrypted frame shorter than counter and MIC (8 bytes)")
        if key is None or address is None:
            raise _error(1, "encrypted frame and no bind key/address to decrypt it")
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM

        ciphertext, counter_bytes, mic = payload[:-8], payload[-8:-4], payload[-4:]
        try:
            payload = AESCCM(key, tag_length=4).decrypt(
                _nonce(address, info, counter_bytes), ciphertext + mic, None
            )
        except InvalidTag:
            raise _error(len(data) - 4, "MIC check failed: wrong key or corrupted frame") from None
        counter = int.from_bytes(counter_bytes, "little")

    objects: list[BTHomeObject] = []
    pos = 0
    while pos < len(payload):
        offset = pos + 1  # offset in service_data (encrypted: in the plaintext)
        object_id = payload[pos]
        t = OBJECT_TYPES.get(object_id)
        if t is None:
            # Lengths are implied by the id, so an unknown id makes the rest unreadable.
            raise _error(offset, f"unknown object id 0x{object_id:02X}")
        raw = payload[pos + 1 : pos + 1 + t.length]
        if len(raw) < t.length:
            raise _error(
                offset + 1, f"truncated {t.name}: needs {t.length} byte(s), {len(raw)} left"
            )
        objects.append(BTHomeObject(object_id, t.name, _decode_value(t, raw, offset + 1), t.unit))
        pos += 1 + t.length
    return BTHomeAdvertisement(
        version=2,
        encrypted=encrypted,
        trigger_based=bool(info & _INFO_TRIGGER_BASED),
        objects=tuple(objects),
        counter=counter,
    )


def _encode_value(t: ObjectType, value: Value) -> bytes:
    if t.kind == "binary":
        return bytes([1 if value else 0])
    if t.kind == "button":
        code = 0 if value is None else _BUTTON_CODES.get(str(value))
        if code is None:
            raise ValueError(f"unknown button event {value!r}")
        return bytes([code])
    if t.kind == "raw":
        parts = [int(p) for p in str(value).split(".")]
        return bytes(reversed(parts)).rjust(t.length, b"\0")
    if not isinstance(value, int | float):
        raise ValueError(f"{t.name} needs a number, got {value!r}")
    number = round(value / t.factor)
    return number.to_bytes(t.length, "little", signed=t.kind == "sint")


def encode_bthome(
    objects: Iterable[tuple[int | str, Value]],
    *,
    trigger_based: bool = False,
    key: bytes | None = None,
    address: str | None = None,
    counter: int = 0,
) -> bytes:
    """Service data for ``objects`` ((object id or field name, value)), sorted by id as the
    format asks. With ``key`` and ``address`` the frame is encrypted."""
    resolved: list[tuple[int, Value]] = []
    for ident, value in objects:
        object_id = _ID_BY_NAME[ident] if isinstance(ident, str) else ident
        if object_id not in OBJECT_TYPES:
            raise ValueError(f"unsupported BTHome object id 0x{object_id:02X}")
        resolved.append((object_id, value))
    body = b"".join(
        bytes([oid]) + _encode_value(OBJECT_TYPES[oid], v)
        for oid, v in sorted(resolved, key=lambda p: p[0])
    )
    info = (2 << _INFO_VERSION_SHIFT) | (_INFO_TRIGGER_BASED if trigger_based else 0)
    if key is None:
        return bytes([info]) + body
    if address is None:
        raise ValueError("encryption needs the advertiser address")
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    info |= _INFO_ENCRYPTED
    counter_bytes = counter.to_bytes(4, "little")
    sealed = AESCCM(key, tag_length=4).encrypt(_nonce(address, info, counter_bytes), body, None)
    return bytes([info]) + sealed[:-4] + counter_bytes + sealed[-4:]


def encode_motion(packet_id: int, battery: int, motion: bool) -> bytes:
    return encode_bthome([(0x00, packet_id), (0x01, battery), (0x21, motion)])


__all__: Sequence[str] = (
    "BTHOME_UUID",
    "BTHomeAdvertisement",
    "BTHomeObject",
    "decode_bthome",
    "encode_bthome",
    "encode_motion",
)
