"""Daily routine from home sensors: day summaries, the usual pattern, live deviations.

Each home is written as a script of state changes at local clock times; the helpers
add what real sensors also send (a heartbeat of the current state every ten minutes),
so the detectors see the data the gateway sees.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from anxin.analytics.routine import (
    DaySummary,
    RoutineDeviation,
    RoutineMonitor,
    RoutineProfile,
    SensorEvent,
    summarise_day,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2024, 3, 5)  # routine day: 12:00 on 4 March to 12:00 on 5 March
EVE = DAY - timedelta(days=1)
ROLES = {"bed": "bed", "front-door": "front_door", "kitchen-motion": "motion"}
ROLES |= {"bathroom-motion": "bathroom", "hall-motion": "motion"}
HEARTBEAT_MIN = 10


def at(day: date, clock: str, tz: ZoneInfo = SHANGHAI) -> int:
    hours, minutes = (int(p) for p in clock.split(":"))
    return round(
        datetime(day.year, day.month, day.day, hours, minutes, tzinfo=tz).timestamp() * 1000
    )


def minutes(n: float) -> int:
    return round(n * 60_000)


class Home:
    """A script of sensor changes; ``events()`` adds heartbeats of the current state."""

    def __init__(self, start_ms: int, tz: ZoneInfo = SHANGHAI) -> None:
        self.start_ms = start_ms
        self.tz = tz
        self.changes: list[tuple[int, str, int]] = [
            (start_ms, "bed", 0),
            (start_ms, "front-door", 0),
            (start_ms, "kitchen-motion", 0),
            (start_ms, "bathroom-motion", 0),
        ]

    def set(self, ts_ms: int, sensor: str, value: int) -> Home:
        self.changes.append((ts_ms, sensor, value))
        return self

    def move(self, ts_ms: int, sensor: str = "kitchen-motion", for_min: float = 1 / 3) -> Home:
        self.set(ts_ms, sensor, 1)
        return self.set(ts_ms + minutes(for_min), sensor, 0)

    def move_every(
        self, start_ms: int, end_ms: int, every_min: float, sensor: str = "kitchen-motion"
    ) -> Home:
        t = start_ms
        while t < end_ms:
            self.move(t, sensor, for_min=1 / 3)
            t += minutes(every_min)
        return self

    def door(self, ts_ms: int) -> Home:
        return self.set(ts_ms, "front-door", 1).set(ts_ms + minutes(1), "front-door", 0)

    def events(self, until_ms: int) -> list[SensorEvent]:
        changes = sorted(c for c in self.changes if c[0] <= until_ms)
        out = [SensorEvent(ts, s, ROLES[s], v) for ts, s, v in changes]  # type: ignore[arg-type]
        state: dict[str, int] = {}
        pending = list(changes)
        t = self.start_ms
        while t <= until_ms:
            # heartbeats half a minute after each ten-minute mark, so none lands on a change
            beat = t + 30_000
            while pending and pending[0][0] <= beat:
                _, sensor, value = pending.pop(0)
                state[sensor] = value
            out += [SensorEvent(beat, s, ROLES[s], v) for s, v in state.items()]  # type: ignore[arg-type]
            t += minutes(HEARTBEAT_MIN)
        return sorted(out, key=lambda e: e.ts_ms)


def ordinary_night(rising: str = "07:12", bedtime: str = "22:05") -> Home:
    """Up in the afternoon (a two-and-a-half-hour sit from 14:00), to bed at ``bedtime``,
    one bathroom trip at 02:10, up at ``rising``, about the flat until noon."""
    home = Home(at(EVE, "11:00"))
    home.move_every(at(EVE, "12:00"), at(EVE, "14:00"), 20)
    home.move_every(at(EVE, "16:30"), at(EVE, "21:50"), 20)
    home.move(at(EVE, "21:55"))
    home.set(at(EVE, bedtime), "bed", 1)
    home.set(at(DAY, "02:10"), "bed", 0).move(at(DAY, "02:11"), "bathroom-motion", 2)
    home.set(at(DAY, "02:16"), "bed", 1)
    home.set(at(DAY, rising), "bed", 0)
    home.move_every(at(DAY, rising) + minutes(2), at(DAY, "13:00"), 15)
    return home


# -- the day summary ----------------------------------------------------------------------


def test_an_ordinary_night_is_summed_up_as_the_person_lived_it() -> None:
    home = ordinary_night()
    summary = summarise_day(home.events(at(DAY, "18:00")), DAY)

    assert summary.bedtime == "22:05"
    assert summary.rising == "07:12"
    assert not summary.in_bed_at_end
    assert summary.night_bathroom_visits == 1
    # in bed 22:05-02:10 and 02:16-07:12: 245 + 296 minutes; six minutes up in between
    assert summary.time_in_bed_min == pytest.approx(541)
    assert summary.night_out_of_bed_min == pytest.approx(6)
    # the sit: from the last move at 13:40 to the next at 16:30
    assert summary.longest_inactivity_min == pytest.approx(170)
    assert summary.as_dict()["longest_inactivity_start"] == "13:40"
    assert summary.night_departures == 0
    assert summary.as_dict()["rising"] == "07:12"
    assert summary.as_dict()["day"] == "2024-03-05"


def test_heartbeats_duplicates_and_shuffled_order_change_nothing() -> None:
    events = ordinary_night().events(at(DAY, "17:50"))
    clean = summarise_day(events, DAY)
    rng = random.Random(3)
    noisy = events + rng.sample(events, 200)  # repeated advertisements
    rng.shuffle(noisy)
    summary = summarise_day(noisy, DAY)
    assert summary.events_ignored == 200
    assert replace(summary, events_ignored=0) == clean


def test_a_sleep_that_starts_after_midnight_belongs_to_the_same_routine_day() -> None:
    home = Home(at(EVE, "11:00"))
    home.move_every(at(EVE, "12:00"), at(DAY, "00:40"), 30)
    home.set(at(DAY, "00:40"), "bed", 1).set(at(DAY, "09:05"), "bed", 0)
    home.move_every(at(DAY, "09:06"), at(DAY, "13:00"), 30)
    summary = summarise_day(home.events(at(DAY, "18:00")), DAY)
    assert (summary.bedtime, summary.rising) == ("00:40", "09:05")
    # the next routine day (noon 5 March onwards) holds no sleep of its own yet
    later = summarise_day(home.events(at(DAY, "18:00")), DAY + timedelta(days=1))
    assert later.bedtime is None and later.rising is None


def test_a_very_late_rising_past_noon_is_still_found() -> None:
    home = ordinary_night(rising="13:20")
    summary = summarise_day(home.events(at(DAY, "18:00")), DAY)
    assert summary.rising == "13:20"
    still = summarise_day(home.events(at(DAY, "12:30")), DAY)
    assert still.rising is None and still.in_bed_at_end


def _night_in(tz: ZoneInfo, eve: date, day: date) -> list[SensorEvent]:
    home = Home(at(eve, "11:00", tz), tz)
    home.move_every(at(eve, "12:00", tz), at(eve, "21:40", tz), 20)
    home.set(at(eve, "22:00", tz), "bed", 1).set(at(day, "07:00", tz), "bed", 0)
    home.move_every(at(day, "07:02", tz), at(day, "13:00", tz), 20)
    return home.events(at(day, "18:00", tz))


def test_the_time_zone_parameter_is_honoured() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # an hour ahead of Shanghai
    events = _night_in(tokyo, EVE, DAY)
    there = summarise_day(events, DAY, tz="Asia/Tokyo")
    assert (there.bedtime, there.rising, there.tz) == ("22:00", "07:00", "Asia/Tokyo")
    here = summarise_day(events, DAY)  # read on Shanghai clocks
    assert (here.bedtime, here.rising, here.tz) == ("21:00", "06:00", "Asia/Shanghai")


def test_a_night_when_the_clocks_go_forward_is_an_hour_shorter() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 02:00 became 03:00 on 31 March 2024
    day = date(2024, 3, 31)
    summary = summarise_day(_night_in(berlin, day - timedelta(days=1), day), day, tz=berlin)
    assert (summary.bedtime, summary.rising) == ("22:00", "07:00")
    assert summary.time_in_bed_min == pytest.approx(8 * 60)


def test_leaving_home_at_night_is_counted() -> None:
    home = ordinary_night()
    home.set(at(DAY, "03:00"), "bed", 0).move(at(DAY, "03:01"), "hall-motion")
    home.door(at(DAY, "03:03"))
    home.door(at(DAY, "03:45")).move(at(DAY, "03:47"), "hall-motion")
    home.set(at(DAY, "03:50"), "bed", 1)
    summary = summarise_day(home.events(at(DAY, "18:00")), DAY)
    assert summary.night_departures == 1
    assert summary.rising == "07:12"  # the night out did not end the night's sleep


def test_bad_readings_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match=r"value of 'bed'.*nan"):
        SensorEvent(0, "bed", "bed", math.nan)
    with pytest.raises(ValueError, match="must be 0 or 1, got 3"):
        SensorEvent(0, "bed", "bed", 3)
    with pytest.raises(ValueError, match="role of 'x'"):
        SensorEvent(0, "x", "kitchen", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ts_ms"):
        SensorEvent(-5, "bed", "bed", 1)
    with pytest.raises(ValueError, match="unknown time zone"):
        summarise_day([], DAY, tz="Mars/Olympus")


# -- the usual pattern --------------------------------------------------------------------


def _summary(day: date, rising: str, bedtime: str, inactivity: float, visits: int) -> DaySummary:
    return DaySummary(
        day=day,
        tz="Asia/Shanghai",
        bedtime_ms=at(day - timedelta(days=1), bedtime) if bedtime >= "12:00" else at(day, bedtime),
        rising_ms=at(day, rising),
        in_bed_at_end=False,
        time_in_bed_min=480,
        night_out_of_bed_min=5,
        longest_inactivity_min=inactivity,
        longest_inactivity_start_ms=None,
        night_bathroom_visits=visits,
        night_departures=0,
        events_used=1000,
        events_ignored=0,
    )


def test_the_profile_takes_medians_of_the_persons_own_days_once_there_are_seven() -> None:
    risings = ["06:00", "06:10", "05:50", "06:05", "06:20", "05:55", "09:30"]  # one lie-in
    bedtimes = ["23:30", "00:10", "23:50", "23:40", "00:00", "23:45", "23:55"]
    days = [
        _summary(DAY + timedelta(days=i), r, b, inactivity=60 + 10 * i, visits=i % 3)
        for i, (r, b) in enumerate(zip(risings, bedtimes, strict=True))
    ]
    few = RoutineProfile.from_days(days[:6], prior=RoutineProfile.default("07:00", "22:00"))
    assert (few.usual_rising, few.usual_bedtime) == ("07:00", "22:00")  # the priors still

    profile = RoutineProfile.from_days(days)
    assert profile.usual_rising == "06:05"  # the lie-in does not move the median
    assert profile.usual_bedtime == "23:50"  # bedtimes either side of midnight
    # median absolute deviation of risings: |-5|,5,15,0,15,10,205 -> 10 min, x1.4826
    assert profile.rising.spread == pytest.approx(14.826)
    assert profile.longest_inactivity.median == 90
    assert profile.night_bathroom_visits.median == 1
    # late after usual + max(90 min, 3 x 14.8) = 07:35
    assert profile.as_dict()["late_rising_after"] == "07:35"


def test_default_profile_is_seeded_from_known_habits() -> None:
    early = RoutineProfile.default(usual_rising="05:30", usual_bedtime="21:00")
    assert early.as_dict()["late_rising_after"] == "07:00"
    assert early.inactivity_limit_min == 210  # max(3 h, 120 + max(60, 3 x 30))
    with pytest.raises(ValueError, match="usual_rising"):
        RoutineProfile.default(usual_rising="7 am")


# -- live deviations ----------------------------------------------------------------------


class Feed:
    """Hands events to a monitor as they would arrive and checks every minute, as a
    gateway would."""

    def __init__(self, monitor: RoutineMonitor, events: list[SensorEvent], start_ms: int) -> None:
        self.monitor = monitor
        self.pending = sorted(events, key=lambda e: e.ts_ms)
        self.next = 0
        self.now = start_ms

    def until(self, end_ms: int) -> list[RoutineDeviation]:
        out: list[RoutineDeviation] = []
        while self.now <= end_ms:
            while self.next < len(self.pending) and self.pending[self.next].ts_ms <= self.now:
                self.monitor.add(self.pending[self.next])
                self.next += 1
            out += self.monitor.check(self.now)
            self.now += 60_000
        return out


def run(
    monitor: RoutineMonitor, events: list[SensorEvent], start: int, end: int
) -> list[RoutineDeviation]:
    return Feed(monitor, events, start).until(end)


def lie_in_until(clock: str) -> Home:
    home = Home(at(EVE, "11:00"))
    home.move_every(at(EVE, "12:00"), at(EVE, "21:50"), 20)
    home.set(at(EVE, "21:55"), "bed", 1).set(at(DAY, clock), "bed", 0)
    home.move_every(at(DAY, clock) + minutes(2), at(DAY, "13:00"), 15)
    return home


def test_the_same_morning_is_late_for_an_early_riser_and_not_for_a_late_one() -> None:
    events = lie_in_until("09:05").events(at(DAY, "12:00"))
    early = RoutineMonitor(RoutineProfile.default(usual_rising="05:30"))
    late = RoutineMonitor(RoutineProfile.default(usual_rising="09:00"))
    seen_early = run(early, events, at(EVE, "11:00"), at(DAY, "12:00"))
    seen_late = run(late, events, at(EVE, "11:00"), at(DAY, "12:00"))

    assert seen_late == []
    assert [(d.kind, d.ended) for d in seen_early] == [
        ("late_rising", False),
        ("late_rising", True),
    ]
    raised, ended = seen_early
    assert raised.ts_ms == at(DAY, "07:00")  # 05:30 + 90 minutes, raised once
    assert ended.ts_ms == at(DAY, "09:05")  # when she got up
    assert raised.severity == "medium"  # raised as soon as it was late, not twice as late
    assert raised.evidence["in_bed_since_ms"] == at(EVE, "21:55")


def test_a_long_still_spell_at_home_is_raised_but_not_a_night_in_bed_nor_time_out() -> None:
    home = Home(at(EVE, "11:00"))
    home.move_every(at(EVE, "12:00"), at(EVE, "21:50"), 20)
    home.set(at(EVE, "21:55"), "bed", 1).set(at(DAY, "07:00"), "bed", 0)
    home.move_every(at(DAY, "07:01"), at(DAY, "09:00"), 20)
    home.door(at(DAY, "09:00"))  # out shopping for five hours
    home.door(at(DAY, "14:00")).move_every(at(DAY, "14:01"), at(DAY, "16:00"), 20)
    # then still from 15:41 (the last move) until 19:40: a fall with a long lie
    home.move_every(at(DAY, "19:40"), at(DAY, "21:00"), 20)
    monitor = RoutineMonitor(RoutineProfile.default())
    seen = run(monitor, home.events(at(DAY, "21:00")), at(EVE, "11:00"), at(DAY, "21:00"))

    assert [(d.kind, d.ended) for d in seen] == [("inactivity", False), ("inactivity", True)]
    raised, ended = seen
    # limit 210 min: max(3 h, usual 120 + max(60, 3 x 30)), so raised at 19:11
    assert raised.ts_ms == at(DAY, "19:11")
    assert raised.evidence["quiet_since_ms"] == at(DAY, "15:41")
    assert ended.ts_ms == at(DAY, "19:40")


def test_wandering_out_of_bed_at_night_is_raised_and_ended_when_back_in_bed() -> None:
    home = ordinary_night()
    home.set(at(DAY, "03:10"), "bed", 0)
    home.move_every(at(DAY, "03:11"), at(DAY, "03:45"), 1, sensor="hall-motion")
    home.door(at(DAY, "03:20"))  # tries the front door but stays in
    home.set(at(DAY, "03:45"), "bed", 1)
    monitor = RoutineMonitor(RoutineProfile.default(usual_rising="07:00", usual_bedtime="22:00"))
    seen = run(monitor, home.events(at(DAY, "12:00")), at(EVE, "11:00"), at(DAY, "12:00"))

    assert [(d.kind, d.ended) for d in seen] == [
        ("night_wandering", False),
        ("night_wandering", True),
    ]
    raised, ended = seen
    assert raised.ts_ms == at(DAY, "03:30")  # 20 minutes up and about
    assert raised.severity == "high"  # the front door was tried
    assert raised.evidence["detector"] == "up_at_night"
    assert ended.ts_ms == at(DAY, "03:45")


def test_leaving_home_at_night_is_raised_until_the_person_is_back() -> None:
    home = ordinary_night()
    home.set(at(DAY, "03:00"), "bed", 0).move(at(DAY, "03:01"), "hall-motion")
    home.door(at(DAY, "03:03"))
    home.door(at(DAY, "03:45")).move(at(DAY, "03:47"), "hall-motion")
    home.set(at(DAY, "03:50"), "bed", 1)
    monitor = RoutineMonitor()
    seen = run(monitor, home.events(at(DAY, "12:00")), at(EVE, "11:00"), at(DAY, "12:00"))

    assert [(d.kind, d.ended, d.evidence["detector"]) for d in seen] == [
        ("night_wandering", False, "left_home_at_night"),
        ("night_wandering", True, "left_home_at_night"),
    ]
    raised, ended = seen
    # the door closed at 03:04; out 15 minutes by 03:19
    assert raised.ts_ms == at(DAY, "03:19")
    assert ended.ts_ms == at(DAY, "03:47")  # the first movement indoors after the door


def test_a_night_of_many_bathroom_visits_is_raised_once() -> None:
    home = Home(at(EVE, "11:00"))
    home.move_every(at(EVE, "12:00"), at(EVE, "21:50"), 20)
    home.set(at(EVE, "22:00"), "bed", 1)
    for clock in ("23:30", "00:45", "02:00", "03:15", "04:30"):
        home.set(at(EVE if clock > "12:00" else DAY, clock), "bed", 0)
        home.move(at(EVE if clock > "12:00" else DAY, clock) + minutes(1), "bathroom-motion", 2)
        home.set(at(EVE if clock > "12:00" else DAY, clock) + minutes(5), "bed", 1)
    home.set(at(DAY, "07:00"), "bed", 0).move_every(at(DAY, "07:01"), at(DAY, "12:00"), 20)
    monitor = RoutineMonitor(RoutineProfile.default())
    seen = run(monitor, home.events(at(DAY, "12:00")), at(EVE, "11:00"), at(DAY, "12:00"))

    assert [(d.kind, d.ended) for d in seen] == [
        ("night_bathroom_visits", False),
        ("night_bathroom_visits", True),
    ]
    raised, ended = seen
    # usual 1 a night + max(2, 2 x 1) = 3: the fourth visit (03:16) is one too many; the
    # check after it is a minute later
    assert raised.ts_ms == at(DAY, "03:17")
    assert raised.evidence["visits"] == 4
    assert raised.severity == "low"
    assert ended.ts_ms == at(DAY, "07:00")


def test_the_monitor_learns_the_persons_own_rising_time() -> None:
    """An early riser with the population prior (07:00): once her own week is in, a 07:30
    rising is late for her, though by the prior it would not be."""
    start = date(2024, 3, 1)
    events: list[SensorEvent] = []
    for i in range(10):
        events += _simple_day(start + timedelta(days=i), rising="05:30", bedtime="21:00")
    last = start + timedelta(days=10)
    events += _simple_day(last, rising="07:30", bedtime="21:00")
    monitor = RoutineMonitor()
    feed = Feed(monitor, events, at(start - timedelta(days=1), "12:00"))

    assert feed.until(at(last - timedelta(days=1), "18:00")) == []
    assert monitor.days_seen == 10
    assert monitor.profile.usual_rising == "05:30"
    assert monitor.profile.usual_bedtime == "21:00"

    late = feed.until(at(last, "12:00"))
    assert [(d.kind, d.ended) for d in late] == [("late_rising", False), ("late_rising", True)]
    assert late[0].ts_ms == at(last, "07:00")  # 05:30 + 90 minutes
    assert late[1].ts_ms == at(last, "07:30")


def _simple_day(day: date, rising: str, bedtime: str) -> list[SensorEvent]:
    home = Home(at(day - timedelta(days=1), "12:00"))
    eve = day - timedelta(days=1)
    home.move_every(at(eve, "12:00"), at(eve, bedtime) - minutes(5), 20)
    home.set(at(eve, bedtime), "bed", 1).set(at(day, rising), "bed", 0)
    home.move_every(at(day, rising) + minutes(1), at(day, "12:00"), 20)
    return [e for e in home.events(at(day, "12:00")) if e.ts_ms < at(day, "12:00")]


def test_bad_and_disordered_input_never_raises_a_deviation_on_its_own() -> None:
    events = ordinary_night().events(at(DAY, "12:00"))
    assert run(RoutineMonitor(), events, at(EVE, "11:00"), at(DAY, "12:00")) == []

    monitor = RoutineMonitor()
    duplicates = [SensorEvent(e.ts_ms, e.sensor_id, e.role, e.value) for e in events[::7]]
    feed = Feed(monitor, events + duplicates, at(EVE, "11:00"))
    out = feed.until(at(DAY, "01:00"))
    # a reading stamped two days ahead, and one from an hour ago whose turn has passed
    monitor.add(SensorEvent(at(DAY, "03:00") + 2 * 86_400_000, "kitchen-motion", "motion", 1))
    monitor.add(SensorEvent(at(DAY, "00:00"), "kitchen-motion", "motion", 1))
    out += feed.until(at(DAY, "12:00"))
    assert out == []
    assert monitor.ignored["duplicate"] == len(duplicates)
    assert monitor.ignored["future"] == 1
    assert monitor.ignored["late"] == 1


def test_silence_from_the_radio_is_not_inactivity() -> None:
    home = Home(at(EVE, "11:00"))
    home.move_every(at(EVE, "12:00"), at(EVE, "14:00"), 20)
    events = home.events(at(EVE, "14:00"))  # then the gateway hears nothing for six hours
    later = Home(at(EVE, "20:00"))
    monitor = RoutineMonitor()
    seen = run(monitor, events + later.events(at(EVE, "21:00")), at(EVE, "11:00"), at(EVE, "21:00"))
    assert seen == []


def test_memory_stays_bounded_over_weeks() -> None:
    monitor = RoutineMonitor()
    start = date(2024, 3, 1)
    for i in range(35):
        day = start + timedelta(days=i)
        for event in _simple_day(day, rising="06:30", bedtime="22:00"):
            monitor.add(event)
        monitor.check(at(day, "18:00"))
    assert monitor.days_seen == 28  # four weeks kept; older days dropped
    assert len(monitor._buffer) < 100


def test_duplicated_and_slightly_disordered_readings_raise_the_same_deviations() -> None:
    events = lie_in_until("09:05").events(at(DAY, "11:50"))
    clean = run(
        RoutineMonitor(RoutineProfile.default("05:30")), events, at(EVE, "11:00"), at(DAY, "12:00")
    )
    rng = random.Random(7)
    # each reading repeated, and radio delays of up to 20 s mixing up the order they arrive in
    noisy = sorted(events + events, key=lambda e: e.ts_ms + rng.uniform(0, 20_000))
    monitor = RoutineMonitor(RoutineProfile.default("05:30"))
    feed = Feed(monitor, [], at(EVE, "11:00"))
    feed.pending = noisy  # in arrival order, not time order
    assert feed.until(at(DAY, "12:00")) == clean
    assert monitor.ignored["duplicate"] == len(events)
