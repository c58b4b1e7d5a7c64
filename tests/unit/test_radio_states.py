"""Device states as the console shows them, judged by each device's own reporting interval."""

from __future__ import annotations

from anxin.edge.radio import BoundDevice, _Tracker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def tracker(kind: str, clock: Clock) -> _Tracker:
    return _Tracker(BoundDevice("dev", "C0:00:00:00:00:01", kind), clock)


def test_an_sos_button_silent_for_an_hour_is_not_out_of_range() -> None:
    clock = Clock()
    button = tracker("bthome_button", clock)  # trigger-based: a battery heartbeat each hour
    assert button.state(30.0) == "standing_by"  # not heard yet, and nothing is wrong
    clock.now = 600.0
    button.saw_advertisement()
    clock.now = 600.0 + 2 * 3600
    assert button.state(30.0) == "advertising"
    clock.now = 600.0 + 3 * 3600  # two and a half heartbeats missed
    assert button.state(30.0) == "out_of_range"


def test_a_bed_sensor_is_out_of_range_after_missing_its_minute_heartbeats() -> None:
    clock = Clock()
    bed = tracker("bthome_bed", clock)
    bed.saw_advertisement()
    clock.now = 140.0
    assert bed.state(30.0) == "advertising"
    clock.now = 160.0
    assert bed.state(30.0) == "out_of_range"


def test_a_never_heard_sensor_is_out_of_range_once_its_interval_has_passed() -> None:
    clock = Clock()
    bed = tracker("bthome_bed", clock)
    clock.now = 151.0
    assert bed.state(30.0) == "out_of_range"
