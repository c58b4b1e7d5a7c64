"""Heart rhythm on top of the sinus model: HRV that falls with age, ectopic beats and
atrial-fibrillation episodes.

Sinus rhythm keeps :class:`HeartModel`'s construction (rate target + RSA + slow drift);
this module sizes RSA and drift from age norms and replaces beats where the rhythm is
not sinus. Everything is a pure function of the seed and simulated time: intervals are
decided one beat ahead and kept, so the beats do not depend on how often a device
samples them.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from dataclasses import dataclass, replace

from .physiology import HeartModel, PersonProfile
from .scenarios import Scenario

# Resting 5-min time-domain norms by age: (age, SDNN ms, RMSSD ms). The shape follows
# Voss et al. 2012 (Physiol Meas 33:1289; 1906 healthy KORA S4 adults aged 25-74):
# variability falls fastest over the early decades and is nearly flat over the last
# two. The level is in line with the pooled adult norms of Nunan et al. 2010 (PACE
# 33:1407: SDNN 50 ± 16 ms, RMSSD 42 ± 15 ms). Ages beyond 75 are held at the 75 value:
# there are no large healthy cohorts to extrapolate from.
AGE_HRV_NORMS: tuple[tuple[float, float, float], ...] = (
    (25, 52.0, 42.0),
    (35, 46.0, 34.0),
    (45, 41.0, 27.0),
    (55, 37.0, 23.0),
    (65, 34.0, 21.0),
    (75, 32.0, 20.0),
)

# AF in afdb (15 records, AFIB-labelled RR): coefficient of variation 0.15-0.32 (median
# about 0.22), mean ventricular rate 70-136 /min, lag-1 autocorrelation 0-0.4.
AF_DEFAULT_RATE_BPM = 110.0
AF_DEFAULT_CV = 0.22
AF_MIN_RR_S = 0.28  # AV-node refractory period bounds how short a conducted interval gets
AF_MAX_RR_S = 2.0


@dataclass(frozen=True)
class HrvNorm:
    sdnn_s: float
    rmssd_s: float


def hrv_norm_for_age(age: float) -> HrvNorm:
    """Resting 5-min SDNN and RMSSD for a healthy person of ``age`` (linear between anchors)."""
    ages = [a for a, _, _ in AGE_HRV_NORMS]
    if age <= ages[0]:
        _, sdnn, rmssd = AGE_HRV_NORMS[0]
    elif age >= ages[-1]:
        _, sdnn, rmssd = AGE_HRV_NORMS[-1]
    else:
        i = next(i for i, a in enumerate(ages) if a > age)
        (a0, s0, r0), (a1, s1, r1) = AGE_HRV_NORMS[i - 1], AGE_HRV_NORMS[i]
        w = (age - a0) / (a1 - a0)
        sdnn, rmssd = s0 + w * (s1 - s0), r0 + w * (r1 - r0)
    return HrvNorm(sdnn / 1000.0, rmssd / 1000.0)


def sinus_profile_for(
    profile: PersonProfile, norm: HrvNorm, hrv_scale: float = 1.0
) -> PersonProfile:
    """``profile`` with RSA amplitude and drift sized so the sinus RR series has about
    ``norm``'s RMSSD and SDNN (times ``hrv_scale``, e.g. < 1 for heart failure).

    RSA is a sinusoid in rate of amplitude ``a``; in RR it has amplitude A = RR0·a/HR0,
    and sampled once per beat its successive differences have RMS √2·A·sin(π·f·RR0).
    RSA contributes A²/2 to the RR variance; the drift supplies the rest of SDNN².
    """
    hr0 = profile.baseline_hr_bpm
    rr0 = 60.0 / hr0
    rmssd = norm.rmssd_s * hrv_scale
    sdnn = norm.sdnn_s * hrv_scale
    # At slow breathing and fast rates sin() is small; keep it away from zero.
    shape = max(0.2, math.sin(math.pi * profile.respiratory_rate_hz * rr0))
    rsa_rr = rmssd / (math.sqrt(2.0) * shape)
    drift_rr = math.sqrt(max(0.0, sdnn**2 - rsa_rr**2 / 2.0))
    return replace(
        profile,
        rsa_amplitude_bpm=rsa_rr * hr0 / rr0,
        hr_drift_sd_bpm=drift_rr * hr0 / rr0,
    )


@dataclass(frozen=True)
class AfEpisode:
    start_s: float
    end_s: float
    rate_bpm: float = AF_DEFAULT_RATE_BPM
    cv: float = AF_DEFAULT_CV

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclass(frozen=True)
class RhythmSettings:
    """What departs from sinus rhythm. ``ectopic_per_hour`` premature ventricular beats,
    each followed by a full compensatory pause (coupling + pause = two sinus cycles)."""

    ectopic_per_hour: float = 0.0
    ectopic_coupling: tuple[float, float] = (0.55, 0.75)  # fraction of the sinus interval
    af_episodes: tuple[AfEpisode, ...] = ()

    def af_at(self, t_s: float) -> AfEpisode | None:
        return next((e for e in self.af_episodes if e.covers(t_s)), None)


class RhythmHeartModel(HeartModel):
    """:class:`HeartModel` with ectopic beats and AF episodes.

    Rhythm events draw from their own generator, so the sinus beats of a run are the
    same with or without them up to the first event.
    """

    def __init__(
        self,
        profile: PersonProfile,
        scenario: Scenario | None = None,
        seed: int = 0,
        start_s: float = 0.0,
        rhythm: RhythmSettings | None = None,
    ) -> None:
        super().__init__(profile, scenario, seed=seed, start_s=start_s)
        self.rhythm = rhythm or RhythmSettings()
        self._events = random.Random(f"rhythm:{seed}")
        self._decided: deque[float] = deque()

    def in_af(self, t_s: float) -> bool:
        return self.rhythm.af_at(t_s) is not None

    def _af_interval(self, episode: AfEpisode, t_s: float) -> float:
        # Ventricular response follows the scenario's drive (exercise, fever) on top of
        # the episode's own mean rate; intervals are independent (no autocorrelation).
        drive = self.scenario.heart_rate_target(t_s, self.profile.baseline_hr_bpm)
        rate = max(40.0, episode.rate_bpm + drive - self.profile.baseline_hr_bpm)
        mean = 60.0 / rate
        sigma = math.sqrt(math.log(1.0 + episode.cv**2))
        rr = self._events.lognormvariate(math.log(mean) - sigma**2 / 2.0, sigma)
        return min(AF_MAX_RR_S, max(AF_MIN_RR_S, rr))

    def _next_intervals(self, t_s: float) -> list[float]:
        episode = self.rhythm.af_at(t_s)
        if episode is not None:
            return [self._af_interval(episode, t_s)]
        sinus = 60.0 / self.instantaneous_rate(t_s)
        p_ectopic = self.rhythm.ectopic_per_hour * sinus / 3600.0
        if p_ectopic > 0 and self._events.random() < p_ectopic:
            coupling = sinus * self._events.uniform(*self.rhythm.ectopic_coupling)
            return [coupling, 2.0 * sinus - coupling]
        return [sinus]

    def _upcoming_rr(self) -> float:
        # Beats are decided ahead (an ectopic beat brings its compensatory pause), so the
        # series does not depend on how often a device samples it.
        if not self._decided:
            self._decided.extend(self._next_intervals(self._last_beat_s))
        return self._decided[0]

    def _beat_taken(self) -> None:
        self._decided.popleft()


def rmssd(rr_s: list[float]) -> float:
    diffs = [b - a for a, b in itertools.pairwise(rr_s)]
    return math.sqrt(sum(d * d for d in diffs) / len(diffs))


def turning_point_ratio(rr_s: list[float]) -> float:
    """Share of interior points that are a local peak or trough: 2/3 for an independent
    series, lower for a smooth (autocorrelated) one."""
    turns = sum(
        1 for a, b, c in zip(rr_s, rr_s[1:], rr_s[2:], strict=False) if (b - a) * (c - b) < 0
    )
    return turns / max(1, len(rr_s) - 2)
