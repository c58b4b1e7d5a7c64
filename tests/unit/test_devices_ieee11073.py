"""IEEE 11073-20601 SFLOAT/FLOAT against values worked out by hand from the format:
SFLOAT = 4-bit exponent (high nibble) | 12-bit mantissa, FLOAT = 8-bit exponent |
24-bit mantissa, both two's complement, value = mantissa * 10**exponent."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices.ieee11073 import (
    SpecialValue,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
    sfloat_parts,
    value_or_none,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0x0000, 0.0),
        (0x0048, 72.0),  # exponent 0, mantissa 0x048 = 72
        (0x1001, 10.0),  # exponent 1, mantissa 1
        (0xF3CF, 97.5),  # exponent 0xF = -1, mantissa 0x3CF = 975
        (0xEFFF, -0.01),  # exponent 0xE = -2, mantissa 0xFFF = -1
        (0x0FFF, -1.0),  # exponent 0, mantissa 0xFFF = -1
        (0x17FF, 20470.0),  # mantissa 2047 is NaN only with exponent 0
        (0x8800, -2048e-8),  # exponent 0x8 = -8, mantissa 0x800 = -2048
        (0x7001, 1e7),  # exponent 7 = largest
    ],
)
def test_sfloat_decodes_hand_vectors(raw, expected):
    assert decode_sfloat(raw) == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        (0x07FF, SpecialValue.NAN),
        (0x0800, SpecialValue.NRES),
        (0x07FE, SpecialValue.POSITIVE_INFINITY),
        (0x0802, SpecialValue.NEGATIVE_INFINITY),
        (0x0801, SpecialValue.RESERVED),
    ],
)
def test_sfloat_specials_are_never_numbers(raw, special):
    decoded = decode_sfloat(raw)
    assert decoded is special
    assert value_or_none(decoded) is None
    assert encode_sfloat(special) == raw


def test_sfloat_exact_decimal():
    # 975 * 10**-1 computed as 975/10, not 975*0.1 (= 97.50000000000001)
    assert decode_sfloat(0xF3CF) == 97.5
    assert sfloat_parts(0xF3CF) == (975, -1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0xFF00016C, 36.4),  # exponent 0xFF = -1, mantissa 0x16C = 364
        (0x02000005, 500.0),  # exponent 2, mantissa 5
        (0x00FFFFFF, -1.0),  # mantissa 0xFFFFFF = -1
        (0xFD0F4240, 1000.0),  # exponent -3, mantissa 0x0F4240 = 1_000_000
    ],
)
def test_float_decodes_hand_vectors(raw, expected):
    assert decode_float(raw) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        (0x007FFFFF, SpecialValue.NAN),
        (0x00800000, SpecialValue.NRES),
        (0x007FFFFE, SpecialValue.POSITIVE_INFINITY),
        (0x00800002, SpecialValue.NEGATIVE_INFINITY),
        (0x00800001, SpecialValue.RESERVED),
    ],
)
def test_float_specials(raw, special):
    assert decode_float(raw) is special
    assert encode_float(special) == raw


def test_encoders_pick_canonical_exponent():
    assert encode_sfloat(97.5) == 0xF3CF
    assert encode_sfloat(98.0) == 0x0062
    assert encode_sfloat(2.5) == 0xF019
    assert encode_float(36.4) == 0xFF00016C


def test_encoder_rejects_nonfinite_and_huge():
    with pytest.raises(ValueError):
        encode_sfloat(float("nan"))
    with pytest.raises(ValueError):
        encode_sfloat(1e12)


@given(st.integers(0, 0xFFFF))
def test_sfloat_any_raw_is_number_or_special(raw):
    decoded = decode_sfloat(raw)
    assert isinstance(decoded, SpecialValue | float)


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_round_trip(mantissa, exponent):
    value = mantissa / 10**-exponent if exponent < 0 else float(mantissa * 10**exponent)
    assert decode_sfloat(encode_sfloat(value)) == pytest.approx(value, rel=1e-9, abs=1e-12)
