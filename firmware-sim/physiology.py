"""Pure physiological models: state plus ``advance(t)``, no radio, no asyncio.

Heart: beat-by-beat. Each RR interval comes from an instantaneous rate made of
the scenario's target, respiratory sinus arrhythmia (a sinusoid at the
breathing rate: the heart speeds up on inspiration) and a slow random drift
(Ornstein-Uhlenbeck), so RR series have realistic short-term variability.
SpO2: the scenario's target plus a small mean-reverting wander.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from .scenarios import Baseline, Scenario

HR_MIN_BPM = 25.0
HR_MAX_BPM = 230.0


@dataclass(frozen=True)
class PersonProfile:
    name: str = "person"
    baseline_hr_bpm: float = 72.0
    rsa_amplitude_bpm: float = 3.0
    respiratory_rate_hz: float = 0.25  # 15 breaths/min
    hr_drift_sd_bpm: float = 1.5
    hr_drift_tau_s: float = 20.0
    baseline_spo2_pct: float = 97.0
    spo2_drift_sd_pct: float = 0.5
    spo2_drift_tau_s: float = 30.0


@dataclass(frozen=True)
class Beat:
    t_s: float  # time of the beat that closes the interval
    rr_s: float


@dataclass(frozen=True)
class VitalSample:
    t_s: float
    heart_rate_bpm: float
    rr_intervals_s: tuple[float, ...]
    spo2_pct: float


class _OrnsteinUhlenbeck:
    def __init__(self, sd: float, tau_s: float, rng: random.Random) -> None:
        self.sd = sd
        self.tau_s = tau_s
        self.rng = rng
        self.value = 0.0

    def step(self, dt_s: float) -> float:
        if dt_s <= 0 or self.sd <= 0:
            return self.value
        decay = math.exp(-dt_s / self.tau_s)
        self.value = self.value * decay + self.sd * math.sqrt(1 - decay * decay) * self.rng.gauss(
            0.0, 1.0
        )
        return self.value


class HeartModel:
    """Generates beats up to a given simulated time; keeps the last minute of beats."""

    def __init__(
        self,
        profile: PersonProfile,
        scenario: Scenario | None = None,
        seed: int = 0,
        start_s: float = 0.0,
    ) -> None:
        self.profile = profile
        self.scenario = scenario or Baseline()
        self._rng = random.Random(seed)
        self._drift = _OrnsteinUhlenbeck(profile.hr_drift_sd_bpm, profile.hr_drift_tau_s, self._rng)
        self._last_beat_s = start_s
        self._phase = self._rng.uniform(0, 2 * math.pi)
        self.beats: deque[Beat] = deque()

    def instantaneous_rate(self, t_s: float) -> float:
        p = self.profile
        target = self.scenario.heart_rate_target(t_s, p.baseline_hr_bpm)
        # RSA shrinks as the rate rises (vagal withdrawal), so scale by baseline/target.
        # Below baseline the swings are sized in RR, where they live: a swing of a bpm is
        # 60·a/HR² s, so unscaled they would grow with 1/HR² and a sinus bradycardia would
        # swing by 150 ms from beat to beat, which no heart does and an AF detector flags.
        slower = min(1.0, target / p.baseline_hr_bpm) ** 2
        rsa = p.rsa_amplitude_bpm * min(1.0, p.baseline_hr_bpm / max(target, 1.0)) * slower
        rate = (
            target
            + rsa * math.sin(2 * math.pi * p.respiratory_rate_hz * t_s + self._phase)
            + self._drift.value * slower
        )
        return min(HR_MAX_BPM, max(HR_MIN_BPM, rate))

    def _upcoming_rr(self) -> float:
        """The interval to the next beat; asking twice before it is taken gives the same."""
        return 60.0 / self.instantaneous_rate(self._last_beat_s)

    def _beat_taken(self) -> None:
        """The upcoming beat has happened (a model that plans beats ahead drops it here)."""

    def advance(self, t_s: float) -> list[Beat]:
        """Beats whose time falls in (last beat, t_s]; remembered for ``heart_rate``."""
        new: list[Beat] = []
        while True:
            rr = self._upcoming_rr()
            if self._last_beat_s + rr > t_s:
                break
            self._beat_taken()
            self._last_beat_s += rr
            self._drift.step(rr)
            beat = Beat(self._last_beat_s, rr)
            new.append(beat)
            self.beats.append(beat)
        while self.beats and self.beats[0].t_s < t_s - 60.0:
            self.beats.popleft()
        return new

    def heart_rate(self, t_s: float, window_s: float = 5.0) -> float:
        """Rate over the beats of the last ``window_s`` (as a strap would average)."""
        recent = [b.rr_s for b in self.beats if b.t_s > t_s - window_s]
        if not recent:
            return self.instantaneous_rate(t_s)
        return 60.0 / (sum(recent) / len(recent))


class Spo2Model:
    def __init__(self, profile: PersonProfile, scenario: Scenario | None = None, seed: int = 0):
        self.profile = profile
        self.scenario = scenario or Baseline()
        self._drift = _OrnsteinUhlenbeck(
            profile.spo2_drift_sd_pct, profile.spo2_drift_tau_s, random.Random(seed)
        )
        self._last_s: float | None = None

    def advance(self, t_s: float) -> float:
        dt = 0.0 if self._last_s is None else max(0.0, t_s - self._last_s)
        self._last_s = t_s
        target = self.scenario.spo2_target(t_s, self.profile.baseline_spo2_pct)
        return min(100.0, max(50.0, target + self._drift.step(dt)))


class SimulatedPerson:
    """One person's physiology, shared by every device they wear so the strap and the
    oximeter agree on the pulse. Each device keeps its own read cursor."""

    def __init__(
        self,
        profile: PersonProfile | None = None,
        scenario: Scenario | None = None,
        seed: int = 0,
    ) -> None:
        self.profile = profile or PersonProfile()
        self.heart = HeartModel(self.profile, scenario, seed=seed)
        self.spo2 = Spo2Model(self.profile, scenario, seed=seed + 1)
        self._spo2_now = self.profile.baseline_spo2_pct
        self._t = 0.0

    @property
    def scenario(self) -> Scenario:
        return self.heart.scenario

    @scenario.setter
    def scenario(self, scenario: Scenario) -> None:
        self.heart.scenario = scenario
        self.spo2.scenario = scenario

    def advance(self, t_s: float) -> None:
        if t_s <= self._t:
            return
        self.heart.advance(t_s)
        self._spo2_now = self.spo2.advance(t_s)
        self._t = t_s

    def sample(self, since_s: float, t_s: float) -> VitalSample:
        """Vitals at ``t_s`` with the RR intervals of beats in (since_s, t_s]."""
        self.advance(t_s)
        rr = tuple(b.rr_s for b in self.heart.beats if since_s < b.t_s <= t_s)
        return VitalSample(t_s, self.heart.heart_rate(t_s), rr, self._spo2_now)
