"""``anxin bench``: measurements that print their figures (never pass/fail on time)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from anxin.demo.stack import DemoStack, ephemeral_config
from anxin.protocol import AlertMessage


class ConsoleWatcher:
    """A worker logged in to the console in headless Chromium, watching for the alert."""

    def __init__(self, console_url: str, profile_dir: Path) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        from anxin.dashboard import ids
        from anxin.headless_browser import available, headless_chromium

        if not available():
            raise RuntimeError("--console needs Debian's chromium and chromium-driver")
        self._panel = (By.ID, ids.ALERTS_PANEL)
        self.driver = headless_chromium(profile_dir)
        self.driver.get(console_url)
        visible = ec.visibility_of_element_located
        WebDriverWait(self.driver, 30).until(visible((By.ID, ids.LOGIN_USERNAME)))
        self.driver.find_element(By.ID, ids.LOGIN_USERNAME).send_keys("worker")
        self.driver.find_element(By.ID, ids.LOGIN_PASSWORD).send_keys("anxin-worker")
        self.driver.find_element(By.ID, ids.LOGIN_SUBMIT).click()
        WebDriverWait(self.driver, 30).until(visible(self._panel))

    def shows_alert(self) -> bool:
        return "心率过高" in self.driver.find_element(*self._panel).text

    def close(self) -> None:
        self.driver.quit()


async def bench_alert(
    homes: int, scenario_start_s: float, console: bool, poll_s: float = 0.05
) -> dict[str, float]:
    """Gateway raises the scenario alert → the cloud stores it → the API lists it
    → (with ``console``) a worker's open console shows it."""
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as data:
        stack = DemoStack(ephemeral_config(Path(data), homes, scenario_start_s))
        raised: list[tuple[float, AlertMessage]] = []
        started = time.time()
        await stack.start()
        watcher = None
        try:
            if console:
                watcher = await asyncio.to_thread(
                    ConsoleWatcher, stack.console_url, Path(data) / "chromium"
                )
            for gateway in stack.gateways:
                gateway.alert_listeners.append(lambda alert: raised.append((time.time(), alert)))
            async with aiohttp.ClientSession() as http:
                login = {"username": "admin", "password": "anxin-admin"}
                async with http.post(f"{stack.api_url}/login", json=login) as response:
                    token = (await response.json())["token"]
                headers = {"Authorization": f"Bearer {token}"}
                while True:
                    async with http.get(f"{stack.api_url}/alerts", headers=headers) as response:
                        alerts = await response.json()
                    if alerts:
                        listed_at = time.time()
                        break
                    await asyncio.sleep(poll_s)
            raised_at, _ = raised[0]
            figures = {}
            if watcher is not None:
                while not await asyncio.to_thread(watcher.shows_alert):
                    await asyncio.sleep(poll_s)
                figures["gateway raise to shown in the console (s)"] = time.time() - raised_at
            stored = stack.stores.timeseries.count() if stack.stores else 0
            sent = sum(g.uplink.counters["sent"] for g in stack.gateways)
            return figures | {
                "scenario start to alert raised on the gateway (s)": raised_at - started,
                "gateway raise to cloud store (ms)": float(alerts[0]["delay_ms"]),
                "gateway raise to listed by the API (s)": listed_at - raised_at,
                "messages sent by gateways": float(sent),
                "observations stored": float(stored),
                "ingest duplicates": float(
                    stack.ingest.ingest.counters["duplicates"] if stack.ingest else 0
                ),
            }
        finally:
            if watcher is not None:
                await asyncio.to_thread(watcher.close)
            await stack.stop()


def run_alert_bench(homes: int, scenario_start_s: float, repeat: int, console: bool) -> None:
    runs = [asyncio.run(bench_alert(homes, scenario_start_s, console)) for _ in range(repeat)]
    print(f"anxin bench alert: {homes} homes, scenario at {scenario_start_s:g} s, {repeat} run(s)")
    for name in runs[0]:
        values = [run[name] for run in runs]
        shown = f"{statistics.median(values):.3f}" if repeat > 1 else f"{values[0]:.3f}"
        spread = f"  (min {min(values):.3f}, max {max(values):.3f})" if repeat > 1 else ""
        print(f"  {name:<52} {shown}{spread}")
