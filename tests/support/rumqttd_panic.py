"""Makes rumqttd 0.20 (the broker inside the ``iotcore`` wheel) panic in its router, the way
the demo's broker once did: the lone member of a ``$share`` group, in a persistent session,
leaves holding a QoS 1 message it has not acknowledged. Router::handle_disconnection drops
the emptied group, then looks it up to rewind its cursor: "group must exists". The process
stays up, but no MQTT client is answered again."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt

from anxin.config import MqttConfig
from anxin.mqtt import connect_client

WAIT_S = 10


def make_rumqttd_panic(host: str, port: int) -> None:
    subscribed, got = threading.Event(), threading.Event()
    lone = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id="lone-share-member",
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=True,  # and never acknowledges
    )
    lone.on_subscribe = lambda *_a: subscribed.set()
    lone.on_message = lambda *_a: got.set()
    lone.connect(host, port)
    lone.loop_start()
    publisher = connect_client(MqttConfig(host=host, port=port, protocol="3.1.1"), "publisher")
    publisher.loop_start()
    try:
        lone.subscribe("$share/lone/panic/+", qos=1)
        if not subscribed.wait(WAIT_S):
            raise AssertionError("the broker did not grant the shared subscription")
        # Published until it arrives: the publisher may still be connecting.
        for _ in range(WAIT_S * 2):
            publisher.publish("panic/1", b"never acknowledged", qos=1)
            if got.wait(0.5):
                break
        else:
            raise AssertionError("the lone share member never got the message")
        lone.disconnect()
    finally:
        lone.loop_stop()
        publisher.disconnect()
        publisher.loop_stop()
