"""What a recipient's preferences say about one notification: severity floor, quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anxin.analytics.alerts import SEVERITIES

DEFAULT_TIMEZONE = "Asia/Shanghai"


def severity_rank(severity: str) -> int:
    """0 for low … 3 for critical; an unknown severity ranks as high (never dropped lightly)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("high")


def wants(severity: str, min_severity: str | None) -> bool:
    return severity_rank(severity) >= severity_rank(min_severity or "high")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _clock_time(text: str | None) -> time | None:
    if not text:
        return None
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def quiet_until(
    quiet_start: str | None, quiet_end: str | None, timezone: str | None, at_ms: int
) -> int | None:
    """When the recipient's quiet hours end if ``at_ms`` falls inside them, else None.

    ``quiet_start``/``quiet_end`` are "HH:MM" in the recipient's time zone; a span may
    cross midnight ("22:00"–"07:00"). Equal or unreadable times mean no quiet hours."""
    start, end = _clock_time(quiet_start), _clock_time(quiet_end)
    if start is None or end is None or start == end:
        return None
    tz = zone(timezone)
    local = datetime.fromtimestamp(at_ms / 1000, tz)
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, end, tzinfo=tz)
    return int(ends.timestamp() * 1000)
