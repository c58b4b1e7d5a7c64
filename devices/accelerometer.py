"""Anxin waist-worn accelerometer: a 128-bit custom GATT service streaming 50 Hz.

Service        a9e10100-3c4f-4e5b-8f1d-6b0a2c7d9e53  (Anxin Motion)
Characteristic a9e10101-3c4f-4e5b-8f1d-6b0a2c7d9e53  (Acceleration Samples, notify)

Frame (all little-endian):

    offset 0  uint16  frame sequence number, +1 per frame, wraps at 65535 -> 0
    offset 2  uint8   sample count N (1..MAX_SAMPLES)
    offset 3  uint8   range code: 0 = ±2 g, 1 = ±4 g, 2 = ±8 g, 3 = ±16 g
    offset 4  N x (int16 x, int16 y, int16 z), milli-g, oldest sample first,
              each within the declared range

Samples are taken at SAMPLE_RATE_HZ (50 Hz); a notification normally carries
SAMPLES_PER_FRAME (10), i.e. 5 notifications per second and 64-byte values, so
the link needs an ATT MTU of at least 67 (the gateway asks for ATT_MTU).
Gravity is included: a still, upright wearer reads about 1 g in magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import FrameError
from .uuids import anxin_uuid, uuid_string

ACCELEROMETER_SERVICE = anxin_uuid(0x0100)
ACCELERATION_SAMPLES = anxin_uuid(0x0101)

SAMPLE_RATE_HZ = 50
SAMPLES_PER_FRAME = 10
HEADER_LENGTH = 4
SAMPLE_LENGTH = 6
ATT_MTU = 247
MAX_SAMPLES = (ATT_MTU - 3 - HEADER_LENGTH) // SAMPLE_LENGTH  # 40: fills one notification
RANGES_G: dict[int, int] = {0: 2, 1: 4, 2: 8, 3: 16}
_RANGE_CODES = {g: code for code, g in RANGES_G.items()}

_NAME = "Anxin Acceleration Samples"
_UUID_TEXT = uuid_string(ACCELERATION_SAMPLES)

Sample = tuple[int, int, int]


def _error(offset: int, reason: str) -> FrameError:
    return FrameError(_NAME, _UUID_TEXT, offset, reason)


@dataclass(frozen=True)
class AccelerometerFrame:
    """One notification: consecutive samples in milli-g, sensor frame."""

    sequence: int
    range_g: int
    samples: tuple[Sample, ...]

    @property
    def samples_g(self) -> tuple[tuple[float, float, float], ...]:
        return tuple((x / 1000, y / 1000, z / 1000) for x, y, z in self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "sample_rate_hz": SAMPLE_RATE_HZ,
            "range_g": self.range_g,
            "samples": [list(s) for s in self.samples_g],
        }


def decode_accelerometer_frame(payload: bytes) -> AccelerometerFrame:
    data = bytes(payload)
    if len(data) < HEADER_LENGTH:
        raise _error(len(data), f"truncated header: {len(data)} of {HEADER_LENGTH} bytes")
    count, code = data[2], data[3]
    if count == 0:
        raise _error(2, "sample count is 0")
    if count > MAX_SAMPLES:
        raise _error(2, f"sample count {count} exceeds the maximum of {MAX_SAMPLES}")
    if code not in RANGES_G:
        raise _error(3, f"unknown range code {code}")
    expected = HEADER_LENGTH + count * SAMPLE_LENGTH
    if len(data) != expected:
        raise _error(
            min(len(data), expected),
            f"{count} samples need {expected} bytes, frame has {len(data)}",
        )
    full_scale = RANGES_G[code] * 1000
    samples: list[Sample] = []
    for i in range(count):
        offset = HEADER_LENGTH + i * SAMPLE_LENGTH
        x, y, z = (
            int.from_bytes(data[offset + k : offset + k + 2], "little", signed=True)
            for k in (0, 2, 4)
        )
        if max(abs(x), abs(y), abs(z)) > full_scale:
            raise _error(offset, f"sample {i} ({x}, {y}, {z}) mg outside ±{RANGES_G[code]} g")
        samples.append((x, y, z))
    return AccelerometerFrame(
        sequence=int.from_bytes(data[0:2], "little"),
        range_g=RANGES_G[code],
        samples=tuple(samples),
    )


def encode_accelerometer_frame(frame: AccelerometerFrame) -> bytes:
    if frame.range_g not in _RANGE_CODES:
        raise ValueError(f"range must be one of {sorted(_RANGE_CODES)} g, got {frame.range_g}")
    if not 1 <= len(frame.samples) <= MAX_SAMPLES:
        raise ValueError(f"1..{MAX_SAMPLES} samples per frame, got {len(frame.samples)}")
    full_scale = frame.range_g * 1000
    out = bytearray(frame.sequence.to_bytes(2, "little"))
    out += bytes([len(frame.samples), _RANGE_CODES[frame.range_g]])
    for sample in frame.samples:
        for value in sample:
            if abs(value) > full_scale:
                raise ValueError(f"{value} mg outside ±{frame.range_g} g")
            out += value.to_bytes(2, "little", signed=True)
    return bytes(out)


def frame_from_g(
    sequence: int, samples_g: list[tuple[float, float, float]], range_g: int = 16
) -> AccelerometerFrame:
    """A frame from samples in g, clipped to the range as the sensor saturates."""
    full_scale = range_g * 1000
    samples = tuple(
        tuple(max(-full_scale, min(full_scale, round(v * 1000))) for v in s)  # type: ignore[misc]
        for s in samples_g
    )
    return AccelerometerFrame(sequence & 0xFFFF, range_g, samples)  # type: ignore[arg-type]
