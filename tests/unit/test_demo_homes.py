from anxin.demo.homes import EVENTS, FIRST_EVENT_AT, demo_homes, demo_scenario
from anxin.firmware_sim.scenario_file import clock_seconds


def test_each_demo_home_plays_its_scenario_file_with_its_own_devices() -> None:
    homes = demo_homes(len(EVENTS))
    assert [home.event for home in homes] == list(EVENTS)
    for home in homes:
        scenario = demo_scenario(home, scenario_start_s=5.0)
        registered = {(d.device_id, d.address, d.kind, d.bind_key) for d in home.devices}
        played = {(d.id, d.address, d.kind, d.bind_key) for d in scenario.devices}
        assert played == registered  # what the registry binds is what the home simulates
        # The demo's events start 5 s in (home 1), the other homes' a little later.
        assert clock_seconds(FIRST_EVENT_AT) - clock_seconds(scenario.start) == 5.0
        first = min(clock_seconds(e.at) for e in scenario.timeline if hasattr(e, "at"))
        assert first >= clock_seconds(FIRST_EVENT_AT)


def test_the_sos_button_is_encrypted_and_pressed() -> None:
    scenario = demo_scenario(demo_homes(3)[2], scenario_start_s=60.0)
    button = next(d for d in scenario.devices if d.kind == "bthome_button")
    assert button.bind_key is not None and len(bytes.fromhex(button.bind_key)) == 16
    assert [e.event for e in scenario.timeline] == ["bradycardia", "sos"]
