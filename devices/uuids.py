"""UUIDs as plain ints: 16-bit SIG-assigned numbers and Anxin's own 128-bit UUIDs.

A characteristic is identified everywhere (decoder table, catalogue, radio
notifications) by one int: the 16-bit assigned number for Bluetooth SIG UUIDs,
the full 128-bit value for custom ones. The two ranges cannot collide, because
a 128-bit UUID that is a SIG-base UUID is always reduced to its 16-bit number.
"""

from __future__ import annotations

import uuid as _uuid

SIG_BASE = _uuid.UUID("00000000-0000-1000-8000-00805f9b34fb").int
_SIG_BASE_MASK = (1 << 128) - 1 - (0xFFFFFFFF << 96)

# Anxin's vendor base, "a9e1XXXX-3c4f-4e5b-8f1d-6b0a2c7d9e53": a random (version 4)
# UUID with bits 96..111 used as a 16-bit alias, the same scheme as the SIG base.
ANXIN_BASE = _uuid.UUID("a9e10000-3c4f-4e5b-8f1d-6b0a2c7d9e53").int


def anxin_uuid(alias: int) -> int:
    """The 128-bit Anxin UUID whose 16-bit alias is ``alias``."""
    if not 0 <= alias <= 0xFFFF:
        raise ValueError(f"alias must fit 16 bits, got {alias:#x}")
    return ANXIN_BASE | (alias << 96)


def uuid_key(value: int | str) -> int | None:
    """The int that identifies a UUID given as int, "2A37", "0x2A37" or a 36-character
    string; a SIG-base 128-bit UUID becomes its 16-bit number. None if not a UUID."""
    if isinstance(value, int):
        return value if 0 <= value < 1 << 128 else None
    text = value.strip().lower().removeprefix("0x")
    if len(text) == 4:
        try:
            return int(text, 16)
        except ValueError:
            return None
    if len(text) != 36:
        return None
    try:
        number = _uuid.UUID(text).int
    except ValueError:
        return None
    if number & _SIG_BASE_MASK == SIG_BASE and number >> 112 == 0:
        return (number >> 96) & 0xFFFF
    return number


def uuid_string(value: int) -> str:
    """Full lower-case 36-character form, 16-bit numbers expanded on the SIG base."""
    if 0 <= value <= 0xFFFF:
        value = SIG_BASE | (value << 96)
    return str(_uuid.UUID(int=value))


def uuid_label(value: int) -> str:
    """Short form for messages: "0x2A37" or the full 128-bit string."""
    if not 0 <= value < 1 << 128:
        return str(value)
    return f"0x{value:04X}" if value <= 0xFFFF else uuid_string(value)
