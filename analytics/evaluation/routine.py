"""Routine deviations on simulated days: how often each planted deviation is raised, and
how many deviations an ordinary day produces.

There is no public recording of home sensors with labelled deviations to test against,
so the days come from the simulator's pure daily-life models (``DailyLife``,
``DailyLifeActivity``'s rules and ``ActivityModel``; no radio): for each simulated
person, 28 ordinary days (bedtime and rising jittered by about 20 minutes, 0-2 night
bathroom trips, a daytime outing on two days in five, a still spell of 30-120 minutes
in the afternoon on three days in five), then two days of each deviation:
a no-rising morning (in bed until 3 h past the usual rising), a fall with
a 4-hour lie, 30 minutes of wandering indoors at night, leaving home at night for an
hour, and a night with five bathroom trips.

What the simulator's model does not have, this module adds with the same models:
night bathroom trips (a short ``wandering`` span seen only by the bed and the bathroom
sensor) and time away from home (indoor sensors quiet, the front door opened on the way
out and back), and still spells awake (up, but out of every sensor's view: the
simulator's activity model moves someone who is up every few seconds). Motion sensors are read through a passive-infrared hold of 60 s and
every sensor repeats its state each minute, as BTHome sensors do.

Run: ``python -m anxin.analytics.evaluation.routine``.
"""

from __future__ import annotations

import random
import sys
import time as timer
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from anxin.analytics.routine import RoutineDeviation, RoutineMonitor, RoutineProfile, SensorEvent
from anxin.firmware_sim.activity import ActivityModel
from anxin.firmware_sim.daily_life import DailyLife, Fall, Span, State

TZ = ZoneInfo("Asia/Shanghai")
DAY_S = 86_400
STEP_S = 5  # the simulator's motion sensors update every 5 s
HEARTBEAT_S = 60
PIR_HOLD_S = 60
DOOR_UP_SHARE = 0.05  # as the simulator's front door: a small share of daytime movement
ORDINARY_DAYS = 28
REPEATS = 2  # days of each deviation, per person
CHECK_EVERY_MS = 300_000  # the gateway checks every few seconds; minutes suffice here
FIRST_DAY = date(2024, 3, 1)

DEVIATION_DAYS = {  # planted deviation -> the kind the monitor should raise
    "no_rising": "late_rising",
    "fall_long_lie": "inactivity",
    "wandering": "night_wandering",
    "left_home_at_night": "night_wandering",
    "bathroom_visits": "night_bathroom_visits",
}


@dataclass(frozen=True)
class SimPerson:
    name: str
    wake: str
    bedtime: str
    seed: int


PEOPLE = (
    SimPerson("early riser", "05:30", "21:00", 1),
    SimPerson("usual hours", "07:00", "22:00", 2),
    SimPerson("late riser", "08:30", "23:30", 3),
)


def _clock_s(text: str) -> float:
    hours, minutes = (int(p) for p in text.split(":"))
    return hours * 3600.0 + minutes * 60.0


@dataclass(frozen=True)
class DayPlan:
    """One routine day, simulated time 0 at noon of the day before."""

    day: date
    planted: str | None  # None: an ordinary day
    life: DailyLife  # what the kitchen and the front door see
    night_life: DailyLife  # the same, with bathroom trips: what the bed and bathroom see
    away: tuple[Span, ...] = ()
    still: tuple[Span, ...] = ()  # up but out of every sensor's view (an armchair, a nap)
    expect: tuple[float, float] | None = None  # when the deviation should be raised


def _at_s(clock_s: float) -> float:
    """Simulated seconds from noon to the next ``clock_s`` time of day."""
    return (clock_s - 12 * 3600) % DAY_S


def plan_day(person: SimPerson, day: date, planted: str | None, rng: random.Random) -> DayPlan:
    wake = _clock_s(person.wake) + rng.gauss(0, 20 * 60)
    bedtime = _clock_s(person.bedtime) + rng.gauss(0, 20 * 60)
    wake_at, bed_at = _at_s(wake), _at_s(bedtime)
    stays: list[Span] = []
    wandering: list[Span] = []
    falls: list[Fall] = []
    away: list[Span] = []
    still: list[Span] = []
    expect = None
    trips = rng.choices((0, 1, 2), weights=(3, 4.5, 2.5))[0]
    if planted == "bathroom_visits":
        trips = 5
    night_s = wake_at - bed_at
    trip_starts = sorted(bed_at + night_s * (i + 1) / (trips + 1) for i in range(trips))
    trip_spans = [Span(t, t + rng.uniform(3, 8) * 60) for t in trip_starts]
    if planted is None and rng.random() < 0.4:  # an outing in the day
        start = _at_s(rng.uniform(9, 16) * 3600) if rng.random() < 0.5 else rng.uniform(1, 4) * 3600
        away.append(Span(start, start + rng.uniform(1, 3.5) * 3600))
    if planted is None and rng.random() < 0.6:  # a quiet afternoon in the armchair
        start = _at_s(rng.uniform(13, 16) * 3600)
        still.append(Span(start, start + rng.uniform(30, 120) * 60))
    if planted == "no_rising":
        stays.append(Span(wake_at, wake_at + 3 * 3600))
        expect = (_at_s(_clock_s(person.wake)), wake_at + 3 * 3600)
    elif planted == "fall_long_lie":
        at = _at_s(rng.uniform(13, 17) * 3600)
        falls.append(Fall(at, 4 * 3600))
        expect = (at, at + 4 * 3600)
    elif planted == "wandering":
        at = bed_at + rng.uniform(2, 3) * 3600
        wandering.append(Span(at, at + 30 * 60))
        expect = (at, at + 35 * 60)
    elif planted == "left_home_at_night":
        at = bed_at + rng.uniform(2, 3) * 3600
        wandering += [Span(at - 120, at), Span(at + 3600, at + 3600 + 300)]
        away.append(Span(at, at + 3600))
        expect = (at, at + 3600)
    elif planted == "bathroom_visits":
        expect = (bed_at, wake_at)
    base = DailyLife(
        day_start_s=12 * 3600,
        wake_s=wake % DAY_S,
        bedtime_s=bedtime % DAY_S,
        stays_in_bed=tuple(stays),
        wandering=tuple(wandering),
        falls=tuple(falls),
    )
    night = DailyLife(
        day_start_s=base.day_start_s,
        wake_s=base.wake_s,
        bedtime_s=base.bedtime_s,
        stays_in_bed=base.stays_in_bed,
        wandering=(*base.wandering, *trip_spans),
        falls=base.falls,
    )
    return DayPlan(day, planted, base, night, tuple(away), tuple(still), expect)


def _steps(spans: tuple[Span, ...] | list[Span]) -> set[int]:
    return {
        step
        for span in spans
        for step in range(int(span.start_s // STEP_S), int(span.end_s // STEP_S) + 1)
        if span.covers(step * STEP_S)
    }


def simulate_day(plan: DayPlan, seed: int) -> list[SensorEvent]:
    """A day of the home's sensors from the daily-life models: each sensor sends its
    state when it changes and again every minute."""
    base_ms = round(datetime.combine(plan.day - timedelta(days=1), time(12), TZ).timestamp() * 1000)
    kitchen_routine = ActivityModel(seed=seed, day_start_s=plan.life.day_start_s)
    bathroom_routine = ActivityModel(seed=seed + 1, day_start_s=plan.life.day_start_s)
    door_routine = ActivityModel(seed=seed + 2, day_start_s=plan.life.day_start_s)
    rng = random.Random(seed)
    away_steps = _steps(plan.away)
    still_steps = _steps(plan.still)
    trip_steps = _steps([s for s in plan.night_life.wandering if s not in plan.life.wandering])
    edges = {round(s.start_s / STEP_S) for s in plan.away} | {
        round(s.end_s / STEP_S) for s in plan.away
    }
    sensors = (
        ("bed", "bed"),
        ("kitchen-motion", "motion"),
        ("bathroom-motion", "bathroom"),
        ("front-door", "front_door"),
    )
    values = [-1] * len(sensors)
    sent = [-1e9] * len(sensors)
    events: list[SensorEvent] = []
    last_kitchen = last_bathroom = -1e9
    door_open = False
    up, wandering, in_bed_states = State.UP, State.WANDERING, (State.ASLEEP, State.IN_BED)
    for step in range(DAY_S // STEP_S):
        t = step * STEP_S
        away = step in away_steps
        still = step in still_steps
        state = plan.life.state(t)
        # the night life differs only on bathroom trips, which are wandering seen by two sensors
        night_state = wandering if step in trip_steps else state
        if not (away or still):
            if state is wandering or (state is up and kitchen_routine.step(t)):
                last_kitchen = t
            if night_state is wandering or (night_state is up and bathroom_routine.step(t)):
                last_bathroom = t
        if step in edges:
            door_open = True  # out or back in through the front door
        elif away or still:
            door_open = False
        elif step % 2 == 0:  # the simulator's door steps every 10 s
            moving = state is wandering or (
                state is up and door_routine.step(t) and rng.random() < DOOR_UP_SHARE
            )
            door_open = (not door_open) and moving and rng.random() < 0.3
        now = (
            int(not away and night_state in in_bed_states),
            int(t - last_kitchen < PIR_HOLD_S),
            int(t - last_bathroom < PIR_HOLD_S),
            int(door_open),
        )
        for i, value in enumerate(now):
            if value != values[i] or t - sent[i] >= HEARTBEAT_S:
                values[i], sent[i] = value, t
                sensor_id, role = sensors[i]
                events.append(SensorEvent(base_ms + t * 1000, sensor_id, role, value))  # type: ignore[arg-type]
    return events


@dataclass(frozen=True)
class Outcome:
    planted: str | None
    raised: tuple[RoutineDeviation, ...]
    hit: bool


def run_person(person: SimPerson) -> tuple[list[Outcome], RoutineProfile]:
    rng = random.Random(person.seed)
    plans = [
        plan_day(person, FIRST_DAY + timedelta(days=i), None, rng) for i in range(ORDINARY_DAYS)
    ]
    for planted in list(DEVIATION_DAYS) * REPEATS:
        plans.append(plan_day(person, FIRST_DAY + timedelta(days=len(plans)), planted, rng))
    monitor = RoutineMonitor(RoutineProfile.default(person.wake, person.bedtime))
    outcomes = []
    for i, plan in enumerate(plans):
        events = simulate_day(plan, seed=person.seed * 1000 + i)
        base_ms = events[0].ts_ms - events[0].ts_ms % 1000
        raised: list[RoutineDeviation] = []
        cursor = 0
        for now in range(base_ms + CHECK_EVERY_MS, base_ms + DAY_S * 1000 + 1, CHECK_EVERY_MS):
            while cursor < len(events) and events[cursor].ts_ms <= now:
                monitor.add(events[cursor])
                cursor += 1
            raised += [d for d in monitor.check(now) if not d.ended]
        hit = False
        if plan.planted is not None and plan.expect is not None:
            lo, hi = (base_ms + round(s * 1000) for s in plan.expect)
            wanted = DEVIATION_DAYS[plan.planted]
            hit = any(d.kind == wanted and lo <= d.ts_ms <= hi + CHECK_EVERY_MS for d in raised)
        outcomes.append(Outcome(plan.planted, tuple(raised), hit))
    return outcomes, monitor.profile


@dataclass(frozen=True)
class RoutineReport:
    people: tuple[str, ...]
    detected: dict[str, tuple[int, int]]  # planted -> (raised, days)
    ordinary_days: int
    false_by_kind: dict[str, int]
    learnt: dict[str, str]  # person -> their profile at the end
    seconds: float

    @property
    def false_per_ordinary_day(self) -> float:
        return sum(self.false_by_kind.values()) / self.ordinary_days if self.ordinary_days else 0.0

    def rows(self) -> list[tuple[str, str]]:
        rows = [("simulated people", ", ".join(self.people))]
        rows += [(f"learnt profile, {name}", text) for name, text in self.learnt.items()]
        for planted, (hits, days) in self.detected.items():
            label = f"{DEVIATION_DAYS[planted]} on {planted.replace('_', ' ')} days"
            rows.append((label, f"{100 * hits / days:.0f} % ({hits}/{days})"))
        false = ", ".join(f"{k} {n}" for k, n in sorted(self.false_by_kind.items())) or "none"
        rows += [
            ("ordinary days", str(self.ordinary_days)),
            ("false deviations per ordinary day", f"{self.false_per_ordinary_day:.3f} ({false})"),
            ("run time", f"{self.seconds:.1f} s"),
        ]
        return rows


def evaluate() -> RoutineReport:
    started = timer.perf_counter()
    detected: dict[str, list[int]] = {planted: [0, 0] for planted in DEVIATION_DAYS}
    false: Counter[str] = Counter()
    ordinary = 0
    learnt = {}
    for person in PEOPLE:
        outcomes, profile = run_person(person)
        learnt[person.name] = (
            f"rising {profile.usual_rising}, bed {profile.usual_bedtime}, "
            f"late after {profile.as_dict()['late_rising_after']}, "
            f"inactivity limit {profile.inactivity_limit_min:.0f} min, "
            f"bathroom limit {profile.bathroom_visits_limit:.1f}"
        )
        for outcome in outcomes:
            if outcome.planted is None:
                ordinary += 1
                false.update(d.kind for d in outcome.raised)
            else:
                detected[outcome.planted][0] += outcome.hit
                detected[outcome.planted][1] += 1
    return RoutineReport(
        people=tuple(f"{p.name} ({p.wake}-{p.bedtime})" for p in PEOPLE),
        detected={k: (v[0], v[1]) for k, v in detected.items()},
        ordinary_days=ordinary,
        false_by_kind=dict(false),
        learnt=learnt,
        seconds=timer.perf_counter() - started,
    )


def main() -> int:
    for label, value in evaluate().rows():
        print(f"{label:<48} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
