"""Temperature Measurement (0x2A1C) and Temperature Type (0x2A1D) against frames worked
out by hand from the Bluetooth SIG Health Thermometer Service specification.

Flags: bit0 Fahrenheit, bit1 time stamp, bit2 temperature type. The value is a 32-bit
IEEE-11073 FLOAT: exponent in the top byte, 24-bit mantissa below, little-endian.
36.6 = mantissa 366 = 0x00016E, exponent -1 = 0xFF -> 0xFF00016E -> "6E 01 00 FF".
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices import FrameError, decode
from anxin.devices.date_time import DateTime
from anxin.devices.ieee11073 import SpecialValue
from anxin.devices.thermometer import (
    TemperatureMeasurement,
    TemperatureType,
    decode_temperature_measurement,
    encode_temperature_measurement,
    encode_temperature_type,
)


def test_celsius_no_options():
    m = decode(0x2A1C, bytes.fromhex("00 6E0100FF"))
    assert m == TemperatureMeasurement(36.6)
    assert m.as_dict() == {"body_temperature": 36.6, "timestamp": None, "temperature_type": None}


def test_fahrenheit_converted_to_celsius():
    # flags 01; 98.6 °F = 986 = 0x0003DA, exp -1 -> "DA 03 00 FF"; (98.6 - 32) * 5/9 = 37.0
    m = decode(0x2A1C, bytes.fromhex("01 DA0300FF"))
    assert m.celsius == 37.0 and m.reported_in_fahrenheit
    # 100.4 °F = 1004 = 0x0003EC -> "EC 03 00 FF" = 38.0 °C (fever threshold)
    assert decode(0x2A1C, bytes.fromhex("01 EC0300FF")).as_dict()["body_temperature"] == 38.0


def test_all_flags_on():
    # flags 07 = °F + time stamp + type; 98.6 °F; time stamp 2024-12-31 23:59:59:
    # 2024 = 0x07E8 -> "E8 07", 0x0C, 0x1F, 0x17, 0x3B, 0x3B; type 6 = mouth
    frame = bytes.fromhex("07 DA0300FF E807 0C 1F 17 3B 3B 06")
    m = decode_temperature_measurement(frame)
    assert m.as_dict() == {
        "body_temperature": 37.0,
        "timestamp": "2024-12-31T23:59:59",
        "temperature_type": "mouth",
    }
    assert encode_temperature_measurement(m) == frame


@pytest.mark.parametrize(
    ("hexframe", "field", "value"),
    [
        # time stamp alone (flags 02): 2000-01-01 00:00:00 ("D0 07" = 2000)
        ("02 6E0100FF D007 01 01 00 00 00", "timestamp", "2000-01-01T00:00:00"),
        # a time stamp with year 0 (unknown) has no ISO form
        ("02 6E0100FF 0000 01 01 00 00 00", "timestamp", None),
        # type alone (flags 04): 1 = armpit, 9 = tympanum
        ("04 6E0100FF 01", "temperature_type", "armpit"),
        ("04 6E0100FF 09", "temperature_type", "tympanum"),
    ],
)
def test_each_optional_field_alone(hexframe, field, value):
    d = decode(0x2A1C, bytes.fromhex(hexframe)).as_dict()
    assert d[field] == value and d["body_temperature"] == 36.6


def test_positive_exponent_and_negative_mantissa():
    # mantissa -5 = 0xFFFFFB (24-bit two's complement), exponent 0 -> "FB FF FF 00" = -5.0
    assert decode(0x2A1C, bytes.fromhex("00 FBFFFF00")).celsius == -5.0


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        ("FFFF7F00", SpecialValue.NAN),  # 0x007FFFFF
        ("00008000", SpecialValue.NRES),  # 0x00800000
        ("FEFF7F00", SpecialValue.POSITIVE_INFINITY),  # 0x007FFFFE
        ("02008000", SpecialValue.NEGATIVE_INFINITY),  # 0x00800002
    ],
)
@pytest.mark.parametrize("flags", ["00", "01"])
def test_specials_give_none_in_both_units(raw, special, flags):
    m = decode(0x2A1C, bytes.fromhex(flags + raw))
    assert m.celsius is None and m.special is special
    assert m.as_dict()["body_temperature"] is None
    assert encode_temperature_measurement(m) == bytes.fromhex(flags + raw)


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "flags"),
        ("00 6E0100", 1, "temperature"),
        ("02 6E0100FF E807", 5, "time stamp"),
        ("04 6E0100FF", 5, "temperature type"),
        ("04 6E0100FF 00", 5, "reserved"),  # type 0 is reserved
        ("04 6E0100FF 0A", 5, "reserved"),  # so are 10-255
        ("00 6E0100FF 00", 5, "trailing"),
        ("02 6E0100FF E807 01 00 00 3C 00", 10, "minutes"),  # minutes 60: byte 5 + 5
    ],
)
def test_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode(0x2A1C, bytes.fromhex(hexframe))
    assert info.value.offset == offset and words in info.value.reason
    assert "Temperature Measurement (0x2A1C)" in str(info.value)


def test_temperature_type_characteristic():
    assert decode(0x2A1D, b"\x03").as_dict() == {"temperature_type": "ear"}
    assert encode_temperature_type(TemperatureType.RECTUM) == b"\x07"
    with pytest.raises(FrameError, match="Temperature Type"):
        decode(0x2A1D, b"\x0b")
    with pytest.raises(FrameError, match="trailing"):
        decode(0x2A1D, b"\x02\x02")


@given(
    st.integers(3400, 4300).map(lambda c: c / 100),
    st.booleans(),
    st.none() | st.sampled_from(list(TemperatureType)),
    st.none() | st.just(DateTime(2024, 2, 29, 7, 0, 0)),
)
def test_round_trip(celsius, fahrenheit, kind, ts):
    m = TemperatureMeasurement(celsius, ts, kind, fahrenheit)
    back = decode_temperature_measurement(encode_temperature_measurement(m))
    assert back.celsius == pytest.approx(celsius, abs=0.006)  # °F sent to 0.01
    assert (back.timestamp, back.temperature_type) == (ts, kind)
