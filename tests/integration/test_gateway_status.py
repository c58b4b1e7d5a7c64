"""The gateway's local side: /metrics, /status and the local webhook, over real HTTP,
with a simulated home on the virtual radio, connected to a real Mosquitto or cut off
from any broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.queue import DiskQueue
from anxin.edge.radio import BumbleRadio
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome
from tests.conftest import free_port
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services]
SOS_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")


def home_with_strap_and_button() -> VirtualHome:
    home = VirtualHome(clock=ScaledClock(speed=1), home_number=3)
    home.add_heart_rate_strap(SimulatedPerson(seed=1), device_id="strap")
    home.add_sos_button(device_id="sos", bind_key=SOS_KEY)
    return home


def gateway_config(
    home: VirtualHome,
    broker: tuple[str, int],
    topic_root: str,
    queue: Path,
    queue_max_messages: int = 500_000,
    local_webhook_url: str | None = None,
) -> EdgeConfig:
    return EdgeConfig(
        gateway=GatewayConfig(
            site_id="home-3",
            gateway_id="gw-3",
            topic_root=topic_root,
            queue_path=queue,
            queue_max_messages=queue_max_messages,
            status_port=0,
            local_webhook_url=local_webhook_url,
        ),
        mqtt=MqttConfig(host=broker[0], port=broker[1]),
        devices=tuple(
            DeviceBindingConfig(
                device_id=d.device_id,
                address=d.address,
                kind=d.kind,
                bind_key=SOS_KEY.hex() if d.device_id == "sos" else None,
            )
            for d in home.devices
        ),
    )


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def metrics_once(
    url: str, condition: Callable[[Samples], bool], what: str, timeout: float = 30.0
) -> Samples:
    """Scrape ``url`` until ``condition`` holds (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        status, content_type, text = await fetch(url)
        assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
        found = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        if condition(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}: {found}")
        await asyncio.sleep(0.3)


ACKNOWLEDGED = ("anxin_edge_messages_acknowledged_total", ())
SHED = ("anxin_edge_dropped_total", (("reason", "queue_full"),))
STRAP_CONNECTED = (
    "anxin_edge_device_state",
    (("device_id", "strap"), ("kind", "heart_rate_strap"), ("state", "connected")),
)


async def test_metrics_report_what_the_gateway_sent_and_each_device_state(
    mosquitto: tuple[str, int], topic_root: str, tmp_path: Path
) -> None:
    home = home_with_strap_and_button()
    await home.start()
    config = gateway_config(home, mosquitto, topic_root, tmp_path / "q.sqlite")
    gateway = Gateway(config, BumbleRadio(home.link))
    await gateway.start()
    try:
        assert gateway.status is not None
        found = await metrics_once(
            f"{gateway.status.url}/metrics",
            lambda m: m.get(ACKNOWLEDGED, 0) >= 5 and STRAP_CONNECTED in m,
            "5 acknowledged messages and the strap connected",
        )
    finally:
        await gateway.stop()
        await home.stop()
    assert found[("anxin_edge_broker_connected", ())] == 1
    assert found[("anxin_edge_broker_connects_total", ())] == 1
    assert found[("anxin_edge_messages_sent_total", ())] >= found[ACKNOWLEDGED]
    assert found[("anxin_edge_observations_total", ())] >= found[ACKNOWLEDGED]
    assert found[("anxin_edge_alerts_total", ())] == 0
    button = (("device_id", "sos"), ("kind", "bthome_button"))
    assert [k for k in found if k[0] == "anxin_edge_device_state" and k[1][:2] == button]
    for reason in ("malformed_frame", "repeated_notification", "repeated_advertisement"):
        assert ("anxin_edge_dropped_total", (("reason", reason),)) in found
    assert found[SHED] == 0
    assert found[("anxin_edge_queue_depth", ())] >= 0


async def test_with_no_broker_the_queue_sheds_samples_and_the_sos_shows_locally(
    topic_root: str, tmp_path: Path
) -> None:
    home = home_with_strap_and_button()
    await home.start()
    nothing_listening = ("127.0.0.1", free_port())
    config = gateway_config(
        home, nothing_listening, topic_root, tmp_path / "q.sqlite", queue_max_messages=30
    )
    gateway = Gateway(config, BumbleRadio(home.link))
    await gateway.start()
    try:
        assert gateway.status is not None
        url = gateway.status.url
        await metrics_once(
            f"{url}/metrics",
            lambda m: m.get(SHED, 0) > 0,
            "heart-rate samples shed from the full queue",
        )
        sos = next(d for d in home.devices if d.device_id == "sos")
        await sos.press("long_press")  # type: ignore[attr-defined]
        found = await metrics_once(
            f"{url}/metrics",
            lambda m: m.get(("anxin_edge_alerts_total", ()), 0) == 1 and m[SHED] > 5,
            "the SOS alert, and more samples shed after it",
        )
        queued = gateway.queue.peek(100)
        status, content_type, page = await fetch(f"{url}/status")
        _, _, page_en = await fetch(f"{url}/status?lang=en")
        _, _, root = await fetch(url)
    finally:
        await gateway.stop()
        await home.stop()
    assert found[("anxin_edge_broker_connected", ())] == 0
    assert found[("anxin_edge_queue_depth", ())] == 30  # at its bound
    assert [m.channel for m in queued].count("alerts") == 1  # the SOS outlived the shedding
    assert found[("anxin_edge_queue_oldest_age_seconds", ())] >= 0
    assert status == 200 and content_type.startswith("text/html")
    assert 'lang="zh-CN"' in page
    assert "<b>紧急呼叫</b>" in part(page, "alerts")  # raised here, with the internet down
    assert "未连接" in part(page, "cloud")
    assert "30 条" in part(page, "queue")
    assert "心率带" in part(page, "devices") and "紧急呼叫按钮" in part(page, "devices")
    assert 'lang="en"' in page_en
    assert "<b>SOS button pressed</b>" in part(page_en, "alerts")
    assert "Not connected" in part(page_en, "cloud")
    assert "未连接" in part(root, "cloud")  # / leads to the status page


def part(page: str, element_id: str) -> str:
    """The element with ``element_id``, up to its closing tag."""
    start = page.index(f'id="{element_id}"')
    tag = page[page.rindex("<", 0, start) + 1 : start].split()[0]
    return page[start : page.index(f"</{tag}>", start)]


class Webhook:
    """A receiver on the home network that fails its first ``failures`` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.bodies: list[dict] = []
        self.requests = 0
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.requests <= self.failures:
            return web.Response(status=503)
        self.bodies.append(await request.json())
        return web.Response(status=204)

    async def __aenter__(self) -> Webhook:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def press_sos_without_a_broker(
    webhook_url: str, topic_root: str, tmp_path: Path, done: Callable[[Gateway], bool]
) -> Gateway:
    home = home_with_strap_and_button()
    await home.start()
    config = gateway_config(
        home,
        ("127.0.0.1", free_port()),
        topic_root,
        tmp_path / "q.sqlite",
        local_webhook_url=webhook_url,
    )
    gateway = Gateway(config, BumbleRadio(home.link))
    await gateway.start()
    try:
        sos = next(d for d in home.devices if d.device_id == "sos")
        await sos.press("long_press")  # type: ignore[attr-defined]
        await eventually(lambda: done(gateway), 30, what="the local webhook's outcome")
    finally:
        await gateway.stop()
        await home.stop()
    return gateway


async def test_an_sos_reaches_the_local_webhook_with_the_internet_down(
    topic_root: str, tmp_path: Path
) -> None:
    async with Webhook(failures=2) as webhook:  # a hub still starting up answers 503
        gateway = await press_sos_without_a_broker(
            webhook.url, topic_root, tmp_path, lambda g: bool(g.notifier.counters["sent"])
        )
    assert gateway.notifier is not None
    assert gateway.notifier.counters == {"sent": 1}
    assert webhook.requests == 3
    (body,) = webhook.bodies
    assert body["title"] == {"zh": "紧急呼叫", "en": "SOS button pressed"}
    assert body["alert"]["kind"] == "sos" and body["alert"]["severity"] == "critical"
    assert body["alert"]["device_id"] == "sos" and body["alert"]["gateway_id"] == "gw-3"


async def test_an_unreachable_webhook_is_counted_and_the_alert_still_waits_to_be_sent(
    topic_root: str, tmp_path: Path
) -> None:
    gateway = await press_sos_without_a_broker(
        f"http://127.0.0.1:{free_port()}/hook",
        topic_root,
        tmp_path,
        lambda g: bool(g.notifier.counters["failed"]),
    )
    assert gateway.notifier is not None
    assert gateway.notifier.counters == {"failed": 1}
    reopened = DiskQueue(tmp_path / "q.sqlite")
    assert [m.channel for m in reopened.peek(100)].count("alerts") == 1
    reopened.close()
