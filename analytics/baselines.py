"""Personal baselines: what is normal for this person, and when that changes.

Each tool judges a person against their own history, not against a population norm.

``RobustBaseline`` / ``robust_z_scores``
    The median and the median absolute deviation (MAD) of the person's values, per time-of-day
    bin in local time. The MAD is scaled by 1.4826 (= 1 / Phi^-1(3/4)) so that it estimates the
    standard deviation of normally distributed data (Hampel FR, J Am Stat Assoc 1974;69:383-393;
    Rousseeuw PJ & Croux C, J Am Stat Assoc 1993;88:1273-1283); the robust z-score is
    (value - median) / scaled MAD (Iglewicz B & Hoaglin DC, *How to Detect and Handle Outliers*,
    ASQC 1993). Both statistics have a 50 % breakdown point, so artefacts in the history cannot
    drag the baseline along.

``Cusum`` / ``tabular_cusum``
    Page's cumulative sum (Page ES, "Continuous inspection schemes", Biometrika 1954;41:100-115)
    in the tabular form of Montgomery DC, *Introduction to Statistical Quality Control*
    (chapter "Cumulative sum and exponentially weighted moving average control charts"), on
    standardised values z = (x - target) / sigma::

        C+_i = max(0, C+_(i-1) + z_i - k)        C-_i = max(0, C-_(i-1) - z_i - k)

    signalling when either exceeds h, then starting again from zero. With k = 1/2 the two-sided
    chart's in-control average run length (ARL0, samples between false alarms) is 168 for h = 4
    and 465 for h = 5, and a sustained 1-sigma shift is caught after 8.38 or 10.4 samples on
    average (Montgomery's ARL table for k = 1/2; the same figures come out of a Brook & Evans
    Markov-chain calculation). On one value a day, h = 5 means about one false alarm in 15 months.

``weight_gain_alert``
    Heart-failure self-care: a person should call their nurse or doctor when their weight rises by
    more than 2 kg in 3 days (McDonagh TA et al., 2021 ESC Guidelines for the diagnosis and
    treatment of acute and chronic heart failure, Eur Heart J 2021;42:3599-3726, patient
    self-care education; Jaarsma T et al., "Self-care of heart failure patients: practical
    management recommendations from the Heart Failure Association of the ESC", Eur J Heart Fail
    2021;23:157-174; ESC patient site heartfailurematters.org: "more than 2 kilos (3 pounds) in 3
    days"). Defaults are ``gain_kg=2.0`` and ``window_days=3``; a gain equal to the limit
    at the scale's resolution is reported, erring on the side of telling.

``hypertension_pattern``
    Home blood pressure: a home mean of >= 135/85 mmHg defines hypertension (中国高血压防治
    指南修订委员会, 中国高血压防治指南2018年修订版, 中国心血管杂志 2019;24(1):24-56). The guideline's
    home protocol is morning and evening readings (2-3 each) on 7 consecutive days.

Inputs are numpy arrays or sequences; timestamps are integer milliseconds since the epoch, UTC.
Nothing here reads the wall clock. Local days and times of day use ``utc_offset_minutes``
(default +480, China Standard Time). Non-finite values and repeated timestamps (at-least-once
delivery) are dropped, never judged; impossible readings are dropped and counted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

DAY_MS = 86_400_000
CHINA_UTC_OFFSET_MINUTES = 480
MAD_TO_SIGMA = 1.4826

Direction = Literal["up", "down"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --- shared input handling --------------------------------------------------------------------


def _series(
    ts_ms: ArrayLike, ts_name: str = "ts_ms", **values: ArrayLike
) -> tuple[IntArray, list[FloatArray], int]:
    """Timestamps and value arrays, sorted by time, with non-finite rows and repeated timestamps
    removed (the first delivery is kept). Returns the arrays and how many rows were dropped."""
    ts = np.asarray(ts_ms, dtype=np.float64)
    if ts.ndim != 1:
        raise ValueError(f"{ts_name} must be one-dimensional, got shape {ts.shape}")
    arrays = []
    for name, raw in values.items():
        array = np.asarray(raw, dtype=np.float64)
        if array.shape != ts.shape:
            raise ValueError(f"{name} has shape {array.shape} but {ts_name} has {ts.shape}")
        arrays.append(array)
    finite = np.isfinite(ts)
    for array in arrays:
        finite &= np.isfinite(array)
    order = np.argsort(ts[finite], kind="stable")
    sorted_ts = ts[finite][order].astype(np.int64)
    first = np.ones(sorted_ts.size, dtype=bool)
    first[1:] = sorted_ts[1:] != sorted_ts[:-1]
    kept = [array[finite][order][first] for array in arrays]
    return sorted_ts[first], kept, int(ts.size - first.sum())


def _local_day(ts_ms: IntArray, utc_offset_minutes: int) -> IntArray:
    return np.floor_divide(ts_ms + utc_offset_minutes * 60_000, DAY_MS)


def _iso_day(day: int | np.integer) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def _within(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """Which values lie in the closed range ``bounds``."""
    return (values >= bounds[0]) & (values <= bounds[1])


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float | np.number) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _count(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


# --- robust, time-of-day aware baseline ------------------------------------------------------


@dataclass(frozen=True)
class _BaselineSettings:
    utc_offset_minutes: int = CHINA_UTC_OFFSET_MINUTES
    bin_hours: int = 4
    min_history: int = 30
    min_days: int = 3
    min_per_bin: int = 10
    min_scale: float = 1.0

    def __post_init__(self) -> None:
        if not -14 * 60 <= self.utc_offset_minutes <= 14 * 60:
            raise ValueError(
                f"utc_offset_minutes must be within +-840, got {self.utc_offset_minutes}"
            )
        _count("bin_hours", self.bin_hours)
        if 24 % self.bin_hours:
            raise ValueError(f"bin_hours must divide 24 hours, got {self.bin_hours!r}")
        _count("min_history", self.min_history)
        _count("min_days", self.min_days)
        _count("min_per_bin", self.min_per_bin)
        _positive("min_scale", self.min_scale)

    @property
    def bins(self) -> int:
        return 24 // self.bin_hours

    def bin_of(self, ts_ms: IntArray) -> IntArray:
        minute_of_day = np.mod(np.floor_divide(ts_ms, 60_000) + self.utc_offset_minutes, 1440)
        return minute_of_day // (self.bin_hours * 60)


@dataclass(frozen=True)
class _BaselineFit:
    """Median and scaled MAD per time-of-day bin (NaN where the bin is too thin) and for the
    whole day (NaN while the history is too short to judge anything)."""

    bin_median: FloatArray
    bin_mad: FloatArray
    day_median: float
    day_mad: float

    def expected(self, bins: IntArray) -> tuple[FloatArray, FloatArray]:
        median = self.bin_median[bins]
        mad = self.bin_mad[bins]
        thin = np.isnan(median)
        median[thin] = self.day_median
        mad[thin] = self.day_mad
        return median, mad


def _median_mad(values: FloatArray) -> tuple[float, float]:
    median = float(np.median(values))
    return median, MAD_TO_SIGMA * float(np.median(np.abs(values - median)))


def _fit_baseline(ts: IntArray, values: FloatArray, settings: _BaselineSettings) -> _BaselineFit:
    bin_median = np.full(settings.bins, np.nan)
    bin_mad = np.full(settings.bins, np.nan)
    days = np.unique(_local_day(ts, settings.utc_offset_minutes)).size
    if values.size < settings.min_history or days < settings.min_days:
        return _BaselineFit(bin_median, bin_mad, math.nan, math.nan)
    day_median, day_mad = _median_mad(values)
    bins = settings.bin_of(ts)
    for b in range(settings.bins):
        in_bin = values[bins == b]
        if in_bin.size >= settings.min_per_bin:
            bin_median[b], bin_mad[b] = _median_mad(in_bin)
    return _BaselineFit(bin_median, bin_mad, day_median, day_mad)


def _z(values: FloatArray, median: FloatArray, mad: FloatArray, min_scale: float) -> FloatArray:
    return (values - median) / np.maximum(mad, min_scale)


class RobustBaseline:
    """A person's own normal for one measurement (e.g. resting heart rate), by time of day.

    The history is binned by local time of day (``bin_hours``-wide bins, ``utc_offset_minutes``
    from UTC); a bin with fewer than ``min_per_bin`` values falls back to the whole-day median and
    MAD. Nothing is judged until the history holds ``min_history`` values over at least
    ``min_days`` local days. Values older than ``window_days`` before the newest one are
    forgotten, so the baseline follows slow, legitimate change.

    ``min_scale`` floors the MAD (in the measurement's units; about its resolution): a history of
    identical integer readings has a MAD of 0, and one unit away from it should not be infinitely
    surprising.
    """

    def __init__(
        self,
        *,
        utc_offset_minutes: int = CHINA_UTC_OFFSET_MINUTES,
        bin_hours: int = 4,
        min_history: int = 30,
        min_days: int = 3,
        min_per_bin: int = 10,
        min_scale: float = 1.0,
        window_days: float = 28.0,
    ) -> None:
        self._settings = _BaselineSettings(
            utc_offset_minutes, bin_hours, min_history, min_days, min_per_bin, min_scale
        )
        _positive("window_days", window_days)
        self._window_ms = int(window_days * DAY_MS)
        self._ts: list[int] = []
        self._values: list[float] = []
        self._fit: _BaselineFit | None = None
        self._prune_at = 4096

    def __len__(self) -> int:
        return len(self._values)

    def add(self, ts_ms: int, value: float) -> bool:
        """Add one reading to the history; a NaN or infinite value is ignored (returns False)."""
        if isinstance(ts_ms, bool) or not isinstance(ts_ms, int | np.integer):
            raise ValueError(f"ts_ms must be integer milliseconds since the epoch, got {ts_ms!r}")
        number = float(value)
        if not math.isfinite(number):
            return False
        self._ts.append(int(ts_ms))
        self._values.append(number)
        self._fit = None
        if len(self._values) >= self._prune_at:  # forget old values even if nobody asks
            self._current_fit()
            self._prune_at = 2 * len(self._values) + 4096
        return True

    def expected(self, ts_ms: int) -> tuple[float, float] | None:
        """(median, scaled MAD) for this local time of day, or None while the history is short."""
        fit = self._current_fit()
        median, mad = fit.expected(self._settings.bin_of(np.array([ts_ms], dtype=np.int64)))
        if math.isnan(median[0]):
            return None
        return float(median[0]), float(mad[0])

    def robust_z(self, ts_ms: int, value: float) -> float | None:
        """How unusual ``value`` is for this person at this time of day, in robust SDs; None while
        the history is too short or when the value is not a finite number."""
        number = float(value)
        expected = self.expected(ts_ms)
        if expected is None or not math.isfinite(number):
            return None
        median, mad = expected
        return (number - median) / max(mad, self._settings.min_scale)

    def _current_fit(self) -> _BaselineFit:
        if self._fit is None:
            ts, (values,), _ = _series(self._ts, values=self._values)
            recent = ts >= ts[-1] - self._window_ms if ts.size else np.ones(0, dtype=bool)
            ts, values = ts[recent], values[recent]
            self._ts, self._values = ts.tolist(), values.tolist()
            self._fit = _fit_baseline(ts, values, self._settings)
        return self._fit


def robust_z_scores(
    ts_ms: ArrayLike,
    values: ArrayLike,
    history_ts: ArrayLike,
    history_values: ArrayLike,
    *,
    utc_offset_minutes: int = CHINA_UTC_OFFSET_MINUTES,
    bin_hours: int = 4,
    min_history: int = 30,
    min_days: int = 3,
    min_per_bin: int = 10,
    min_scale: float = 1.0,
) -> FloatArray:
    """Robust z-score of each value against the person's history, by local time of day.

    Same rules as ``RobustBaseline`` (without the sliding window: pass the history you want).
    Returns a float array aligned with ``values``; NaN where the value is not finite or the
    history is too short to judge.
    """
    settings = _BaselineSettings(
        utc_offset_minutes, bin_hours, min_history, min_days, min_per_bin, min_scale
    )
    hist_ts, (hist_values,), _ = _series(history_ts, "history_ts", history_values=history_values)
    fit = _fit_baseline(hist_ts, hist_values, settings)
    ts = np.asarray(ts_ms, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    if ts.shape != x.shape or ts.ndim != 1:
        raise ValueError(f"ts_ms {ts.shape} and values {x.shape} must be equal-length 1-D arrays")
    ok = np.isfinite(ts) & np.isfinite(x)
    z = np.full(x.shape, np.nan)
    median, mad = fit.expected(settings.bin_of(ts[ok].astype(np.int64)))
    z[ok] = _z(x[ok], median, mad, min_scale)
    return z


# --- slow drift: two-sided tabular CUSUM -------------------------------------------------------


def _check_cusum_design(k: float, h: float) -> None:
    if not (isinstance(k, int | float | np.number) and math.isfinite(k) and k >= 0):
        raise ValueError(f"k must be a finite number >= 0 (in sigmas), got {k!r}")
    _positive("h", h)


class Cusum:
    """Two-sided tabular CUSUM on (value - target) / sigma, fed one value at a time.

    ``k`` (reference value) and ``h`` (decision interval) are in units of sigma. After a signal
    both sums start again from zero. NaN and infinite values are skipped without changing state.
    See the module docstring for the run lengths to expect.
    """

    def __init__(self, target: float, sigma: float, k: float = 0.5, h: float = 5.0) -> None:
        if not math.isfinite(float(target)):
            raise ValueError(f"target must be a finite number, got {target!r}")
        _positive("sigma", sigma)
        _check_cusum_design(k, h)
        self.target = float(target)
        self.sigma = float(sigma)
        self.k = float(k)
        self.h = float(h)
        self._upper = 0.0
        self._lower = 0.0

    @property
    def upper(self) -> float:
        """C+, evidence that values run above target (sigmas)."""
        return self._upper

    @property
    def lower(self) -> float:
        """C-, evidence that values run below target (sigmas)."""
        return self._lower

    def update(self, value: float) -> Direction | None:
        number = float(value)
        if not math.isfinite(number):
            return None
        z = (number - self.target) / self.sigma
        self._upper = max(0.0, self._upper + (z - self.k))
        self._lower = max(0.0, self._lower + (-z - self.k))
        if self._upper > self.h:
            self.reset()
            return "up"
        if self._lower > self.h:
            self.reset()
            return "down"
        return None

    def reset(self) -> None:
        self._upper = 0.0
        self._lower = 0.0


@dataclass(frozen=True)
class CusumAlarm:
    index: int
    direction: Direction

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "direction": self.direction}


@dataclass(frozen=True, eq=False)
class CusumResult:
    """C+ and C- after each sample (at an alarm, the value that crossed h; the next sample starts
    again from zero), and the alarms in order."""

    upper: FloatArray
    lower: FloatArray
    alarms: tuple[CusumAlarm, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "upper": self.upper.tolist(),
            "lower": self.lower.tolist(),
            "alarms": [alarm.as_dict() for alarm in self.alarms],
        }


def _lindley(start: float, steps: FloatArray) -> FloatArray:
    """C_n = max(0, C_(n-1) + step_n) for every n at once: max(C_0 + S_n, S_n - min_(j<=n) S_j)."""
    cumulative = np.cumsum(steps)
    return np.maximum(start + cumulative, cumulative - np.minimum.accumulate(cumulative))


def tabular_cusum(
    values: ArrayLike,
    target: float | ArrayLike,
    sigma: float | ArrayLike,
    *,
    k: float = 0.5,
    h: float = 5.0,
) -> CusumResult:
    """The same CUSUM as ``Cusum`` over a whole series, vectorised.

    ``target`` and ``sigma`` may be scalars or arrays aligned with ``values`` (e.g. the
    time-of-day baseline of each sample). NaN values are skipped without changing state.
    """
    _check_cusum_design(k, h)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {x.shape}")
    try:
        mu = np.broadcast_to(np.asarray(target, dtype=np.float64), x.shape)
        sd = np.broadcast_to(np.asarray(sigma, dtype=np.float64), x.shape)
    except ValueError as error:
        raise ValueError(f"target and sigma must be scalars or match values {x.shape}") from error
    if not np.all(np.isfinite(mu)):
        raise ValueError("target must be finite everywhere")
    if not np.all(np.isfinite(sd) & (sd > 0)):
        raise ValueError("sigma must be finite and > 0 everywhere")
    z = (x - mu) / sd
    skipped = ~np.isfinite(z)
    up_steps = np.where(skipped, 0.0, z - k)
    down_steps = np.where(skipped, 0.0, -z - k)

    n = x.size
    upper = np.empty(n)
    lower = np.empty(n)
    alarms: list[CusumAlarm] = []
    position, c_up, c_down = 0, 0.0, 0.0
    chunk = 64  # grows while quiet, shrinks after an alarm: few alarms -> few passes
    while position < n:
        end = min(n, position + chunk)
        u = _lindley(c_up, up_steps[position:end])
        d = _lindley(c_down, down_steps[position:end])
        crossed = np.flatnonzero((u > h) | (d > h))
        if crossed.size == 0:
            upper[position:end], lower[position:end] = u, d
            c_up, c_down = float(u[-1]), float(d[-1])
            position, chunk = end, chunk * 2
            continue
        i = int(crossed[0])
        upper[position : position + i + 1] = u[: i + 1]
        lower[position : position + i + 1] = d[: i + 1]
        alarms.append(CusumAlarm(position + i, "up" if u[i] > h else "down"))
        position, c_up, c_down, chunk = position + i + 1, 0.0, 0.0, 64
    return CusumResult(upper, lower, tuple(alarms))


# --- heart-failure weight rule -------------------------------------------------------------------

_PLAUSIBLE_KG = (10.0, 400.0)


@dataclass(frozen=True)
class WeightGain:
    """Evidence for a weight gain: the day levels compared and where they came from."""

    gain_kg: float
    from_kg: float
    to_kg: float
    from_day: str
    to_day: str
    from_ts_ms: int
    to_ts_ms: int
    days_apart: int
    from_readings: int
    to_readings: int
    readings_ignored: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _consistent_with_neighbours(
    ts: IntArray, kg: FloatArray, reach_ms: int, limit: float
) -> NDArray[np.bool_]:
    """True for readings within ``limit`` of the median of all readings within ``reach_ms`` of
    them (themselves included): a Hampel-type screen with an absolute limit. A reading with fewer
    than two others in reach is kept, since there is no majority to judge it by."""
    starts = np.searchsorted(ts, ts - reach_ms, side="left")
    ends = np.searchsorted(ts, ts + reach_ms, side="right")
    reference = np.array([np.median(kg[s:e]) for s, e in zip(starts, ends, strict=True)])
    return (ends - starts < 3) | (np.abs(kg - reference) <= limit)


def weight_gain_alert(
    ts_ms: ArrayLike,
    kg: ArrayLike,
    window_days: int = 3,
    gain_kg: float = 2.0,
    *,
    outlier_kg: float = 5.0,
    utc_offset_minutes: int = CHINA_UTC_OFFSET_MINUTES,
) -> WeightGain | None:
    """The latest day whose weight is ``gain_kg`` or more above a day at most ``window_days``
    local days earlier (ESC: "more than 2 kg in 3 days"), or None.

    How readings become day levels:

    1. NaN, repeated timestamps and impossible weights (outside 10-400 kg) are dropped.
    2. A reading more than ``outlier_kg`` away from the median of all readings within
       ``window_days`` of it (itself included) is dropped: someone else on the scale, a bag in
       hand. Fluid builds up at well under 5 kg in 3 days, so real gains pass. A single +10 kg
       reading after days of stable weight is therefore ignored, while a new level seen again on a
       following reading is kept and reported. With fewer than three readings in reach there is
       no majority to tell an outlier by, and nothing is dropped.
    3. Each local day's level is the median of its remaining readings, so one or several
       weighings a day both work.

    The gain is the day's level minus the lowest level in the preceding ``window_days`` days.
    """
    _count("window_days", window_days)
    _positive("gain_kg", gain_kg)
    _positive("outlier_kg", outlier_kg)
    ts, (weights,), ignored = _series(ts_ms, kg=kg)
    plausible = _within(weights, _PLAUSIBLE_KG)
    ignored += int((~plausible).sum())
    ts, weights = ts[plausible], weights[plausible]
    if ts.size == 0:
        return None
    keep = _consistent_with_neighbours(ts, weights, window_days * DAY_MS, outlier_kg)
    ignored += int((~keep).sum())
    ts, weights = ts[keep], weights[keep]

    days = _local_day(ts, utc_offset_minutes)
    unique_days, first_index, per_day = np.unique(days, return_index=True, return_counts=True)
    levels = np.array([np.median(day) for day in np.split(weights, first_index[1:])])
    earliest = np.searchsorted(unique_days, unique_days - window_days, side="left")
    for to in range(unique_days.size - 1, 0, -1):
        if earliest[to] == to:
            continue
        frm = int(earliest[to] + np.argmin(levels[earliest[to] : to]))
        gain = float(levels[to] - levels[frm])
        if gain >= gain_kg - 1e-9:  # 72.1 - 70.1 is 1.9999999999999 in binary
            return WeightGain(
                gain_kg=round(gain, 3),
                from_kg=float(levels[frm]),
                to_kg=float(levels[to]),
                from_day=_iso_day(unique_days[frm]),
                to_day=_iso_day(unique_days[to]),
                from_ts_ms=int(ts[first_index[frm]]),
                to_ts_ms=int(ts[first_index[to]]),
                days_apart=int(unique_days[to] - unique_days[frm]),
                from_readings=int(per_day[frm]),
                to_readings=int(per_day[to]),
                readings_ignored=ignored,
            )
    return None


# --- hypertension pattern for insurance follow-up ----------------------------------------------

_PLAUSIBLE_SYSTOLIC = (40.0, 300.0)
_PLAUSIBLE_DIASTOLIC = (20.0, 200.0)


@dataclass(frozen=True)
class DayBloodPressure:
    day: str
    readings: int
    mean_systolic: float
    mean_diastolic: float
    high: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HypertensionPattern:
    """Evidence: every day with readings in the period, and the period's means."""

    first_day: str
    last_day: str
    days: tuple[DayBloodPressure, ...]
    high_days: int
    readings: int
    mean_systolic: float
    mean_diastolic: float
    systolic_limit: float
    diastolic_limit: float
    readings_ignored: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day,
            "last_day": self.last_day,
            "days": [day.as_dict() for day in self.days],
            "high_days": self.high_days,
            "readings": self.readings,
            "mean_systolic": self.mean_systolic,
            "mean_diastolic": self.mean_diastolic,
            "systolic_limit": self.systolic_limit,
            "diastolic_limit": self.diastolic_limit,
            "readings_ignored": self.readings_ignored,
        }


def hypertension_pattern(
    ts_ms: ArrayLike,
    systolic: ArrayLike,
    diastolic: ArrayLike,
    days: int = 7,
    *,
    systolic_limit: float = 135.0,
    diastolic_limit: float = 85.0,
    min_high_days: int = 3,
    min_readings: int = 6,
    end_ts_ms: int | None = None,
    utc_offset_minutes: int = CHINA_UTC_OFFSET_MINUTES,
) -> HypertensionPattern | None:
    """Repeatedly high home blood pressure over the last ``days`` local days, or None.

    The period ends on the local day of ``end_ts_ms`` (default: of the latest reading). A pattern
    needs all of: at least ``min_readings`` readings in the period; the period's mean at or above
    the home limit (systolic >= 135 and/or diastolic >= 85 mmHg, Chinese guideline 2018); and at
    least ``min_high_days`` different days whose own mean is at or above the limit, so one bad
    morning cannot make a pattern. Readings that cannot be a blood pressure (NaN, systolic outside
    40-300 or diastolic outside 20-200 mmHg, systolic not above diastolic, repeated timestamps)
    are dropped and counted.
    """
    _count("days", days)
    _count("min_high_days", min_high_days)
    _count("min_readings", min_readings)
    _positive("systolic_limit", systolic_limit)
    _positive("diastolic_limit", diastolic_limit)
    ts, (sys_, dia), ignored = _series(ts_ms, systolic=systolic, diastolic=diastolic)
    plausible = (
        _within(sys_, _PLAUSIBLE_SYSTOLIC) & _within(dia, _PLAUSIBLE_DIASTOLIC) & (sys_ > dia)
    )
    ignored += int((~plausible).sum())
    ts, sys_, dia = ts[plausible], sys_[plausible], dia[plausible]
    if ts.size == 0:
        return None
    local_days = _local_day(ts, utc_offset_minutes)
    last_day = int(
        local_days[-1]
        if end_ts_ms is None
        else _local_day(np.array([end_ts_ms], dtype=np.int64), utc_offset_minutes)[0]
    )
    first_day = last_day - days + 1
    in_period = (local_days >= first_day) & (local_days <= last_day)
    if int(in_period.sum()) < min_readings:
        return None
    local_days, sys_, dia = local_days[in_period], sys_[in_period], dia[in_period]
    mean_systolic, mean_diastolic = float(sys_.mean()), float(dia.mean())
    if mean_systolic < systolic_limit and mean_diastolic < diastolic_limit:
        return None

    unique_days, first_index, counts = np.unique(local_days, return_index=True, return_counts=True)
    evidence = []
    for day, day_sys, day_dia, n in zip(
        unique_days,
        np.split(sys_, first_index[1:]),
        np.split(dia, first_index[1:]),
        counts,
        strict=True,
    ):
        mean_sys, mean_dia = float(day_sys.mean()), float(day_dia.mean())
        high = mean_sys >= systolic_limit or mean_dia >= diastolic_limit
        evidence.append(DayBloodPressure(_iso_day(day), int(n), mean_sys, mean_dia, high))
    high_days = sum(day.high for day in evidence)
    if high_days < min_high_days:
        return None
    return HypertensionPattern(
        first_day=_iso_day(first_day),
        last_day=_iso_day(last_day),
        days=tuple(evidence),
        high_days=high_days,
        readings=int(sys_.size),
        mean_systolic=mean_systolic,
        mean_diastolic=mean_diastolic,
        systolic_limit=float(systolic_limit),
        diastolic_limit=float(diastolic_limit),
        readings_ignored=ignored,
    )
