"""The whole platform in one process: broker, cloud, console, and simulated homes with gateways."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from iotcore import Broker

from anxin.cloud.ingest import IngestWorker
from anxin.cloud.service import bound_port, start_api, start_ingest
from anxin.cloud.stores import Stores, open_stores
from anxin.config import (
    ApiConfig,
    CloudConfig,
    DashboardConfig,
    DatabaseConfig,
    DemoConfig,
    DeviceBindingConfig,
    EdgeConfig,
    GatewayConfig,
    MqttConfig,
    TimeSeriesConfig,
)
from anxin.dashboard.server import DashboardServer
from anxin.demo.homes import LOGINS, DemoHome, demo_homes, seed_registry
from anxin.edge.gateway import Gateway
from anxin.edge.simulation import (
    bradycardia,
    desaturation,
    gateway_radio,
    simulated_home,
    tachycardia,
)
from anxin.firmware_sim import PersonProfile, VirtualHome
from anxin.runtime import wait_for_stop_signal

log = logging.getLogger(__name__)

# When the scripted events happen, after the configured scenario start.
SECOND_EVENT_AFTER_S = 20.0
THIRD_EVENT_AFTER_S = 40.0
SOS_AFTER_S = 60.0


def pick_port(port: int) -> int:
    """``port``, or a free one when it is 0."""
    if port:
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoStack:
    config: DemoConfig
    homes: list[DemoHome] = field(init=False)
    broker: Broker | None = None
    stores: Stores | None = None
    ingest: IngestWorker | None = None
    api: web.AppRunner | None = None
    dashboard: DashboardServer | None = None
    virtual_homes: list[VirtualHome] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)
    api_url: str = ""
    console_url: str = ""
    _events: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.homes = demo_homes(self.config.homes)

    async def start(self) -> None:
        data = self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        _remove_previous_run(data)
        broker_port = pick_port(self.config.broker_port)
        self.broker = Broker(port=broker_port, listen="127.0.0.1")
        await asyncio.to_thread(self.broker.start)
        mqtt = MqttConfig(host="127.0.0.1", port=broker_port)

        cloud = CloudConfig(
            mqtt=mqtt,
            registry=DatabaseConfig(url=f"sqlite:///{data / 'registry.sqlite'}"),
            timeseries=TimeSeriesConfig(
                backend="sql", url=f"sqlite:///{data / 'timeseries.sqlite'}"
            ),
            api=ApiConfig(host="127.0.0.1", port=self.config.api_port),
        )
        self.stores = open_stores(cloud)
        seed_registry(self.stores.registry, self.homes)
        self.ingest = start_ingest(cloud, self.stores)
        self.api = await start_api(cloud, self.stores)
        self.api_url = f"http://127.0.0.1:{bound_port(self.api)}/api/v1"

        self.dashboard = DashboardServer(
            DashboardConfig(host="127.0.0.1", port=self.config.dashboard_port, api_url=self.api_url)
        )
        self.dashboard.start()
        self.console_url = self.dashboard.url

        for home in self.homes:
            await self._start_home(home, mqtt, data)

    async def _start_home(self, home: DemoHome, mqtt: MqttConfig, data: Path) -> None:
        devices = tuple(
            DeviceBindingConfig(
                device_id=d.device_id, address=d.address, kind=d.kind, bind_key=d.bind_key
            )
            for d in home.devices
        )
        profile = PersonProfile(
            name=home.person.name_latin,
            baseline_hr_bpm=home.person.resting_hr,
            baseline_spo2_pct=home.person.spo2,
        )
        start = self.config.scenario_start_s
        scenario = {
            "tachycardia": tachycardia(start),
            "desaturation": desaturation(start + SECOND_EVENT_AFTER_S),
            "bradycardia_then_sos": bradycardia(start + THIRD_EVENT_AFTER_S),
        }[home.event]
        virtual_home = simulated_home(devices, profile, home.number, scenario, seed=home.number)
        await virtual_home.start()
        self.virtual_homes.append(virtual_home)
        if home.event == "bradycardia_then_sos":
            self._events.append(
                asyncio.create_task(self._press_sos(virtual_home, start + SOS_AFTER_S))
            )
        edge = EdgeConfig(
            gateway=GatewayConfig(
                site_id=home.site_id,
                gateway_id=home.gateway_id,
                queue_path=data / f"edge-{home.gateway_id}.sqlite",
            ),
            mqtt=mqtt,
            devices=devices,
        )
        gateway = Gateway(edge, gateway_radio(virtual_home, home.gateway_address))
        await gateway.start()
        self.gateways.append(gateway)

    async def _press_sos(self, home: VirtualHome, after_s: float) -> None:
        await asyncio.sleep(after_s)
        button = next(d for d in home.devices if d.kind == "bthome_button")
        await button.press("long_press")  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for event in self._events:
            event.cancel()
        await asyncio.gather(*self._events, return_exceptions=True)
        for gateway in reversed(self.gateways):
            await gateway.stop()
        for virtual_home in reversed(self.virtual_homes):
            await virtual_home.stop()
        self.gateways.clear()
        self.virtual_homes.clear()
        if self.dashboard is not None:
            self.dashboard.stop()
        if self.api is not None:
            await self.api.cleanup()
        if self.ingest is not None:
            self.ingest.stop()
        if self.stores is not None:
            self.stores.close()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)

    def banner(self) -> str:
        logins = "\n".join(
            f"    {login.username:<8} {login.password:<14} {login.display_name}" for login in LOGINS
        )
        start = self.config.scenario_start_s
        happenings = {
            "tachycardia": f"heart rate rises above 120 /min about {start:.0f} s after start",
            "desaturation": f"SpO2 falls below 90 % about {start + SECOND_EVENT_AFTER_S:.0f} s after start",
            "bradycardia_then_sos": (
                f"heart rate falls below 40 /min about {start + THIRD_EVENT_AFTER_S:.0f} s after start, "
                f"then the SOS button is pressed at {start + SOS_AFTER_S:.0f} s"
            ),
        }
        events = "\n".join(
            f"    {home.person.name} ({home.person.name_latin}): {happenings[home.event]}"
            for home in self.homes[: len(happenings)]
        )
        return (
            "\n安心 Anxin demo is running\n"
            f"  Console (控制台):   {self.console_url}\n"
            f"  API base URL:      {self.api_url}\n"
            f"  MQTT broker:       127.0.0.1:{self.broker.port if self.broker else '?'}\n"
            f"  Homes:             {len(self.homes)} simulated, each with a heart-rate strap, "
            "a pulse oximeter, a motion sensor and an SOS button\n"
            f"  Scripted events (each alert follows within about 30 s):\n{events}\n"
            f"  Logins (username / password):\n{logins}\n"
            "Press Ctrl+C to stop.\n"
        )


def _remove_previous_run(data: Path) -> None:
    """The demo starts fresh each time; it removes only the files it creates itself."""
    for pattern in ("registry.sqlite*", "timeseries.sqlite*", "edge-*.sqlite*"):
        for path in data.glob(pattern):
            path.unlink()


async def run_demo(config: DemoConfig) -> None:
    stack = DemoStack(config)
    try:
        await stack.start()
        print(stack.banner(), flush=True)
        await wait_for_stop_signal()
        print("stopping…", flush=True)
    finally:
        await stack.stop()
    print("stopped.", flush=True)
