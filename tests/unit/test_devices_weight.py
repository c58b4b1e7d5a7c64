"""Weight Measurement (0x2A9D) against frames worked out by hand from the Bluetooth SIG
Weight Scale Service specification.

Flags: bit0 imperial, bit1 time stamp, bit2 user id, bit3 BMI and height. Weight is
uint16 in 0.005 kg (SI) or 0.01 lb (imperial); BMI uint16 in 0.1 kg/m²; height uint16
in 0.001 m (SI) or 0.1 in (imperial).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices import FrameError, decode
from anxin.devices.date_time import DateTime
from anxin.devices.weight import (
    WeightMeasurement,
    decode_weight_measurement,
    encode_weight_measurement,
)


def test_si_weight_only():
    # 72.0 kg / 0.005 = 14400 = 0x3840 -> "40 38"
    m = decode(0x2A9D, bytes.fromhex("00 4038"))
    assert m == WeightMeasurement(72.0)
    assert m.as_dict() == {
        "body_weight": 72.0,
        "bmi": None,
        "height": None,
        "timestamp": None,
        "user_id": None,
    }


def test_si_all_flags():
    # flags 0E = time stamp + user id + BMI/height; 72.0 kg; 2024-05-01 07:05:00;
    # user 1; BMI 24.9 = 249 = 0x00F9 -> "F9 00"; height 1.700 m = 1700 = 0x06A4 -> "A4 06"
    frame = bytes.fromhex("0E 4038 E807 05 01 07 05 00 01 F900 A406")
    m = decode_weight_measurement(frame)
    assert m.as_dict() == {
        "body_weight": 72.0,
        "bmi": 24.9,
        "height": 1.7,
        "timestamp": "2024-05-01T07:05:00",
        "user_id": 1,
    }
    assert encode_weight_measurement(m) == frame


def test_imperial_converted_to_kg_and_m():
    # flags 09 = imperial + BMI/height; 160.00 lb = 16000 = 0x3E80 -> "80 3E"
    # = 160 * 0.45359237 = 72.5747792 kg -> 72.5748; BMI 25.1 = 0x00FB -> "FB 00";
    # height 67.0 in = 670 = 0x029E -> "9E 02" = 67 * 0.0254 = 1.7018 m
    m = decode(0x2A9D, bytes.fromhex("09 803E FB00 9E02"))
    assert m.imperial
    assert m.kilograms == 72.5748
    assert m.bmi == 25.1
    assert m.height_m == 1.7018


@pytest.mark.parametrize(
    ("hexframe", "field", "value"),
    [
        ("02 4038 D007 01 01 00 00 00", "timestamp", "2000-01-01T00:00:00"),
        ("04 4038 05", "user_id", 5),
        ("04 4038 FF", "user_id", None),  # 255 = unknown user
        ("08 4038 F900 A406", "height", 1.7),
        # weight 0xFFFF = "measurement unsuccessful"
        ("00 FFFF", "body_weight", None),
        ("01 FFFF", "body_weight", None),
        # RFU flag bits 4-7 ignored
        ("F0 4038", "body_weight", 72.0),
    ],
)
def test_each_optional_field_alone(hexframe, field, value):
    assert decode(0x2A9D, bytes.fromhex(hexframe)).as_dict()[field] == value


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "flags"),
        ("00 40", 1, "weight"),
        ("02 4038 E807 05", 3, "time stamp"),
        ("04 4038", 3, "user id"),
        ("08 4038 F900", 5, "height"),
        ("08 4038", 3, "BMI"),
        ("00 4038 00", 3, "trailing"),
    ],
)
def test_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode(0x2A9D, bytes.fromhex(hexframe))
    assert info.value.offset == offset and words in info.value.reason
    assert "Weight Measurement (0x2A9D)" in str(info.value)


def test_bmi_without_height_is_refused_by_the_encoder():
    with pytest.raises(ValueError, match="together"):
        encode_weight_measurement(WeightMeasurement(70.0, bmi=22.0))


@given(
    st.integers(2000, 40000).map(lambda raw: raw * 5 / 1000),
    st.none() | st.integers(0, 254),
    st.none() | st.tuples(st.integers(100, 600), st.integers(1000, 2200)),
)
def test_si_round_trip(kg, user, bmi_height):
    bmi, height = (None, None) if bmi_height is None else (bmi_height[0] / 10, bmi_height[1] / 1000)
    m = WeightMeasurement(kg, DateTime(2025, 1, 2, 3, 4, 5), user, bmi, height)
    assert decode_weight_measurement(encode_weight_measurement(m)) == m


@given(st.floats(20, 250))
def test_imperial_round_trip_within_resolution(kg):
    m = WeightMeasurement(kg, imperial=True)
    back = decode_weight_measurement(encode_weight_measurement(m))
    assert back.kilograms == pytest.approx(kg, abs=0.01 * 0.45359237)
