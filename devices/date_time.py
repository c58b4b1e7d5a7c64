"""Date Time (0x2A08) and the 7-byte date-time field that BP, PLX spot-check,
thermometer, weight and glucose measurements embed as their timestamp.

Layout (all little-endian): year uint16 (1582-9999, 0 = not known), month uint8
(1-12, 0 = not known), day uint8 (1-31, 0 = not known), hours uint8 (0-23),
minutes uint8 (0-59), seconds uint8 (0-59). Out-of-range fields are rejected:
the frame is corrupt, not merely vague. A timestamp whose date is partly unknown
decodes, but has no ISO form (``iso()`` gives None).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, ClassVar

from .gatt import _Reader

DATE_TIME = 0x2A08
DATE_TIME_SIZE = 7


@dataclass(frozen=True)
class DateTime:
    """A device's wall-clock time as sent: no zone. ``None`` date parts were sent as 0."""

    UUID: ClassVar[int] = DATE_TIME
    UNITS: ClassVar[dict[str, str]] = {}

    year: int | None
    month: int | None
    day: int | None
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> DateTime:
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second)

    def to_datetime(self) -> _dt.datetime | None:
        """The naive datetime, or None when year, month or day is not known."""
        if self.year is None or self.month is None or self.day is None:
            return None
        return _dt.datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)

    def iso(self) -> str | None:
        value = self.to_datetime()
        return None if value is None else value.isoformat()

    def as_dict(self) -> dict[str, Any]:
        return {"date_time": self.iso()}


def read_date_time(r: _Reader, what: str = "date time") -> DateTime:
    """Read the 7-byte field at the reader's cursor; errors point at the bad byte."""
    start = r.offset
    if r.remaining < DATE_TIME_SIZE:
        raise r.error(f"truncated {what}: needs {DATE_TIME_SIZE} bytes, {r.remaining} left")
    year = r.take(2, f"{what} year")
    month, day, hours, minutes, seconds = (r.take(1, what) for _ in range(5))
    checks = (
        (year == 0 or 1582 <= year <= 9999, 0, f"year {year} outside 1582-9999 (0 = unknown)"),
        (month <= 12, 2, f"month {month} outside 1-12 (0 = unknown)"),
        (day <= 31, 3, f"day {day} outside 1-31 (0 = unknown)"),
        (hours <= 23, 4, f"hours {hours} outside 0-23"),
        (minutes <= 59, 5, f"minutes {minutes} outside 0-59"),
        (seconds <= 59, 6, f"seconds {seconds} outside 0-59"),
    )
    for ok, field_offset, reason in checks:
        if not ok:
            raise r.error(f"{what}: {reason}", start + field_offset)
    value = DateTime(year or None, month or None, day or None, hours, minutes, seconds)
    if value.year and value.month and value.day:
        try:
            value.to_datetime()
        except ValueError:
            raise r.error(
                f"{what}: {year:04d}-{month:02d}-{day:02d} is not a calendar date", start + 3
            ) from None
    return value


def decode_date_time(payload: bytes) -> DateTime:
    r = _Reader(payload, "Date Time", DATE_TIME)
    value = read_date_time(r)
    r.done()
    return value


def encode_date_time(value: DateTime | _dt.datetime) -> bytes:
    if isinstance(value, _dt.datetime):
        value = DateTime.from_datetime(value)
    return (value.year or 0).to_bytes(2, "little") + bytes(
        [value.month or 0, value.day or 0, value.hours, value.minutes, value.seconds],
    )
