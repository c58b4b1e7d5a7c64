"""Anxin accelerometer frames: hand-made byte vectors, errors, and the decode() entry."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices import DECODERS, FrameError, decode
from anxin.devices.accelerometer import (
    ACCELERATION_SAMPLES,
    ACCELEROMETER_SERVICE,
    MAX_SAMPLES,
    AccelerometerFrame,
    decode_accelerometer_frame,
    encode_accelerometer_frame,
    frame_from_g,
)
from anxin.devices.catalogue import device_kind
from anxin.devices.uuids import uuid_key, uuid_string

CHAR_TEXT = "a9e10101-3c4f-4e5b-8f1d-6b0a2c7d9e53"

# sequence 0x0102, 2 samples, range code 3 (±16 g);
# (0, -1000, 250) mg and (-16000, 16000, 1) mg, each int16 little-endian
TWO_SAMPLES = bytes.fromhex("02010203000018fcfa0080c1803e0100")


def test_uuids_are_the_documented_128_bit_strings():
    assert uuid_string(ACCELERATION_SAMPLES) == CHAR_TEXT
    assert uuid_string(ACCELEROMETER_SERVICE) == "a9e10100-3c4f-4e5b-8f1d-6b0a2c7d9e53"
    assert uuid_key(CHAR_TEXT.upper()) == ACCELERATION_SAMPLES
    assert uuid_key("00002a37-0000-1000-8000-00805f9b34fb") == 0x2A37


def test_hand_made_frame():
    frame = decode_accelerometer_frame(TWO_SAMPLES)
    assert frame == AccelerometerFrame(0x0102, 16, ((0, -1000, 250), (-16000, 16000, 1)))
    assert frame.as_dict() == {
        "sequence": 258,
        "sample_rate_hz": 50,
        "range_g": 16,
        "samples": [[0.0, -1.0, 0.25], [-16.0, 16.0, 0.001]],
    }
    assert encode_accelerometer_frame(frame) == TWO_SAMPLES


@pytest.mark.parametrize("characteristic", [CHAR_TEXT, CHAR_TEXT.upper(), ACCELERATION_SAMPLES])
def test_decode_entry_point_takes_the_128_bit_uuid(characteristic):
    assert decode(characteristic, TWO_SAMPLES).sequence == 0x0102
    assert ACCELERATION_SAMPLES in DECODERS


def test_unknown_128_bit_uuid_is_named():
    with pytest.raises(FrameError, match="a9e10199"):
        decode("a9e10199-3c4f-4e5b-8f1d-6b0a2c7d9e53", TWO_SAMPLES)


@pytest.mark.parametrize(
    ("payload", "offset", "reason"),
    [
        (b"\x01\x00\x01", 3, "truncated header"),
        (bytes.fromhex("00000003"), 2, "sample count is 0"),
        (bytes.fromhex("0000") + bytes([MAX_SAMPLES + 1, 3]), 2, "exceeds the maximum"),
        (bytes.fromhex("00000104") + bytes(6), 3, "unknown range code 4"),
        (TWO_SAMPLES[:-1], 15, "2 samples need 16 bytes, frame has 15"),
        (TWO_SAMPLES + b"\x00", 16, "2 samples need 16 bytes, frame has 17"),
        # ±2 g range (code 0) but x = 2001 mg
        (bytes.fromhex("00000100d10700000000"), 4, "outside ±2 g"),
    ],
)
def test_bad_frames(payload, offset, reason):
    with pytest.raises(FrameError, match=reason) as info:
        decode_accelerometer_frame(payload)
    assert info.value.offset == offset
    assert CHAR_TEXT in str(info.value)


def test_frame_from_g_saturates_and_wraps_sequence():
    frame = frame_from_g(65536 + 7, [(0.0, -1.0, 20.0)], range_g=16)
    assert frame.sequence == 7 and frame.samples == ((0, -1000, 16000),)


sample = st.tuples(*[st.integers(-8000, 8000)] * 3)


@given(st.integers(0, 0xFFFF), st.lists(sample, min_size=1, max_size=MAX_SAMPLES))
def test_round_trip(sequence, samples):
    frame = AccelerometerFrame(sequence, 8, tuple(samples))
    encoded = encode_accelerometer_frame(frame)
    assert len(encoded) == 4 + 6 * len(samples)
    assert decode_accelerometer_frame(encoded) == frame


def test_catalogue_entry():
    kind = device_kind("accelerometer_wearable")
    assert kind.connectable and kind.nominal_interval_s == pytest.approx(0.2)
    assert kind.streamed_characteristics == (ACCELERATION_SAMPLES,)
    assert 0x2A19 in kind.readable_characteristics
    assert kind.att_mtu >= 4 + 6 * 10 + 3
