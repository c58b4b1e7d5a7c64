"""Device states as the console shows them, judged by each device's own reporting interval."""

from __future__ import annotations

from dataclasses import replace

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


def test_a_sensor_heard_every_ten_minutes_is_not_flagged_after_five() -> None:
    clock = Clock()
    sensor = tracker("bthome_room", clock)
    # A climate sensor configured (as many are) to report every 10 minutes.
    sensor.kind = replace(sensor.kind, nominal_interval_s=600.0)
    sensor.saw_advertisement()
    clock.now = 5 * 60.0
    assert sensor.state(30.0) == "advertising"  # a shorter, global window would flag it
    clock.now = 20 * 60.0
    assert sensor.state(30.0) == "advertising"  # two intervals missed: still within 2.5
    clock.now = 26 * 60.0
    assert sensor.state(30.0) == "out_of_range"


def test_a_wearable_is_judged_by_the_link_not_by_an_interval() -> None:
    clock = Clock()
    strap = tracker("heart_rate_strap", clock)
    assert strap.state(30.0) == "connecting"
    strap.saw_advertisement()
    strap.connected = strap.ever_connected = True
    clock.now = 3600.0
    assert strap.state(30.0) == "connected"  # silent on air while connected: fine
    strap.connected = False
    assert strap.state(30.0) == "out_of_range"  # last advertisement an hour ago
    strap.saw_advertisement()
    assert strap.state(30.0) == "reconnecting"
