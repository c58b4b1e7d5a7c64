"""``anxin bench edge``: one gateway with many devices at their nominal rates, against a
real MQTT broker. Prints figures; never passes or fails on time.

The simulated devices and the gateway share one process (bumble's virtual radio is
in-process), so the gateway's own CPU share is the whole process's minus that of the
same devices received by a bare radio that records nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anxin.bench_sim import rss_mib
from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.queue import DiskQueue
from anxin.edge.radio import BoundDevice, BumbleRadio
from anxin.edge.uplink import Uplink
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome
from anxin.protocol import Observation
from anxin.runtime import cancel_and_wait

# Per person: a heart-rate strap, an oximeter and a waist accelerometer (50 Hz); one SOS
# button; the rest of the devices are home sensors (motion, door, bed) in turn.
WEARABLES_PER_PERSON = 3
SOS_EVERY_S = 2.0


def build_home(devices: int) -> VirtualHome:
    home = VirtualHome(clock=ScaledClock(speed=1.0), home_number=1)
    people = max(1, devices // 5)
    for n in range(people):
        person = SimulatedPerson(seed=n)
        home.add_heart_rate_strap(person, device_id=f"strap-{n}")
        home.add_pulse_oximeter(person, device_id=f"oximeter-{n}")
        home.add_accelerometer_wearable(device_id=f"waist-{n}", seed=n)
    home.add_sos_button(device_id="sos")
    sensors = [home.add_motion_sensor, home.add_door_sensor, home.add_bed_sensor]
    for n in range(devices - people * WEARABLES_PER_PERSON - 1):
        sensors[n % len(sensors)](device_id=f"sensor-{n}")
    return home


def bindings(home: VirtualHome) -> tuple[DeviceBindingConfig, ...]:
    return tuple(
        DeviceBindingConfig(device_id=d.device_id, address=d.address, kind=d.kind)
        for d in home.devices
    )


async def _connected(states: Callable[[], dict[str, str]], timeout_s: float = 90.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if all(s in ("connected", "advertising", "standing_by") for s in states().values()):
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def _cpu_share(seconds: float) -> float:
    wall0, cpu0 = time.monotonic(), time.process_time()
    await asyncio.sleep(seconds)
    return (time.process_time() - cpu0) / (time.monotonic() - wall0)


@dataclass
class Delays:
    """Notification (queued on disk at once) to broker acknowledgement, per message."""

    queued_at: dict[int, float]
    seconds: list[float]

    @classmethod
    def watch(cls, queue: DiskQueue) -> Delays:
        delays = cls({}, [])
        put, ack = queue.put, queue.ack

        def timed_put(*args: Any, **kwargs: Any) -> list[int]:
            seqs = put(*args, **kwargs)
            now = time.monotonic()
            delays.queued_at.update((seq, now) for seq in seqs)
            return seqs

        def timed_ack(seqs: Sequence[int]) -> None:
            now = time.monotonic()
            for seq in seqs:
                at = delays.queued_at.pop(seq, None)
                if at is not None:
                    delays.seconds.append(now - at)
            ack(seqs)

        queue.put = timed_put  # type: ignore[method-assign]
        queue.ack = timed_ack  # type: ignore[method-assign]
        return delays


async def _press_sos(home: VirtualHome, pressed_at: list[float]) -> None:
    """Press the SOS button every SOS_EVERY_S while the load runs."""
    button = next(d for d in home.devices if d.device_id == "sos")
    while True:
        await asyncio.sleep(SOS_EVERY_S)
        pressed_at.append(time.monotonic())
        await button.press("long_press")  # type: ignore[attr-defined]


async def measure_live(devices: int, seconds: float, broker: tuple[str, int]) -> dict[str, Any]:
    home = build_home(devices)
    await home.start()
    try:
        bare = BumbleRadio(home.link, "F0:A1:00:00:00:02")
        bound = [BoundDevice(d.device_id, d.address, d.kind) for d in home.devices]
        await bare.start(bound, lambda _n: None, lambda _a: None)
        await _connected(bare.device_states)
        simulator_share = await _cpu_share(seconds)
        simulator_rss = rss_mib()
        await bare.stop()
        with tempfile.TemporaryDirectory() as scratch:
            config = EdgeConfig(
                gateway=GatewayConfig(
                    site_id="bench",
                    gateway_id="gw-bench",
                    topic_root="anxin-bench/v1",
                    queue_path=Path(scratch) / "queue.sqlite",
                ),
                mqtt=MqttConfig(host=broker[0], port=broker[1]),
                devices=bindings(home),
            )
            gateway = Gateway(config, BumbleRadio(home.link, "F0:A1:00:00:00:01"))
            delays = Delays.watch(gateway.queue)
            pressed_at: list[float] = []
            raised_at: list[float] = []
            gateway.alert_listeners.append(
                lambda alert: alert.kind == "sos" and raised_at.append(time.monotonic())
            )
            await gateway.start()
            try:
                connect_s = await _connected(gateway.radio.device_states)
                delays.seconds.clear()
                observations0 = gateway.counters["observations"]
                pressing = asyncio.create_task(_press_sos(home, pressed_at))
                total_share = await _cpu_share(seconds)
                await cancel_and_wait(pressing)
                await asyncio.sleep(1.0)  # the last press's alert
                observations = gateway.counters["observations"] - observations0
                rss = rss_mib()
                states = dict(sorted(Counter(gateway.radio.device_states().values()).items()))
            finally:
                await gateway.stop()
    finally:
        await home.stop()
    return {
        "devices": len(home.devices),
        "kinds": dict(Counter(d.kind for d in home.devices)),
        "states": states,
        "connect_s": connect_s,
        "observations_per_s": observations / seconds,
        "total_share": total_share,
        "simulator_share": simulator_share,
        "rss_mib": rss,
        "simulator_rss_mib": simulator_rss,
        "delays": sorted(delays.seconds),
        "sos_delays": sorted(r - p for p, r in zip(pressed_at, raised_at, strict=False)),
        "sos_presses": len(pressed_at),
    }


async def measure_drain(messages: int, broker: tuple[str, int]) -> dict[str, float]:
    """Fill a queue as an outage would, then time the uplink emptying it into the broker."""
    with tempfile.TemporaryDirectory() as scratch:
        queue = DiskQueue(Path(scratch) / "queue.sqlite")
        batch = 500
        for start in range(0, messages, batch):
            count = min(batch, messages - start)
            queue.put(
                "observations",
                count,
                lambda seqs: [
                    Observation(
                        seq=seq,
                        device_id="strap-0",
                        type="heart_rate",
                        value=72.0,
                        unit="/min",
                        ts_ms=1_763_800_000_000 + seq * 1000,
                    ).model_dump_json(exclude_none=True)
                    for seq in seqs
                ],
                sheddable=True,
            )
        gateway = GatewayConfig(
            site_id="bench",
            gateway_id="gw-drain",
            topic_root="anxin-bench/v1",
            queue_path=queue.path,
        )
        uplink = Uplink(MqttConfig(host=broker[0], port=broker[1]), gateway, queue, dict)
        started = time.monotonic()
        await uplink.start()
        try:
            while queue.depth() > 0:
                await asyncio.sleep(0.05)
            seconds = time.monotonic() - started
        finally:
            await uplink.stop()
            queue.close()
    return {"messages": messages, "seconds": seconds, "per_s": messages / seconds}


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_edge_bench(devices: int, seconds: float, drain: int, broker: tuple[str, int]) -> None:
    live = asyncio.run(measure_live(devices, seconds, broker))
    drained = asyncio.run(measure_drain(drain, broker))
    delays = live["delays"]
    gateway_share = live["total_share"] - live["simulator_share"]
    print(
        f"anxin bench edge: one gateway, {live['devices']} devices, {seconds:.0f} s measured,"
        f" broker {broker[0]}:{broker[1]}"
    )
    print(f"  devices                         {live['kinds']}")
    print(f"  device states                   {live['states']} (after {live['connect_s']:.1f} s)")
    print(f"  observations recorded /s        {live['observations_per_s']:.0f}")
    print(
        f"  CPU share, gateway (estimate)   {gateway_share:.2f} of one core"
        f"  (process {live['total_share']:.2f} - simulator alone"
        f" {live['simulator_share']:.2f})"
    )
    print(
        f"  RSS, process                    {live['rss_mib']:.0f} MiB"
        f"  (before the gateway started: {live['simulator_rss_mib']:.0f} MiB)"
    )
    print(
        f"  notification to broker ack      p50 {_percentile(delays, 0.5) * 1000:.1f} ms,"
        f" p99 {_percentile(delays, 0.99) * 1000:.1f} ms, mean"
        f" {statistics.fmean(delays) * 1000 if delays else float('nan'):.1f} ms"
        f" ({len(delays)} messages)"
    )
    sos = live["sos_delays"]
    print(
        f"  SOS press to alert on gateway   p50 {_percentile(sos, 0.5) * 1000:.0f} ms,"
        f" max {max(sos, default=float('nan')) * 1000:.0f} ms"
        f" ({len(sos)} alerts for {live['sos_presses']} presses; includes the advertising"
        " air time)"
    )
    print(
        f"  queue drain after an outage     {drained['per_s']:.0f} messages/s"
        f" ({drained['messages']} in {drained['seconds']:.1f} s)"
    )
