"""National Early Warning Score 2 (NEWS2), exactly as the Royal College of Physicians charts it.

Source: Royal College of Physicians. *National Early Warning Score (NEWS) 2: Standardising the
assessment of acute-illness severity in the NHS.* Updated report of a working party. London:
RCP, 2017. Chart 1 ("The NEWS scoring system") gives every cell scored below; the
thresholds-and-triggers chart gives the clinical risk (aggregate 0-4 low, a single red score of
3 low-medium, 5-6 medium, 7 or more high) and the clinical-response chart gives the response
rows (0; total 1-4; 3 in a single parameter; total 5 or more; total 7 or more).

==================  =====  =========  =========  =========  ==========  ==========  =====
parameter             3        2          1          0          1           2         3
==================  =====  =========  =========  =========  ==========  ==========  =====
respiration /min     <=8               9-11       12-20                  21-24       >=25
SpO2 scale 1 %       <=91   92-93      94-95      >=96
SpO2 scale 2 %       <=83   84-85      86-87      88-92,     93-94 O2    95-96 O2    >=97 O2
                                                  >=93 air
air or oxygen                oxygen               air
systolic BP mmHg     <=90   91-100     101-110    111-219                            >=220
pulse /min           <=40              41-50      51-90      91-110      111-130     >=131
consciousness                                     A                                  C,V,P,U
temperature degC     <=35.0            35.1-36.0  36.1-38.0  38.1-39.0   >=39.1
==================  =====  =========  =========  =========  ==========  ==========  =====

Scale 2 is only for people with confirmed hypercapnic respiratory failure whose prescribed
target is 88-92 %; the RCP says a clinician decides it, so it is never inferred here.

The chart records whole numbers (temperature to 0.1 degC); a finer value is first rounded half-up
to that resolution, so 20.4 breaths/min scores as 20 and 38.05 degC as 38.1.

A parameter that was not measured scores nothing and is named in ``missing``; the total and band
are then a lower bound, which ``complete`` (False) and ``as_dict()["partial"]`` say plainly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from numbers import Real
from typing import Any

import numpy as np

PARAMETERS: tuple[str, ...] = (
    "respiration_rate",
    "spo2",
    "air_or_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)
"""Parameter names, in the order the chart lists them."""

# Each table: (highest value of the row, inclusive, points), rows in increasing order.
_INF = math.inf
_RESPIRATION = ((8, 3), (11, 1), (20, 0), (24, 2), (_INF, 3))
_SPO2_SCALE_1 = ((91, 3), (93, 2), (95, 1), (_INF, 0))
_SPO2_SCALE_2_BELOW_93 = ((83, 3), (85, 2), (87, 1), (92, 0))
_SPO2_SCALE_2_ON_OXYGEN = ((94, 1), (96, 2), (_INF, 3))
_SYSTOLIC = ((90, 3), (100, 2), (110, 1), (219, 0), (_INF, 3))
_PULSE = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (_INF, 3))
_TEMPERATURE = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (_INF, 2))
_OXYGEN_POINTS = 2
_NOT_ALERT_POINTS = 3

# Outside these the number is a device or entry error, not a patient; rejected, never scored.
_PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "respiration_rate": (0.0, 100.0, "/min"),
    "spo2": (0.0, 100.0, "%"),
    "systolic_bp": (0.0, 350.0, "mmHg"),
    "pulse": (0.0, 350.0, "/min"),
    "temperature": (25.0, 45.0, "degC"),
}
_ACVPU = frozenset("ACVPU")

_MONITORING = {
    "none": "minimum 12-hourly",
    "low": "minimum 4-6-hourly",
    "low_medium": "minimum 1-hourly",
    "medium": "minimum 1-hourly",
    "high": "continuous monitoring of vital signs",
}
_CLINICAL_RISK = {
    "none": "low",
    "low": "low",
    "low_medium": "low-medium",
    "medium": "medium",
    "high": "high",
}


@dataclass(frozen=True)
class News2Score:
    """One NEWS2 score. ``parameters`` holds the points of each parameter that was given."""

    total: int
    parameters: dict[str, int]
    band: str
    missing: tuple[str, ...]
    complete: bool
    single_parameter_3: bool
    spo2_scale: int = 1

    @property
    def clinical_risk(self) -> str:
        """The RCP clinical-risk category: 'low' (0-4), 'low-medium', 'medium' or 'high'."""
        return _CLINICAL_RISK[self.band]

    @property
    def monitoring(self) -> str:
        """Minimum frequency of monitoring from the RCP clinical-response chart."""
        return _MONITORING[self.band]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "parameters": dict(self.parameters),
            "band": self.band,
            "clinical_risk": self.clinical_risk,
            "monitoring": self.monitoring,
            "missing": list(self.missing),
            "complete": self.complete,
            "partial": not self.complete,
            "single_parameter_3": self.single_parameter_3,
            "spo2_scale": self.spo2_scale,
        }


def score(
    respiration_rate: float | None = None,
    spo2: float | None = None,
    spo2_scale: int = 1,
    on_oxygen: bool | None = False,
    systolic_bp: float | None = None,
    pulse: float | None = None,
    consciousness: str | None = "A",
    temperature: float | None = None,
) -> News2Score:
    """Score one set of observations.

    ``None`` means "not measured" for any parameter, including ``on_oxygen`` and
    ``consciousness`` (whose defaults, air and Alert, are what a home reading usually is).
    Impossible values raise ``ValueError`` naming the parameter and the value.
    """
    if isinstance(spo2_scale, bool) or spo2_scale not in (1, 2):
        raise ValueError(f"spo2_scale must be 1 or 2, got {spo2_scale!r}")
    if on_oxygen is not None and not isinstance(on_oxygen, bool | np.bool_):
        raise ValueError(f"on_oxygen must be True, False or None, got {on_oxygen!r}")
    oxygen = None if on_oxygen is None else bool(on_oxygen)

    points: dict[str, int | None] = {
        "respiration_rate": _points_for("respiration_rate", respiration_rate, _RESPIRATION, 0),
        "spo2": _spo2_points(spo2, spo2_scale, oxygen),
        "air_or_oxygen": None if oxygen is None else (_OXYGEN_POINTS if oxygen else 0),
        "systolic_bp": _points_for("systolic_bp", systolic_bp, _SYSTOLIC, 0),
        "pulse": _points_for("pulse", pulse, _PULSE, 0),
        "consciousness": _consciousness_points(consciousness),
        "temperature": _points_for("temperature", temperature, _TEMPERATURE, 1),
    }
    given = {name: p for name, p in points.items() if p is not None}
    missing = tuple(name for name in PARAMETERS if points[name] is None)
    total = sum(given.values())
    single_3 = any(p == 3 for p in given.values())
    return News2Score(
        total=total,
        parameters=given,
        band=_band(total, single_3),
        missing=missing,
        complete=not missing,
        single_parameter_3=single_3,
        spo2_scale=spo2_scale,
    )


def _band(total: int, single_parameter_3: bool) -> str:
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    if single_parameter_3:
        return "low_medium"
    if total >= 1:
        return "low"
    return "none"


def _checked(name: str, value: object, decimals: int) -> float | None:
    """The value at chart resolution, or None when not measured; ValueError when impossible."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    low, high, unit = _PLAUSIBLE[name]
    if math.isnan(number) or not low <= number <= high:
        raise ValueError(f"{name} = {value!r} is impossible (expected {low:g}-{high:g} {unit})")
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(number)).quantize(step, rounding=ROUND_HALF_UP))


def _lookup(value: float, table: tuple[tuple[float, int], ...]) -> int:
    for highest, points in table:
        if value <= highest:
            return points
    raise AssertionError("tables end with an open row")  # pragma: no cover


def _points_for(
    name: str, value: object, table: tuple[tuple[float, int], ...], decimals: int
) -> int | None:
    checked = _checked(name, value, decimals)
    return None if checked is None else _lookup(checked, table)


def _spo2_points(spo2: object, scale: int, on_oxygen: bool | None) -> int | None:
    value = _checked("spo2", spo2, 0)
    if value is None:
        return None
    if scale == 1:
        return _lookup(value, _SPO2_SCALE_1)
    if value <= 92:
        return _lookup(value, _SPO2_SCALE_2_BELOW_93)
    if on_oxygen is None:
        raise ValueError(
            f"spo2 = {spo2!r} on scale 2 cannot be scored without on_oxygen "
            "(>= 93 % scores 0 on air but 1-3 on oxygen)"
        )
    return _lookup(value, _SPO2_SCALE_2_ON_OXYGEN) if on_oxygen else 0


def _consciousness_points(level: object) -> int | None:
    if level is None:
        return None
    letter = level.strip().upper() if isinstance(level, str) else None
    if letter not in _ACVPU:
        raise ValueError(
            f"consciousness = {level!r} is not one of A, C, V, P, U "
            "(Alert, new Confusion, Voice, Pain, Unresponsive)"
        )
    return 0 if letter == "A" else _NOT_ALERT_POINTS
