"""Pure models for spot measurements (blood pressure, body temperature, weight, glucose)
and for a device's own real-time clock. No radio, no asyncio.

Simulated time ``t_s`` counts seconds from the simulation's origin, which is taken
as midnight of day 0, so ``t_s % 86400`` is the time of day.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

DAY_S = 86_400.0


def _hour_of_day(t_s: float) -> float:
    return (t_s % DAY_S) / 3600.0


def _circadian(t_s: float, peak_hour: float) -> float:
    """Cosine with period one day, 1 at ``peak_hour``, -1 twelve hours later."""
    return math.cos(2 * math.pi * (_hour_of_day(t_s) - peak_hour) / 24.0)


@dataclass(frozen=True)
class BloodPressureReading:
    systolic_mmhg: float
    diastolic_mmhg: float

    @property
    def mean_arterial_mmhg(self) -> float:
        # The usual one-third-pulse-pressure estimate; cuffs compute MAP their own way.
        return self.diastolic_mmhg + (self.systolic_mmhg - self.diastolic_mmhg) / 3.0


class BloodPressureModel:
    """A person's BP: baseline plus a day-night rhythm (lowest asleep around 03:00,
    highest late morning) plus reading-to-reading noise."""

    def __init__(
        self,
        baseline_systolic: float = 128.0,
        baseline_diastolic: float = 80.0,
        *,
        diurnal_amplitude_mmhg: float = 8.0,
        noise_sd_systolic: float = 6.0,
        noise_sd_diastolic: float = 4.0,
        seed: int = 0,
    ) -> None:
        if baseline_diastolic >= baseline_systolic:
            raise ValueError("diastolic baseline must be below systolic")
        self.baseline_systolic = baseline_systolic
        self.baseline_diastolic = baseline_diastolic
        self.diurnal_amplitude_mmhg = diurnal_amplitude_mmhg
        self.noise_sd_systolic = noise_sd_systolic
        self.noise_sd_diastolic = noise_sd_diastolic
        self._rng = random.Random(seed)

    def reading(self, t_s: float) -> BloodPressureReading:
        rhythm = self.diurnal_amplitude_mmhg * _circadian(t_s, peak_hour=11.0)
        systolic = self.baseline_systolic + rhythm + self._rng.gauss(0, self.noise_sd_systolic)
        diastolic = (
            self.baseline_diastolic + 0.6 * rhythm + self._rng.gauss(0, self.noise_sd_diastolic)
        )
        systolic = min(260.0, max(70.0, systolic))
        # keep a physiological pulse pressure whatever the noise did
        diastolic = min(systolic - 15.0, max(40.0, diastolic))
        return BloodPressureReading(round(systolic), round(diastolic))


class BodyTemperatureModel:
    """Core temperature: baseline, ±0.3 °C daily rhythm peaking late afternoon, noise;
    ``fever_c`` adds a fever on top (scenarios may set it)."""

    def __init__(self, baseline_c: float = 36.6, noise_sd_c: float = 0.1, seed: int = 0) -> None:
        self.baseline_c = baseline_c
        self.noise_sd_c = noise_sd_c
        self.fever_c = 0.0
        self._rng = random.Random(seed)

    def reading(self, t_s: float) -> float:
        value = (
            self.baseline_c
            + 0.3 * _circadian(t_s, peak_hour=17.0)
            + self.fever_c
            + self._rng.gauss(0, self.noise_sd_c)
        )
        return round(value, 1)


class WeightModel:
    """Body weight as a slow random walk (sd per day), plus ``trend_kg_per_day``
    (negative for the weight loss that flags frailty, positive for fluid retention)."""

    def __init__(
        self,
        baseline_kg: float = 65.0,
        height_m: float = 1.65,
        *,
        daily_sd_kg: float = 0.3,
        trend_kg_per_day: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.height_m = height_m
        self.daily_sd_kg = daily_sd_kg
        self.trend_kg_per_day = trend_kg_per_day
        self._kg = baseline_kg
        self._t: float | None = None
        self._rng = random.Random(seed)

    def reading(self, t_s: float) -> tuple[float, float]:
        """(weight kg at 0.005 kg resolution, BMI at 0.1 resolution)."""
        if self._t is not None and t_s > self._t:
            days = (t_s - self._t) / DAY_S
            self._kg += self.trend_kg_per_day * days + self._rng.gauss(
                0, self.daily_sd_kg * math.sqrt(days)
            )
        self._t = t_s if self._t is None else max(self._t, t_s)
        kg = round(self._kg * 200) / 200
        return kg, round(kg / self.height_m**2, 1)


class GlucoseModel:
    """Capillary glucose (mmol/L): a fasting level, a rise after meals at 07:00, 12:00
    and 18:00 that peaks about 45 min later and fades over two to three hours, noise."""

    MEAL_HOURS = (7.0, 12.0, 18.0)

    def __init__(
        self,
        fasting_mmol: float = 5.4,
        meal_rise_mmol: float = 2.5,
        noise_sd_mmol: float = 0.3,
        seed: int = 0,
    ) -> None:
        self.fasting_mmol = fasting_mmol
        self.meal_rise_mmol = meal_rise_mmol
        self.noise_sd_mmol = noise_sd_mmol
        self._rng = random.Random(seed)

    def reading(self, t_s: float) -> float:
        hour = _hour_of_day(t_s)
        rise = 0.0
        for meal in self.MEAL_HOURS:
            since_h = hour - meal
            if since_h > 0:
                # gamma-like curve: peak at 0.75 h, mostly gone by 3 h
                rise += self.meal_rise_mmol * (since_h / 0.75) * math.exp(1 - since_h / 0.75)
        value = self.fasting_mmol + rise + self._rng.gauss(0, self.noise_sd_mmol)
        return round(max(2.0, value), 1)


class DeviceClock:
    """A device's own real-time clock. It starts set to ``set_to`` at simulated time
    ``set_at_s`` and runs with the simulation; a reset (battery change, power loss)
    puts it back to 2000-01-01 00:00:00, the factory default of many devices."""

    RESET_TO = dt.datetime(2000, 1, 1)

    def __init__(
        self, set_to: dt.datetime = dt.datetime(2025, 1, 1), set_at_s: float = 0.0
    ) -> None:
        self._origin = set_to
        self._origin_s = set_at_s
        self.resets = 0

    def now(self, t_s: float) -> dt.datetime:
        value = self._origin + dt.timedelta(seconds=t_s - self._origin_s)
        return value.replace(microsecond=0)

    def reset(self, t_s: float) -> None:
        self._origin = self.RESET_TO
        self._origin_s = t_s
        self.resets += 1

    def set(self, value: dt.datetime, t_s: float) -> None:
        self._origin = value
        self._origin_s = t_s
