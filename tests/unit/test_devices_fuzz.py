"""Every decoder, fed arbitrary bytes, returns a value or raises FrameError: nothing else."""

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from anxin.devices import DECODERS, FrameError, decode, decode_bthome
from anxin.devices.advertising import service_data_16
from anxin.devices.gatt import (
    HeartRateMeasurement,
    SensorContact,
    decode_heart_rate_measurement,
    encode_heart_rate_measurement,
)
from anxin.devices.profiles import PROFILE_DECODERS

CHARACTERISTICS = sorted(DECODERS)


@settings(max_examples=400)
@given(st.sampled_from(CHARACTERISTICS), st.binary(max_size=40))
def test_gatt_decoders_accept_or_raise_frame_error(uuid, payload):
    try:
        value = decode(uuid, payload)
    except FrameError as err:
        assert err.offset >= 0 and err.reason
        return
    assert isinstance(value.as_dict(), dict)


@settings(max_examples=400)
@given(st.binary(max_size=40))
def test_bthome_decoder_accepts_or_raises_frame_error(payload):
    try:
        value = decode_bthome(payload)
    except FrameError:
        return
    assert isinstance(value.as_dict(), dict)


@settings(max_examples=200)
@given(st.binary(max_size=40))
def test_bthome_with_version_byte(payload):
    with contextlib.suppress(FrameError):
        decode_bthome(b"\x40" + payload)


@settings(max_examples=200)
@given(st.binary(max_size=60))
def test_advertising_parser(payload):
    with contextlib.suppress(FrameError):
        service_data_16(payload)


@given(
    st.integers(0, 0xFFFF),
    st.sampled_from(list(SensorContact)),
    st.none() | st.integers(0, 0xFFFF),
    st.lists(st.integers(0, 0xFFFF), max_size=8),
)
def test_heart_rate_round_trip(hr, contact, energy, rr):
    m = HeartRateMeasurement(hr, contact, energy, tuple(rr), uint16_format=hr > 255)
    assert decode_heart_rate_measurement(encode_heart_rate_measurement(m)) == m


@settings(max_examples=600)
@given(st.sampled_from(sorted(PROFILE_DECODERS)), st.integers(0, 0x1F), st.binary(max_size=30))
def test_health_profile_decoders_with_every_flag_combination(uuid, flags, rest):
    """BP, cuff, PLX spot-check, thermometer, weight, glucose, date time, body sensor
    location: the low five flag bits drive their optional fields, so try them all."""
    try:
        value = decode(uuid, bytes([flags]) + rest)
    except FrameError as err:
        assert err.offset >= 0 and err.reason and err.uuid == f"0x{uuid:04X}"
        return
    assert isinstance(value.as_dict(), dict)
