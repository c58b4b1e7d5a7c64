"""The network between a streaming gateway and its broker is cut for most of a minute,
silently, as when a home router hangs: no connection is closed, the gateway notices only
by its MQTT keepalive. Restored, every observation the simulated devices sent is in the
store exactly once. The cloud's ingest worker reaches the broker directly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from anxin.config import MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.simulation import gateway_radio, simulated_home
from anxin.firmware_sim import PersonProfile
from tests.support.cloud import seeded_stores, stored_seqs
from tests.support.mosquitto import OwnMosquitto
from tests.support.sent_and_stored import (
    ALL_KINDS,
    WITH_ADVERTISER,
    assert_stored_exactly_once,
    drained,
    go_quiet,
    plain_ingest,
    record_air,
    sent_readings,
    settled_stored,
    streaming_home_config,
)
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
CUT_S = 30.0
KEEPALIVE_S = 5


async def test_a_silent_network_cut_under_load_loses_and_repeats_nothing(
    postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    broker = OwnMosquitto(tmp_path / "broker")
    broker.start()
    try:
        async with TcpProxy(("127.0.0.1", broker.port)) as proxy:
            through_proxy = MqttConfig(port=proxy.port, keepalive_s=KEEPALIVE_S, reconnect_max_s=2)
            config = streaming_home_config(
                topic_root, tmp_path / "queue.sqlite", through_proxy, WITH_ADVERTISER
            )
            with seeded_stores(postgres_url, homes=1) as stores:
                direct = MqttConfig(port=broker.port)
                async with plain_ingest(stores, direct, topic_root, "cut"):
                    home = simulated_home(config.devices, PersonProfile(), home_number=1)
                    record_air(home)
                    await home.start()
                    gateway = Gateway(config, gateway_radio(home, "F0:A1:00:00:00:01"))
                    try:
                        await gateway.start()
                        await eventually(
                            lambda: len(stored_seqs(stores)) >= 50, 60, what="50 stored"
                        )

                        proxy.blackhole()
                        await eventually(
                            lambda: not gateway.uplink.connected,
                            4 * KEEPALIVE_S,
                            what="the gateway noticing the cut by its keepalive",
                        )
                        stored_at_notice = len(stored_seqs(stores))
                        await asyncio.sleep(CUT_S)
                        # Readings went on and waited on disk; nothing got through.
                        assert gateway.queue.depth() > 4 * CUT_S
                        assert len(stored_seqs(stores)) == stored_at_notice

                        proxy.restore()
                        await eventually(
                            lambda: gateway.uplink.connected, 30, what="the gateway back"
                        )
                        await asyncio.sleep(5)  # streaming on after the cut
                        await go_quiet(home)
                        await drained(gateway)
                        sent = sent_readings(home)
                    finally:
                        await gateway.stop()
                        await home.stop()
                    stored = await settled_stored(stores, config.gateway.gateway_id, sent)
    finally:
        broker.stop()
    assert_stored_exactly_once(sent, stored, ALL_KINDS)
