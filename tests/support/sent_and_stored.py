"""Count and compare: every observation the simulated devices put on the air, against
what the cloud store holds, per device and observation type, in order.

The devices record each frame a receiver could get (``SimulatedDevice.air_log``: a
notification to a subscribed gateway, a new advertising payload). The expected
observations are those frames run through what the gateway itself does with them: the
same repeat rule, the same decoders, the same ``readings_from``. The store's rows,
ordered by the gateway's sequence numbers, must then be the same lists of values: a
missing, doubled or reordered observation shows up even where the sequence numbers are
all distinct (a doubled subscription numbers both copies).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, closing
from pathlib import Path

from sqlalchemy import select

from anxin.cloud.ingest.timeseries import observations
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.stores import Stores
from anxin.config import (
    DeviceBindingConfig,
    EdgeConfig,
    GatewayConfig,
    IngestConfig,
    MqttConfig,
)
from anxin.demo.homes import demo_homes
from anxin.devices import BTHOME_UUID, FrameError, decode
from anxin.devices.bthome_replay import BTHomeReceiver
from anxin.edge.gateway import REPEAT_WINDOW_MS, Gateway
from anxin.edge.readings import readings_from
from anxin.firmware_sim import SimulatedDevice, VirtualHome
from anxin.firmware_sim.simulated import AirFrame
from tests.integration.test_ingest_services import stop_and_forget
from tests.support.waiting import eventually

STREAMING = ("heart_rate_strap", "pulse_oximeter", "accelerometer_wearable")
# The wearables and a BTHome motion sensor, which repeats each packet a few times.
WITH_ADVERTISER = (*STREAMING, "bthome_motion")
ALL_KINDS = ("heart_rate", "spo2", "activity", "motion")
Key = tuple[str, str]  # (device id, observation type)
Readings = dict[Key, list[float]]
# A frame on the air, as (characteristic or advertised service UUID, payload, wall ms).
Sent = tuple[int, bytes, int]
# Per (device, type): (value, wall-clock ms its frame went on the air).
Timed = dict[Key, list[tuple[float, int]]]


def record_air(home: VirtualHome) -> None:
    """From now on every device of ``home`` records what it puts on the air."""
    for device in home.devices:
        device.air_log = []


async def go_quiet(home: VirtualHome) -> None:
    """Every device out of range: nothing more goes on the air, so the count is final.

    An advertiser's latest packet is on the air only once it has been broadcast, so an
    advertiser goes quiet a few advertising intervals after its latest packet."""
    for device in home.devices:
        interval_ms = getattr(device, "_advertising_interval_ms", None)
        while interval_ms is not None and device.air_log:
            wait_ms = device.air_log[-1].at_ms + 3 * interval_ms() - time.time() * 1000
            if wait_ms <= 0:
                break
            await asyncio.sleep(wait_ms / 1000)
        await device.set_in_range(False)


def _uuid_int(frame: AirFrame) -> int:
    return int.from_bytes(frame.uuid.uuid_bytes, "little")


def timed_readings(
    device_id: str, address: str, frames: Iterable[Sent], bind_key: bytes | None = None
) -> Timed:
    """The observations the gateway makes of one device's frames, each with its send time."""
    readings: Timed = defaultdict(list)
    receiver = BTHomeReceiver({address: bind_key} if bind_key else {})
    last: dict[int, tuple[bytes, int]] = {}
    for uuid, payload, at_ms in frames:
        try:
            if uuid == BTHOME_UUID:
                decoded = receiver.accept(address, payload)
                if decoded is None:
                    continue  # a repeat of the same packet id: one reading
                values = decoded.as_dict()
            else:
                previous, last[uuid] = last.get(uuid), (payload, at_ms)
                if (
                    previous is not None
                    and previous[0] == payload
                    and at_ms - previous[1] < REPEAT_WINDOW_MS
                ):
                    continue  # the gateway takes a resent notification for one reading
                values = decode(uuid, payload).as_dict()
        except FrameError:
            continue  # the gateway rejects it too
        for kind, value in readings_from(values):
            readings[(device_id, kind)].append((value, at_ms))
    return readings


def _bind_key(device: SimulatedDevice) -> bytes | None:
    key = getattr(device, "bind_key", None)
    return key if isinstance(key, bytes) else None


def untimed(readings: Timed) -> Readings:
    return {key: [value for value, _ in values] for key, values in readings.items()}


def sent_readings(home: VirtualHome) -> Readings:
    """Per (device, type), the values of every observation the devices sent, in order."""
    readings: Timed = {}
    for device in home.devices:
        if device.air_log is None:
            raise RuntimeError(f"{device.device_id}: call record_air() before starting")
        frames = ((_uuid_int(f), f.payload, f.at_ms) for f in device.air_log)
        readings.update(timed_readings(device.device_id, device.address, frames, _bind_key(device)))
    return untimed(readings)


def stored_readings(stores: Stores, gateway_id: str) -> Readings:
    """Per (device, type), the stored values of ``gateway_id``, in its numbering order."""
    engine = stores.timeseries.engine  # type: ignore[attr-defined]
    query = (
        select(observations.c.device_id, observations.c.type, observations.c.value)
        .where(observations.c.gateway_id == gateway_id)
        .order_by(observations.c.seq)
    )
    readings: Readings = defaultdict(list)
    with engine.connect() as connection:
        for device_id, kind, value in connection.execute(query):
            readings[(device_id, kind)].append(value)
    return dict(readings)


def _same(value: float) -> float:
    return round(value, 6)


def differences(sent: Readings, stored: Readings) -> list[str]:
    """What differs between the two, one line per (device, type); empty when every sent
    observation is stored exactly once and in order."""
    problems: list[str] = []
    for key in sorted(set(sent) | set(stored)):
        want = [_same(v) for v in sent.get(key, [])]
        have = [_same(v) for v in stored.get(key, [])]
        if want == have:
            continue
        missing = Counter(want) - Counter(have)
        extra = Counter(have) - Counter(want)
        first = next(
            (i for i, (a, b) in enumerate(zip(want, have, strict=False)) if a != b),
            min(len(want), len(have)),
        )
        blocks = difflib.SequenceMatcher(a=want, b=have, autojunk=False).get_opcodes()
        edits = [op for op in blocks if op[0] != "equal"][:3]
        problems.append(
            f"{key[0]} {key[1]}: sent {len(want)}, stored {len(have)}; "
            f"{sum(missing.values())} missing, {sum(extra.values())} extra; "
            f"first difference at #{first}; edits {edits}"
        )
    return problems


def totals(readings: Readings) -> int:
    return sum(len(values) for values in readings.values())


async def settled_stored(
    stores: Stores, gateway_id: str, sent: Readings, timeout_s: float = 90.0
) -> Readings:
    """The store once it holds at least as many observations as were sent and has not
    changed for a few seconds (or at ``timeout_s``): late stragglers and late doubles
    both get the chance to show."""
    want = totals(sent)
    deadline = time.monotonic() + timeout_s
    stored = stored_readings(stores, gateway_id)
    steady_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = stored_readings(stores, gateway_id)
        if now != stored:
            stored, steady_since = now, time.monotonic()
        elif totals(stored) >= want and time.monotonic() - steady_since >= 3.0:
            break
    return stored


def assert_stored_exactly_once(
    sent: Readings, stored: Readings, kinds: Iterable[str] = ("heart_rate", "spo2", "activity")
) -> None:
    """Every sent observation stored once, in order; and the devices did send ``kinds``."""
    missing_kinds = set(kinds) - {kind for _, kind in sent}
    assert not missing_kinds, f"the devices sent no {sorted(missing_kinds)}: nothing to compare"
    problems = differences(sent, stored)
    assert not problems, (
        f"sent {totals(sent)} observations, stored {totals(stored)}:\n" + "\n".join(problems)
    )


async def drained(gateway: Gateway, timeout_s: float = 120.0) -> None:
    """Wait until the gateway's broker acknowledged everything it queued."""
    await eventually(
        lambda: gateway.queue.depth() == 0 and gateway.uplink.in_flight == 0,
        timeout_s,
        what="the gateway's queue drained",
    )


def streaming_home_config(
    topic_root: str, queue: Path, mqtt: MqttConfig, kinds: Iterable[str] = STREAMING
) -> EdgeConfig:
    """The first demo home's gateway with its devices of ``kinds`` (by default the
    heart-rate, SpO2 and accelerometer wearables)."""
    kinds = set(kinds)
    home_plan = demo_homes(1)[0]
    return EdgeConfig(
        gateway=GatewayConfig(
            site_id=home_plan.site_id,
            gateway_id=home_plan.gateway_id,
            topic_root=topic_root,
            queue_path=queue,
        ),
        mqtt=mqtt,
        devices=tuple(
            DeviceBindingConfig(device_id=d.device_id, address=d.address, kind=d.kind)
            for d in home_plan.devices
            if d.kind in kinds
        ),
    )


@asynccontextmanager
async def plain_ingest(
    stores: Stores, mqtt: MqttConfig, topic_root: str, name: str
) -> AsyncIterator[IngestWorker]:
    """An ingest worker of the test's own on a plain (not shared) subscription, connected
    straight to the broker; its broker session is ended afterwards."""
    worker = IngestWorker(
        Ingest(stores.registry, stores.timeseries, topic_root),
        mqtt,
        IngestConfig(
            topic_root=topic_root,
            shared_group="",
            worker_id=f"{topic_root.split('/')[0]}-{name}",
        ),
    )
    worker.start()
    try:
        await eventually(lambda: worker.subscribed, what="the ingest subscription")
        yield worker
    finally:
        stop_and_forget(worker, mqtt)


def logged_readings(path: Path) -> Timed:
    """What the devices of an ``air_logged_edge`` process (and its restarts) sent."""
    frames: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        sent = json.loads(line)
        frames[(sent["device_id"], sent["address"])].append(
            (sent["uuid"], bytes.fromhex(sent["payload"]), sent["at_ms"])
        )
    readings: Timed = {}
    for (device_id, address), device_frames in frames.items():
        readings.update(timed_readings(device_id, address, device_frames))
    return readings


def stored_or_waiting(stores: Stores, gateway_id: str, queue: Path) -> Readings:
    """Per (device, type), in numbering order, what is stored or still in the gateway's
    queue file (a row the broker took but the gateway never heard acknowledged is in
    both, under one sequence number)."""
    rows: dict[int, tuple[str, str, float]] = {}
    with closing(sqlite3.connect(queue)) as db:
        for (body,) in db.execute("SELECT body FROM outbox WHERE channel = 'observations'"):
            observation = json.loads(body)
            rows[observation["seq"]] = (
                observation["device_id"],
                observation["type"],
                observation["value"],
            )
    engine = stores.timeseries.engine  # type: ignore[attr-defined]
    query = select(
        observations.c.seq, observations.c.device_id, observations.c.type, observations.c.value
    ).where(observations.c.gateway_id == gateway_id)
    with engine.connect() as connection:
        for seq, device_id, kind, value in connection.execute(query):
            rows[seq] = (device_id, kind, value)
    readings: Readings = defaultdict(list)
    for seq in sorted(rows):
        device_id, kind, value = rows[seq]
        readings[(device_id, kind)].append(value)
    return dict(readings)


def _matches_around(
    runs: list[tuple[list[float], list[float]]], stored: list[float], at: int = 0
) -> bool:
    """``stored`` is each run's certain values followed by a prefix of its uncertain ones."""
    if not runs:
        return at == len(stored)
    certain, uncertain = runs[0]
    end = at + len(certain)
    if stored[at:end] != certain:
        return False
    for kept in range(len(uncertain), -1, -1):
        if stored[end : end + kept] == uncertain[:kept] and _matches_around(
            runs[1:], stored, end + kept
        ):
            return True
    return False


def assert_stored_once_around(
    sent: Timed, stored: Readings, ends_ms: list[int], uncertain_ms: int = 1000
) -> None:
    """Like ``assert_stored_exactly_once`` for a gateway process killed at each of
    ``ends_ms`` (wall clock): an observation sent within ``uncertain_ms`` before a kill
    may have died with the process before reaching its disk queue, and then so have all
    later ones of that run. Everything else must be stored exactly once, in order."""
    assert sent, "the devices sent nothing: nothing to compare"
    problems: list[str] = []
    for key in sorted(set(sent) | set(stored)):
        runs: list[tuple[list[float], list[float]]] = []
        remaining = sent.get(key, [])
        for end_ms in sorted(ends_ms):
            run = [(v, t) for v, t in remaining if t <= end_ms]
            remaining = remaining[len(run) :]
            runs.append(
                (
                    [_same(v) for v, t in run if t <= end_ms - uncertain_ms],
                    [_same(v) for v, t in run if t > end_ms - uncertain_ms],
                )
            )
        runs.append(([_same(v) for v, _ in remaining], []))
        have = [_same(v) for v in stored.get(key, [])]
        if not _matches_around(runs, have):
            want = [v for certain, uncertain in runs for v in certain + uncertain]
            problems.extend(differences({key: want}, {key: have}) or [f"{key}: out of order"])
    assert not problems, "\n".join(problems)
