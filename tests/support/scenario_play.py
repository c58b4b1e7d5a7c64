"""Play a scenario file through the real gateway on simulated time, collecting its alerts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anxin.config import AnalyticsConfig, DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.radio import BumbleRadio
from anxin.firmware_sim.runner import ScenarioRunner
from anxin.firmware_sim.scenario_file import ScenarioFile, parse_scenario
from anxin.protocol import AlertMessage


@dataclass
class Played:
    runner: ScenarioRunner
    gateway: Gateway
    alerts: list[AlertMessage] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [a.kind for a in self.alerts]

    def clock_of(self, alert: AlertMessage) -> str:
        """Scenario time of day at which the gateway raised ``alert``."""
        seconds = alert.raised_at_ms / 1000 - self.runner.midnight_epoch_s
        return f"{int(seconds) // 3600 % 24:02d}:{int(seconds) // 60 % 60:02d}"


def scenario(text: str) -> ScenarioFile:
    return parse_scenario(tomllib.loads(text), "test scenario")


def bindings(runner: ScenarioRunner) -> tuple[DeviceBindingConfig, ...]:
    found = []
    for device_id, device in runner.devices.items():
        key: Any = getattr(device, "bind_key", None)
        found.append(
            DeviceBindingConfig(
                device_id=device_id,
                address=device.address,
                kind=device.kind,
                bind_key=key.hex() if key else None,
            )
        )
    return tuple(found)


async def play(
    scenario_file: ScenarioFile,
    broker: tuple[str, int],
    topic_root: str,
    queue_dir: Path,
    analytics: AnalyticsConfig | None = None,
) -> Played:
    """Runs the whole scenario with a gateway whose clock is the scenario's simulated time."""
    runner = ScenarioRunner(scenario_file)
    person = scenario_file.person
    config = EdgeConfig(
        gateway=GatewayConfig(
            site_id="home-1",
            gateway_id="gw-1",
            topic_root=topic_root,
            queue_path=queue_dir / "queue.sqlite",
        ),
        mqtt=MqttConfig(host=broker[0], port=broker[1]),
        analytics=analytics
        or AnalyticsConfig(usual_rising=person.wake, usual_bedtime=person.bedtime),
        devices=bindings(runner),
    )
    radio = BumbleRadio(runner.home.link, now_ms=lambda: int(runner.epoch_s() * 1000))
    gateway = Gateway(config, radio, clock=runner.epoch_s)
    played = Played(runner, gateway)
    gateway.alert_listeners.append(played.alerts.append)
    await runner.start()
    try:
        await gateway.start()
        try:
            await runner.wait_until_done()
        finally:
            await gateway.stop()
    finally:
        await runner.stop()
    return played
