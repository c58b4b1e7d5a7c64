"""``anxin sim``: one scenario on its own virtual home, received by the real gateway
(publishing to the configured broker) or printed as decoded readings."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.devices import BTHOME_UUID, FrameError, decode, decode_bthome
from anxin.edge.radio import Advertisement, BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim.runner import ScenarioRunner
from anxin.firmware_sim.scenario_file import load_scenario

GATEWAY_ADDRESS = "F0:A1:00:00:00:01"
Printer = Callable[[str], None]


def default_edge_config(host: str, port: int, queue_path: Path, name: str) -> EdgeConfig:
    return EdgeConfig(
        gateway=GatewayConfig(site_id="sim", gateway_id=f"sim-{name}", queue_path=queue_path),
        mqtt=MqttConfig(host=host, port=port),
    )


def _brief(values: dict[str, Any]) -> str:
    shown = []
    for key, value in values.items():
        if value is None or value == [] or key == "packet_id":
            continue
        if key == "rr_intervals":
            value = "/".join(f"{rr:.3f}" for rr in value)
        shown.append(f"{key}={value}")
    return " ".join(shown)


class ReadingPrinter:
    """Radio callbacks that print each decoded reading with the scenario's clock time."""

    def __init__(self, runner: ScenarioRunner, out: Printer) -> None:
        self.runner = runner
        self.out = out

    def notification(self, n: Notification) -> None:
        try:
            text = _brief(decode(n.characteristic, n.payload).as_dict())
        except FrameError as exc:
            text = f"undecodable: {exc}"
        self.out(f"{self.runner.clock_text()} {n.device_id:<18} {text}")

    def advertisement(self, a: Advertisement) -> None:
        data = a.service_data.get(BTHOME_UUID)
        if data is None:
            return
        try:
            text = _brief(decode_bthome(data).as_dict())
        except FrameError as exc:
            text = f"undecodable: {exc}"
        self.out(f"{self.runner.clock_text()} {a.device_id:<18} {text}")


async def run_scenario(
    path: Path,
    *,
    speed: float | None = None,
    seed: int | None = None,
    edge: EdgeConfig | None = None,
    print_readings: bool = False,
    out: Printer = print,
) -> ScenarioRunner:
    runner = ScenarioRunner(load_scenario(path), speed=speed, seed=seed)
    scenario = runner.scenario
    out(
        f"scenario '{scenario.name}': {scenario.person.name}, {scenario.person.age}, "
        f"from {scenario.start} for {scenario.duration} at {runner.speed:g}x, seed {runner.seed}"
    )
    for note in runner.notes:
        out(f"note: {note}")
    bindings = [
        DeviceBindingConfig(device_id=device_id, address=d.address, kind=d.kind)
        for device_id, d in runner.devices.items()
    ]
    radio = BumbleRadio(runner.home.link, GATEWAY_ADDRESS)
    gateway = None
    await runner.start(on_marker=out)
    try:
        if edge is not None:
            from anxin.edge.gateway import Gateway

            gateway = Gateway(edge.model_copy(update={"devices": tuple(bindings)}), radio)
            await gateway.start()
            out(
                f"gateway {edge.gateway.gateway_id} publishing to {edge.mqtt.host}:{edge.mqtt.port}"
            )
        else:
            printer = ReadingPrinter(runner, out if print_readings else lambda _line: None)
            bound = [BoundDevice(b.device_id, b.address, b.kind) for b in bindings]
            await radio.start(bound, printer.notification, printer.advertisement)
        await runner.wait_until_done()
    finally:
        if gateway is not None:
            await gateway.stop()
            out(f"gateway counters: {dict(gateway.counters)}")
        else:
            await radio.stop()
        await runner.stop()
    out("scenario finished")
    return runner


async def run_scenario_cli(
    path: Path,
    speed: float | None,
    seed: int | None,
    config: EdgeConfig | None,
    mqtt_host: str | None,
    mqtt_port: int,
    print_readings: bool,
) -> None:
    def out(line: str) -> None:
        print(line, flush=True)

    if config is None and mqtt_host is not None:
        with tempfile.TemporaryDirectory(prefix="anxin-sim-") as data:
            edge = default_edge_config(mqtt_host, mqtt_port, Path(data) / "queue.sqlite", path.stem)
            await run_scenario(path, speed=speed, seed=seed, edge=edge, out=out)
        return
    if config is None and not print_readings:
        print("no broker configured: printing decoded readings (--print)", file=sys.stderr)
        print_readings = True
    await run_scenario(
        path, speed=speed, seed=seed, edge=config, print_readings=print_readings, out=out
    )
