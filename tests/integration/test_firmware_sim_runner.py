"""``anxin sim`` end to end on the virtual radio, printing decoded readings."""

from pathlib import Path

from anxin.cli import main
from anxin.sim import run_scenario

SCENARIO = """
name = "short"
start = "02:00"
duration = "00:10"
speed = 300
seed = 1

[person]
name = "P"
age = 84
sex = "female"
conditions = ["af"]

[[devices]]
kind = "heart_rate_strap"
id = "strap"

[[devices]]
kind = "pulse_oximeter"
id = "oximeter"

[[devices]]
kind = "thermometer_of_the_future"

[[timeline]]
event = "af"
at = "02:01"
until = "02:09"

[[timeline]]
event = "fault"
fault = "contact_lost"
device = "strap"
at = "02:05"
until = "02:07"
"""


async def test_scenario_plays_and_prints_readings(tmp_path: Path):
    path = tmp_path / "short.toml"
    path.write_text(SCENARIO)
    lines: list[str] = []
    runner = await run_scenario(path, print_readings=True, out=lines.append)
    text = "\n".join(lines)
    assert "kind 'thermometer_of_the_future' cannot be simulated yet" in text
    assert "[02:01:00] af begins" in text
    assert "[02:05:00] contact_lost on strap begins" in text
    assert any("strap" in line and "rr_intervals=" in line for line in lines)
    assert any("sensor_contact=not_detected" in line for line in lines)
    assert any("oximeter" in line and "spo2=" in line for line in lines)
    assert lines[-1] == "scenario finished"
    assert runner.clock.now() >= runner.duration_s


def test_cli_reports_a_bad_scenario_by_path(tmp_path: Path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SCENARIO.replace('at = "02:01"', 'at = "2:61"'))
    assert main(["sim", "--scenario", str(path)]) == 2
    assert "timeline[0].at" in capsys.readouterr().err
