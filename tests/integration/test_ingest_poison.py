"""Messages with extreme numbers never stall ingest: a running IngestWorker on the real
Mosquitto, the registry in PostgreSQL. Every such message ends as a dead letter with its
reason, and what comes after it is stored. /health says so when ingest stops keeping up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.stores import Stores
from anxin.config import CloudConfig, IngestConfig, MqttConfig
from anxin.protocol import (
    DEVICE_EARLIEST_MS,
    EARLIEST_MS,
    MAX_SEQ,
    UNITS,
    VALUE_RANGES,
)
from tests.conftest import free_port
from tests.support.cloud import now_ms, seeded_stores
from tests.support.poison import mqtt_publisher, normal_batch, poison_then_normal_traffic
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services]


def worker_config(topic_root: str, worker: str) -> IngestConfig:
    return IngestConfig(
        topic_root=topic_root, shared_group="", worker_id=f"{topic_root.split('/')[0]}-{worker}"
    )


def stop_and_forget(worker: IngestWorker, config: MqttConfig) -> None:
    """Stop the worker, then end its persistent session so the broker does not keep it."""
    worker.stop()
    cleaner = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=worker.client_id, clean_session=True
    )
    cleaner.connect(config.host, config.port)
    cleaner.disconnect()


@pytest.fixture
def stores(postgres_url: str) -> Iterator[Stores]:
    with seeded_stores(postgres_url) as stores:
        yield stores


async def test_poison_messages_are_dead_lettered_and_the_traffic_after_them_stored(
    mosquitto: tuple[str, int], stores: Stores, topic_root: str
) -> None:
    host, port = mosquitto
    config = MqttConfig(host=host, port=port)
    ingest = Ingest(stores.registry, stores.timeseries, topic_root)
    worker = IngestWorker(ingest, config, worker_config(topic_root, "poison"))
    worker.start()
    try:
        await eventually(lambda: worker.subscribed, what="the worker's subscription")
        with mqtt_publisher(host, port) as publish:
            poisons = await poison_then_normal_traffic(publish, stores, topic_root)
        assert ingest.counters["dead_letters_invalid"] == len(poisons)
        assert ingest.counters["stored"] == 20
    finally:
        stop_and_forget(worker, config)


# --- schema-valid extremes, generated ---

SENTINEL_SEQS = iter(range(2**62, 2**62 + 10_000))
# Any text a gateway may send: everything but NUL, which the schema refuses.
TEXT = st.characters(exclude_characters="\x00")
TYPES = sorted(UNITS)


@st.composite
def extreme_observation(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(TYPES))
    low, high = VALUE_RANGES[kind]
    now = now_ms()
    value = draw(
        st.one_of(
            st.sampled_from([low, high, -0.0 if low == 0 else low, 5e-324 if low == 0 else low]),
            st.floats(low, high, allow_nan=False, allow_infinity=False),
        )
    )
    reading: dict[str, object] = {
        "seq": draw(st.one_of(st.sampled_from([0, MAX_SEQ]), st.integers(0, 2**62 - 1))),
        "device_id": draw(st.sampled_from(["hr-1", "ox-1", "not-registered-9"])),
        "type": kind,
        "value": value,
        "unit": UNITS[kind],
        "ts_ms": draw(st.sampled_from([EARLIEST_MS, now, now + 23 * 3600 * 1000])),
    }
    if draw(st.booleans()):
        reading["device_ts_ms"] = draw(st.sampled_from([DEVICE_EARLIEST_MS, EARLIEST_MS, now]))
    return reading


@st.composite
def extreme_alert(draw: st.DrawFn) -> dict[str, object]:
    number = st.one_of(
        st.sampled_from([0, -1e15, 1e15, 5e-324, -0.0]),
        st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False),
    )
    alert: dict[str, object] = {
        "schema": 1,
        "site_id": "home-1",
        "gateway_id": "gw-1",
        "seq": draw(st.one_of(st.just(MAX_SEQ), st.integers(0, 2**62 - 1))),
        "device_id": "hr-1",
        "kind": draw(st.sampled_from(["heart_rate_high", "sos", "fall"])),
        "severity": draw(st.sampled_from(["low", "medium", "high", "critical"])),
        "raised_at_ms": draw(st.sampled_from([EARLIEST_MS, now_ms()])),
        "message": draw(st.text(TEXT, max_size=500)),
        "value": draw(number),
        "threshold": draw(number),
        "evidence": draw(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
                st.one_of(
                    number,
                    st.booleans(),
                    st.integers(-(10**15), 10**15),
                    st.text(TEXT, max_size=200),
                ),
                max_size=40,
            )
        ),
    }
    return alert


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    messages=st.lists(
        st.one_of(
            st.lists(extreme_observation(), min_size=1, max_size=20).map(
                lambda obs: ("observations", obs)
            ),
            extreme_alert().map(lambda alert: ("alerts", alert)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_schema_valid_extremes_never_stop_the_rest(
    running_ingest: tuple[Ingest, Stores, str, object], messages: list[tuple[str, object]]
) -> None:
    ingest, stores, topic_root, publish = running_ingest
    base = f"{topic_root}/home-1/gw-1"
    handled = ingest.counters["messages"]
    for channel, body in messages:
        if channel == "observations":
            body = {"schema": 1, "site_id": "home-1", "gateway_id": "gw-1", "observations": body}
        publish(f"{base}/{channel}", json.dumps(body).encode())  # type: ignore[operator]
    sentinel = next(SENTINEL_SEQS)
    publish(
        f"{base}/observations",
        normal_batch("home-1", "gw-1", "hr-1", range(sentinel, sentinel + 1)),
    )  # type: ignore[operator]
    deadline = time.monotonic() + 20
    while ingest.counters["messages"] < handled + len(messages) + 1:
        assert time.monotonic() < deadline, "ingest stopped handling messages"
        time.sleep(0.02)
    # Schema-valid means stored: nothing of it was refused or set aside.
    assert ingest.counters["rejected"] == 0, stores.registry.dead_letters(limit=3)[0].reason
    rows = stores.timeseries.query("p0001", "heart_rate", since_ms=0, limit=50_000)
    assert sentinel in {row.seq for row in rows}


@pytest.fixture
def running_ingest(
    mosquitto: tuple[str, int], stores: Stores, topic_root: str
) -> Iterator[tuple[Ingest, Stores, str, object]]:
    host, port = mosquitto
    config = MqttConfig(host=host, port=port)
    ingest = Ingest(stores.registry, stores.timeseries, topic_root)
    worker = IngestWorker(ingest, config, worker_config(topic_root, "extremes"))
    worker.start()
    deadline = time.monotonic() + 10
    while not worker.subscribed:
        assert time.monotonic() < deadline, "the worker did not subscribe"
        time.sleep(0.02)
    try:
        with mqtt_publisher(host, port) as publish:
            yield ingest, stores, topic_root, publish
    finally:
        stop_and_forget(worker, config)


# --- /health ---


async def test_health_says_degraded_while_ingest_cannot_store_and_ok_once_it_can(
    mosquitto: tuple[str, int], stores: Stores, topic_root: str
) -> None:
    host, port = mosquitto
    mqtt_config = MqttConfig(host=host, port=port)
    # A time-series store whose server is not there: connections are refused.
    down = SqlTimeSeries(make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"))
    ingest = Ingest(stores.registry, down, topic_root)
    worker = IngestWorker(ingest, mqtt_config, worker_config(topic_root, "health"))
    config = CloudConfig(ingest=IngestConfig(stalled_after_s=1))
    app = create_app(stores.registry, stores.timeseries, config=config)
    worker.start()
    try:
        async with TestClient(TestServer(app)) as client:

            async def health() -> dict[str, Any]:
                response = await client.get(f"{API_PREFIX}/health")
                assert response.status == 200
                return await response.json()

            await eventually(lambda: worker.subscribed, what="the worker's subscription")
            with mqtt_publisher(host, port) as publish:
                publish(
                    f"{topic_root}/home-1/gw-1/observations",
                    normal_batch("home-1", "gw-1", "hr-1", range(5)),
                )
                await eventually(lambda: worker.status().retrying == 1, what="a held message")
                body = await _eventually_async(health, lambda b: b["status"] == "degraded")
                [reason] = body["reasons"]
                assert "has 1 messages waiting and has stored nothing for" in reason
                [seen] = body["ingest"]["workers"]
                assert (seen["waiting"], seen["retrying"], seen["last_stored"]) == (1, 1, None)
                assert body["ingest"]["poison"] == 0
                assert stores.registry.dead_letters() == []  # the store is down, not the message

                ingest.timeseries = stores.timeseries  # the store is back
                await eventually(lambda: stores.timeseries.count() == 5, what="the held message")
                body = await _eventually_async(health, lambda b: b["status"] == "ok")
                assert body["ingest"]["workers"][0]["last_stored"] is not None
                assert "reasons" not in body
    finally:
        stop_and_forget(worker, mqtt_config)
        down.close()


async def _eventually_async(
    fetch: Callable[[], Awaitable[dict[str, Any]]],
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 20.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = await fetch()
        if check(body):
            return body
        assert time.monotonic() < deadline, f"gave up waiting; the last answer: {body}"
        await asyncio.sleep(0.2)
