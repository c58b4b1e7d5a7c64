"""Bluetooth LE advertising data (AD structures): parse and build, pure functions."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import FrameError

AD_FLAGS = 0x01
AD_INCOMPLETE_16_BIT_UUIDS = 0x02
AD_COMPLETE_16_BIT_UUIDS = 0x03
AD_SHORT_LOCAL_NAME = 0x08
AD_COMPLETE_LOCAL_NAME = 0x09
AD_SERVICE_DATA_16_BIT = 0x16

FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED = 0x06
FLAGS_BR_EDR_NOT_SUPPORTED = 0x04


def _error(offset: int, reason: str) -> FrameError:
    return FrameError("Advertising data", "AD", offset, reason)


def parse_ad_structures(data: bytes) -> list[tuple[int, bytes]]:
    """``[(ad_type, value), ...]``; a zero length byte ends the data (padding)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0:
            break
        if pos + 1 + length > len(data):
            raise _error(pos, f"AD structure of length {length} runs past the end")
        out.append((data[pos + 1], bytes(data[pos + 2 : pos + 1 + length])))
        pos += 1 + length
    return out


def service_data_16(data: bytes) -> dict[int, bytes]:
    """Service data by 16-bit UUID; the last structure wins if one repeats."""
    out: dict[int, bytes] = {}
    for ad_type, value in parse_ad_structures(data):
        if ad_type == AD_SERVICE_DATA_16_BIT:
            if len(value) < 2:
                raise _error(0, "service data shorter than its 16-bit UUID")
            out[int.from_bytes(value[:2], "little")] = value[2:]
    return out


def local_name(data: bytes) -> str | None:
    for ad_type, value in parse_ad_structures(data):
        if ad_type in (AD_COMPLETE_LOCAL_NAME, AD_SHORT_LOCAL_NAME):
            return value.decode("utf-8", errors="replace")
    return None


def build_ad(structures: Iterable[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for ad_type, value in structures:
        if len(value) > 254:
            raise ValueError(f"AD structure 0x{ad_type:02X} too long ({len(value)} bytes)")
        out += bytes([len(value) + 1, ad_type]) + value
    return bytes(out)


def connectable_ad(name: str, service_uuids: Iterable[int]) -> bytes:
    """Flags, 16-bit service UUID list and complete local name."""
    uuids = b"".join(u.to_bytes(2, "little") for u in service_uuids)
    return build_ad(
        [
            (AD_FLAGS, bytes([FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED])),
            (AD_COMPLETE_16_BIT_UUIDS, uuids),
            (AD_COMPLETE_LOCAL_NAME, name.encode()),
        ]
    )


def service_data_ad(uuid16: int, payload: bytes, name: str | None = None) -> bytes:
    structures = [
        (AD_FLAGS, bytes([FLAGS_BR_EDR_NOT_SUPPORTED])),
        (AD_SERVICE_DATA_16_BIT, uuid16.to_bytes(2, "little") + payload),
    ]
    if name:
        structures.append((AD_COMPLETE_LOCAL_NAME, name.encode()))
    return build_ad(structures)
