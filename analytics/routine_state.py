"""The home as its sensors last described it: in bed or not, at home or out, when
something last happened; updated one clean event at a time, in time order.

What counts as activity: a motion reading of 1 (a PIR's 1 means it saw movement, and a
heartbeat of 1 that it still does), and any change of bed, presence or front door. A
presence of 1 held unchanged is not activity: mmWave sensors also see someone lying
still. Lying in bed is rest, not inactivity.

Away: the front door changes and then nothing happens indoors for ``away_grace_ms``
(a walk past the hall sensor on the way out is allowed); the next indoor activity is
the return. Indoor activity later than that after the door means nobody left. Someone who opens the door and then sits out of every sensor's view looks
the same as someone who went out: the sensors cannot tell these apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .routine_events import HOUR_MS, MINUTE_MS, SensorEvent, clock_minutes

SLEEP_GAP_MS = 60 * MINUTE_MS
NIGHT_SLEEP_GAP_MS = 4 * HOUR_MS
CORE_NIGHT_CLOCK = (18 * 60, 5 * 60)  # getting up in these hours is waking, not rising


def continues_sleep(left_bed_ms: int, back_ms: int, tz: ZoneInfo) -> bool:
    """Whether going back to bed at ``back_ms`` continues the sleep left at ``left_bed_ms``:
    up to an hour out of bed always does (the bathroom, a drink); up to four hours does
    when the person got up in the core night (18:00-05:00), which is a wakeful spell,
    not the morning's rising."""
    gap = back_ms - left_bed_ms
    if gap <= SLEEP_GAP_MS:
        return True
    minute = clock_minutes(left_bed_ms, tz)
    evening, morning = CORE_NIGHT_CLOCK
    return gap <= NIGHT_SLEEP_GAP_MS and (minute >= evening or minute < morning)


@dataclass(frozen=True, slots=True)
class StateSettings:
    # Readings this soon after the front door may be the person on the way out (or a
    # PIR holding its last detection); silence this long after it means they left.
    away_grace_ms: int = 90_000
    stale_ms: int = 15 * MINUTE_MS  # no reading from any sensor this long: a gap in the data
    bathroom_merge_ms: int = 10 * MINUTE_MS  # bathroom motion closer than this: one visit
    activity_merge_ms: int = 10 * MINUTE_MS  # indoor activity closer than this: one spell


@dataclass(frozen=True, slots=True)
class QuietRun:
    """A spell with no activity, as it was when it ended."""

    start_ms: int
    end_ms: int
    in_bed: bool | None  # None: no bed sensor has reported
    away: bool

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class Update:
    """What one event changed."""

    ts_ms: int
    activity: bool
    indoor: bool
    bed_changed: bool
    bathroom_visit_started: bool
    quiet_runs: tuple[QuietRun, ...]  # the still spells this event (or a data gap) ended
    left_home_ms: int | None  # a departure confirmed by this event
    returned: tuple[int, int] | None  # (left, back) when this event ended an absence


class HomeState:
    def __init__(self, tz: ZoneInfo, settings: StateSettings | None = None) -> None:
        self.tz = tz
        self.settings = settings or StateSettings()
        self._values: dict[str, float] = {}
        self._beds: dict[str, bool] = {}
        self.has_bathroom_sensor = False
        self.in_bed: bool | None = None
        self.bed_entry_ms: int | None = None  # when the bed last became occupied
        self.sleep_start_ms: int | None = None  # start of the current or last sleep period
        self.bed_exit_ms: int | None = None  # when the bed last emptied
        self.door_changes_since_bed_exit = 0
        self.last_activity_ms: int | None = None
        self.last_indoor_ms: int | None = None
        self.quiet_since_ms: int | None = None  # last activity, or when data came back
        self.indoor_spell_start_ms: int | None = None
        self.departure_ms: int | None = None  # door changed while at home: maybe leaving
        self.away = False
        self.last_return_ms: int | None = None
        self.last_event_ms: int | None = None
        self.bathroom_visit_start_ms: int | None = None
        self._last_bathroom_ms: int | None = None

    @property
    def has_bed_sensor(self) -> bool:
        return self.in_bed is not None

    def is_away(self, at_ms: int) -> bool:
        if self.in_bed:
            return False
        if self.away:
            return True
        return (
            self.departure_ms is not None
            and self.last_activity_ms is not None
            and at_ms - self.last_activity_ms > self.settings.away_grace_ms
        )

    def data_fresh(self, at_ms: int) -> bool:
        return (
            self.last_event_ms is not None and at_ms - self.last_event_ms <= self.settings.stale_ms
        )

    def apply(self, event: SensorEvent) -> Update:
        ts = event.ts_ms
        runs: list[QuietRun] = []
        if self.last_event_ms is not None and ts - self.last_event_ms > self.settings.stale_ms:
            # a gap in the data: the spell is known only up to where the data stopped
            self._end_run(self.last_event_ms, runs)
            self.quiet_since_ms = ts
        self.last_event_ms = ts

        previous = self._values.get(event.sensor_id)
        self._values[event.sensor_id] = event.value
        changed = previous is not None and previous != event.value
        if event.role in ("motion", "bathroom"):
            activity = indoor = event.on
        else:
            activity = changed
            indoor = changed and event.role != "front_door"

        away_during_run = activity and self.is_away(ts)
        if activity:  # the still spell ends; it is judged as it was, before this event
            self._end_run(ts, runs, away=away_during_run)
        bed_changed = event.role == "bed" and self._update_bed(event)
        visit_started = event.role == "bathroom" and self._update_bathroom(event)
        if event.role == "bathroom":
            self.has_bathroom_sensor = True
        left_home: int | None = None
        returned: tuple[int, int] | None = None
        if activity:
            if away_during_run and not self.away:
                self.away = True
                left_home = self.departure_ms
            if indoor:
                left_home, returned = self._indoor(ts, left_home)
            elif not self.away:
                self.departure_ms = ts
                if self.in_bed is False:
                    self.door_changes_since_bed_exit += 1
            self.last_activity_ms = ts
            self.quiet_since_ms = ts
        return Update(
            ts, activity, indoor, bed_changed, visit_started, tuple(runs), left_home, returned
        )

    def _indoor(self, ts: int, left_home: int | None) -> tuple[int | None, tuple[int, int] | None]:
        returned = None
        if self.away:
            assert self.departure_ms is not None
            returned = (self.departure_ms, ts)
            self.last_return_ms = ts
            self.away = False
            self.departure_ms = None
        elif self.departure_ms is not None and ts - self.departure_ms > self.settings.away_grace_ms:
            self.departure_ms = None  # still inside well after the door: nobody left
        last = self.last_indoor_ms
        if last is None or ts - last > self.settings.activity_merge_ms:
            self.indoor_spell_start_ms = ts
        self.last_indoor_ms = ts
        return left_home, returned

    def _end_run(self, end_ms: int, runs: list[QuietRun], *, away: bool | None = None) -> None:
        start = self.quiet_since_ms
        if start is None or end_ms <= start:
            return
        if away is None:
            away = self.is_away(end_ms)
        runs.append(QuietRun(start, end_ms, self.in_bed, away))

    def _update_bed(self, event: SensorEvent) -> bool:
        self._beds[event.sensor_id] = event.on
        occupied = any(self._beds.values())
        if occupied == self.in_bed:
            return False
        was_known = self.in_bed is not None
        ts = event.ts_ms
        if occupied:
            self.bed_entry_ms = ts
            self.departure_ms, self.away = None, False  # whoever is in bed is at home
            exit_ms = self.bed_exit_ms
            if (
                exit_ms is None
                or self.sleep_start_ms is None
                or not continues_sleep(exit_ms, ts, self.tz)
            ):
                self.sleep_start_ms = ts
        else:
            self.bed_exit_ms = ts
            self.door_changes_since_bed_exit = 0
        self.in_bed = occupied
        return was_known

    def _update_bathroom(self, event: SensorEvent) -> bool:
        if not event.on:
            return False
        ts = event.ts_ms
        last = self._last_bathroom_ms
        self._last_bathroom_ms = ts
        if last is not None and ts - last <= self.settings.bathroom_merge_ms:
            return False
        self.bathroom_visit_start_ms = ts
        return True
