"""The whole platform in one process: broker, cloud, console, and simulated homes with gateways."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from iotcore import Broker

from anxin.cloud.audit import keys as audit_keys
from anxin.cloud.ingest.worker import IngestWorker
from anxin.cloud.registry.field_crypto import FieldCipher, new_key
from anxin.cloud.service import bound_port, start_api, start_ingest
from anxin.cloud.stores import Stores, open_stores
from anxin.config import (
    ApiConfig,
    AuditConfig,
    CloudConfig,
    DashboardConfig,
    DemoConfig,
    DeviceBindingConfig,
    EdgeConfig,
    GatewayConfig,
    IngestConfig,
    MqttConfig,
    RegistryConfig,
    TimeSeriesConfig,
)
from anxin.dashboard.server import DashboardServer
from anxin.demo.broker_watch import wait_until_broker_gone
from anxin.demo.homes import LOGINS, DemoHome, demo_homes, demo_scenario, seed_registry
from anxin.edge.gateway import Gateway
from anxin.edge.simulation import gateway_radio
from anxin.firmware_sim.runner import ScenarioRunner
from anxin.firmware_sim.scenario_file import ScenarioFile, clock_seconds
from anxin.runtime import cancel_and_wait, wait_for_stop_signal

log = logging.getLogger(__name__)

# The demo's one ingest worker subscribes plainly, not through `$share` groups: rumqttd 0.20
# (inside iotcore 0.4) panics in its router ("group must exists", Router::handle_disconnection)
# when the only member of a share group leaves a persistent session holding a message not
# yet acknowledged, and then serves no client at all; and a lone member coming back misses
# part of what was published while it was away. A plain subscription of a persistent
# session keeps every QoS 1 message across the worker's reconnects.
EMBEDDED_BROKER_INGEST = IngestConfig(shared_group="")


def pick_port(port: int) -> int:
    """``port``, or a free one when it is 0."""
    if port:
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_encryption_key(data: Path) -> str:
    """The key the demo's registry encrypts resident IDs and phones with: made on the first
    run and kept (readable by this user only) in the data folder."""
    path = data / "registry.key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(new_key() + "\n", encoding="ascii")
    path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def start_embedded_broker(port: int) -> Broker:
    """The demo's broker, listening on 127.0.0.1 (on a free port when ``port`` is 0)."""
    broker = Broker(port=pick_port(port), listen="127.0.0.1")
    broker.start()
    return broker


def demo_audit_key(data: Path) -> str:
    """The key the demo's audit chain is signed with: made on the first run and kept
    (readable by this user only) in the data folder, apart from the database."""
    path = data / "audit.key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(audit_keys.new_key() + "\n", encoding="ascii")
    path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def ephemeral_config(data_dir: Path, homes: int, scenario_start_s: float) -> DemoConfig:
    """The demo on free ports, so tests and benchmarks never collide with a running demo."""
    return DemoConfig(
        data_dir=data_dir,
        homes=homes,
        broker_port=0,
        api_port=0,
        dashboard_port=0,
        scenario_start_s=scenario_start_s,
    )


@dataclass
class DemoStack:
    config: DemoConfig
    homes: list[DemoHome] = field(init=False)
    broker: Broker | None = None
    stores: Stores | None = None
    ingest: IngestWorker | None = None
    api: web.AppRunner | None = None
    dashboard: DashboardServer | None = None
    runners: list[ScenarioRunner] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)
    api_url: str = ""
    console_url: str = ""

    def __post_init__(self) -> None:
        self.homes = demo_homes(self.config.homes)

    async def start(self) -> None:
        data = self.config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        _remove_previous_run(data)
        self.broker = await asyncio.to_thread(start_embedded_broker, self.config.broker_port)
        broker_port = self.broker.port
        # The embedded broker speaks MQTT 3.1.1 only; saying so spares every client the
        # MQTT 5 attempt that "auto" would make first.
        mqtt = MqttConfig(host="127.0.0.1", port=broker_port, protocol="3.1.1")

        cloud = CloudConfig(
            mqtt=mqtt,
            registry=RegistryConfig(
                url=f"sqlite:///{data / 'registry.sqlite'}",
                encryption_key=demo_encryption_key(data),
            ),
            timeseries=TimeSeriesConfig(
                backend="sql", url=f"sqlite:///{data / 'timeseries.sqlite'}"
            ),
            # The demo's logins are printed for anyone to use: no second factor is asked
            # (a deployment asks workers and admins for a TOTP code; see api.second_factor_roles).
            # The console, on this host, forwards the browser's address for login throttling.
            api=ApiConfig(
                host="127.0.0.1",
                port=self.config.api_port,
                second_factor_roles=(),
                trusted_proxies=("127.0.0.1",),
            ),
            ingest=EMBEDDED_BROKER_INGEST,
            audit=AuditConfig(
                key=demo_audit_key(data), checkpoint_file=data / "audit-checkpoints.jsonl"
            ),
        )
        self.stores = open_stores(cloud)
        seed_registry(
            self.stores.registry, self.homes, cipher=FieldCipher.from_settings(cloud.registry)
        )
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
        runner = ScenarioRunner(
            demo_scenario(home, self.config.scenario_start_s), home_number=home.number
        )
        await runner.start()
        self.runners.append(runner)
        edge = EdgeConfig(
            gateway=GatewayConfig(
                site_id=home.site_id,
                gateway_id=home.gateway_id,
                queue_path=data / f"edge-{home.gateway_id}.sqlite",
            ),
            mqtt=mqtt,
            devices=devices,
        )
        gateway = Gateway(edge, gateway_radio(runner.home, home.gateway_address))
        await gateway.start()
        self.gateways.append(gateway)

    async def stop(self) -> None:
        for gateway in reversed(self.gateways):
            await gateway.stop()
        for runner in reversed(self.runners):
            await runner.stop()
        self.gateways.clear()
        self.runners.clear()
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

    async def broker_gone(self) -> str:
        """Returns, saying why, once the embedded broker has stopped serving."""
        if self.broker is None:
            return "it was never started"
        return await wait_until_broker_gone(self.broker, "127.0.0.1")

    def banner(self) -> str:
        logins = "\n".join(
            f"    {login.username:<8} {login.password:<14} {login.display_name}" for login in LOGINS
        )
        events = "\n".join(
            f"    {home.person.name} ({home.person.name_latin}): {_timeline(runner.scenario)}"
            for home, runner in zip(self.homes, self.runners, strict=False)
        )
        return (
            "\n安心 Anxin demo is running\n"
            f"  Console (控制台):   {self.console_url}\n"
            f"  API base URL:      {self.api_url}\n"
            f"  MQTT broker:       127.0.0.1:{self.broker.port if self.broker else '?'}\n"
            f"  Homes:             {len(self.homes)} simulated, each with a heart-rate strap, "
            "a pulse oximeter, a waist accelerometer, a motion sensor and an SOS button\n"
            "  Scripted events (the gateways' detectors raise each alert within about 90 s; "
            f"a long lie two minutes after the fall):\n{events}\n"
            f"  Logins (username / password):\n{logins}\n"
            "  (demo only: no second factor is asked; a real deployment asks workers and "
            "admins for an authenticator code, 验证码)\n"
            "Press Ctrl+C to stop.\n"
        )


def _timeline(scenario: ScenarioFile) -> str:
    """What the scenario makes happen, in seconds after the demo starts."""
    start = clock_seconds(scenario.start)
    parts = []
    for event in scenario.timeline:
        at = getattr(event, "at", None)
        when = f" at {clock_seconds(at) - start:.0f} s" if at else ""
        parts.append(f"{event.event.replace('_', ' ')}{when}")
    return ", then ".join(parts)


def _remove_previous_run(data: Path) -> None:
    """The demo starts fresh each time; it removes only the files it creates itself."""
    for pattern in (
        "registry.sqlite*",
        "timeseries.sqlite*",
        "edge-*.sqlite*",
        "audit-checkpoints.jsonl",  # checkpoints of the registry's audit chain, gone with it
    ):
        for path in data.glob(pattern):
            path.unlink()


class EmbeddedBrokerGone(ConnectionError):
    """The demo's broker stopped serving: gateways and ingest are cut off, nothing more is
    stored, so the demo stops rather than run on empty."""


async def run_demo(config: DemoConfig) -> None:
    stack = DemoStack(config)
    try:
        await stack.start()
        print(stack.banner(), flush=True)
        stop = asyncio.create_task(wait_for_stop_signal())
        broker_gone = asyncio.create_task(stack.broker_gone())
        await asyncio.wait({stop, broker_gone}, return_when=asyncio.FIRST_COMPLETED)
        reason = broker_gone.result() if broker_gone.done() else None
        await cancel_and_wait(stop, broker_gone)
        if reason is not None:
            port = stack.broker.port if stack.broker else "?"
            raise EmbeddedBrokerGone(
                f"the embedded MQTT broker (rumqttd) on 127.0.0.1:{port} stopped serving: "
                f"{reason}; gateways and ingest are disconnected and nothing more is stored, "
                "so the demo stops"
            )
        print("stopping…", flush=True)
    finally:
        await stack.stop()
    print("stopped.", flush=True)
