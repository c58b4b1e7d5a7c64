"""``anxin bench sim``: how many simulated homes one process drives on the virtual
radio. Prints figures; never passes or fails on time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

from anxin.edge.radio import BoundDevice, BumbleRadio
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome

# Device kinds other parts of the simulator may add to VirtualHome; used when present.
OPTIONAL_ADDERS = ("add_accelerometer_wearable", "add_door_sensor", "add_bed_sensor")


@dataclass
class BenchHome:
    home: VirtualHome
    radio: BumbleRadio
    received: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)


def build_home(number: int) -> BenchHome:
    home = VirtualHome(clock=ScaledClock(speed=1.0), home_number=number)
    person = SimulatedPerson(seed=number)
    home.add_heart_rate_strap(person, device_id=f"h{number}-strap")
    home.add_pulse_oximeter(person, device_id=f"h{number}-oximeter")
    home.add_motion_sensor(device_id=f"h{number}-motion")
    bench = BenchHome(home, BumbleRadio(home.link, f"F0:A1:{number & 0xFF:02X}:00:00:01"))
    for adder in OPTIONAL_ADDERS:
        add = getattr(home, adder, None)
        if add is None:
            bench.skipped.append(f"{adder.removeprefix('add_')} (not in VirtualHome yet)")
            continue
        try:
            add(device_id=f"h{number}-{adder.removeprefix('add_')}")
        except TypeError as exc:
            bench.skipped.append(f"{adder.removeprefix('add_')} ({exc})")
    return bench


def rss_mib() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, KiB on Linux


async def bench_sim(homes: int, seconds: float, connect_timeout_s: float = 60.0) -> dict:
    benches = [build_home(n + 1) for n in range(homes)]
    for b in benches:
        await b.home.start()
        bound = [BoundDevice(d.device_id, d.address, d.kind) for d in b.home.devices]
        await b.radio.start(
            bound,
            lambda n, c=b.received: c.update(("notifications",)),
            lambda a, c=b.received: c.update(("advertisements",)),
        )
    try:
        started = time.monotonic()
        while time.monotonic() - started < connect_timeout_s:
            states = [s for b in benches for s in b.radio.device_states().values()]
            if all(s in ("connected", "advertising") for s in states):
                break
            await asyncio.sleep(0.2)
        connect_s = time.monotonic() - started
        states = Counter(s for b in benches for s in b.radio.device_states().values())
        before = sum((b.received for b in benches), Counter())
        wall0, cpu0 = time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        after = sum((b.received for b in benches), Counter())
    finally:
        for b in benches:
            await b.radio.stop()
            await b.home.stop()
    kinds = Counter(d.kind for b in benches for d in b.home.devices)
    return {
        "homes": homes,
        "devices": sum(kinds.values()),
        "kinds": dict(kinds),
        "skipped": sorted({s for b in benches for s in b.skipped}),
        "states": dict(states),
        "connect_s": connect_s,
        "wall_s": wall,
        "notifications_per_s": (after["notifications"] - before["notifications"]) / wall,
        "advertisements_per_s": (after["advertisements"] - before["advertisements"]) / wall,
        "cpu_share": cpu / wall,
        "rss_mib": rss_mib(),
    }


def run_sim_bench(homes: int, seconds: float) -> None:
    f = asyncio.run(bench_sim(homes, seconds))
    print(f"anxin bench sim: {f['homes']} homes, {f['wall_s']:.1f} s measured, one process")
    print(f"  devices                      {f['devices']}  {f['kinds']}")
    if f["skipped"]:
        print(f"  not simulated                {', '.join(f['skipped'])}")
    print(f"  device states                {f['states']} (after {f['connect_s']:.1f} s)")
    print(f"  notifications received /s    {f['notifications_per_s']:.1f}")
    print(f"  advertisements received /s   {f['advertisements_per_s']:.1f}")
    print(f"  CPU share (process/wall)     {f['cpu_share']:.2f} of one core")
    print(f"  RSS                          {f['rss_mib']:.0f} MiB")
