from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.cloud.registry.resident_id import (
    PROVINCE_CODES,
    ResidentIdError,
    check_char,
    make_resident_id,
    parse_resident_id,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("number", "region", "born", "sex"),
    [
        # The example in GB 11643-1999: check character X.
        ("11010519491231002X", "110105", date(1949, 12, 31), "F"),
        ("11010519491231002x", "110105", date(1949, 12, 31), "F"),  # lower-case x accepted
        ("110105194203150123", "110105", date(1942, 3, 15), "F"),
        ("11010519390802021X", "110105", date(1939, 8, 2), "M"),
        (" 440304200002290014 ", "440304", date(2000, 2, 29), "M"),  # a leap day
    ],
)
def test_valid_ids_give_region_birth_date_and_sex(
    number: str, region: str, born: date, sex: str
) -> None:
    parsed = parse_resident_id(number, today=TODAY)
    assert (parsed.region_code, parsed.birth_date, parsed.sex) == (region, born, sex)
    assert parsed.number == number.strip().upper()


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("11010519491231002", "a resident ID has 18 characters, got 17"),
        ("1101051949123100211", "a resident ID has 18 characters, got 19"),
        ("11010A19491231002X", "character 6 must be a digit, got 'A'"),
        ("11010519491231002Y", "the last character must be a digit or X, got 'Y'"),
        ("110105194912310023", "check digit should be X, got 3"),
        ("110105194203150127", "check digit should be 3, got 7"),
        ("99010519491231002" + check_char("99010519491231002"), "province code 99"),
        ("11010519490230002" + check_char("11010519490230002"), "birth date 19490230"),
        (
            "11010520270101002" + check_char("11010520270101002"),
            "2027-01-01 (digits 7-14) is in the future",
        ),
        ("１10105194912310021", "character 1 must be a digit, got '１'"),  # full-width digit
    ],
)
def test_invalid_ids_say_what_is_wrong(number: str, message: str) -> None:
    with pytest.raises(ResidentIdError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_resident_id(number, today=TODAY)


def test_consistency_with_the_persons_birth_date_and_sex() -> None:
    number = "11010519491231002X"
    assert parse_resident_id(number, date(1949, 12, 31), "F", today=TODAY).sex == "F"
    with pytest.raises(
        ResidentIdError, match="gives birth date 1949-12-31, but birth_date is 1949-12-30"
    ):
        parse_resident_id(number, date(1949, 12, 30), today=TODAY)
    with pytest.raises(ResidentIdError, match=r"says female \(digit 17 even\), but sex is M"):
        parse_resident_id(number, sex="M", today=TODAY)


def test_a_birth_date_of_today_is_allowed() -> None:
    number = make_resident_id("310104", TODAY, "M")
    assert parse_resident_id(number, today=TODAY).birth_date == TODAY
    with pytest.raises(ResidentIdError, match="in the future"):
        parse_resident_id(number, today=TODAY - timedelta(days=1))


@given(
    province=st.sampled_from(sorted(PROVINCE_CODES)),
    rest=st.integers(0, 9999),
    born=st.dates(date(1900, 1, 1), TODAY),
    sex=st.sampled_from(["M", "F"]),
    sequence=st.integers(0, 99),
)
def test_made_ids_parse_back_to_what_they_were_made_from(
    province: str, rest: int, born: date, sex: str, sequence: int
) -> None:
    region = f"{province}{rest:04d}"
    number = make_resident_id(region, born, sex, sequence)
    parsed = parse_resident_id(number, born, sex, today=TODAY)
    assert (parsed.number, parsed.region_code, parsed.birth_date, parsed.sex) == (
        number,
        region,
        born,
        sex,
    )


@given(number=st.text(st.sampled_from("0123456789"), min_size=17, max_size=17), wrong=st.data())
def test_any_single_wrong_check_character_is_caught(number: str, wrong: st.DataObject) -> None:
    right = check_char(number)
    other = wrong.draw(st.sampled_from([c for c in "0123456789X" if c != right]))
    with pytest.raises(ResidentIdError):
        parse_resident_id(number + other, today=TODAY)


def test_make_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="region_code"):
        make_resident_id("1101", date(1950, 1, 1), "M")
    with pytest.raises(ValueError, match="sex"):
        make_resident_id("110105", date(1950, 1, 1), "X")
