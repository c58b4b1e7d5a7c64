"""One routine day (noon before to noon, local time) summed up from home-sensor events:
when the person went to bed and got up, the longest still spell at home, bathroom
visits and departures in the night.

Main sleep: in-bed spells joined across short trips out of bed (see
:func:`~anxin.analytics.routine_state.continues_sleep`); the longest such period of at
least three hours that starts within the day. Going to bed is its start, rising its end
(the last leaving of bed), which may fall after noon for a very late rising. The night
is the main sleep; without one, 22:00 to 07:00.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .routine_events import (
    HOUR_MS,
    MINUTE_MS,
    EventFilter,
    SensorEvent,
    day_window,
    local,
    to_ms,
    zone,
)
from .routine_state import HomeState, QuietRun, StateSettings, Update, continues_sleep

MIN_MAIN_SLEEP_MS = 3 * HOUR_MS
RISING_SEARCH_MS = 6 * HOUR_MS  # a sleep that starts in the day may end until 18:00 after it
WARM_UP_MS = 2 * HOUR_MS  # readings before the day that tell the state at its start
NIGHT_ABSENCE_MS = 15 * MINUTE_MS  # out this long at night: the person left home at night
DEFAULT_NIGHT = (time(22, 0), time(7, 0))  # the night when there is no main sleep
MAX_RECORDS = 1000  # bed spells, bathroom visits or departures per day; more is a faulty sensor


@dataclass(frozen=True)
class DaySummary:
    day: date
    tz: str
    bedtime_ms: int | None  # start of the main sleep
    rising_ms: int | None  # end of the main sleep; None while still in bed or with no sleep
    in_bed_at_end: bool  # the main sleep had not ended when the data did
    time_in_bed_min: float | None  # in bed during the main sleep
    night_out_of_bed_min: float | None  # out of bed during the main sleep
    longest_inactivity_min: float | None  # at home, out of bed; None: no activity seen
    longest_inactivity_start_ms: int | None
    night_bathroom_visits: int | None  # None: no bathroom sensor
    night_departures: int  # left home in the night, out at least 15 minutes
    events_used: int
    events_ignored: int

    def _clock(self, ts_ms: int | None) -> str | None:
        return None if ts_ms is None else local(ts_ms, ZoneInfo(self.tz)).strftime("%H:%M")

    @property
    def bedtime(self) -> str | None:
        """Local "HH:MM" of going to bed."""
        return self._clock(self.bedtime_ms)

    @property
    def rising(self) -> str | None:
        """Local "HH:MM" of rising."""
        return self._clock(self.rising_ms)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out["bedtime"] = self.bedtime
        out["rising"] = self.rising
        out["longest_inactivity_start"] = self._clock(self.longest_inactivity_start_ms)
        return out


class DayRecorder:
    """Collects what one routine day needs from the updates of a :class:`HomeState`;
    memory is bounded by ``MAX_RECORDS`` whatever the sensors send."""

    def __init__(self, day: date, state: HomeState) -> None:
        self.day = day
        self.tz = state.tz
        self.start_ms, self.end_ms = day_window(day, self.tz)
        self.closes_ms = self.end_ms + RISING_SEARCH_MS
        self._in_bed = state.in_bed
        self._bed_spells: list[list[int | None]] = []
        if state.in_bed:
            self._bed_spells.append([state.bed_entry_ms or self.start_ms, None])
        self._bathroom_visits: list[int] = []
        self._departures: list[list[int | None]] = []
        self._longest: tuple[int, int] | None = None  # (duration, start)
        self.events_used = 0
        self.first_event_ms: int | None = None

    def record(self, update: Update, state: HomeState) -> None:
        ts = update.ts_ms
        if ts >= self.closes_ms:
            return
        if self.start_ms <= ts < self.end_ms:
            self.events_used += 1
            if self.first_event_ms is None:
                self.first_event_ms = ts
        for run in update.quiet_runs:
            self._quiet(run)
        if state.in_bed != self._in_bed:
            self._in_bed = state.in_bed
            if state.in_bed:
                self._append(self._bed_spells, [ts, None])
            elif self._bed_spells and self._bed_spells[-1][1] is None:
                self._bed_spells[-1][1] = ts
        if update.bathroom_visit_started and len(self._bathroom_visits) < MAX_RECORDS:
            self._bathroom_visits.append(ts)
        if update.left_home_ms is not None:
            self._append(self._departures, [update.left_home_ms, None])
        if update.returned is not None:
            left, back = update.returned
            open_ = [d for d in self._departures if d[0] == left]
            if open_:
                open_[-1][1] = back
            else:
                self._append(self._departures, [left, back])

    @staticmethod
    def _append(records: list[list[int | None]], item: list[int | None]) -> None:
        if len(records) < MAX_RECORDS:
            records.append(item)

    def _quiet(self, run: QuietRun) -> None:
        if run.away or run.in_bed:
            return
        start, end = max(run.start_ms, self.start_ms), min(run.end_ms, self.end_ms)
        if end <= start:
            return
        length = end - start
        if run.in_bed is None:  # no bed sensor: the night is sleep, not inactivity
            night_start, night_end = self._default_night()
            length -= max(0, min(end, night_end) - max(start, night_start))
            if start >= night_start and start < night_end:
                start = night_end
        if self._longest is None or length > self._longest[0]:
            self._longest = (length, start)

    def _default_night(self) -> tuple[int, int]:
        evening, morning = DEFAULT_NIGHT
        start = datetime.combine(self.day - timedelta(days=1), evening, self.tz)
        end = datetime.combine(self.day, morning, self.tz)
        return to_ms(start), to_ms(end)

    def summary(self, state: HomeState, events_ignored: int = 0) -> DaySummary:
        data_end = min(state.last_event_ms or self.start_ms, self.closes_ms)
        if state.quiet_since_ms is not None and state.last_event_ms is not None:
            self._quiet(
                QuietRun(
                    state.quiet_since_ms,
                    state.last_event_ms,
                    state.in_bed,
                    state.is_away(state.last_event_ms),
                )
            )
        spells = [(s, e if e is not None else data_end, e is None) for s, e in self._bed_spells]
        sleep = self._main_sleep(spells)
        if sleep is None:
            bedtime = rising = None
            in_bed_at_end = False
            night = self._default_night()
            in_bed_min = out_of_bed_min = None
        else:
            bedtime, end, in_bed_at_end, in_bed_ms = sleep
            rising = None if in_bed_at_end else end
            night = (bedtime, end)
            in_bed_min = in_bed_ms / MINUTE_MS
            out_of_bed_min = (end - bedtime - in_bed_ms) / MINUTE_MS
        visits = None
        if state.has_bathroom_sensor:
            visits = sum(1 for v in self._bathroom_visits if night[0] <= v < night[1])
        departures = sum(
            1
            for left, back in self._departures
            if left is not None
            and night[0] <= left < night[1]
            and (back if back is not None else data_end) - left >= NIGHT_ABSENCE_MS
        )
        longest = self._longest
        return DaySummary(
            day=self.day,
            tz=str(self.tz.key),
            bedtime_ms=bedtime,
            rising_ms=rising,
            in_bed_at_end=in_bed_at_end,
            time_in_bed_min=in_bed_min,
            night_out_of_bed_min=out_of_bed_min,
            longest_inactivity_min=None if longest is None else longest[0] / MINUTE_MS,
            longest_inactivity_start_ms=None if longest is None else longest[1],
            night_bathroom_visits=visits,
            night_departures=departures,
            events_used=self.events_used,
            events_ignored=events_ignored,
        )

    def _main_sleep(self, spells: list[tuple[int, int, bool]]) -> tuple[int, int, bool, int] | None:
        """(start, end, still open, time in bed) of the main sleep, or None."""
        periods: list[list[Any]] = []  # [start, end, open, in bed]
        for start, end, is_open in spells:
            if periods and continues_sleep(periods[-1][1], start, self.tz):
                last = periods[-1]
                last[1], last[2], last[3] = end, is_open, last[3] + end - start
            else:
                periods.append([start, end, is_open, end - start])
        candidates = [
            p for p in periods if self.start_ms <= p[0] < self.end_ms and p[3] >= MIN_MAIN_SLEEP_MS
        ]
        if not candidates:
            return None
        start, end, is_open, in_bed = max(candidates, key=lambda p: p[3])
        return start, end, is_open, in_bed


def summarise_day(
    events: Iterable[SensorEvent],
    day: date,
    tz: str | ZoneInfo = "Asia/Shanghai",
    *,
    settings: StateSettings | None = None,
) -> DaySummary:
    """Summary of routine day ``day`` (12:00 on the day before to 12:00 on ``day``, local
    time in ``tz``). Pass the events from two hours before that noon to 18:00 on ``day``
    (others are ignored); order does not matter, and repeated or duplicated readings
    change nothing."""
    zone_info = zone(tz)
    start_ms, _ = day_window(day, zone_info)
    state = HomeState(zone_info, settings)
    recorder: DayRecorder | None = None
    events_filter = EventFilter()
    given = list(events)
    for event in given:
        if not isinstance(event, SensorEvent):
            raise TypeError(f"summarise_day takes SensorEvent objects, got {type(event).__name__}")
    for event in sorted(given, key=lambda e: (e.ts_ms, e.sensor_id, e.value)):
        if event.ts_ms < start_ms - WARM_UP_MS:
            continue
        if recorder is None and event.ts_ms >= start_ms:
            recorder = DayRecorder(day, state)
        if recorder is not None and event.ts_ms >= recorder.closes_ms:
            break
        if not events_filter.accept(event):
            continue
        update = state.apply(event)
        if recorder is not None:
            recorder.record(update, state)
    if recorder is None:
        recorder = DayRecorder(day, state)
    ignored = Counter(events_filter.ignored)
    return recorder.summary(state, sum(ignored.values()))
