"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit) medical floats.

Both are ``mantissa * 10**exponent`` with two's-complement fields: SFLOAT has a
4-bit exponent and 12-bit mantissa, FLOAT an 8-bit exponent and 24-bit
mantissa. With exponent 0, five mantissas are reserved as special values (NaN,
NRes, +INF, -INF, reserved); they decode to a :class:`SpecialValue`, never a
number. Per 11073-20601 the special values exist only with exponent 0; the same
mantissa with another exponent is an ordinary number.
"""

from __future__ import annotations

import enum
import math


class SpecialValue(enum.Enum):
    NAN = "NaN"
    NRES = "NRes"  # not at this resolution
    POSITIVE_INFINITY = "+INF"
    NEGATIVE_INFINITY = "-INF"
    RESERVED = "reserved"


# Special values as raw integers (exponent field 0).
SFLOAT_SPECIALS: dict[int, SpecialValue] = {
    0x07FF: SpecialValue.NAN,
    0x0800: SpecialValue.NRES,
    0x07FE: SpecialValue.POSITIVE_INFINITY,
    0x0802: SpecialValue.NEGATIVE_INFINITY,
    0x0801: SpecialValue.RESERVED,
}
FLOAT_SPECIALS: dict[int, SpecialValue] = {
    0x007FFFFF: SpecialValue.NAN,
    0x00800000: SpecialValue.NRES,
    0x007FFFFE: SpecialValue.POSITIVE_INFINITY,
    0x00800002: SpecialValue.NEGATIVE_INFINITY,
    0x00800001: SpecialValue.RESERVED,
}
_SFLOAT_RAW = {v: k for k, v in SFLOAT_SPECIALS.items()}
_FLOAT_RAW = {v: k for k, v in FLOAT_SPECIALS.items()}

SFLOAT_MANTISSA_MAX = 2045  # 2046, 2047 and -2046..-2048 collide with specials at exp 0
FLOAT_MANTISSA_MAX = 0x007FFFFD


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _scale(mantissa: int, exponent: int) -> float:
    # Division for negative exponents keeps 975e-1 == 97.5 exactly as a float.
    if exponent < 0:
        return mantissa / 10 ** (-exponent)
    return float(mantissa * 10**exponent)


def sfloat_parts(raw: int) -> tuple[int, int] | SpecialValue:
    """Split a raw 16-bit SFLOAT into ``(mantissa, exponent)`` or a special value."""
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"SFLOAT raw value out of range: {raw!r}")
    if raw in SFLOAT_SPECIALS:
        return SFLOAT_SPECIALS[raw]
    return _signed(raw & 0x0FFF, 12), _signed(raw >> 12, 4)


def float_parts(raw: int) -> tuple[int, int] | SpecialValue:
    """Split a raw 32-bit FLOAT into ``(mantissa, exponent)`` or a special value."""
    if not 0 <= raw <= 0xFFFFFFFF:
        raise ValueError(f"FLOAT raw value out of range: {raw!r}")
    if raw in FLOAT_SPECIALS:
        return FLOAT_SPECIALS[raw]
    return _signed(raw & 0x00FFFFFF, 24), _signed(raw >> 24, 8)


def decode_sfloat(raw: int) -> float | SpecialValue:
    parts = sfloat_parts(raw)
    return parts if isinstance(parts, SpecialValue) else _scale(*parts)


def decode_float(raw: int) -> float | SpecialValue:
    parts = float_parts(raw)
    return parts if isinstance(parts, SpecialValue) else _scale(*parts)


def value_or_none(decoded: float | SpecialValue) -> float | None:
    """The number, or None where the device sent a special value."""
    return None if isinstance(decoded, SpecialValue) else decoded


def _choose(value: float, mantissa_max: int, exp_min: int, exp_max: int) -> tuple[int, int]:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}; pass a SpecialValue instead")
    for exponent in range(exp_min, exp_max + 1):
        scaled = value * 10 ** (-exponent) if exponent <= 0 else value / 10**exponent
        mantissa = round(scaled)
        if abs(mantissa) <= mantissa_max:
            # Strip trailing zeros so 98.0 is 98e0, not 980e-1.
            while exponent < 0 and mantissa % 10 == 0:
                mantissa //= 10
                exponent += 1
            return mantissa, exponent
    raise ValueError(f"{value!r} is too large for this format")


def encode_sfloat(value: float | SpecialValue) -> int:
    """Raw 16-bit SFLOAT for ``value`` with the finest exponent that fits (rounds)."""
    if isinstance(value, SpecialValue):
        return _SFLOAT_RAW[value]
    mantissa, exponent = _choose(value, SFLOAT_MANTISSA_MAX, -8, 7)
    return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)


def encode_float(value: float | SpecialValue) -> int:
    """Raw 32-bit FLOAT for ``value`` with the finest exponent that fits (rounds)."""
    if isinstance(value, SpecialValue):
        return _FLOAT_RAW[value]
    mantissa, exponent = _choose(value, FLOAT_MANTISSA_MAX, -128, 127)
    return ((exponent & 0xFF) << 24) | (mantissa & 0x00FFFFFF)
