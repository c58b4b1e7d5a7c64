"""From a decoded device value to the observations the gateway records."""

from __future__ import annotations

from typing import Any

# as_dict() key -> observation type, for single values.
_SCALARS = {
    "heart_rate": "heart_rate",
    "spo2": "spo2",
    "pulse_rate": "pulse_rate",
    "battery": "battery",
    "motion": "motion",
}


def readings_from(values: dict[str, Any]) -> list[tuple[str, float]]:
    """(observation type, value) pairs; fields the device did not send are skipped.

    A heart-rate strap that reports lost skin contact sends numbers that are not a
    heart rate, so its beats are not recorded.
    """
    if values.get("sensor_contact") == "not_detected":
        return [("battery", float(values["battery"]))] if values.get("battery") is not None else []
    readings: list[tuple[str, float]] = []
    for key, kind in _SCALARS.items():
        value = values.get(key)
        if value is not None:
            readings.append((kind, float(value)))
    readings.extend(("rr_interval", float(rr)) for rr in values.get("rr_intervals") or ())
    return readings
