"""Home-sensor events as the gateway decodes them, the checks that keep bad ones out, and
local-time helpers for the routine day.

The routine day ``D`` runs from 12:00 local time on ``D - 1`` to 12:00 on ``D``: the
afternoon and evening before, the night, and the morning of ``D``. One night and the
rising that ends it always fall in the same routine day, whatever the time zone.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

Role = Literal["bed", "front_door", "motion", "bathroom", "presence"]
ROLES: frozenset[str] = frozenset(get_args(Role))
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_START = time(12, 0)  # the routine day starts (and ends) at noon, local time


@dataclass(frozen=True, slots=True)
class SensorEvent:
    """One reading: bed occupied, front door open, motion (role ``bathroom`` is the
    bathroom's motion sensor), or presence, each 1 or 0, at ``ts_ms`` (UTC milliseconds).
    """

    ts_ms: int
    sensor_id: str
    role: Role
    value: float

    def __post_init__(self) -> None:
        if isinstance(self.ts_ms, bool) or not isinstance(self.ts_ms, int) or self.ts_ms < 0:
            raise ValueError(
                f"SensorEvent.ts_ms must be non-negative integer milliseconds, got {self.ts_ms!r}"
            )
        if not isinstance(self.sensor_id, str) or not self.sensor_id:
            raise ValueError(
                f"SensorEvent.sensor_id must be a non-empty string, got {self.sensor_id!r}"
            )
        if self.role not in ROLES:
            raise ValueError(
                f"SensorEvent.role of {self.sensor_id!r} must be one of {sorted(ROLES)}, "
                f"got {self.role!r}"
            )
        value = self.value
        if not isinstance(value, int | float) or math.isnan(value) or value not in (0, 1):
            raise ValueError(
                f"SensorEvent.value of {self.sensor_id!r} ({self.role}) must be 0 or 1, "
                f"got {value!r}"
            )

    @property
    def on(self) -> bool:
        return self.value == 1


class EventFilter:
    """Drops what must not reach the routine logic, per sensor, and counts it:

    - ``duplicate``: same sensor, same time, same value (a repeated advertisement);
    - ``conflicting``: same sensor and time with another value, or a sensor id that
      changes role;
    - ``out_of_order``: older than the sensor's last accepted reading.

    A repeated value at a later time is a heartbeat: accepted (it proves the sensor is
    alive) but it changes no state further on.
    """

    MAX_SENSORS = 512  # a home has a handful; more is misconfiguration, not a reason to grow

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, Role, float]] = {}
        self.ignored: Counter[str] = Counter()

    def accept(self, event: SensorEvent) -> bool:
        last = self._last.get(event.sensor_id)
        if last is None and len(self._last) >= self.MAX_SENSORS:
            self.ignored["too_many_sensors"] += 1
            return False
        if last is not None:
            ts, role, value = last
            if role != event.role:
                self.ignored["conflicting"] += 1
                return False
            if event.ts_ms < ts:
                self.ignored["out_of_order"] += 1
                return False
            if event.ts_ms == ts:
                self.ignored["duplicate" if event.value == value else "conflicting"] += 1
                return False
        self._last[event.sensor_id] = (event.ts_ms, event.role, event.value)
        return True


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError, TypeError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {tz!r}") from exc


def local(ts_ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz)


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def day_window(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """UTC milliseconds [start, end) of routine day ``day``: noon before to noon."""
    start = datetime.combine(day - timedelta(days=1), DAY_START, tz)
    end = datetime.combine(day, DAY_START, tz)
    return to_ms(start), to_ms(end)


def routine_day_of(ts_ms: int, tz: ZoneInfo) -> date:
    moment = local(ts_ms, tz)
    return moment.date() + timedelta(days=1) if moment.time() >= DAY_START else moment.date()


def clock_minutes(ts_ms: int, tz: ZoneInfo) -> float:
    """Local time of day in minutes after midnight."""
    moment = local(ts_ms, tz)
    return moment.hour * 60 + moment.minute + moment.second / 60


def minutes_after_noon(ts_ms: int, tz: ZoneInfo) -> float:
    """Local time in minutes after the noon that starts its routine day (0..1440): an
    evening and the night after it compare in order (21:30 -> 570, 02:00 -> 840)."""
    return (clock_minutes(ts_ms, tz) - 720) % 1440


def parse_clock(text: str, what: str) -> float:
    """Minutes after midnight of "HH:MM"; the error names ``what``."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except (ValueError, AttributeError):
        raise ValueError(f"{what} must be a clock time 'HH:MM', got {text!r}") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{what} must be a clock time 'HH:MM', got {text!r}")
    return hours * 60.0 + minutes


def format_clock(minutes: float) -> str:
    whole = round(minutes) % 1440
    return f"{whole // 60:02d}:{whole % 60:02d}"
