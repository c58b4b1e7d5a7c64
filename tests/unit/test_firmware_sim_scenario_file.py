"""Scenario files: validation with paths, the shipped examples, and the runner's plan."""

import numpy as np
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
        "night_wandering.toml",
        "quiet_day.toml",
        "tachycardia.toml",
    }


def test_night_wandering_empties_the_bed_and_moves_the_door_and_motion_at_night():
    path = next(p for p in example_scenarios() if p.name == "night_wandering.toml")
    runner = ScenarioRunner(load_scenario(path))
    life = runner.plan.life
    assert {d.kind for d in runner.devices.values()} == {
        "bthome_bed",
        "bthome_door",
        "bthome_motion",
    }
    assert not runner.notes
    wandering = 40 * 60 + 60  # 02:11 from 01:30
    assert life.state(wandering) is State.WANDERING and not life.in_bed(wandering)
    assert life.in_bed(60) and life.in_bed(80 * 60)
    door = runner.devices["front-door"].activity
    assert all(door.step(wandering + 10 * k) for k in range(20))


def test_every_device_kind_is_built_and_events_are_observed():
    kinds = [
        "accelerometer_wearable",
        "bthome_door",
        "bthome_bed",
        "bthome_presence",
        "bthome_button",
        "bthome_room",
        "bthome_motion",
        "blood_pressure_cuff",
        "thermometer",
        "weight_scale",
        "glucose_meter",
        "spot_check_oximeter",
        "heart_rate_strap",
        "pulse_oximeter",
    ]
    data = minimal(
        person={"name": "P", "age": 80, "sex": "male", "conditions": ["hypertension"]},
        devices=[{"kind": k} for k in kinds],
        timeline=[
            {"event": "fall", "at": "09:00", "lie_minutes": 5},
            {"event": "no_rising", "until": "08:30"},
            {"event": "wandering", "at": "10:00", "until": "10:10"},
            {"event": "sos", "at": "09:02", "press": "double_press"},
            {"event": "not_worn", "at": "11:00", "until": "11:30"},
        ],
    )
    runner = ScenarioRunner(parse_scenario(data))
    assert sorted(d.kind for d in runner.devices.values()) == sorted(kinds)
    assert runner.notes == []
    assert runner.plan.sos_presses == ((3720.0, "double_press"),)
    assert (3720.0, "SOS button: double_press") in runner.plan.markers
    # hypertension raises the cuff's baseline
    cuff = runner.devices["blood_pressure_cuff-1"]
    assert (cuff.model.baseline_systolic, cuff.model.baseline_diastolic) == (152, 92)
    # not worn: the accelerometer streams nothing (its frames are dropped)
    faults = {(e.device.kind, e.fault.name) for e in runner.faults.entries}
    assert ("accelerometer_wearable", "off_body") in faults
    # the waist model falls at 09:00 to the sample
    wearable = runner.devices["accelerometer_wearable-1"]
    motion = wearable.motion
    motion._now = lambda: 3590.0
    samples = np.vstack([motion.advance(50), motion.advance(50 * 20)])  # sample 0: 3589 s
    assert motion.origin_s == 3589.0
    assert (motion.activity, motion.falls) == ("fallen", 1)
    magnitude = np.linalg.norm(samples, axis=1)
    impact = int(np.argmax(magnitude))
    assert magnitude[impact] > 2.5
    assert 550 <= impact <= 550 + 80  # the fall starts at sample 550 (09:00), lasts 1.6 s
    assert magnitude[:550].max() < 2.5


def test_sos_event_is_validated():
    with pytest.raises(ScenarioError, match=r"timeline\[0\]\.press"):
        parse_scenario(minimal(timeline=[{"event": "sos", "at": "09:00", "press": "triple"}]))
    with pytest.raises(ScenarioError, match=r"timeline\[0\]\.until: unknown key"):
        parse_scenario(minimal(timeline=[{"event": "sos", "at": "09:00", "until": "09:01"}]))


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
    data = minimal(
        devices=[{"kind": "heart_rate_strap"}, {"kind": "thermometer_of_the_future", "id": "t"}]
    )
    runner = ScenarioRunner(parse_scenario(data))
    assert list(runner.devices) == ["heart_rate_strap-1"]
    assert "kind 'thermometer_of_the_future' cannot be simulated yet" in runner.notes[0]


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
