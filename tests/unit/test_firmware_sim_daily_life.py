"""The person's day as sensors read it."""

from anxin.firmware_sim.daily_life import (
    DailyLife,
    DailyLifeActivity,
    Fall,
    NotWorn,
    Span,
    State,
)

HOUR = 3600.0


def test_routine_sleep_and_overrides():
    # simulated time 0 is 06:00
    life = DailyLife(
        day_start_s=6 * HOUR,
        stays_in_bed=(Span(1 * HOUR, 5 * HOUR),),  # 07:00-11:00: no rising
        falls=(Fall(at_s=6 * HOUR, lie_s=600.0),),  # 12:00
        wandering=(Span(21 * HOUR, 21 * HOUR + 1200),),  # 03:00-03:20
    )
    assert life.state(0.5 * HOUR) is State.ASLEEP
    assert life.state(2 * HOUR) is State.IN_BED and life.in_bed(2 * HOUR)
    assert life.state(5.5 * HOUR) is State.UP
    assert life.state(6 * HOUR + 60) is State.ON_FLOOR
    assert life.state(6 * HOUR + 700) is State.UP
    assert life.state(21 * HOUR + 600) is State.WANDERING
    assert life.state(21 * HOUR + 1300) is State.ASLEEP
    assert life.falls_between(5 * HOUR, 6 * HOUR) == [Fall(6 * HOUR, 600.0)]
    assert life.falls_between(6 * HOUR, 7 * HOUR) == []


def test_worn_by_kind():
    life = DailyLife(not_worn=(NotWorn(Span(10.0, 20.0), frozenset({"heart_rate_strap"})),))
    assert not life.worn("heart_rate_strap", 15.0)
    assert life.worn("pulse_oximeter", 15.0) and life.worn("heart_rate_strap", 25.0)


def test_motion_follows_the_day():
    life = DailyLife(day_start_s=2 * 3600, wandering=(Span(3600.0, 4800.0),))
    activity = DailyLifeActivity(life)
    assert not any(activity.step(t) for t in range(0, 3600, 5))  # asleep 02:00-03:00
    assert all(activity.step(t) for t in range(3600, 4800, 5))  # wandering
