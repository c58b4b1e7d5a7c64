"""Live routine deviations for the gateway: late rising, long inactivity at home, night
wandering (out of bed and about, or out of the home, at night) and unusually many
night bathroom visits, each judged against the person's own :class:`RoutineProfile`.

Every deviation is raised once per occurrence and reported again with ``ended=True``
when the situation is over. Nothing here reads the wall clock: times come from the
events and from ``now_ms``. Events wait ``reorder_ms`` in a small buffer so that
readings from different sensors are handled in time order; one that arrives after its
turn has passed is dropped and counted in :attr:`RoutineMonitor.ignored`, as are
duplicates, out-of-order readings and readings stamped in the future. With no reading
from any sensor for ``stale_ms`` nothing new is raised: silence from the radio is not
silence in the home.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from .routine_day import DayRecorder, DaySummary
from .routine_events import (
    MINUTE_MS,
    EventFilter,
    SensorEvent,
    local,
    minutes_after_noon,
    routine_day_of,
    to_ms,
    zone,
)
from .routine_profile import HISTORY_DAYS, RoutineProfile
from .routine_state import NIGHT_SLEEP_GAP_MS, HomeState, StateSettings

DeviationKind = Literal["late_rising", "inactivity", "night_wandering", "night_bathroom_visits"]
Severity = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class RoutineDeviation:
    kind: DeviationKind
    ts_ms: int  # when raised, or when it ended
    severity: Severity
    ended: bool
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitorSettings:
    state: StateSettings = field(default_factory=StateSettings)
    reorder_ms: int = 30_000  # readings wait this long so late ones from other sensors fit in
    max_future_ms: int = 10 * MINUTE_MS  # readings stamped further ahead of now are rejected
    buffer_limit: int = 20_000
    night_up_min: float = 20.0  # up and about out of bed at night this long: wandering
    night_absence_min: float = 15.0  # out of the home at night this long: wandering
    evening_window_min: float = (
        240.0  # a sleep starting this long before usual bedtime is the night's
    )
    min_sleep_before_min: float = 30.0  # in bed this long before getting up for it to be "at night"


@dataclass(frozen=True)
class _Occurrence:
    """A situation in progress; ``ready`` once it is a deviation worth raising."""

    key: Hashable
    ready: bool
    severity: Severity = "medium"
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Open:
    raised: RoutineDeviation
    key: Hashable
    ended_at_ms: int | None = None


class RoutineMonitor:
    def __init__(
        self,
        profile: RoutineProfile | None = None,
        tz: str = "Asia/Shanghai",
        settings: MonitorSettings | None = None,
        *,
        learn: bool = True,
    ) -> None:
        self.tz = zone(tz)
        self.settings = settings or MonitorSettings()
        self._prior = profile or RoutineProfile.default()
        self.profile = self._prior
        self.learn = learn
        self.state = HomeState(self.tz, self.settings.state)
        self._filter = EventFilter()
        self._ignored: Counter[str] = Counter()
        self._buffer: list[tuple[int, int, SensorEvent]] = []
        self._sequence = 0
        self._buffer_newest_ms = -1
        self._processed_ms: int | None = None
        self._current: DayRecorder | None = None
        self._previous: DayRecorder | None = None
        self._history: deque[DaySummary] = deque(maxlen=HISTORY_DAYS)
        self._open: dict[tuple[str, Hashable], _Open] = {}
        self._done: deque[tuple[str, Hashable]] = deque(maxlen=64)
        self._visits_key: Hashable = None
        self._visits = 0
        self._detectors: dict[str, tuple[DeviationKind, Callable[[int], _Occurrence | None]]] = {
            "late_rising": ("late_rising", self._late_rising),
            "inactivity": ("inactivity", self._inactivity),
            "left_home_at_night": ("night_wandering", self._left_home_at_night),
            "up_at_night": ("night_wandering", self._up_at_night),
            "night_bathroom_visits": ("night_bathroom_visits", self._night_bathroom_visits),
        }

    # -- public ------------------------------------------------------------------------

    @property
    def days_seen(self) -> int:
        """Completed days the profile has learnt from."""
        return len(self._history)

    @property
    def history(self) -> tuple[DaySummary, ...]:
        return tuple(self._history)

    @property
    def ignored(self) -> Counter[str]:
        """Readings dropped, by reason."""
        return self._ignored + self._filter.ignored

    def add(self, event: SensorEvent) -> None:
        if not isinstance(event, SensorEvent):
            self._ignored["not_a_sensor_event"] += 1
            return
        if self._processed_ms is not None and event.ts_ms < self._processed_ms:
            self._ignored["late"] += 1
            return
        heapq.heappush(self._buffer, (event.ts_ms, self._sequence, event))
        self._sequence += 1
        self._buffer_newest_ms = max(self._buffer_newest_ms, event.ts_ms)
        while len(self._buffer) > self.settings.buffer_limit:
            self._process(heapq.heappop(self._buffer)[2])

    def check(self, now_ms: int) -> list[RoutineDeviation]:
        self._drop_future(now_ms)
        while self._buffer and self._buffer[0][0] <= now_ms - self.settings.reorder_ms:
            self._process(heapq.heappop(self._buffer)[2])
        self._roll_days(now_ms)
        out: list[RoutineDeviation] = []
        self._note_endings(now_ms)
        for name_key, item in list(self._open.items()):
            if item.ended_at_ms is not None:
                del self._open[name_key]
                self._done.append(name_key)
                raised = item.raised
                evidence = raised.evidence | {"ended_ms": item.ended_at_ms}
                out.append(
                    RoutineDeviation(raised.kind, item.ended_at_ms, raised.severity, True, evidence)
                )
        if not self.state.data_fresh(now_ms):
            return out
        for name, (kind, detect) in self._detectors.items():
            found = detect(now_ms)
            if found is None or not found.ready:
                continue
            name_key = (name, found.key)
            if name_key in self._open or name_key in self._done:
                continue
            evidence = {"detector": name, **found.evidence, "profile_days": self.profile.days}
            deviation = RoutineDeviation(kind, now_ms, found.severity, False, evidence)
            self._open[name_key] = _Open(deviation, found.key)
            out.append(deviation)
        return out

    # -- events ------------------------------------------------------------------------

    def _drop_future(self, now_ms: int) -> None:
        limit = now_ms + self.settings.max_future_ms
        if self._buffer_newest_ms <= limit:
            return
        kept = [item for item in self._buffer if item[0] <= limit]
        self._ignored["future"] += len(self._buffer) - len(kept)
        heapq.heapify(kept)
        self._buffer = kept
        self._buffer_newest_ms = max((item[0] for item in kept), default=-1)

    def _process(self, event: SensorEvent) -> None:
        self._processed_ms = event.ts_ms
        if not self._filter.accept(event):
            return
        self._roll_days(event.ts_ms)
        update = self.state.apply(event)
        for recorder in (self._previous, self._current):
            if recorder is not None:
                recorder.record(update, self.state)
        if update.bathroom_visit_started:
            self._count_visit(event.ts_ms)
        if self._open:
            self._note_endings(event.ts_ms)

    def _note_endings(self, at_ms: int) -> None:
        for (name, key), item in self._open.items():
            if item.ended_at_ms is None:
                found = self._detectors[name][1](at_ms)
                if found is None or found.key != key:
                    item.ended_at_ms = at_ms

    def _roll_days(self, ts_ms: int) -> None:
        current = self._current
        if current is None or ts_ms >= current.end_ms:
            if self._previous is not None:
                self._close(self._previous)
            self._previous = current
            self._current = DayRecorder(routine_day_of(ts_ms, self.tz), self.state)
        if self._previous is not None and ts_ms >= self._previous.closes_ms:
            self._close(self._previous)
            self._previous = None

    def _close(self, recorder: DayRecorder) -> None:
        first = recorder.first_event_ms
        if (
            not self.learn
            or first is None
            or first - recorder.start_ms > self.settings.state.stale_ms
        ):
            return  # nothing learnt from a day whose start was not seen
        self._history.append(recorder.summary(self.state))
        self.profile = RoutineProfile.from_days(self._history, prior=self._prior)

    # -- the night --------------------------------------------------------------------

    def _after_noon(self, ts_ms: int) -> float:
        return minutes_after_noon(ts_ms, self.tz)

    def _night_end_after_noon(self) -> float:
        return (self.profile.night_end_min - 720) % 1440

    def _in_night(self, ts_ms: int) -> bool:
        """Between the usual bedtime and the end of the night, by the clock."""
        at = self._after_noon(ts_ms)
        return self.profile.bedtime.median <= at < self._night_end_after_noon()

    def _still_night(self, at_ms: int, since_ms: int) -> bool:
        """``at_ms`` is in the night that ``since_ms`` (a night-time moment) began in, and
        before the night's end."""
        same_night = routine_day_of(at_ms, self.tz) == routine_day_of(since_ms, self.tz)
        return same_night and self._after_noon(at_ms) < self._night_end_after_noon()

    def _night_sleep(self) -> bool:
        """The current or last sleep period started in the evening or night."""
        start = self.state.sleep_start_ms
        if start is None:
            return False
        earliest = self.profile.bedtime.median - self.settings.evening_window_min
        return earliest <= self._after_noon(start) < self._night_end_after_noon()

    def _count_visit(self, ts_ms: int) -> None:
        state = self.state
        if state.has_bed_sensor:
            asleep = state.in_bed or (
                state.bed_exit_ms is not None and ts_ms - state.bed_exit_ms <= NIGHT_SLEEP_GAP_MS
            )
            start = state.sleep_start_ms
            if start is None or not (self._night_sleep() and asleep):
                return
            if not self._still_night(ts_ms, start):
                return
            key: Hashable = start
        else:
            key = routine_day_of(ts_ms, self.tz)
            if not self._in_night(ts_ms):
                return
        if key != self._visits_key:
            self._visits_key, self._visits = key, 0
        self._visits += 1

    # -- detectors: each says what is going on now and whether it is a deviation yet ----

    def _late_rising(self, at_ms: int) -> _Occurrence | None:
        state = self.state
        if not state.in_bed or state.sleep_start_ms is None:
            return None
        today = local(at_ms, self.tz).date()
        usual_ms = self._clock_on(today, self.profile.rising.median)
        if state.sleep_start_ms >= usual_ms:
            return None
        late_ms = self._clock_on(today, self.profile.late_rising_after_min)
        margin = late_ms - usual_ms
        return _Occurrence(
            key=today.isoformat(),
            ready=at_ms >= late_ms,
            severity="high" if at_ms - usual_ms >= 2 * margin else "medium",
            evidence={
                "in_bed_since_ms": state.sleep_start_ms,
                "usual_rising": self.profile.usual_rising,
                "late_after_ms": late_ms,
            },
        )

    def _inactivity(self, at_ms: int) -> _Occurrence | None:
        state = self.state
        since = state.quiet_since_ms
        if since is None or state.in_bed or state.is_away(at_ms):
            return None
        if not state.has_bed_sensor:
            if self._in_night(at_ms):
                return None  # asleep, as far as anyone can tell without a bed sensor
            since = max(since, self._last_night_end(at_ms))
        quiet_min = (at_ms - since) / MINUTE_MS
        limit = self.profile.inactivity_limit_min
        at_night = state.has_bed_sensor and self._in_night(at_ms)
        return _Occurrence(
            key=since,
            ready=quiet_min >= limit,
            severity="high" if at_night or quiet_min >= 2 * limit else "medium",
            evidence={
                "quiet_since_ms": since,
                "quiet_min": round(quiet_min, 1),
                "limit_min": round(limit, 1),
                "usual_longest_min": round(self.profile.longest_inactivity.median, 1),
                "at_night": at_night,
            },
        )

    def _left_home_at_night(self, at_ms: int) -> _Occurrence | None:
        state = self.state
        left = state.departure_ms
        if left is None or not state.is_away(at_ms) or not self._in_night(left):
            return None
        out_min = (at_ms - left) / MINUTE_MS
        return _Occurrence(
            key=left,
            ready=out_min >= self.settings.night_absence_min,
            severity="high",
            evidence={"left_ms": left, "out_min": round(out_min, 1)},
        )

    def _up_at_night(self, at_ms: int) -> _Occurrence | None:
        state = self.state
        if state.is_away(at_ms):
            return None
        if state.has_bed_sensor:
            exit_ms, start = state.bed_exit_ms, state.sleep_start_ms
            if state.in_bed or exit_ms is None or start is None or not self._night_sleep():
                return None
            if exit_ms - start < self.settings.min_sleep_before_min * MINUTE_MS:
                return None
            if not self._still_night(at_ms, start):
                return None
            since = max(exit_ms, state.last_return_ms or exit_ms)  # out, then back: from the return
        else:
            since = state.indoor_spell_start_ms
            if since is None or not self._in_night(since) or not self._still_night(at_ms, since):
                return None
        last = state.last_indoor_ms
        merge_ms = self.settings.state.activity_merge_ms
        active = last is not None and last >= since and at_ms - last <= merge_ms
        if not state.has_bed_sensor and not active:
            return None
        up_min = (at_ms - since) / MINUTE_MS
        doors = state.door_changes_since_bed_exit if state.has_bed_sensor else 0
        return _Occurrence(
            key=since,
            ready=active and up_min >= self.settings.night_up_min,
            severity="high" if doors else "medium",
            evidence={"up_since_ms": since, "up_min": round(up_min, 1), "door_changes": doors},
        )

    def _night_bathroom_visits(self, at_ms: int) -> _Occurrence | None:
        if self._visits_key is None or self._visits == 0:
            return None
        state = self.state
        if state.has_bed_sensor:
            start = state.sleep_start_ms
            if start is None or start != self._visits_key:
                return None
            if not state.in_bed and not self._still_night(at_ms, start):
                return None  # up in the morning: the night is over
        elif self._visits_key != routine_day_of(at_ms, self.tz) or not self._in_night(at_ms):
            return None
        limit = self.profile.bathroom_visits_limit
        return _Occurrence(
            key=self._visits_key,
            ready=self._visits > limit,
            severity="medium" if self._visits >= limit + 2 else "low",
            evidence={
                "visits": self._visits,
                "usual": self.profile.night_bathroom_visits.median,
                "limit": limit,
            },
        )

    # -- clock helpers -----------------------------------------------------------------

    def _clock_on(self, day: object, minutes: float) -> int:
        midnight = datetime.combine(day, time(0), self.tz)  # type: ignore[arg-type]
        return to_ms(midnight + timedelta(minutes=minutes))

    def _last_night_end(self, at_ms: int) -> int:
        today = local(at_ms, self.tz).date()
        end = self._clock_on(today, self.profile.night_end_min)
        return (
            end
            if end <= at_ms
            else self._clock_on(today - timedelta(days=1), self.profile.night_end_min)
        )
