"""Commands from the cloud, over a real Mosquitto, to a gateway reading a simulated home:
each is applied once and answered; a bad one is refused with its reason and the rest
keeps flowing; what a command changed survives a restart."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anxin.cloud.gateways.commands import new_command, publish_command, send_and_wait
from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.radio import BumbleRadio
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome
from anxin.mqtt import connect_client
from anxin.protocol import Command, CommandResult, topic
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
SITE, GATEWAY = "home-7", "gw-7"


def two_straps() -> VirtualHome:
    home = VirtualHome(clock=ScaledClock(speed=1), home_number=7)
    home.add_heart_rate_strap(SimulatedPerson(seed=1), device_id="strap-1")
    home.add_heart_rate_strap(SimulatedPerson(seed=2), device_id="strap-2")
    return home


def binding(home: VirtualHome, device_id: str) -> DeviceBindingConfig:
    device = next(d for d in home.devices if d.device_id == device_id)
    return DeviceBindingConfig(device_id=device_id, address=device.address, kind=device.kind)


def edge_config(home: VirtualHome, mosquitto: tuple[str, int], root: str, tmp: Path) -> EdgeConfig:
    return EdgeConfig(
        gateway=GatewayConfig(
            site_id=SITE, gateway_id=GATEWAY, topic_root=root, queue_path=tmp / "queue.sqlite"
        ),
        mqtt=MqttConfig(host=mosquitto[0], port=mosquitto[1]),
        devices=(binding(home, "strap-1"),),
    )


class Watcher:
    """A cloud-side subscriber: which devices' observations arrive, and the results."""

    def __init__(self, mqtt_config: MqttConfig, root: str) -> None:
        self.devices: dict[str, int] = {}
        self.results: list[CommandResult] = []
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self.client = connect_client(mqtt_config, "test-watcher", on_connect=self._subscribe)
        self.client.on_subscribe = lambda *_a: self.ready.set()
        self.client.on_message = self._message
        self.root = root

    def _subscribe(self, client: mqtt.Client) -> None:
        client.subscribe(
            [(topic(SITE, GATEWAY, c, self.root), 1) for c in ("observations", "command_results")]
        )

    def _message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        with self._lock:
            if message.topic.endswith("/command_results"):
                self.results.append(CommandResult.model_validate(body))
                return
            for observation in body["observations"]:
                device = observation["device_id"]
                self.devices[device] = self.devices.get(device, 0) + 1

    def count(self, device_id: str) -> int:
        with self._lock:
            return self.devices.get(device_id, 0)

    def results_for(self, command_id: str) -> list[CommandResult]:
        with self._lock:
            return [r for r in self.results if r.command_id == command_id]


@contextmanager
def watching(mqtt_config: MqttConfig, root: str) -> Iterator[Watcher]:
    watcher = Watcher(mqtt_config, root)
    watcher.client.loop_start()
    try:
        assert watcher.ready.wait(10), "watcher could not subscribe"
        yield watcher
    finally:
        watcher.client.disconnect()
        watcher.client.loop_stop()


async def command(config: EdgeConfig, action: str, **args: object) -> CommandResult:
    sent = new_command(action, args)
    return await asyncio.to_thread(
        send_and_wait, config.mqtt, config.gateway.topic_root, SITE, GATEWAY, sent, 30.0
    )


async def test_commands_change_a_running_gateway_once_and_refuse_with_reasons(
    mosquitto: tuple[str, int], topic_root: str, tmp_path: Path
) -> None:
    home = two_straps()
    await home.start()
    config = edge_config(home, mosquitto, topic_root, tmp_path)
    gateway = Gateway(config, BumbleRadio(home.link, "F0:A1:00:00:00:07"))
    raised: list[str] = []
    gateway.alert_listeners.append(lambda alert: raised.append(alert.kind))
    try:
        with watching(config.mqtt, topic_root) as cloud:
            await gateway.start()
            await eventually(lambda: gateway.uplink.connected, what="the uplink")
            await eventually(lambda: cloud.count("strap-1") > 5, 30, what="strap-1 readings")
            assert cloud.count("strap-2") == 0  # not bound, so not read

            # Binding a device: the gateway connects to it and its readings flow.
            result = await command(
                config, "bind_device", device=binding(home, "strap-2").model_dump()
            )
            assert (result.status, result.reason) == ("done", None)
            await eventually(lambda: cloud.count("strap-2") > 5, 30, what="strap-2 readings")
            assert set(gateway.radio.device_states()) == {"strap-1", "strap-2"}

            # A snooze holds back a kind; a threshold any heart crosses would page at once.
            snoozed = await command(config, "snooze", kind="heart_rate_high", minutes=30)
            assert snoozed.status == "done"
            rule = {"observation": "heart_rate", "kind": "heart_rate_high", "above": 20}
            lowered = await command(config, "set_thresholds", thresholds=[{**rule, "sustain_s": 0}])
            assert lowered.status == "done"
            await eventually(
                lambda: gateway.counters["detections_snoozed"] > 0, 20, what="a snoozed detection"
            )
            assert "heart_rate_high" not in raised
            ended = await command(config, "snooze", kind="heart_rate_high", minutes=0)
            assert ended.status == "done"
            await eventually(lambda: "heart_rate_high" in raised, 30, what="the alert after")

            # Refusals name what was wrong; nothing changes.
            refusals = {
                "snooze": ({"kind": "sos", "minutes": 30}, "'sos' is critical"),
                "bind_device": (
                    {"device": {**binding(home, "strap-2").model_dump(), "kind": "toaster"}},
                    "unknown device kind 'toaster'",
                ),
                "unbind_device": ({"device_id": "nobody"}, "not bound"),
                "set_thresholds": (
                    {
                        "thresholds": [
                            {"observation": "mood", "kind": "heart_rate_high", "above": 1}
                        ]
                    },
                    "unknown observation 'mood'",
                ),
            }
            for action, (args, reason) in refusals.items():
                refused = await command(config, action, **args)
                assert refused.status == "refused", action
                assert reason in (refused.reason or ""), (action, refused.reason)
            assert set(gateway.radio.device_states()) == {"strap-1", "strap-2"}

            # Unreadable or stale commands are answered too, and readings keep flowing.
            broken = connect_client(config.mqtt, "test-broken")
            broken.loop_start()
            try:
                await eventually(lambda: broken.is_connected(), what="the sender")
                not_json = topic(SITE, GATEWAY, "commands", topic_root)
                broken.publish(not_json, b"\xff not json", qos=1).wait_for_publish(5)
                unknown = {"command_id": "c-odd", "action": "reboot", "issued_at_ms": 1}
                broken.publish(not_json, json.dumps(unknown), qos=1).wait_for_publish(5)
                stale = Command(
                    command_id="c-stale", action="reload_config", issued_at_ms=1, expires_at_ms=2
                )
                publish_command(broken, topic_root, SITE, GATEWAY, stale).wait_for_publish(5)
                twice = new_command("unbind_device", {"device_id": "strap-2"})
                for _ in range(2):
                    publish_command(broken, topic_root, SITE, GATEWAY, twice).wait_for_publish(5)
            finally:
                broken.disconnect()
                broken.loop_stop()
            await eventually(lambda: cloud.results_for(""), 20, what="the unreadable answer")
            assert cloud.results_for("")[0].reason == "not a JSON command"
            odd = await eventually(lambda: cloud.results_for("c-odd"), 20, what="c-odd")
            assert odd[0].status == "refused" and "action" in (odd[0].reason or "")
            old = await eventually(lambda: cloud.results_for("c-stale"), 20, what="c-stale")
            assert old[0].status == "refused" and "expired at 1970" in (old[0].reason or "")

            # A command delivered twice is answered twice, the same way, and applied once.
            answers = await eventually(
                lambda: (
                    len(cloud.results_for(twice.command_id)) == 2
                    and cloud.results_for(twice.command_id)
                ),
                20,
                what="both answers",
            )
            assert answers[0] == answers[1] and answers[0].status == "done"
            assert gateway.commands.counters["repeated"] == 1
            assert set(gateway.radio.device_states()) == {"strap-1"}
            before = cloud.count("strap-1")
            await eventually(lambda: cloud.count("strap-1") > before + 5, 30, what="readings")
    finally:
        await gateway.stop()

    # A restart keeps what the cloud set: strap-2 unbound, the low threshold.
    restarted = Gateway(config, BumbleRadio(home.link, "F0:A1:00:00:00:07"))
    try:
        assert [d.device_id for d in restarted.config.devices] == ["strap-1"]
        assert [r.above for r in restarted.config.thresholds] == [20]
    finally:
        restarted.queue.close()
        await home.stop()


async def test_reload_rereads_the_file_and_says_what_needs_a_restart(
    mosquitto: tuple[str, int], topic_root: str, tmp_path: Path
) -> None:
    home = two_straps()
    await home.start()
    strap = binding(home, "strap-1")
    toml = tmp_path / "edge.toml"

    def write(max_alerts: int, keepalive: int, extra: str = "") -> None:
        toml.write_text(
            f'[gateway]\nsite_id = "{SITE}"\ngateway_id = "{GATEWAY}"\n'
            f'topic_root = "{topic_root}"\nqueue_path = "{tmp_path / "queue.sqlite"}"\n'
            f'[mqtt]\nhost = "{mosquitto[0]}"\nport = {mosquitto[1]}\nkeepalive_s = {keepalive}\n'
            f"[analytics]\nmax_alerts_per_hour = {max_alerts}\n{extra}"
            f'[[devices]]\ndevice_id = "strap-1"\naddress = "{strap.address}"\n'
            f'kind = "{strap.kind}"\n',
            encoding="utf-8",
        )

    write(max_alerts=10, keepalive=30)
    from anxin.config import load_config

    config = load_config(EdgeConfig, toml)
    gateway = Gateway(config, BumbleRadio(home.link, "F0:A1:00:00:00:07"), config_file=toml)
    try:
        await gateway.start()
        await eventually(lambda: gateway.uplink.connected, what="the uplink")

        write(max_alerts=3, keepalive=30)
        applied = await command(config, "reload_config")
        assert (applied.status, applied.restart_needed_for) == ("done", [])
        assert gateway.policy.max_per_hour == 3

        # The operator's command line: the result as JSON, exit 0 done, 4 refused.
        for args, code in (('{"minutes": 5}', 0), ('{"minutes": 5, "kind": "sos"}', 4)):
            sent = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "anxin.cli", "--log-level", "WARNING", "admin",
                "command", "--site", SITE, "--gateway", GATEWAY, "snooze", "--args", args,
                stdout=asyncio.subprocess.PIPE,
                env=os.environ | {
                    "ANXIN_MQTT__HOST": mosquitto[0],
                    "ANXIN_MQTT__PORT": str(mosquitto[1]),
                    "ANXIN_INGEST__TOPIC_ROOT": topic_root,
                },
            )  # fmt: skip
            printed, _ = await sent.communicate()
            assert sent.returncode == code, printed
            answer = CommandResult.model_validate_json(printed)
            assert answer.action == "snooze" and answer.status == ("done", "refused")[bool(code)]

        write(max_alerts=3, keepalive=60)
        later = await command(config, "reload_config")
        assert (later.status, later.restart_needed_for) == ("done", ["mqtt"])

        write(max_alerts=3, keepalive=60, extra="loudness = 11\n")
        refused = await command(config, "reload_config")
        assert refused.status == "refused"
        assert "analytics.loudness" in (refused.reason or "")
        assert gateway.policy.max_per_hour == 3  # the running settings stay
    finally:
        await gateway.stop()
        await home.stop()
