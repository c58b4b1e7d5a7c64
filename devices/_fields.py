"""Field helpers shared by the health-profile decoders in this package."""

from __future__ import annotations

from .gatt import _Reader
from .ieee11073 import (
    SpecialValue,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)

UNKNOWN_USER = 0xFF  # BP and weight "user id": 255 means unknown user


class Specials:
    """Collects (field, special value) pairs while a frame's floats are read."""

    def __init__(self) -> None:
        self.found: list[tuple[str, SpecialValue]] = []

    def sfloat(self, r: _Reader, name: str) -> float | None:
        return self._keep(name, decode_sfloat(r.take(2, name)))

    def float32(self, r: _Reader, name: str) -> float | None:
        return self._keep(name, decode_float(r.take(4, name)))

    def _keep(self, name: str, decoded: float | SpecialValue) -> float | None:
        if isinstance(decoded, SpecialValue):
            self.found.append((name, decoded))
            return None
        return decoded

    def as_tuple(self) -> tuple[tuple[str, SpecialValue], ...]:
        return tuple(self.found)


def sfloat_bytes(value: float | SpecialValue | None) -> bytes:
    """SFLOAT bytes; None (no value) is sent as NaN."""
    return encode_sfloat(SpecialValue.NAN if value is None else value).to_bytes(2, "little")


def float_bytes(value: float | SpecialValue | None) -> bytes:
    return encode_float(SpecialValue.NAN if value is None else value).to_bytes(4, "little")


def user_id_or_none(raw: int) -> int | None:
    return None if raw == UNKNOWN_USER else raw


def special_of(specials: tuple[tuple[str, SpecialValue], ...], name: str) -> SpecialValue | None:
    return next((s for n, s in specials if n == name), None)
