"""Daily-activity model for home sensors: when is there motion in a room."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SECONDS_PER_DAY = 86_400


def default_activity_by_hour() -> tuple[float, ...]:
    """Chance per update that motion starts, by hour of day: asleep at night, busy
    in the morning and around meals."""
    night, morning, day, meals, evening = 0.02, 0.45, 0.25, 0.5, 0.3
    table = [night] * 24
    for hour in range(6, 9):
        table[hour] = morning
    for hour in range(9, 21):
        table[hour] = day
    for hour in (12, 18):
        table[hour] = meals
    for hour in (21, 22):
        table[hour] = evening
    return tuple(table)


@dataclass
class ActivityModel:
    """Two-state (still / moving) chain stepped once per sensor update.

    ``day_start_s`` is the time of day at simulated time 0 (08:00 by default).
    """

    seed: int = 0
    day_start_s: float = 8 * 3600
    stay_moving: float = 0.6
    activity_by_hour: tuple[float, ...] = field(default_factory=default_activity_by_hour)
    moving: bool = False

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def hour_of_day(self, t_s: float) -> int:
        return int(((self.day_start_s + t_s) % SECONDS_PER_DAY) // 3600)

    def step(self, t_s: float) -> bool:
        p_start = self.activity_by_hour[self.hour_of_day(t_s)]
        p = self.stay_moving if self.moving else p_start
        self.moving = self._rng.random() < p
        return self.moving
