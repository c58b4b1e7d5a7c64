"""paho-mqtt clients set up the same way everywhere: version, TLS, credentials, reconnects.

``protocol = "auto"`` connects with MQTT 5 and falls back to 3.1.1 for the life of the
client when the broker refuses the version (a CONNACK "unsupported protocol version", or
two connections in a row closed before any CONNACK).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import weakref
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.config import MqttConfig

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # how long an MQTT 5 broker keeps a persistent session
UNSUPPORTED_PROTOCOL_VERSION = 0x84  # MQTT 5 reason code; paho maps 3.1.1's return code 1 to it
CLOSES_BEFORE_FALLBACK = 2  # one close could be a broker restarting mid-handshake
RECEIVE_MAXIMUM = 65535  # MQTT 5 default when the CONNACK does not announce one

# The broker's Receive Maximum, from the last CONNACK of each client.
_receive_maximum: weakref.WeakKeyDictionary[mqtt.Client, int] = weakref.WeakKeyDictionary()


def default_client_id(prefix: str) -> str:
    # Unique per client: two clients with one id would keep disconnecting each other.
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"[-64:]


def receive_maximum(client: mqtt.Client) -> int:
    """How many QoS 1/2 publishes the broker accepts unacknowledged (65,535 under 3.1.1)."""
    return _receive_maximum.get(client, RECEIVE_MAXIMUM)


def is_v5(client: mqtt.Client) -> bool:
    return bool(client.protocol == mqtt.MQTTv5)


def publish_expiring(
    client: mqtt.Client,
    topic: str,
    payload: bytes,
    *,
    expiry_s: int,
    qos: int = 1,
) -> mqtt.MQTTMessageInfo:
    """Publish with an MQTT 5 Message Expiry Interval: a broker holding it for an absent
    persistent session drops it after ``expiry_s``. Over 3.1.1 there is no expiry; the
    message is sent plainly and kept until delivered."""
    if expiry_s < 1:
        raise ValueError(f"expiry_s must be at least 1 second, not {expiry_s}")
    if not is_v5(client):
        return client.publish(topic, payload, qos=qos)
    properties = Properties(PacketTypes.PUBLISH)
    properties.MessageExpiryInterval = expiry_s
    return client.publish(topic, payload, qos=qos, properties=properties)


def connect_client(
    config: MqttConfig,
    client_id_prefix: str,
    *,
    persistent_session: bool = False,
    manual_ack: bool = False,
    on_connect: Callable[[mqtt.Client], None] | None = None,
    on_disconnect: Callable[[mqtt.Client], None] | None = None,
    will: tuple[str, bytes] | None = None,
    will_delay_s: int = 0,
    session_expiry_s: int = SESSION_EXPIRY_S,
    max_inflight: int = 200,
) -> mqtt.Client:
    """A client that connects in the background and reconnects with backoff by itself.

    With ``persistent_session`` the broker keeps the session (subscriptions and the QoS 1
    messages not yet acknowledged) while the client is away; the client id must then be
    stable, so ``client_id_prefix`` is used as the id itself. ``config.session_expiry_s``,
    when set, overrides ``session_expiry_s``. The retained ``will`` is published by an
    MQTT 5 broker only after the client has been away ``will_delay_s`` seconds.
    """
    if config.client_id:
        client_id = config.client_id
    elif persistent_session:
        client_id = client_id_prefix
    else:
        client_id = default_client_id(client_id_prefix)
    if config.session_expiry_s is not None:
        session_expiry_s = config.session_expiry_s
    kwargs: dict[str, Any] = {"client_id": client_id, "manual_ack": manual_ack}
    if config.protocol == "3.1.1":
        kwargs["protocol"] = mqtt.MQTTv311
        kwargs["clean_session"] = not persistent_session
    else:
        kwargs["protocol"] = mqtt.MQTTv5
    client = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=config.reconnect_min_s, max_delay=config.reconnect_max_s)
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls_ca_file:
        client.tls_set(
            ca_certs=str(config.tls_ca_file),
            certfile=str(config.tls_cert_file) if config.tls_cert_file else None,
            keyfile=str(config.tls_key_file) if config.tls_key_file else None,
        )
    if will is not None:
        will_properties = None
        if is_v5(client) and will_delay_s > 0:
            will_properties = Properties(PacketTypes.WILLMESSAGE)
            will_properties.WillDelayInterval = will_delay_s
        client.will_set(will[0], will[1], qos=1, retain=True, properties=will_properties)

    where = f"{config.host}:{config.port}"
    attempt = {"answered": False, "closes": 0, "last_failure": ""}

    def _fall_back(why: str) -> None:
        log.warning("MQTT broker %s %s; falling back to MQTT 3.1.1", where, why)
        _downgrade_to_311(client, clean_session=not persistent_session)

    def _connected(
        cl: mqtt.Client, _u: object, _f: object, reason: Any, properties: Any = None
    ) -> None:
        attempt["answered"] = True
        if getattr(reason, "is_failure", False):
            if (
                config.protocol == "auto"
                and is_v5(cl)
                and getattr(reason, "value", None) == UNSUPPORTED_PROTOCOL_VERSION
            ):
                _fall_back("does not speak MQTT 5")
                return
            log.warning("MQTT connection to %s refused: %s", where, reason)
            return
        attempt["closes"] = 0
        attempt["last_failure"] = ""
        _receive_maximum[cl] = int(getattr(properties, "ReceiveMaximum", RECEIVE_MAXIMUM))
        version = "5" if is_v5(cl) else "3.1.1"
        log.info("MQTT %s connected to %s as %s", version, where, client_id)
        if on_connect is not None:
            on_connect(cl)

    def _disconnected(
        cl: mqtt.Client, _u: object, _f: object, reason: Any, _p: object = None
    ) -> None:
        answered, attempt["answered"] = attempt["answered"], False
        if not answered and config.protocol == "auto" and is_v5(cl):
            attempt["closes"] += 1
            if attempt["closes"] >= CLOSES_BEFORE_FALLBACK:
                _fall_back("closed the connection on an MQTT 5 CONNECT")
        log.info("MQTT disconnected from %s: %s", where, reason)
        if on_disconnect is not None:
            on_disconnect(cl)

    def _connect_failed(_c: mqtt.Client, _u: object) -> None:
        # paho calls this inside its ``except OSError``: the exception says what failed
        # (refused, unreachable, a certificate the CA does not vouch for...).
        error = sys.exc_info()[1]
        text = f"{type(error).__name__}: {error}" if error else "unknown error"
        level = logging.DEBUG if text == attempt["last_failure"] else logging.WARNING
        attempt["last_failure"] = text
        log.log(level, "MQTT connection to %s failed: %s", where, text)

    client.on_connect = _connected
    client.on_disconnect = _disconnected
    client.on_connect_fail = _connect_failed
    connect_kwargs: dict[str, Any] = {"keepalive": config.keepalive_s}
    if is_v5(client):
        connect_kwargs["clean_start"] = not persistent_session
        if persistent_session:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = session_expiry_s
            connect_kwargs["properties"] = properties
    client.connect_async(config.host, config.port, **connect_kwargs)
    return client


def _downgrade_to_311(client: mqtt.Client, *, clean_session: bool) -> None:
    # paho fixes the protocol when the Client is built, and the callers already hold this
    # client; these are the attributes its constructor sets for 3.1.1 (tests/unit/
    # test_mqtt_protocol.py checks the next CONNECT against a broker that only speaks 3.1.1).
    client._protocol = mqtt.MQTTv311
    client._clean_session = clean_session
    client._connect_properties = None
    client._will_properties = None
    _receive_maximum.pop(client, None)
