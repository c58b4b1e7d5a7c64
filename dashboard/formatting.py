"""Turning API values (UTC ISO times, floats, UCUM units) into what a reader sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anxin.dashboard import i18n


def _local_zone() -> timezone | ZoneInfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except (
        ZoneInfoNotFoundError
    ):  # no tzdata installed; China has kept UTC+8 without DST since 1991
        return timezone(timedelta(hours=8), "CST")


LOCAL_ZONE = _local_zone()


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(ts_ms: int) -> datetime:
    """A naive local (Asia/Shanghai) time, which is what plotly puts on an axis as-is."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=LOCAL_ZONE).replace(tzinfo=None)


def local_time_of_day(ts_ms: int) -> str:
    """Milliseconds since the epoch -> ``14:03:09`` in Asia/Shanghai."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=LOCAL_ZONE).strftime("%H:%M:%S")


def local_clock(iso_text: str) -> str:
    """``2024-05-01T06:03:09.120Z`` -> ``2024-05-01 14:03:09`` in Asia/Shanghai."""
    return parse_iso(iso_text).astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def number(value: float) -> str:
    """Whole numbers without a trailing ``.0``; others to one decimal place."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def measurement(value: float, ucum: str, language: str | None) -> str:
    shown_unit = i18n.unit(ucum, language)
    separator = "" if shown_unit == "%" else " "
    return f"{number(value)}{separator}{shown_unit}"
