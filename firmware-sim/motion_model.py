"""Waist acceleration of a person going about their day, and falling.

Output is what a waist-worn 3-axis accelerometer reads, in g, gravity included,
in the sensor frame of the SisFall recordings (Sucerquia et al., Sensors 2017):
standing upright reads about (0, -1, -0.2) g, lying on the back about +1 g on z,
face down about -1 g on z, on a side about ±1 g on x.

The day is a chain of episodes (lying, getting up, standing, walking, sitting
down, sitting, standing up, lying down) whose choice and duration follow the
time of day. A fall (``trigger_fall``) is a short stumble, a descent with the
measured magnitude dropping towards free fall while the trunk rotates, an
impact of several g, damped rebound, then stillness in the new orientation.
Summary figures are checked against SisFall waist recordings in the unit tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 50
SECONDS_PER_DAY = 86_400


def _unit(*v: float) -> np.ndarray:
    a = np.array(v, dtype=float)
    return a / np.linalg.norm(a)


UPRIGHT = _unit(0.05, -0.97, -0.22)
SITTING = _unit(0.08, -0.90, -0.40)
SUPINE = _unit(0.05, 0.05, 1.0)
PRONE = _unit(0.10, 0.05, -1.0)
LEFT_SIDE = _unit(-1.0, 0.10, 0.05)
RIGHT_SIDE = _unit(1.0, 0.10, 0.05)
LYING = (SUPINE, LEFT_SIDE, RIGHT_SIDE)
FALLEN = (SUPINE, PRONE, LEFT_SIDE, RIGHT_SIDE)

STILL = frozenset({"lying", "sitting", "fallen"})


@dataclass
class Episode:
    activity: str
    start: int  # sample index
    length: int  # samples
    posture_from: np.ndarray
    posture_to: np.ndarray
    impact_g: float = 0.0
    cadence_hz: float = 1.8  # steps per second, walking
    step_g: float = 0.25  # vertical gait amplitude, walking

    @property
    def end(self) -> int:
        return self.start + self.length


def _slerp(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Rows interpolated on the sphere from a to b, s in [0, 1]."""
    cos = float(np.clip(a @ b, -1.0, 1.0))
    angle = math.acos(cos)
    s = s[:, None]
    if angle < 1e-6:
        return np.repeat(a[None, :], len(s), axis=0)
    if math.pi - angle < 1e-3:  # opposite: go round through an arbitrary orthogonal axis
        mid = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 0.0, 1.0])
        mid /= np.linalg.norm(mid)
        half = s * 2
        first = np.sin((1 - half) * math.pi / 2) * a + np.sin(half * math.pi / 2) * mid
        second = np.sin((2 - half) * math.pi / 2) * mid + np.sin((half - 1) * math.pi / 2) * b
        return np.where(s < 0.5, first, second)
    return (np.sin((1 - s) * angle) * a + np.sin(s * angle) * b) / math.sin(angle)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class WaistMotionModel:
    """Stateful generator of 50 Hz waist acceleration; same seed, same signal.

    ``day_start_s`` is the time of day at model time 0 (08:00 by default);
    ``recover_after_s`` is how long the person lies after a fall before getting
    up (None: they stay down, a "long lie").
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        day_start_s: float = 8 * 3600,
        rate_hz: int = SAMPLE_RATE_HZ,
        recover_after_s: float | None = 120.0,
        noise_g: float = 0.01,
    ) -> None:
        self.rate_hz = rate_hz
        self.day_start_s = day_start_s
        self.recover_after_s = recover_after_s
        self.noise_g = noise_g
        self._rng = np.random.default_rng(seed)
        self.sample_index = 0
        self.falls = 0
        hour = self.hour_of_day(0.0)
        first = "lying" if hour >= 22 or hour < 7 else "standing"
        posture = SUPINE if first == "lying" else UPRIGHT
        self.episode = self._episode(first, 0, posture)

    # -- public ---------------------------------------------------------------------

    @property
    def time_s(self) -> float:
        return self.sample_index / self.rate_hz

    @property
    def activity(self) -> str:
        return self.episode.activity

    def hour_of_day(self, t_s: float) -> int:
        return int(((self.day_start_s + t_s) % SECONDS_PER_DAY) // 3600)

    def trigger_fall(self) -> None:
        """The person falls now: the current episode is cut short."""
        self.episode = self._episode("fall", self.sample_index, self._posture_now())

    def advance(self, n: int) -> np.ndarray:
        """The next ``n`` samples, shape (n, 3), in g."""
        out = np.empty((n, 3))
        filled = 0
        while filled < n:
            if self.sample_index >= self.episode.end:
                self.episode = self._next_episode()
            take = min(n - filled, self.episode.end - self.sample_index)
            local = np.arange(self.sample_index, self.sample_index + take) - self.episode.start
            out[filled : filled + take] = self._synthesise(self.episode, local)
            filled += take
            self.sample_index += take
        return out + self._rng.normal(0.0, self.noise_g, size=out.shape)

    # -- episodes -------------------------------------------------------------------

    def _posture_now(self) -> np.ndarray:
        e = self.episode
        s = (self.sample_index - e.start) / max(1, e.length)
        return _slerp(e.posture_from, e.posture_to, np.array([min(1.0, s)]))[0]

    def _seconds(self, low: float, high: float) -> int:
        return max(1, round(self._rng.uniform(low, high) * self.rate_hz))

    def _episode(self, activity: str, start: int, posture: np.ndarray) -> Episode:
        rng = self._rng
        to = posture
        impact = 0.0
        if activity == "lying":
            length = self._seconds(600, 3600) if self._is_night(start) else self._seconds(600, 2400)
        elif activity == "sitting":
            length = self._seconds(120, 1800)
        elif activity == "standing":
            length = self._seconds(5, 60)
        elif activity == "walking":
            length = self._seconds(10, 90)
        elif activity == "sit_down":
            length, to = self._seconds(1.5, 3.0), SITTING
        elif activity == "stand_up":
            length, to = self._seconds(1.5, 3.0), UPRIGHT
        elif activity == "lie_down":
            length, to = self._seconds(3.0, 6.0), LYING[rng.integers(len(LYING))]
        elif activity == "turn_over":
            choices = [p for p in LYING if not np.allclose(p, posture)]
            length, to = self._seconds(2.0, 4.0), choices[rng.integers(len(choices))]
        elif activity == "get_up":
            length, to = self._seconds(3.0, 8.0), UPRIGHT
        elif activity == "fall":
            length = self._seconds(1.6, 1.6)
            to = FALLEN[rng.integers(len(FALLEN))]
            impact = float(rng.uniform(3.0, 7.0))
        elif activity == "fallen":
            after = self.recover_after_s
            length = 10**12 if after is None else max(1, round(after * self.rate_hz))
        else:
            raise ValueError(f"unknown activity {activity!r}")
        return Episode(
            activity,
            start,
            length,
            posture,
            to,
            impact_g=impact,
            cadence_hz=float(rng.uniform(1.5, 1.9)),
            step_g=float(rng.uniform(0.14, 0.28)),
        )

    def _is_night(self, sample: int) -> bool:
        hour = self.hour_of_day(sample / self.rate_hz)
        return hour >= 22 or hour < 7

    def _next_episode(self) -> Episode:
        e = self.episode
        rng = self._rng
        night = self._is_night(e.end)
        current = e.activity
        if current == "fall":
            self.falls += 1
            nxt = "fallen"
        elif current == "lying":
            # at night: mostly turning over, sometimes up to the bathroom
            nxt = ("get_up" if rng.random() < 0.1 else "turn_over") if night else "get_up"
        elif current == "turn_over":
            nxt = "lying"
        elif current in ("fallen",):
            nxt = "get_up"
        elif current in ("get_up", "stand_up", "walking"):
            nxt = "standing"
        elif current == "sit_down":
            nxt = "sitting"
        elif current == "lie_down":
            nxt = "lying"
        elif current == "sitting":
            nxt = "stand_up"
        else:  # standing
            roll = rng.random()
            if night:
                nxt = "walking" if roll < 0.4 else "lie_down"
            elif current == "standing" and roll < 0.55:
                nxt = "walking"
            elif roll < 0.95:
                nxt = "sit_down"
            else:
                nxt = "lie_down"  # a nap
        return self._episode(nxt, e.end, e.posture_to)

    # -- signals --------------------------------------------------------------------

    def _synthesise(self, e: Episode, k: np.ndarray) -> np.ndarray:
        t = k / self.rate_hz
        duration = e.length / self.rate_hz
        if e.activity == "fall":
            return self._fall(e, t)
        if e.activity in STILL or e.activity == "standing":
            sway = 0.0 if e.activity in STILL else 0.015
            posture = np.repeat(e.posture_to[None, :], len(t), axis=0)
            return posture + sway * np.sin(2 * math.pi * 0.3 * t)[:, None] * np.array([1, 0, 1])
        if e.activity == "walking":
            return self._walking(e, t)
        # a posture change: rotate, with a push-off and a landing along the body axis
        s = _smoothstep(t / duration)
        posture = _slerp(e.posture_from, e.posture_to, s)
        bump = 0.25 * np.exp(-(((t / duration) - 0.75) ** 2) / 0.01)
        dip = -0.15 * np.exp(-(((t / duration) - 0.3) ** 2) / 0.01)
        return posture * (1.0 + bump + dip)[:, None]

    def _walking(self, e: Episode, t: np.ndarray) -> np.ndarray:
        phase = 2 * math.pi * e.cadence_hz * t
        vertical = e.step_g * np.sin(phase) + 0.35 * e.step_g * np.sin(2 * phase + 0.6)
        vertical += 1.5 * e.step_g * np.maximum(0.0, np.sin(phase + 0.4)) ** 12  # heel strike
        forward = 0.5 * e.step_g * np.sin(phase + 1.2)
        lateral = 0.3 * e.step_g * np.sin(phase / 2)  # sways once per stride
        jitter = self._rng.normal(0.0, 0.04, size=(len(t), 3))
        out = np.outer(1.0 + vertical, e.posture_to)
        out[:, 2] += forward
        out[:, 0] += lateral
        return out + jitter

    def _fall(self, e: Episode, t: np.ndarray) -> np.ndarray:
        # 0-0.3 s stumble, 0.3-0.75 s descent (towards free fall) while rotating,
        # impact at 0.8 s lasting ~80 ms, rebound to 1.3 s, then still.
        s = _smoothstep((t - 0.3) / 0.55)
        posture = _slerp(e.posture_from, e.posture_to, s)
        magnitude = np.ones_like(t)
        magnitude += 0.3 * np.sin(2 * math.pi * 3 * t) * (t < 0.3)
        descent = (t >= 0.3) & (t < 0.78)
        magnitude[descent] = 1.0 - 0.65 * np.sin(math.pi * (t[descent] - 0.3) / 0.48)
        out = posture * magnitude[:, None]
        impact = (t >= 0.78) & (t < 0.86)
        pulse = np.sin(math.pi * (t[impact] - 0.78) / 0.08)
        direction = e.posture_to + self._rng.normal(0.0, 0.3, size=3)
        direction /= np.linalg.norm(direction)
        out[impact] += np.outer(pulse * (e.impact_g - 1.0), direction)
        rebound = (t >= 0.86) & (t < 1.4)
        tr = t[rebound] - 0.86
        out[rebound] += np.outer(
            0.6 * np.exp(-tr / 0.12) * np.sin(2 * math.pi * 6 * tr), e.posture_to
        )
        return out


# -- SisFall and summary figures, for validating the model ------------------------------

ADXL345_G_PER_COUNT = 32 / 8192
SISFALL_RATE_HZ = 200


def load_sisfall_waist(path: str | Path, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """ADXL345 columns of a SisFall trial, in g, resampled from 200 Hz to ``rate_hz``."""
    from scipy.signal import resample_poly

    rows = []
    for line in Path(path).read_text(encoding="latin-1").splitlines():
        line = line.strip().rstrip(";")
        if line:
            rows.append([int(v) for v in line.split(",")[:3]])
    counts = np.array(rows, dtype=float) * ADXL345_G_PER_COUNT
    g = math.gcd(rate_hz, SISFALL_RATE_HZ)
    return resample_poly(counts, rate_hz // g, SISFALL_RATE_HZ // g, axis=0)


@dataclass(frozen=True)
class MotionSummary:
    peak_g: float
    magnitude_sd_g: float
    orientation_change_deg: float  # mean acceleration direction, first vs last 2 s


def motion_summary(samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> MotionSummary:
    magnitude = np.linalg.norm(samples, axis=1)
    window = min(len(samples) // 2, 2 * rate_hz)
    first, last = samples[:window].mean(axis=0), samples[-window:].mean(axis=0)
    cos = first @ last / (np.linalg.norm(first) * np.linalg.norm(last))
    return MotionSummary(
        peak_g=float(magnitude.max()),
        magnitude_sd_g=float(magnitude.std()),
        orientation_change_deg=math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0)))),
    )
