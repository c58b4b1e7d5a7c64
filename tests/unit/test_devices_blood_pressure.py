"""Blood Pressure Measurement (0x2A35) and Intermediate Cuff Pressure (0x2A36) against
frames worked out by hand from the Bluetooth SIG Blood Pressure Service specification.

Flags: bit0 units (0 mmHg, 1 kPa), bit1 time stamp, bit2 pulse rate, bit3 user id,
bit4 measurement status. Pressures are SFLOAT (4-bit exponent, 12-bit mantissa,
little-endian); 120 mmHg = mantissa 0x078, exponent 0 -> raw 0x0078 -> "78 00".
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices import FrameError, decode
from anxin.devices.blood_pressure import (
    BloodPressureMeasurement,
    BloodPressureStatus,
    IntermediateCuffPressure,
    PulseRateRange,
    decode_blood_pressure_measurement,
    decode_intermediate_cuff_pressure,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
)
from anxin.devices.date_time import DateTime
from anxin.devices.ieee11073 import SpecialValue

MMHG_PER_KPA = 1 / 0.133322387415


def test_all_flags_off_mmhg():
    # flags 00; systolic 120 = 0x0078 -> "78 00"; diastolic 80 = 0x0050 -> "50 00";
    # MAP 93 = 0x005D -> "5D 00"
    m = decode(0x2A35, bytes.fromhex("00 7800 5000 5D00"))
    assert m == BloodPressureMeasurement(120.0, 80.0, 93.0)
    assert m.as_dict() == {
        "systolic": 120.0,
        "diastolic": 80.0,
        "mean_arterial_pressure": 93.0,
        "pulse_rate": None,
        "timestamp": None,
        "user_id": None,
        "measurement_status": None,
    }


def test_all_flags_on():
    # flags 0x1E = time stamp (bit1) + pulse rate (bit2) + user id (bit3) + status (bit4)
    # time stamp 2024-05-01 08:30:15: year 2024 = 0x07E8 -> "E8 07", 05, 01, 08, 0x1E, 0x0F
    # pulse rate 72 = 0x0048 -> "48 00"; user id 3 -> "03"
    # status 0x002F = body movement (bit0) + cuff loose (bit1) + irregular (bit2)
    #   + pulse range 01 "exceeds upper limit" (bits 3-4 -> 0x08) + improper position (bit5)
    frame = bytes.fromhex("1E 7800 5000 5D00 E807 05 01 08 1E 0F 4800 03 2F00")
    m = decode_blood_pressure_measurement(frame)
    assert m.timestamp == DateTime(2024, 5, 1, 8, 30, 15)
    assert m.pulse_rate == 72.0 and m.user_id == 3
    assert m.status == BloodPressureStatus(
        body_movement=True,
        cuff_too_loose=True,
        irregular_pulse=True,
        pulse_rate_range=PulseRateRange.EXCEEDS_UPPER_LIMIT,
        improper_position=True,
    )
    d = m.as_dict()
    assert d["timestamp"] == "2024-05-01T08:30:15"
    assert d["measurement_status"] == [
        "body_movement",
        "cuff_too_loose",
        "improper_measurement_position",
        "irregular_pulse",
        "pulse_rate_exceeds_upper_limit",
    ]
    assert encode_blood_pressure_measurement(m) == frame


@pytest.mark.parametrize(
    ("hexframe", "field", "value"),
    [
        # time stamp alone (flags 0x02): 2000-01-01 00:00:00, year 2000 = 0x07D0 -> "D0 07"
        ("02 7800 5000 5D00 D007 01 01 00 00 00", "timestamp", "2000-01-01T00:00:00"),
        # pulse rate alone (flags 0x04): 0x0041 = 65
        ("04 7800 5000 5D00 4100", "pulse_rate", 65.0),
        # user id alone (flags 0x08): 0x01
        ("08 7800 5000 5D00 01", "user_id", 1),
        # user id 0xFF means "unknown user"
        ("08 7800 5000 5D00 FF", "user_id", None),
        # status alone (flags 0x10), all clear -> empty list, not None
        ("10 7800 5000 5D00 0000", "measurement_status", []),
        # pulse range 10 "below lower limit": bits 3-4 = 0b10 -> 0x0010
        ("10 7800 5000 5D00 1000", "measurement_status", ["pulse_rate_below_lower_limit"]),
        # RFU status bits 6-15 (0xFFC0) are ignored
        ("10 7800 5000 5D00 C0FF", "measurement_status", []),
    ],
)
def test_each_optional_field_alone(hexframe, field, value):
    d = decode(0x2A35, bytes.fromhex(hexframe)).as_dict()
    assert d[field] == value
    assert d["systolic"] == 120.0


def test_kpa_converted_to_mmhg():
    # flags 01 (kPa). 16.0 kPa = mantissa 160 = 0x0A0, exponent -1 = 0xF -> 0xF0A0 -> "A0 F0"
    # 10.7 kPa = 107 = 0x06B, exp -1 -> 0xF06B -> "6B F0"; 12.8 kPa = 128 = 0x080 -> "80 F0"
    # 1 mmHg = 0.133322387415 kPa: 16.0 kPa = 120.008 mmHg -> 120.01 (rounded to 0.01)
    m = decode(0x2A35, bytes.fromhex("01 A0F0 6BF0 80F0"))
    assert m.reported_in_kpa
    assert m.systolic == 120.01
    assert m.diastolic == pytest.approx(10.7 * MMHG_PER_KPA, abs=0.005)
    assert m.mean_arterial_pressure == pytest.approx(12.8 * MMHG_PER_KPA, abs=0.005)
    assert 80.2 < m.diastolic < 80.3


def test_kpa_does_not_apply_to_pulse_rate():
    # flags 05 = kPa + pulse rate; pulse 0x004B = 75 /min stays 75
    m = decode(0x2A35, bytes.fromhex("05 A0F0 6BF0 80F0 4B00"))
    assert m.pulse_rate == 75.0


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        ("FF07", SpecialValue.NAN),  # 0x07FF
        ("0008", SpecialValue.NRES),  # 0x0800
        ("FE07", SpecialValue.POSITIVE_INFINITY),  # 0x07FE
        ("0208", SpecialValue.NEGATIVE_INFINITY),  # 0x0802
    ],
)
def test_specials_give_none(raw, special):
    # flags 04 (pulse rate); systolic and pulse rate carry the special; diastolic 80,
    # MAP 93 stay numbers
    m = decode(0x2A35, bytes.fromhex(f"04 {raw} 5000 5D00 {raw}"))
    assert m.systolic is None and m.pulse_rate is None
    assert m.diastolic == 80.0
    assert m.specials == (("systolic", special), ("pulse_rate", special))
    assert m.as_dict()["systolic"] is None


def test_specials_in_kpa_are_not_converted():
    m = decode(0x2A35, bytes.fromhex("01 FF07 6BF0 80F0"))
    assert m.systolic is None


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "flags"),
        ("00 7800 5000", 5, "mean_arterial_pressure"),  # MAP missing
        ("00 7800 5000 5D", 5, "mean_arterial_pressure"),  # MAP half there
        ("02 7800 5000 5D00 E807 05", 7, "time stamp"),  # time stamp needs 7 bytes
        ("04 7800 5000 5D00", 7, "pulse_rate"),
        ("08 7800 5000 5D00", 7, "user id"),
        ("10 7800 5000 5D00 00", 7, "measurement status"),
        ("00 7800 5000 5D00 00", 7, "trailing"),  # oversized
        ("10 7800 5000 5D00 1800", 7, "reserved"),  # pulse range 0b11 is reserved
        # month 13 in the time stamp: byte 7 + 2
        ("02 7800 5000 5D00 E807 0D 01 00 00 00", 9, "month"),
        # hours 24: byte 7 + 4
        ("02 7800 5000 5D00 E807 01 01 18 00 00", 11, "hours"),
        # 2023-02-29 does not exist: reported at the day byte, 7 + 3
        ("02 7800 5000 5D00 E707 02 1D 00 00 00", 10, "calendar"),
    ],
)
def test_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode(0x2A35, bytes.fromhex(hexframe))
    err = info.value
    assert err.offset == offset
    assert err.characteristic == "Blood Pressure Measurement" and err.uuid == "0x2A35"
    assert words in err.reason


# ---------------------------------------------------------------- Intermediate Cuff Pressure


def test_intermediate_cuff_pressure():
    # flags 0x04 (pulse rate); cuff pressure 0x0096 = 150 mmHg -> "96 00";
    # diastolic and MAP unused, sent as NaN 0x07FF -> "FF 07"; pulse 0x0044 = 68
    frame = bytes.fromhex("04 9600 FF07 FF07 4400")
    m = decode(0x2A36, frame)
    assert m == IntermediateCuffPressure(150.0, pulse_rate=68.0)
    assert m.as_dict() == {
        "cuff_pressure": 150.0,
        "pulse_rate": 68.0,
        "timestamp": None,
        "user_id": None,
        "measurement_status": None,
    }
    assert encode_intermediate_cuff_pressure(m) == frame


def test_intermediate_cuff_pressure_kpa_and_errors():
    # kPa: 20.0 kPa = mantissa 200 = 0x0C8, exp -1 -> 0xF0C8 -> "C8 F0" = 150.01 mmHg
    m = decode_intermediate_cuff_pressure(bytes.fromhex("01 C8F0 FF07 FF07"))
    assert m.cuff_pressure == pytest.approx(20.0 * MMHG_PER_KPA, abs=0.005)
    with pytest.raises(FrameError, match=r"Intermediate Cuff Pressure \(0x2A36\): at byte 3"):
        decode_intermediate_cuff_pressure(bytes.fromhex("00 9600 FF"))
    nan = decode_intermediate_cuff_pressure(bytes.fromhex("00 FF07 FF07 FF07"))
    assert nan.cuff_pressure is None
    assert nan.specials == (("cuff_pressure", SpecialValue.NAN),)


# ---------------------------------------------------------------- encoder round trips

_pressure = st.integers(30, 300).map(float)
_date_times = st.builds(
    DateTime,
    st.integers(2000, 2099),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
_status = st.builds(
    BloodPressureStatus,
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(list(PulseRateRange)),
    st.booleans(),
)


@given(
    _pressure,
    _pressure,
    _pressure,
    st.none() | _date_times,
    st.none() | st.integers(30, 250).map(float),
    st.none() | st.integers(0, 254),
    st.none() | _status,
)
def test_round_trip_mmhg(sys_, dia, map_, ts, pulse, user, status):
    m = BloodPressureMeasurement(sys_, dia, map_, ts, pulse, user, status)
    assert decode_blood_pressure_measurement(encode_blood_pressure_measurement(m)) == m


@given(_pressure)
def test_round_trip_kpa_is_within_sfloat_resolution(mmhg):
    m = BloodPressureMeasurement(mmhg, mmhg, mmhg, reported_in_kpa=True)
    back = decode_blood_pressure_measurement(encode_blood_pressure_measurement(m))
    assert back.systolic == pytest.approx(mmhg, abs=0.5)
