"""Sending a command to a gateway and waiting for its answer.

A command carries its own expiry time: an MQTT 5 broker drops it unsent once the message
expiry interval has passed, and a gateway refuses one that reaches it late all the same
(an MQTT 3.1.1 broker keeps it in the gateway's session until the gateway returns).
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from anxin.config import MqttConfig
from anxin.mqtt import connect_client, publish_expiring
from anxin.protocol import Command, CommandResult, encode, topic

DEFAULT_EXPIRY_S = 3600


def new_command(
    action: str, args: dict[str, Any] | None = None, expires_in_s: float = DEFAULT_EXPIRY_S
) -> Command:
    now_ms = int(time.time() * 1000)
    return Command(
        command_id=f"cmd-{now_ms}-{secrets.token_hex(4)}",
        action=action,  # type: ignore[arg-type]
        args=args or {},
        issued_at_ms=now_ms,
        expires_at_ms=now_ms + int(expires_in_s * 1000),
    )


def publish_command(
    client: mqtt.Client, topic_root: str, site_id: str, gateway_id: str, command: Command
) -> mqtt.MQTTMessageInfo:
    name = topic(site_id, gateway_id, "commands", topic_root)
    if command.expires_at_ms is None:
        return client.publish(name, encode(command), qos=1)
    remaining_ms = command.expires_at_ms - int(time.time() * 1000)
    return publish_expiring(client, name, encode(command), expiry_s=max(1, remaining_ms // 1000))


class NoAnswer(TimeoutError):
    """The gateway did not answer in time (offline, say); the command may still apply later."""


def send_and_wait(
    mqtt_config: MqttConfig,
    topic_root: str,
    site_id: str,
    gateway_id: str,
    command: Command,
    timeout_s: float = 30.0,
) -> CommandResult:
    """Publish ``command`` and return the gateway's result for it."""
    subscribed = threading.Event()
    answered = threading.Event()
    answer: list[CommandResult] = []

    def on_connect(client: mqtt.Client) -> None:
        client.subscribe(topic(site_id, gateway_id, "command_results", topic_root), qos=1)

    def on_subscribe(*_args: object) -> None:
        subscribed.set()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            result = CommandResult.model_validate_json(message.payload)
        except ValidationError:
            return
        if result.command_id == command.command_id:
            answer.append(result)
            answered.set()

    client = connect_client(mqtt_config, "anxin-command", on_connect=on_connect)
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout_s
        if not subscribed.wait(timeout_s):
            raise NoAnswer(f"broker {mqtt_config.host}:{mqtt_config.port} not reachable")
        publish_command(client, topic_root, site_id, gateway_id, command).wait_for_publish(
            max(0.1, deadline - time.monotonic())
        )
        if not answered.wait(max(0.0, deadline - time.monotonic())):
            raise NoAnswer(
                f"gateway {gateway_id} did not answer command {command.command_id} "
                f"within {timeout_s:g} s"
            )
        return answer[0]
    finally:
        client.disconnect()
        client.loop_stop()
