"""A real cloud API (aiohttp) on an ephemeral port, with the demo people seeded.

It runs its own event loop in a daemon thread so synchronous tests (requests,
selenium) can talk to it, and it exposes helpers that write observations and
alerts straight into the stores, the way cloud ingest would.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.stores import Stores
from anxin.demo.homes import demo_homes, demo_scenario
from anxin.protocol import UNITS, AlertMessage
from tests.support.cloud import now_ms, seeded_stores

HOMES = 3


class LiveApi:
    def __init__(self, stores: Stores) -> None:
        """``stores`` holds ``demo_homes(HOMES)``, as ``seeded_stores`` makes."""
        self.registry = stores.registry
        self.timeseries = stores.timeseries
        self.homes = demo_homes(HOMES)
        self._seq = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-api", daemon=True)
        self._runner: web.AppRunner | None = None
        self._port = 0  # chosen by the system at first start, then kept across pause/resume
        self.url = ""

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self.resume()

    def pause(self) -> None:
        """Stop answering (as if the API went down); ``resume`` serves again at the same URL."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            self._runner = None

    def resume(self) -> None:
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    def stop(self) -> None:
        self.pause()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _serve(self) -> None:
        self._runner = web.AppRunner(create_app(self.registry, self.timeseries))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self._port}{API_PREFIX}"

    # --- data, as cloud ingest would write it ------------------------------------

    def write_observations(
        self, person_id: str, kind: str, values_by_ts_ms: list[tuple[int, float]]
    ) -> None:
        home = next(h for h in self.homes if h.person_id == person_id)
        device = f"hr-{home.number}" if kind == "heart_rate" else f"ox-{home.number}"
        self.timeseries.write(
            [
                StoredObservation(
                    home.gateway_id,
                    next(self._seq),
                    person_id,
                    device,
                    kind,
                    value,
                    UNITS[kind],
                    ts,
                )
                for ts, value in values_by_ts_ms
            ]
        )

    def seed_recent_vitals(self, minutes: int = 5, step_s: int = 10) -> None:
        """Heart rate and SpO2 for everyone over the last minutes; home 1 ends tachycardic."""
        end = now_ms()
        times = [end - i * step_s * 1000 for i in range(minutes * 60 // step_s, -1, -1)]
        for home in self.homes:
            person = demo_scenario(home, scenario_start_s=60).person
            rest = person.resting_hr
            heart = [
                (t, rest + (i % 5) if home.event != "tachycardia" or i < len(times) - 6 else 131.0)
                for i, t in enumerate(times)
            ]
            self.write_observations(home.person_id, "heart_rate", heart)
            self.write_observations(
                home.person_id,
                "spo2",
                [(t, (person.spo2 or 96) - (i % 2)) for i, t in enumerate(times)],
            )

    def raise_alert(
        self,
        person_id: str,
        kind: str,
        severity: str,
        observation: str,
        value: float,
        threshold: float,
    ) -> None:
        home = next(h for h in self.homes if h.person_id == person_id)
        device = f"hr-{home.number}" if observation == "heart_rate" else f"ox-{home.number}"
        message = AlertMessage(
            site_id=home.site_id,
            gateway_id=home.gateway_id,
            seq=100_000 + next(self._seq),
            device_id=device,
            kind=kind,
            severity=severity,
            raised_at_ms=now_ms(),
            observation=observation,
            value=value,
            threshold=threshold,
            message=f"{observation} {value} beyond {threshold}",
        )
        self.registry.record_alert(message, person_id)


@contextmanager
def running_api(directory: Path) -> Iterator[LiveApi]:
    """Three demo homes, five minutes of vitals, and one open heart_rate_high alert for p0001."""
    with seeded_stores(f"sqlite:///{directory}/cloud.sqlite", homes=HOMES) as stores:
        api = LiveApi(stores)
        api.seed_recent_vitals()
        api.raise_alert("p0001", "heart_rate_high", "high", "heart_rate", 131.0, 120.0)
        api.start()
        try:
            yield api
        finally:
            api.stop()
