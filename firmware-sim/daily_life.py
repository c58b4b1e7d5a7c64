"""What the person is doing, as a pure function of simulated time: asleep, in bed,
up and about, wandering at night, on the floor after a fall; and which wearables
are on.

This is the interface home sensors and wearables read: a bed sensor asks
``in_bed(t)``, a door or motion sensor ``state(t)``, an accelerometer
``falls_between(t0, t1)`` and ``worn(kind, t)``. Simulated time 0 is the time of day
``day_start_s``.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .activity import SECONDS_PER_DAY, ActivityModel
from .motion_model import WaistMotionModel


class State(enum.StrEnum):
    ASLEEP = "asleep"
    IN_BED = "in_bed"  # awake but not up: a late rising
    UP = "up"
    WANDERING = "wandering"
    ON_FLOOR = "on_floor"


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclass(frozen=True)
class Fall:
    at_s: float
    lie_s: float = 20 * 60  # how long the person stays on the floor


@dataclass(frozen=True)
class NotWorn:
    span: Span
    kinds: frozenset[str] = frozenset()  # empty: every wearable


@dataclass(frozen=True)
class DailyLife:
    day_start_s: float = 8 * 3600
    wake_s: float = 7 * 3600  # time of day
    bedtime_s: float = 22 * 3600
    stays_in_bed: tuple[Span, ...] = ()
    wandering: tuple[Span, ...] = ()
    falls: tuple[Fall, ...] = ()
    not_worn: tuple[NotWorn, ...] = ()

    def time_of_day(self, t_s: float) -> float:
        return (self.day_start_s + t_s) % SECONDS_PER_DAY

    def _asleep_by_routine(self, t_s: float) -> bool:
        now = self.time_of_day(t_s)
        if self.bedtime_s > self.wake_s:
            return now >= self.bedtime_s or now < self.wake_s
        return self.bedtime_s <= now < self.wake_s

    def state(self, t_s: float) -> State:
        if any(f.at_s <= t_s < f.at_s + f.lie_s for f in self.falls):
            return State.ON_FLOOR
        if any(s.covers(t_s) for s in self.wandering):
            return State.WANDERING
        if any(s.covers(t_s) for s in self.stays_in_bed):
            return State.IN_BED
        return State.ASLEEP if self._asleep_by_routine(t_s) else State.UP

    def in_bed(self, t_s: float) -> bool:
        return self.state(t_s) in (State.ASLEEP, State.IN_BED)

    def falls_between(self, t0_s: float, t1_s: float) -> list[Fall]:
        """Falls whose impact lies in (t0_s, t1_s]."""
        return [f for f in self.falls if t0_s < f.at_s <= t1_s]

    def worn(self, kind: str, t_s: float) -> bool:
        return not any(
            n.span.covers(t_s) and (not n.kinds or kind in n.kinds) for n in self.not_worn
        )


class DailyLifeActivity:
    """Motion for a BTHome motion, door or presence sensor (its ``activity``): none while
    asleep, in bed or lying after a fall, constant while wandering, the hour-of-day model
    otherwise. ``up_share`` < 1 keeps only that share of daytime movement (a front door
    sees less of the day than a hallway motion sensor)."""

    def __init__(
        self,
        life: DailyLife,
        routine: ActivityModel | None = None,
        *,
        up_share: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.life = life
        self.routine = routine or ActivityModel(day_start_s=life.day_start_s)
        self.up_share = up_share
        self._rng = random.Random(seed)
        self.moving = False

    def step(self, t_s: float) -> bool:
        state = self.life.state(t_s)
        if state is State.WANDERING:
            self.moving = True
        elif state is State.UP:
            moving = self.routine.step(t_s)
            self.moving = moving and (self.up_share >= 1.0 or self._rng.random() < self.up_share)
        else:
            self.moving = False
        return self.moving


class DailyLifeMotion(WaistMotionModel):
    """Waist acceleration that follows the scenario's day: each fall in ``life`` happens
    at its simulated time (to the sample), and the person then lies still on the floor
    for the fall's ``lie_s`` before getting up.

    The model's sample 0 is pinned to simulated time on the first ``advance``:
    ``now()`` is read then, so pass the clock the wearable ticks on.
    """

    def __init__(
        self,
        life: DailyLife,
        now: Callable[[], float],
        seed: int = 0,
        *,
        rate_hz: int = 50,
    ) -> None:
        super().__init__(seed, day_start_s=life.time_of_day(0.0), rate_hz=rate_hz)
        self.life = life
        self._now = now
        self.origin_s: float | None = None  # simulated time of sample 0

    def sample_time_s(self, index: int) -> float:
        assert self.origin_s is not None
        return self.origin_s + index / self.rate_hz

    def advance(self, n: int) -> np.ndarray:
        if self.origin_s is None:
            # the samples asked for end now
            self.origin_s = self._now() - (self.sample_index + n) / self.rate_hz
            self.day_start_s = self.life.time_of_day(self.origin_s)
        chunks = []
        end = self.sample_index + n
        t0 = self.sample_time_s(self.sample_index)
        for fall in sorted(self.life.falls_between(t0, self.sample_time_s(end)), key=_at):
            at = min(end, max(self.sample_index, round((fall.at_s - self.origin_s) * self.rate_hz)))
            if at > self.sample_index:
                chunks.append(super().advance(at - self.sample_index))
            self.recover_after_s = fall.lie_s
            self.trigger_fall()
        if end > self.sample_index:
            chunks.append(super().advance(end - self.sample_index))
        return np.vstack(chunks) if chunks else np.empty((0, 3))


def _at(fall: Fall) -> float:
    return fall.at_s
