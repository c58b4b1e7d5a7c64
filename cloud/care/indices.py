"""Health indices of one person from their stored observations: NEWS2 and HRV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anxin.analytics.hrv import hrv_summary
from anxin.analytics.news2 import score
from anxin.cloud.ingest.timeseries import StoredObservation, TimeSeriesStore

# Which stored observation type feeds each NEWS2 parameter, in order of preference.
NEWS2_SOURCES: dict[str, tuple[str, ...]] = {
    "spo2": ("spo2",),
    "systolic_bp": ("systolic_bp",),
    "pulse": ("heart_rate", "pulse_rate"),
    "temperature": ("body_temperature",),
}
# No device of ours measures these: a home NEWS2 always names them as missing.
NEWS2_UNMEASURED = ("respiration_rate", "air_or_oxygen", "consciousness")
HRV_MAX_INTERVALS = 5000


@dataclass(frozen=True)
class Reading:
    type: str
    value: float
    ts_ms: int
    device_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "value": self.value,
            "ts_ms": self.ts_ms,
            "device_id": self.device_id,
        }


def latest(
    timeseries: TimeSeriesStore, person_id: str, types: tuple[str, ...], since: int, until: int
) -> Reading | None:
    for type_name in types:
        rows = timeseries.query(person_id, type_name, since, until, limit=1)
        if rows:
            row = rows[-1]
            return Reading(type_name, row.value, row.ts_ms, row.device_id)
    return None


def news2(
    timeseries: TimeSeriesStore, person_id: str, since: int, until: int
) -> dict[str, Any] | None:
    """NEWS2 from the latest reading of each parameter in [since, until); None with none.

    Respiration rate, air or oxygen and consciousness are not measured at home, so the
    score is partial and says so; it refers to the time of its newest input.
    """
    inputs = {
        parameter: latest(timeseries, person_id, sources, since, until)
        for parameter, sources in NEWS2_SOURCES.items()
    }
    given = {name: reading for name, reading in inputs.items() if reading is not None}
    if not given:
        return None
    result = score(
        respiration_rate=None,
        spo2=_value(given, "spo2"),
        on_oxygen=None,
        systolic_bp=_value(given, "systolic_bp"),
        pulse=_value(given, "pulse"),
        consciousness=None,
        temperature=_value(given, "temperature"),
    )
    newest = max(reading.ts_ms for reading in given.values())
    oldest = min(reading.ts_ms for reading in given.values())
    return result.as_dict() | {
        "ts_ms": newest,
        "oldest_input_ts_ms": oldest,
        "inputs": {name: reading.as_dict() for name, reading in given.items()},
    }


def _value(given: dict[str, Reading], name: str) -> float | None:
    reading = given.get(name)
    return None if reading is None else reading.value


def hrv(
    timeseries: TimeSeriesStore, person_id: str, since: int, until: int
) -> dict[str, Any] | None:
    """HRV of the RR intervals received in [since, until); None with fewer than 2."""
    rows: list[StoredObservation] = timeseries.query(
        person_id, "rr_interval", since, until, limit=HRV_MAX_INTERVALS
    )
    if len(rows) < 2:
        return None
    # Several intervals of one notification share its time stamp, so beat times come from
    # the intervals themselves (hrv_summary's default), not from the stored times.
    summary = hrv_summary(np.array([row.value for row in rows]))
    return summary.as_dict() | {
        "ts_ms": rows[-1].ts_ms,
        "from_ts_ms": rows[0].ts_ms,
        "n_received": len(rows),
    }
