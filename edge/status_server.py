"""The gateway's local web server: ``/metrics`` for Prometheus and ``/status``, a page
for the family or an installer on the home network. Both work with the internet down."""

from __future__ import annotations

import html
import logging
import time
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from anxin.dashboard import i18n
from anxin.edge.metrics import GatewayCollector
from anxin.protocol import AlertMessage

if TYPE_CHECKING:
    from anxin.edge.gateway import Gateway

log = logging.getLogger(__name__)

RECENT_ALERTS = 20
REFRESH_S = 10


class StatusServer:
    """Serves ``/metrics`` and ``/status`` for one gateway on ``host:port`` (0: any port)."""

    def __init__(self, gateway: Gateway, host: str, port: int) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self.recent_alerts: deque[AlertMessage] = deque(maxlen=RECENT_ALERTS)
        self.registry = CollectorRegistry()
        self.registry.register(GatewayCollector(gateway))
        gateway.alert_listeners.append(self.recent_alerts.appendleft)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/status", self._status)
        app.router.add_get("/", self._root)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the real port when 0 was asked
        log.info("gateway status at http://%s:%d/status", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _root(self, _request: web.Request) -> web.Response:
        raise web.HTTPFound("/status")

    async def _status(self, request: web.Request) -> web.Response:
        language = i18n.language_or_default(request.query.get("lang"))
        return web.Response(text=self.render(language), content_type="text/html")

    def render(self, language: str) -> str:
        gateway = self.gateway
        config = gateway.config

        def t(key: str, **fields: object) -> str:
            return html.escape(i18n.text(f"gateway_page.{key}", language, **fields))

        connected = gateway.uplink.connected
        depth = gateway.queue.depth()
        waiting = t("waiting_count", count=depth)
        oldest_ms = gateway.queue.oldest_queued_ms()
        if oldest_ms is not None:
            minutes = int(max(0.0, time.time() - oldest_ms / 1000) // 60)
            waiting += " · " + t("oldest", minutes=minutes)
        states = gateway.device_states()
        scan_mode = getattr(gateway.radio, "scan_mode_in_effect", None)
        scanning = f'<p id="scan">{t("scan_" + scan_mode)}</p>' if scan_mode else ""
        device_rows = "".join(
            f"<tr><td>{html.escape(i18n.device_kind(d.kind, language))}"
            f"<br><small>{html.escape(d.device_id)}</small></td>"
            f'<td class="state-{html.escape(states.get(d.device_id, "unknown"))}">'
            f"{html.escape(i18n.device_state(states.get(d.device_id, 'unknown'), language))}</td></tr>"
            for d in config.devices
        )
        zone = ZoneInfo(config.analytics.timezone)
        alert_rows = (
            "".join(
                f'<li class="severity-{html.escape(a.severity)}">'
                f"<b>{html.escape(i18n.alert_kind(a.kind, language))}</b> "
                f"{html.escape(_clock(a.raised_at_ms, zone))}</li>"
                for a in self.recent_alerts
            )
            or f"<li>{t('no_alerts')}</li>"
        )
        other = "en" if language == "zh" else "zh"
        lang_attr = "zh-CN" if language == "zh" else "en"
        return f"""<!doctype html>
<html lang="{lang_attr}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{REFRESH_S}">
<title>{t("title")}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 28px; line-height: 1.5;
  background: #fff; color: #000; margin: 1em; }}
h1 {{ font-size: 40px; }} h2 {{ font-size: 34px; border-bottom: 3px solid #000; }}
table {{ border-collapse: collapse; }} td {{ padding: .3em 1em .3em 0; }}
small {{ font-size: 20px; color: #333; }}
.up {{ color: #005a00; font-weight: bold; }} .down {{ color: #a00000; font-weight: bold; }}
.severity-critical, .severity-high {{ color: #a00000; }}
a {{ color: #00339a; }}
</style></head><body>
<p><a href="?lang={other}">{t("switch")}</a></p>
<h1>{t("title")}</h1>
<p><small>{html.escape(config.gateway.site_id)} · {html.escape(config.gateway.gateway_id)}</small></p>
<h2>{t("cloud")}</h2>
<p id="cloud" class="{"up" if connected else "down"}">{t("cloud_up") if connected else t("cloud_down")}</p>
<p id="queue">{t("waiting")}{waiting}</p>
<h2>{t("alerts")}</h2>
<ul id="alerts">{alert_rows}</ul>
<h2>{t("devices")}</h2>
<table id="devices">{device_rows}</table>
{scanning}
</body></html>
"""


def _clock(at_ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(at_ms / 1000, zone).strftime("%m-%d %H:%M:%S")
