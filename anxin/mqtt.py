"""paho-mqtt clients set up the same way everywhere: version, TLS, credentials, reconnects."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.config import MqttConfig

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # how long an MQTT 5 broker keeps a persistent session


def default_client_id(prefix: str) -> str:
    # Unique per client: two clients with one id would keep disconnecting each other.
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"[-64:]


def connect_client(
    config: MqttConfig,
    client_id_prefix: str,
    *,
    persistent_session: bool = False,
    manual_ack: bool = False,
    on_connect: Callable[[mqtt.Client], None] | None = None,
    on_disconnect: Callable[[mqtt.Client], None] | None = None,
    will: tuple[str, bytes] | None = None,
    max_inflight: int = 200,
) -> mqtt.Client:
    """A client that connects in the background and reconnects with backoff by itself.

    With ``persistent_session`` the broker keeps the session (subscriptions and the QoS 1
    messages not yet acknowledged) while the client is away; the client id must then be
    stable, so ``client_id_prefix`` is used as the id itself.
    """
    if config.client_id:
        client_id = config.client_id
    elif persistent_session:
        client_id = client_id_prefix
    else:
        client_id = default_client_id(client_id_prefix)
    v5 = config.protocol == "5"
    kwargs: dict[str, Any] = {"client_id": client_id, "manual_ack": manual_ack}
    if v5:
        kwargs["protocol"] = mqtt.MQTTv5
    else:
        kwargs["protocol"] = mqtt.MQTTv311
        kwargs["clean_session"] = not persistent_session
    client = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls_ca_file:
        client.tls_set(ca_certs=str(config.tls_ca_file))
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)

    def _connected(cl: mqtt.Client, _u: object, _f: object, reason: Any, _p: object = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT connection to %s:%s refused: %s", config.host, config.port, reason)
            return
        log.info("MQTT connected to %s:%s as %s", config.host, config.port, client_id)
        if on_connect is not None:
            on_connect(cl)

    def _disconnected(
        cl: mqtt.Client, _u: object, _f: object, reason: Any, _p: object = None
    ) -> None:
        log.info("MQTT disconnected from %s:%s: %s", config.host, config.port, reason)
        if on_disconnect is not None:
            on_disconnect(cl)

    client.on_connect = _connected
    client.on_disconnect = _disconnected
    connect_kwargs: dict[str, Any] = {"keepalive": config.keepalive_s}
    if v5:
        connect_kwargs["clean_start"] = not persistent_session
        if persistent_session:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
            connect_kwargs["properties"] = properties
    client.connect_async(config.host, config.port, **connect_kwargs)
    return client
