"""Scenario timelines driving the accelerometer and the BTHome home sensors, received
over the real bumble virtual radio: a fall and an SOS press, a late rising, night
wandering. Each plays only the minutes around its events, at high speed."""

import asyncio
import math
import tomllib
from pathlib import Path
from typing import Any

from anxin.devices import BTHOME_UUID, decode, decode_bthome
from anxin.devices.accelerometer import ACCELERATION_SAMPLES
from anxin.edge.radio import Advertisement, BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim.runner import ScenarioRunner
from anxin.firmware_sim.scenario_file import example_scenarios, parse_scenario

SPEED = 120.0


def shipped(name: str) -> dict[str, Any]:
    path = next(p for p in example_scenarios() if p.name == name)
    return tomllib.loads(Path(path).read_text())


class Recording:
    """Plays ``data`` to its end, keeping (simulated time, decoded) per device."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.runner = ScenarioRunner(parse_scenario(data), speed=SPEED)
        self.frames: list[tuple[float, Any]] = []
        self.bthome: dict[str, list[tuple[float, dict[str, Any]]]] = {}

    def _notification(self, n: Notification) -> None:
        if n.characteristic == ACCELERATION_SAMPLES:
            self.frames.append((self.runner.clock.now(), decode(n.characteristic, n.payload)))

    def _advertisement(self, a: Advertisement) -> None:
        data = a.service_data.get(BTHOME_UUID)
        if data is not None:
            values = decode_bthome(data).as_dict()
            self.bthome.setdefault(a.device_id, []).append((self.runner.clock.now(), values))

    async def play(self) -> "Recording":
        runner = self.runner
        radio = BumbleRadio(runner.home.link, "F0:A1:00:00:00:01")
        bound = [BoundDevice(i, d.address, d.kind) for i, d in runner.devices.items()]
        await runner.start()
        try:
            await radio.start(bound, self._notification, self._advertisement)
            await asyncio.wait_for(runner.wait_until_done(), 50)
        finally:
            await radio.stop()
            await runner.stop()
        return self

    def values(self, device_id: str, key: str) -> list[tuple[float, Any]]:
        return [(t, v[key]) for t, v in self.bthome.get(device_id, []) if v.get(key) is not None]


def peak_g(frame: Any) -> float:
    return max(math.sqrt(x * x + y * y + z * z) for x, y, z in frame.samples_g)


async def test_fall_shows_an_impact_then_stillness_and_the_sos_press_arrives():
    data = shipped("fall_morning.toml")
    # the minutes around the fall (10:42) and the SOS press (10:44); only the wearable
    # and the home sensors, so the accelerometer connects at once
    data |= {"start": "10:39", "duration": "00:07"}
    data["devices"] = [d for d in data["devices"] if d["kind"].startswith(("acc", "bthome"))]
    data["timeline"] = [e for e in data["timeline"] if e["event"] in ("fall", "sos")]
    rec = await Recording(data).play()
    fall_t = 180.0  # 10:42 from 10:39

    assert rec.frames, "no accelerometer frames"
    before = [f for t, f in rec.frames if t < fall_t - 5]
    assert before and max(peak_g(f) for f in before) < 2.5
    impacts = [t for t, f in rec.frames if peak_g(f) > 2.5]
    assert impacts, "no impact above 2.5 g"
    assert fall_t <= impacts[0] <= fall_t + 20, impacts
    # lying on the floor (30 min): about 1 g and still, a minute after the fall
    lying = [f for t, f in rec.frames if fall_t + 30 < t < fall_t + 150]
    assert lying and all(0.9 < peak_g(f) < 1.15 for f in lying)

    presses = [(t, b) for t, b in rec.values("sos", "button")]
    assert presses and {b for _, b in presses} == {"long_press"}
    assert 300.0 <= presses[0][0] <= 330.0  # 10:44
    assert rec.runner.life_driver.log == [(rec.runner.life_driver.log[0][0], "sos long_press")]


async def test_no_rising_keeps_the_bed_occupied_past_the_usual_rise():
    data = {
        "name": "late rising",
        "start": "06:55",
        "duration": "00:20",
        "seed": 5,
        "person": {"name": "P", "age": 88, "sex": "female", "wake": "07:00"},
        "devices": [{"kind": "bthome_bed", "id": "bed"}, {"kind": "bthome_motion", "id": "m"}],
        "timeline": [{"event": "no_rising", "until": "07:10"}],
    }
    rec = await Recording(data).play()
    bed = rec.values("bed", "occupancy")
    # in bed before and past 07:00 (t = 300 s), up after 07:10 (t = 900 s)
    assert all(occupied for t, occupied in bed if t < 890), bed
    assert any(occupied for t, occupied in bed if 360 < t < 890)
    assert any(not occupied for t, occupied in bed if t > 910), bed[-5:]
    assert not any(moving for t, moving in rec.values("m", "motion") if t < 890)


async def test_night_wandering_opens_the_door_and_fires_motion_at_night():
    data = shipped("night_wandering.toml")
    data |= {"start": "02:05", "duration": "00:15"}
    data["timeline"] = [{"event": "wandering", "at": "02:08", "until": "02:15"}]
    rec = await Recording(data).play()
    start, end = 180.0, 600.0
    door = rec.values("front-door", "opening")
    assert not any(o for t, o in door if t < start), door[:5]
    opened = [t for t, o in door if o]
    assert opened and all(start <= t <= end + 20 for t in opened), opened
    assert any(not o for t, o in door if t > opened[0])  # and closed again
    motion = [t for t, m in rec.values("hall-motion", "motion") if m]
    assert motion and all(start <= t <= end + 20 for t in motion)
    bed = rec.values("bed", "occupancy")
    assert any(o for t, o in bed if t < start) and any(not o for t, o in bed if start < t < end)
