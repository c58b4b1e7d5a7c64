"""The local action for an alert: a POST to a webhook on the home network (a smart
speaker, a home hub, a carer's bell). It needs no internet, so it happens even when the
cloud is out of reach."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import aiohttp

from anxin.dashboard import i18n
from anxin.protocol import AlertMessage
from anxin.runtime import cancel_and_wait

log = logging.getLogger(__name__)

PENDING_LIMIT = 100  # alerts waiting for the webhook; past it the oldest is dropped
RETRY_DELAYS_S = (1.0, 2.0, 4.0)


def webhook_body(alert: AlertMessage) -> dict[str, Any]:
    return {
        "title": {language: i18n.alert_kind(alert.kind, language) for language in i18n.LANGUAGES},
        "alert": alert.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


class LocalNotifier:
    """Posts each alert as JSON to ``url``, in order, retrying a failed post a few times."""

    def __init__(
        self, url: str, timeout_s: float = 5.0, retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.retry_delays_s = retry_delays_s
        self.counters: Counter[str] = Counter()  # sent, failed, dropped
        self._pending: asyncio.Queue[AlertMessage] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def notify(self, alert: AlertMessage) -> None:
        if self._pending.qsize() >= PENDING_LIMIT:
            self._pending.get_nowait()
            self.counters["dropped"] += 1
        self._pending.put_nowait(alert)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="local-notifier")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                alert = await self._pending.get()
                if await self._post(session, alert):
                    self.counters["sent"] += 1
                else:
                    self.counters["failed"] += 1
                    log.error("local webhook %s gave up on alert %s", self.url, alert.kind)

    async def _post(self, session: aiohttp.ClientSession, alert: AlertMessage) -> bool:
        body = webhook_body(alert)
        for attempt, delay in enumerate((0.0, *self.retry_delays_s)):
            await asyncio.sleep(delay)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.post(self.url, json=body) as response:
                    if response.status < 300:
                        return True
                    log.warning(
                        "local webhook answered %d (attempt %d)", response.status, attempt + 1
                    )
        return False
