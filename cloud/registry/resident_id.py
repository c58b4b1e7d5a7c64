"""PRC resident identity numbers (GB 11643-1999): 18 characters, checked before storing.

Layout: digits 1-6 the administrative division code of the place of registration (the
first two its province), digits 7-14 the birth date (YYYYMMDD), digits 15-17 a sequence
number whose last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check
character (0-9 or X) at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# The check character for each remainder of the weighted sum modulo 11.
CHECK_CHARS = "10X98765432"

# First two digits of the GB/T 2260 division codes: the provinces, autonomous regions and
# municipalities, Taiwan (71), Hong Kong (81), Macao (82), and 83 used on the residence
# permits of Hong Kong, Macao and Taiwan residents.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip


class ResidentIdError(ValueError):
    """A resident ID that is not valid; the message says what is wrong with it."""


@dataclass(frozen=True)
class ResidentId:
    number: str  # 18 characters, a final x upper-cased
    region_code: str
    birth_date: date
    sex: str  # "M" or "F"


def check_char(first17: str) -> str:
    """The check character of the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_resident_id(
    text: str,
    birth_date: date | None = None,
    sex: str | None = None,
    today: date | None = None,
) -> ResidentId:
    """``text`` as a resident ID, also checked against ``birth_date`` and ``sex`` when given.

    Raises ``ResidentIdError`` naming the first thing that is wrong."""
    number = text.strip().upper()
    if len(number) != 18:
        raise ResidentIdError(f"a resident ID has 18 characters, got {len(number)}")
    for position, char in enumerate(number[:17], start=1):
        if not char.isascii() or not char.isdigit():
            raise ResidentIdError(f"character {position} must be a digit, got '{char}'")
    if number[17] not in CHECK_CHARS:
        raise ResidentIdError(f"the last character must be a digit or X, got '{number[17]}'")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise ResidentIdError(f"check digit should be {expected}, got {number[17]}")
    if number[:2] not in PROVINCE_CODES:
        raise ResidentIdError(
            f"province code {number[:2]} (digits 1-2) is not a PRC province or region"
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ResidentIdError(
            f"birth date {number[6:14]} (digits 7-14) is not a real date"
        ) from None
    today = today or date.today()
    if born > today:
        raise ResidentIdError(f"birth date {born.isoformat()} (digits 7-14) is in the future")
    id_sex = "M" if int(number[16]) % 2 else "F"
    if birth_date is not None and birth_date != born:
        raise ResidentIdError(
            f"the resident ID gives birth date {born.isoformat()}, "
            f"but birth_date is {birth_date.isoformat()}"
        )
    if sex is not None and sex != id_sex:
        said = "male (digit 17 odd)" if id_sex == "M" else "female (digit 17 even)"
        raise ResidentIdError(f"the resident ID says {said}, but sex is {sex}")
    return ResidentId(number, number[:6], born, id_sex)


def make_resident_id(region_code: str, birth_date: date, sex: str, sequence: int = 1) -> str:
    """A valid resident ID for demo and test data.

    ``sequence`` (0-99) picks the first two digits of the sequence number; the third is
    chosen odd for "M" and even for "F"."""
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region_code must be 6 digits, got '{region_code}'")
    if sex not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F', got '{sex}'")
    if not 0 <= sequence <= 99:
        raise ValueError(f"sequence must be 0-99, got {sequence}")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:02d}{1 if sex == 'M' else 2}"
    return first17 + check_char(first17)
