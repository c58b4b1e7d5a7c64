"""Scenario files: validation with paths, the shipped examples, and the runner's plan."""

import pytest

from anxin.firmware_sim.daily_life import State
from anxin.firmware_sim.runner import ScenarioRunner
from anxin.firmware_sim.scenario_file import (
    ScenarioError,
    example_scenarios,
    load_scenario,
    parse_scenario,
)


def minimal(**extra) -> dict:
    data = {
        "name": "t",
        "start": "08:00",
        "duration": "04:00",
        "person": {"name": "P", "age": 80, "sex": "female"},
        "devices": [{"kind": "heart_rate_strap", "id": "strap"}, {"kind": "pulse_oximeter"}],
        "timeline": [],
    }
    data.update(extra)
    return data


@pytest.mark.parametrize("path", example_scenarios(), ids=lambda p: p.name)
def test_every_example_loads_and_builds(path):
    scenario = load_scenario(path)
    runner = ScenarioRunner(scenario)
    assert runner.devices
    assert runner.plan.markers
    assert all(0 <= t <= scenario.duration_s for t, _ in runner.plan.markers)


def test_there_are_examples():
    assert {p.name for p in example_scenarios()} >= {
        "af_night.toml",
        "fall_morning.toml",
        "quiet_day.toml",
        "tachycardia.toml",
    }


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        ([{"event": "fall", "at": "25:00"}], "timeline[0].at:"),
        ([{"event": "af", "at": "09:00"}], "timeline[0].until: Field required"),
        (
            [{"event": "af", "at": "09:00", "until": "09:30", "colour": 1}],
            "timeline[0].colour: unknown key",
        ),
        ([{"event": "explode", "at": "09:00"}], "timeline[0]:"),
        (
            [{"event": "fault", "fault": "nan_readings", "device": "fridge", "at": "09:00"}],
            "timeline[0].device: no device with id or kind 'fridge'",
        ),
        (
            [{"event": "fall", "at": "09:00"}, {"event": "fall", "at": "13:00"}],
            "timeline[1].at: 13:00 falls after the scenario ends",
        ),
    ],
)
def test_errors_name_the_path(timeline, expected):
    with pytest.raises(ScenarioError) as error:
        parse_scenario(minimal(timeline=timeline), "x.toml")
    assert expected in str(error.value)
    assert "x.toml" in str(error.value)


def test_unknown_top_level_and_person_keys():
    with pytest.raises(ScenarioError, match=r"person\.height: unknown key"):
        parse_scenario(minimal(person={"name": "P", "age": 80, "sex": "male", "height": 1}))
    with pytest.raises(ScenarioError, match="weather: unknown key"):
        parse_scenario(minimal(weather="rain"))


def test_clock_times_map_to_simulated_seconds_across_midnight():
    scenario = parse_scenario(minimal(start="22:00", duration="06:00"))
    assert scenario.at_s("22:30") == 1800
    assert scenario.span_s("23:30", "01:00") == (5400, 10800)


def test_plan_drives_person_state_and_rhythm():
    scenario = parse_scenario(
        minimal(
            timeline=[
                {"event": "af", "at": "09:00", "until": "10:00"},
                {"event": "fall", "at": "10:30", "lie_minutes": 10},
                {"event": "not_worn", "at": "11:00", "until": "11:30", "devices": ["strap"]},
            ]
        )
    )
    runner = ScenarioRunner(scenario)
    plan = runner.plan
    assert plan.rhythm.af_at(3600 + 60) is not None and plan.rhythm.af_at(100) is None
    assert plan.life.state(2.5 * 3600 + 60) is State.ON_FLOOR
    assert not plan.life.worn("heart_rate_strap", 3 * 3600 + 60)
    assert plan.life.worn("pulse_oximeter", 3 * 3600 + 60)
    faults = [(e.device.device_id, e.fault.name) for e in runner.faults.entries]
    assert faults == [("strap", "contact_lost")]
    assert any("fall: no device in this home can observe it" in n for n in runner.notes)


def test_unavailable_device_kind_is_reported_not_fatal():
    data = minimal(devices=[{"kind": "heart_rate_strap"}, {"kind": "thermometer", "id": "t"}])
    runner = ScenarioRunner(parse_scenario(data))
    assert list(runner.devices) == ["heart_rate_strap-1"]
    assert "kind 'thermometer' cannot be simulated yet" in runner.notes[0]


def _signals(seed: int | None) -> list:
    runner = ScenarioRunner(load_scenario(example_scenarios()[0]), seed=seed)
    strap = runner.devices["strap"]
    oximeter = runner.devices["oximeter"]
    motion = runner.devices["bedroom-motion"]
    out = []
    for t in range(1, 3 * 3600, 7):
        out.append((strap.measure(float(t)), oximeter.measure(float(t)), motion.activity.step(t)))
    return out


def test_same_seed_same_signals():
    first = _signals(4)
    assert first == _signals(4)
    assert first != _signals(5)
