"""The uplink's send window and paho's message ids, which run 1..65535 and start again.

A fake client stands in for paho so the ids can be steered to the wrap-around; the queue
is the real SQLite one. Every acknowledgement must delete exactly the rows it covers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anxin.config import GatewayConfig, MqttConfig
from anxin.edge.queue import DiskQueue
from anxin.edge.uplink import MID_MARGIN, MID_SPACE, Uplink

ROWS = 2000


@dataclass
class Info:
    mid: int
    rc: mqtt.MQTTErrorCode = mqtt.MQTT_ERR_SUCCESS


@dataclass(eq=False)  # hashable by identity, like a paho Client
class FakePaho:
    last_mid: int
    published: list[tuple[int, bytes]] = field(default_factory=list)

    def skip(self, count: int) -> None:
        """Ids taken by other publishes (state, command results), all acknowledged."""
        self.last_mid = (self.last_mid + count - 1) % MID_SPACE + 1

    def publish(self, _topic: str, payload: bytes, qos: int = 0) -> Info:
        self.skip(1)
        self.published.append((self.last_mid, payload))
        return Info(self.last_mid)


@pytest.fixture
def uplink(tmp_path: Path) -> Iterator[Uplink]:
    gateway = GatewayConfig(
        site_id="home-1",
        gateway_id="gw-1",
        queue_path=tmp_path / "q.sqlite",
        batch_size=1,
        max_in_flight=65535,
    )
    queue = DiskQueue(gateway.queue_path)
    queue.put("observations", ROWS, lambda seqs: [f'{{"seq":{s}}}' for s in seqs])
    uplink = Uplink(MqttConfig(), gateway, queue, dict)
    uplink._connected.set()
    yield uplink
    queue.close()


def seqs_in(payload: bytes) -> list[int]:
    return [int(part.split(b"}")[0]) for part in payload.split(b'"seq":')[1:]]


def test_acknowledgements_across_the_wrap_delete_exactly_their_rows(uplink: Uplink) -> None:
    fake = FakePaho(last_mid=MID_SPACE - 50)
    uplink._client = fake  # type: ignore[assignment]
    uplink._send_available()
    mids = [mid for mid, _ in fake.published]
    assert len(mids) == ROWS and len(set(mids)) == ROWS
    assert MID_SPACE in mids and 1 in mids  # the ids did wrap
    acked: set[int] = set()
    for mid, payload in random.Random(7).sample(fake.published, 1200):
        uplink._on_acknowledged(mid)
        acked.update(seqs_in(payload))
    left = {m.seq for m in uplink.queue.peek(ROWS)}
    assert left == set(range(ROWS)) - acked


def test_no_id_is_handed_out_again_while_its_batch_is_in_flight(uplink: Uplink) -> None:
    fake = FakePaho(last_mid=100)
    uplink._client = fake  # type: ignore[assignment]
    uplink.gateway = uplink.gateway.model_copy(update={"max_in_flight": 1})
    uplink._send_available()
    stuck_mid, stuck_payload = fake.published[0]  # never acknowledged, as after a cut
    uplink.gateway = uplink.gateway.model_copy(update={"max_in_flight": 65535})
    # A long time of other traffic meanwhile: sending every row now would wrap the ids
    # round to the stuck one.
    fake.skip(64_000)
    uplink._send_available()
    mids = [mid for mid, _ in fake.published]
    assert mids.count(stuck_mid) == 1, "the stuck batch's id was reused"
    in_flight_span = (fake.last_mid - stuck_mid) % MID_SPACE + 1
    assert MID_SPACE - in_flight_span >= MID_MARGIN, "ids kept free for other traffic"
    assert uplink.in_flight == len(mids) < ROWS, "sending must pause short of the wrap"
    # Its acknowledgement frees the ids and deletes just its rows; sending carries on.
    uplink._on_acknowledged(stuck_mid)
    assert seqs_in(stuck_payload)[0] not in {m.seq for m in uplink.queue.peek(ROWS)}
    uplink._send_available()
    assert len(fake.published) > len(mids)


def test_a_reused_id_sends_the_older_rows_again_instead_of_losing_them(uplink: Uplink) -> None:
    class Repeating(FakePaho):
        def publish(self, _topic: str, payload: bytes, qos: int = 0) -> Info:
            self.published.append((7, payload))
            return Info(7)

    uplink.gateway = uplink.gateway.model_copy(update={"max_in_flight": 2})
    fake = Repeating(last_mid=6)
    uplink._client = fake  # type: ignore[assignment]
    uplink._send_available()
    assert uplink.in_flight == 1  # the second publish took id 7 over; its rows went back
    uplink._on_acknowledged(7)
    assert [m.seq for m in uplink.queue.peek(2)] == [0, 2], "only row 1 was acknowledged"
