"""Date Time (0x2A08) and Body Sensor Location (0x2A38), by hand from the SIG specs.

Date Time: year uint16 LE (0 = unknown), month, day (0 = unknown), hours, minutes,
seconds. Body Sensor Location: 0 other, 1 chest, 2 wrist, 3 finger, 4 hand, 5 ear lobe,
6 foot, 7-255 reserved.
"""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices import FrameError, decode
from anxin.devices.body_sensor_location import SensorLocation, encode_body_sensor_location
from anxin.devices.date_time import DateTime, decode_date_time, encode_date_time


def test_date_time():
    # 2024 = 0x07E8 -> "E8 07"; May 1st; 13:45:30 = 0x0D 0x2D 0x1E
    m = decode(0x2A08, bytes.fromhex("E807 05 01 0D 2D 1E"))
    assert m == DateTime(2024, 5, 1, 13, 45, 30)
    assert m.as_dict() == {"date_time": "2024-05-01T13:45:30"}
    assert decode("date_time", bytes.fromhex("D007 01 01 00 00 00")).iso() == "2000-01-01T00:00:00"


@pytest.mark.parametrize(
    "hexframe",
    [
        "0000 05 01 0D 2D 1E",  # year unknown
        "E807 00 01 0D 2D 1E",  # month unknown
        "E807 05 00 0D 2D 1E",  # day unknown
    ],
)
def test_unknown_parts(hexframe):
    m = decode_date_time(bytes.fromhex(hexframe))
    assert m.iso() is None and m.as_dict() == {"date_time": None}
    assert encode_date_time(m) == bytes.fromhex(hexframe)


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("E807 05 01 0D 2D", 0, "truncated"),
        ("E807 05 01 0D 2D 1E 00", 7, "trailing"),
        ("2D06 05 01 0D 2D 1E", 0, "year 1581"),  # 0x062D = 1581, before 1582
        ("1027 05 01 0D 2D 1E", 0, "year 10000"),  # 0x2710
        ("E807 0D 01 0D 2D 1E", 2, "month 13"),
        ("E807 04 1F 0D 2D 1E", 3, "not a calendar date"),  # 31 April
        ("E807 05 01 0D 2D 3C", 6, "seconds 60"),
    ],
)
def test_bad_date_time(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode(0x2A08, bytes.fromhex(hexframe))
    assert info.value.offset == offset and words in info.value.reason
    assert "Date Time (0x2A08)" in str(info.value)


@given(st.datetimes(dt.datetime(1582, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)))
def test_round_trip(value):
    value = value.replace(microsecond=0)
    assert decode_date_time(encode_date_time(value)).to_datetime() == value


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (0, "other"),
        (1, "chest"),
        (2, "wrist"),
        (3, "finger"),
        (4, "hand"),
        (5, "ear_lobe"),
        (6, "foot"),
    ],
)
def test_body_sensor_location(raw, name):
    assert decode(0x2A38, bytes([raw])).as_dict() == {"body_sensor_location": name}
    assert encode_body_sensor_location(SensorLocation(raw)) == bytes([raw])


@pytest.mark.parametrize(("hexframe", "words"), [("", "truncated"), ("07", "reserved")])
def test_bad_body_sensor_location(hexframe, words):
    with pytest.raises(FrameError, match="Body Sensor Location") as info:
        decode("body_sensor_location", bytes.fromhex(hexframe))
    assert info.value.offset == 0 and words in info.value.reason
    with pytest.raises(FrameError, match="at byte 1: 1 unexpected trailing"):
        decode(0x2A38, b"\x01\x01")
