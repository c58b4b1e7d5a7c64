"""``anxin bench ingest``: MQTT → ``anxin cloud ingest`` worker processes → InfluxDB.

Simulated gateways publish observation batches (50 per message, QoS 1) to the real broker
as fast as the workers keep up; 1, 2, 4 ... worker processes share the MQTT shared
subscription and write to a real InfluxDB. Printed per worker count: sustained
observations/s into InfluxDB, the rate of plain line-protocol writes of the same batch size
by as many writers in the same run, their ratio, and the delay from broker publish to
queryable through the API (GET observations), measured by probe messages. Prints figures;
never passes or fails on time.

A worker stores every message waiting for it with one InfluxDB write (Mosquitto lets 20
wait unacknowledged per worker), so at saturation its writes are larger than the plain
writer's 50 lines: the ratio can pass 100 %.

The broker holds at most ``max_queued_messages`` (Mosquitto: 1000) per worker session and
drops the rest, so the publishers keep the backlog at BACKLOG_PER_WORKER messages per
worker, and the delay figures are those of a saturated ingest with that backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import paho.mqtt.client as mqtt
import requests
from paho.mqtt.enums import CallbackAPIVersion

from anxin.cloud.audit.keys import new_key as new_audit_key
from anxin.cloud.ingest.influx import MEASUREMENT, InfluxTimeSeries, quote_ident, to_line
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.ingest.worker import SUBSCRIBED_LOG
from anxin.config import (
    ApiConfig,
    AuditConfig,
    CloudConfig,
    IngestConfig,
    MqttConfig,
    TimeSeriesConfig,
)
from anxin.protocol import UNITS, Observation, ObservationBatch, encode

BATCH = 50
BACKLOG_PER_WORKER = 100  # messages; Mosquitto drops past 1000 queued per session
PROBE_EVERY_S = 0.1
MIN_PROBES = 5
PROBE_POLL_S = 0.05
PROBE_GIVE_UP_S = 60.0


# --- a throwaway influxd -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_influxd(root: Path) -> Iterator[str]:
    """Debian's influxd with its state under ``root``, only its HTTP listener on."""
    binary = "/usr/bin/influxd" if os.access("/usr/bin/influxd", os.X_OK) else "influxd"
    http_port, rpc_port = _free_port(), _free_port()
    config = root / "influxdb.conf"
    sections = "".join(
        f"[[{name}]]\n  enabled = false\n" for name in ("graphite", "collectd", "opentsdb", "udp")
    )
    config.write_text(
        f'reporting-disabled = true\nreporting-enabled = false\nbind-address = "127.0.0.1:{rpc_port}"\n'
        f'[meta]\n  dir = "{root / "meta"}"\n'
        f'[data]\n  dir = "{root / "data"}"\n  wal-dir = "{root / "wal"}"\n'
        "  query-log-enabled = false\n"
        "[monitor]\n  store-enabled = false\n"
        f'[http]\n  enabled = true\n  bind-address = "127.0.0.1:{http_port}"\n'
        "  log-enabled = false\n"
        "[continuous_queries]\n  enabled = false\n" + sections
    )
    url = f"http://127.0.0.1:{http_port}"
    with (root / "influxd.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "run", "-config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/ping", timeout=1).status_code == 204:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"influxd did not start; see {root / 'influxd.log'}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- figures -----------------------------------------------------------------------------------


@dataclass
class RunFigures:
    workers: int
    observations: int
    stored: int
    seconds: float
    plain_rate: float
    probe_delays_s: list[float] = field(default_factory=list)
    probes_lost: int = 0
    distinct: int = 0
    # (seconds since the first publish, load observations stored), sampled as it runs.
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Sustained: from a tenth of the load stored (past the start-up) to the last row."""
        if not self.samples:
            return 0.0
        end_s, end_count = self.samples[-1]
        for at_s, count in self.samples:
            if count >= self.observations / 10 and end_s - at_s > 0.5:
                return (end_count - count) / (end_s - at_s)
        return end_count / end_s if end_s > 0 else 0.0

    @property
    def lost(self) -> int:
        return self.observations - self.stored

    def lines(self) -> list[str]:
        delays = sorted(self.probe_delays_s)
        p50 = statistics.median(delays) * 1000 if delays else float("nan")
        p99 = (
            delays[min(len(delays) - 1, int(0.99 * len(delays)))] * 1000 if delays else float("nan")
        )
        ratio = self.rate / self.plain_rate * 100 if self.plain_rate else float("nan")
        return [
            f"workers {self.workers}: ingest {self.rate:,.0f} obs/s  "
            f"plain line protocol {self.plain_rate:,.0f} obs/s  ratio {ratio:.0f} %",
            f"workers {self.workers}: stored {self.stored} of {self.observations} "
            f"observations in {self.seconds:.1f} s, lost {self.lost}, "
            f"distinct (gateway, seq) {self.distinct}",
            f"workers {self.workers}: publish to queryable through the API: "
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms over {len(delays)} probes "
            f"({self.probes_lost} not seen)",
        ]


# --- plain writes ------------------------------------------------------------------------------


def plain_write_rate(influx_url: str, database: str, writers: int, batches: int) -> float:
    """Observations/s of `writers` threads POSTing prepared 50-line batches to /write."""
    requests.post(f"{influx_url}/query", params={"q": f"CREATE DATABASE {quote_ident(database)}"})
    start_ms = int(time.time() * 1000)
    bodies = [
        (
            "\n".join(
                to_line(
                    StoredObservation(
                        f"plain-{w}",
                        n * BATCH + i,
                        "p0001",
                        "hr-1",
                        "heart_rate",
                        60.0 + i,
                        "/min",
                        start_ms + n * BATCH + i,
                    )
                )
                for i in range(BATCH)
            )
            + "\n"
        ).encode()
        for w in range(writers)
        for n in range(batches // writers)
    ]
    per_writer = [bodies[w::writers] for w in range(writers)]

    def write(chunk: list[bytes]) -> None:
        with requests.Session() as session:
            for body in chunk:
                response = session.post(
                    f"{influx_url}/write", params={"db": database, "precision": "ns"}, data=body
                )
                response.raise_for_status()

    threads = [threading.Thread(target=write, args=(chunk,)) for chunk in per_writer]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(bodies) * BATCH / (time.perf_counter() - started)


# --- the load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimGateway:
    site_id: str
    gateway_id: str
    device_id: str


def gateway_payloads(gateway: SimGateway, messages: int) -> list[bytes]:
    """A gateway's batches, encoded before the clock starts (the bench times the cloud)."""
    now = int(time.time() * 1000)
    return [
        encode(
            ObservationBatch(
                site_id=gateway.site_id,
                gateway_id=gateway.gateway_id,
                observations=[
                    Observation(
                        seq=number * BATCH + i,
                        device_id=gateway.device_id,
                        type="heart_rate",
                        value=60 + (number + i) % 40,
                        unit=UNITS["heart_rate"],
                        ts_ms=now + number * BATCH + i,
                    )
                    for i in range(BATCH)
                ],
            )
        )
        for number in range(messages)
    ]


class Publishers:
    """One MQTT client per simulated gateway, publishing QoS 1 batches from threads."""

    def __init__(self, mqtt_host: str, mqtt_port: int, topic_root: str) -> None:
        self.host, self.port, self.topic_root = mqtt_host, mqtt_port, topic_root
        self.published_messages = 0
        # Messages that may be published in all: stored so far plus the backlog allowed.
        self.allowed_messages = 0
        self._budget = threading.Condition()
        self._clients: list[mqtt.Client] = []

    def client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:10]}"
        )
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        client.connect(self.host, self.port)
        client.loop_start()
        self._clients.append(client)
        return client

    def publish_all(
        self,
        gateway: SimGateway,
        payloads: list[bytes],
        stop: threading.Event,
    ) -> None:
        client = self.client()
        topic = f"{self.topic_root}/{gateway.site_id}/{gateway.gateway_id}/observations"
        pending: list[mqtt.MQTTMessageInfo] = []
        for payload in payloads:
            with self._budget:
                while self.published_messages >= self.allowed_messages:
                    if stop.is_set():
                        return
                    self._budget.wait(0.05)
                self.published_messages += 1
            pending.append(client.publish(topic, payload, qos=1))
            if len(pending) >= 100:
                for info in pending:
                    info.wait_for_publish(30)
                pending.clear()
        for info in pending:
            info.wait_for_publish(30)

    def allow(self, messages: int) -> None:
        with self._budget:
            self.allowed_messages = messages
            self._budget.notify_all()

    def close(self) -> None:
        for client in self._clients:
            client.loop_stop()
            client.disconnect()


def distinct_load(store: InfluxTimeSeries) -> int:
    """Distinct (gateway, seq) among the stored load observations."""
    statement = (
        f"SELECT COUNT(DISTINCT({quote_ident('seq')})) FROM {quote_ident(MEASUREMENT)} "
        f"WHERE {quote_ident('type')} = 'heart_rate' GROUP BY {quote_ident('gateway_id')}"
    )
    return sum(int(record["count"]) for record in store._select(statement))


def stored_load(store: InfluxTimeSeries) -> int:
    """Load observations (heart rate) stored so far; the probes are body temperatures."""
    statement = (
        f"SELECT COUNT({quote_ident('value')}) FROM {quote_ident(MEASUREMENT)} "
        f"WHERE {quote_ident('type')} = 'heart_rate'"
    )
    return sum(int(record["count"]) for record in store._select(statement))


# --- probes ------------------------------------------------------------------------------------


async def probe_loop(
    api_url: str,
    publisher: mqtt.Client,
    topic_root: str,
    gateway: SimGateway,
    person_id: str,
    stop: asyncio.Event,
    figures: RunFigures,
) -> int:
    """Publish a one-reading batch every PROBE_EVERY_S; time each until the API returns it."""
    topic = f"{topic_root}/{gateway.site_id}/{gateway.gateway_id}/observations"
    sent = 0
    async with aiohttp.ClientSession() as http:
        # The demo family member sees the probe's person and needs no second factor.
        login = {"username": "family", "password": "anxin-family"}
        async with http.post(f"{api_url}/login", json=login) as response:
            if response.status != 200:
                raise RuntimeError(
                    f"probe login answered {response.status}: {await response.text()}"
                )
            headers = {"Authorization": f"Bearer {(await response.json())['token']}"}
        seq = int(time.time() * 1000) * 10  # unique across runs on one gateway id
        last_ts = 0
        running: list[asyncio.Task[None]] = []
        # At least MIN_PROBES, even when the load was stored before the first one.
        while not stop.is_set() or len(running) < MIN_PROBES:
            seq += 1
            last_ts = max(last_ts + 1, int(time.time() * 1000))  # one probe per millisecond
            probe = _Probe(http, headers, api_url, person_id, seq, last_ts)
            running.append(asyncio.create_task(probe.run(publisher, topic, gateway, figures)))
            await asyncio.sleep(PROBE_EVERY_S)
        await asyncio.gather(*running)
        sent = len(running)
    return sent


@dataclass
class _Probe:
    http: aiohttp.ClientSession
    headers: dict[str, str]
    api_url: str
    person_id: str
    seq: int
    ts_ms: int

    async def run(
        self, publisher: mqtt.Client, topic: str, gateway: SimGateway, figures: RunFigures
    ) -> None:
        batch = ObservationBatch(
            site_id=gateway.site_id,
            gateway_id=gateway.gateway_id,
            observations=[
                Observation(
                    seq=self.seq,
                    device_id=gateway.device_id,
                    type="body_temperature",
                    value=36.5,
                    unit=UNITS["body_temperature"],
                    ts_ms=self.ts_ms,
                )
            ],
        )
        info = publisher.publish(topic, encode(batch), qos=1)
        await asyncio.to_thread(info.wait_for_publish, 30)
        published = time.monotonic()  # the broker has it (PUBACK)
        params = {
            "type": "body_temperature",
            "since": _iso(self.ts_ms),
            "until": _iso(self.ts_ms + 1),
        }
        url = f"{self.api_url}/persons/{self.person_id}/observations"
        while time.monotonic() - published < PROBE_GIVE_UP_S:
            async with self.http.get(url, params=params, headers=self.headers) as response:
                body = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"probe query answered {response.status}: {body}")
            if any(o["ts_ms"] == self.ts_ms for o in body["observations"]):
                figures.probe_delays_s.append(time.monotonic() - published)
                return
            await asyncio.sleep(PROBE_POLL_S)
        figures.probes_lost += 1


def _iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


# --- one run with N workers ----------------------------------------------------------------------


def write_worker_config(path: Path, config: CloudConfig) -> None:
    ts, mq, ing = config.timeseries, config.mqtt, config.ingest
    path.write_text(
        f'[registry]\nurl = "{config.registry.url}"\n\n'
        f'[timeseries]\nbackend = "influxdb"\nurl = "{ts.url}"\ndatabase = "{ts.database}"\n\n'
        f'[mqtt]\nhost = "{mq.host}"\nport = {mq.port}\nsession_expiry_s = 60\n\n'
        f'[ingest]\nshared_group = "{ing.shared_group}"\ntopic_root = "{ing.topic_root}"\n'
        f'worker_id = "{ing.worker_id}"\n\n'
        f'[audit]\nkey = "{config.audit.key}"\n'
    )


def forget_session(host: str, port: int, client_id: str) -> None:
    cleaner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    with contextlib.suppress(OSError):
        cleaner.connect(host, port)
        cleaner.disconnect()


async def run_with_workers(
    workers: int,
    messages: int,
    gateways: Sequence[SimGateway],
    probe_gateway: SimGateway,
    probe_person: str,
    registry_url: str,
    influx_url: str,
    mqtt_host: str,
    mqtt_port: int,
    work: Path,
) -> RunFigures:
    from anxin.cloud.service import bound_port, start_api
    from anxin.cloud.stores import open_stores

    tag = uuid.uuid4().hex[:6]
    database = f"anxin_bench_{tag}_w{workers}"
    topic_root = f"anxin-bench-{tag}/v1"
    group = f"bench-{tag}"
    config = CloudConfig(
        registry={"url": registry_url},
        timeseries=TimeSeriesConfig(backend="influxdb", url=influx_url, database=database),
        mqtt=MqttConfig(host=mqtt_host, port=mqtt_port),
        ingest=IngestConfig(shared_group=group, topic_root=topic_root, worker_id="w0"),
        api=ApiConfig(port=0, second_factor_roles=()),  # the probes log in as family
        audit=AuditConfig(key=new_audit_key(), checkpoint_file=work / f"audit-{tag}.jsonl"),
    )
    store = InfluxTimeSeries(config.timeseries)
    store._ensure_database()  # so counting works before the first write
    plain = plain_write_rate(influx_url, f"{database}_plain", workers, max(workers, messages // 2))
    processes: list[subprocess.Popen[bytes]] = []
    client_ids: list[str] = []
    logs: list[Path] = []
    stores = open_stores(config, create_schema=False)
    runner = await start_api(config, stores, port=0)
    api_url = f"http://127.0.0.1:{bound_port(runner)}/api/v1"
    publishers = Publishers(mqtt_host, mqtt_port, topic_root)
    figures = RunFigures(workers, messages * BATCH, 0, 0.0, plain)
    try:
        for number in range(workers):
            worker_id = f"{tag}-{number}"
            path = work / f"ingest-{tag}-{number}.toml"
            worker_config = config.model_copy(
                update={"ingest": config.ingest.model_copy(update={"worker_id": worker_id})}
            )
            write_worker_config(path, worker_config)
            client_ids.append(f"anxin-{group}-{worker_id}")
            logs.append(work / f"ingest-{tag}-{number}.log")
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "anxin.cli",
                        "--log-level",
                        "INFO",
                        "cloud",
                        "ingest",
                        "--config",
                        str(path),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=logs[-1].open("wb"),
                )
            )
        await _wait_subscribed(logs)
        per_gateway = [messages // len(gateways)] * len(gateways)
        for n in range(messages % len(gateways)):
            per_gateway[n] += 1
        prepared = [gateway_payloads(g, n) for g, n in zip(gateways, per_gateway, strict=True)]
        stop_publishing = threading.Event()
        publishers.allow(BACKLOG_PER_WORKER * workers)
        probe_stop = asyncio.Event()
        probe_client = publishers.client()
        started = time.monotonic()
        threads = [
            threading.Thread(
                target=publishers.publish_all,
                args=(gateway, payloads, stop_publishing),
                daemon=True,
            )
            for gateway, payloads in zip(gateways, prepared, strict=True)
        ]
        for thread in threads:
            thread.start()
        probes = asyncio.create_task(
            probe_loop(
                api_url, probe_client, topic_root, probe_gateway, probe_person, probe_stop, figures
            )
        )
        expected = messages * BATCH
        last_change, last_count = time.monotonic(), 0
        while True:
            count = await asyncio.to_thread(stored_load, store)
            publishers.allow(count // BATCH + BACKLOG_PER_WORKER * workers)
            if count != last_count:
                last_change, last_count = time.monotonic(), count
                figures.samples.append((last_change - started, count))
            if count >= expected and not any(t.is_alive() for t in threads):
                break
            if time.monotonic() - last_change > 30:
                break  # nothing stored for 30 s: report what was lost
            await asyncio.sleep(0.2)
        figures.seconds = last_change - started
        probe_stop.set()
        await probes
        stop_publishing.set()
        figures.stored = await asyncio.to_thread(stored_load, store)
        figures.distinct = await asyncio.to_thread(distinct_load, store)
    finally:
        publishers.close()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for client_id in client_ids:
            forget_session(mqtt_host, mqtt_port, client_id)
        await runner.cleanup()
        stores.close()
        store.close()
    return figures


async def _wait_subscribed(logs: list[Path], timeout_s: float = 60) -> None:
    """Wait until every worker has logged that the broker granted its subscriptions."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        texts = [path.read_text(errors="replace") if path.exists() else "" for path in logs]
        if all(SUBSCRIBED_LOG in text for text in texts):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"ingest workers did not subscribe within {timeout_s:.0f} s; see {logs}")


# --- entry point -------------------------------------------------------------------------------


async def bench_ingest(
    worker_counts: Sequence[int],
    messages: int,
    gateways: int,
    influx_url: str | None,
    mqtt_host: str,
    mqtt_port: int,
) -> list[RunFigures]:
    from anxin.cloud.database.engines import make_engine
    from anxin.cloud.database.models import Gateway
    from anxin.cloud.registry.registry import Registry
    from anxin.demo.homes import demo_homes, seed_registry

    with tempfile.TemporaryDirectory(prefix="anxin-bench-ingest-") as tmp:
        work = Path(tmp)
        registry_url = f"sqlite:///{work / 'registry.sqlite'}"
        registry = Registry(make_engine(registry_url))
        registry.create_schema()
        homes = demo_homes(gateways)
        seed_registry(registry, homes)
        sims = [SimGateway(h.site_id, h.gateway_id, f"hr-{h.number}") for h in homes]
        probe = SimGateway(homes[0].site_id, f"probe-{uuid.uuid4().hex[:6]}", "ox-1")
        # A second gateway of the first home: ingest takes readings only from enrolled ones.
        registry.add_all([Gateway(id=probe.gateway_id, site_id=probe.site_id)])
        registry.engine.dispose()
        with contextlib.ExitStack() as stack:
            if influx_url is None:
                (work / "influxd").mkdir()
                influx_url = stack.enter_context(throwaway_influxd(work / "influxd"))
            results = []
            for workers in worker_counts:
                results.append(
                    await run_with_workers(
                        workers,
                        messages,
                        sims,
                        probe,
                        homes[0].person_id,
                        registry_url,
                        influx_url,
                        mqtt_host,
                        mqtt_port,
                        work,
                    )
                )
                for line in results[-1].lines():
                    print(f"  {line}", flush=True)
            return results


def run_ingest_bench(
    worker_counts: Sequence[int],
    messages: int,
    gateways: int,
    influx_url: str | None,
    mqtt_host: str,
    mqtt_port: int,
) -> None:
    print(
        f"anxin bench ingest: {messages} messages of {BATCH} observations from {gateways} "
        f"gateways per run, workers {', '.join(map(str, worker_counts))}, broker "
        f"{mqtt_host}:{mqtt_port}, InfluxDB {influx_url or '(throwaway influxd)'}",
        flush=True,
    )
    results = asyncio.run(
        bench_ingest(worker_counts, messages, gateways, influx_url, mqtt_host, mqtt_port)
    )
    lost = sum(result.lost for result in results)
    print(f"  total: {len(results)} runs, {lost} observations lost or duplicated", flush=True)
