"""From a decoded device value (its ``as_dict()``) to the observations the gateway records."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

# Streams a device sends every few seconds or faster: the raw samples a full disk queue
# may shed. Spot readings (a cuff's pulse rate), events, and alerts are never shed.
RAW_SAMPLE_TYPES = frozenset({"heart_rate", "rr_interval", "spo2", "pulse_rate", "activity"})
HIGH_RATE_INTERVAL_S = 5.0


def is_raw_sample(observation_type: str, nominal_interval_s: float) -> bool:
    return observation_type in RAW_SAMPLE_TYPES and nominal_interval_s <= HIGH_RATE_INTERVAL_S


# as_dict() key -> observation type, for single values.
_SCALARS = {
    "heart_rate": "heart_rate",
    "spo2": "spo2",
    "pulse_rate": "pulse_rate",
    "systolic": "systolic_bp",
    "diastolic": "diastolic_bp",
    "mean_arterial_pressure": "mean_arterial_pressure",
    "body_temperature": "body_temperature",
    "body_weight": "body_weight",
    "bmi": "bmi",
    "glucose": "glucose",
    "battery": "battery",
    # BTHome home sensors
    "motion": "motion",
    "opening": "door_open",
    "door": "door_open",
    "occupancy": "bed_occupied",
    "presence": "presence",
    "temperature": "ambient_temperature",
    "humidity": "humidity",
}

# BTHome button events that mean someone pressed the SOS button.
SOS_EVENTS = frozenset(
    {
        "press",
        "double_press",
        "triple_press",
        "long_press",
        "long_double_press",
        "long_triple_press",
        "hold_press",
    }
)


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
    samples = values.get("samples")
    if samples:
        readings.append(("activity", activity_g(samples)))
    return readings


def activity_g(samples: list[list[float]]) -> float:
    """RMS of the dynamic acceleration (magnitude less 1 g of gravity) over the samples, in g."""
    deviations = [math.sqrt(x * x + y * y + z * z) - 1.0 for x, y, z in samples]
    return math.sqrt(sum(d * d for d in deviations) / len(deviations))


def device_time_ms(values: dict[str, Any]) -> int | None:
    """The device's own timestamp, where the profile sends one.

    Health profiles send local wall-clock time without a zone; it is kept as if UTC,
    because it is a record of what the device said (clocks drift or reset to 2000-01-01),
    never the time the gateway orders by.
    """
    stamp = values.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def sos_event(values: dict[str, Any]) -> str | None:
    """The button event when an SOS button was pressed, else None."""
    event = values.get("button")
    return event if isinstance(event, str) and event in SOS_EVENTS else None
