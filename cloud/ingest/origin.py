"""Whose readings a gateway may send: only its own site's devices, and only if enrolled.

A gateway is enrolled for one site (a row in ``gateways``, made when an administrator
enrols it or the registry is seeded); a device belongs to the site of the gateway it is
registered to. A reading or alert is accepted only from an enrolled gateway of the site its
device belongs to; a device the registry does not know is accepted from any enrolled
gateway and stored against nobody. Lookups are cached briefly and made once per message
for all its devices, never per observation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from sqlalchemy import select

from anxin.cloud.database.models import Device, Gateway
from anxin.cloud.registry.registry import Registry

CACHE_S = 10.0
# The cache is dropped whole when it grows past this (many unknown device ids, say).
MAX_CACHED = 100_000


class OriginRefused(ValueError):
    """A message from a gateway that may not send it; ``reason`` names who and why."""

    def __init__(self, gateway_id: str, site_id: str, reason: str) -> None:
        super().__init__(reason)
        self.gateway_id = gateway_id
        self.site_id = site_id
        self.reason = reason


class Origins:
    def __init__(self, registry: Registry, cache_s: float = CACHE_S) -> None:
        self.registry = registry
        self.cache_s = cache_s
        # gateway id -> (looked up at, its site); unknown gateways are never cached, so a
        # gateway enrolled a moment ago is accepted at once.
        self._gateways: dict[str, tuple[float, str]] = {}
        # device id -> (looked up at, its site, or None for a device not registered)
        self._devices: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def check(self, gateway_id: str, site_id: str, device_ids: Iterable[str] = ()) -> None:
        """Raise OriginRefused unless the gateway is enrolled for ``site_id`` and every
        device belongs to that site or is not registered at all."""
        enrolled_site = self._gateway_site(gateway_id)
        if enrolled_site is None:
            raise OriginRefused(gateway_id, site_id, f"gateway {gateway_id} is not enrolled")
        if enrolled_site != site_id:
            raise OriginRefused(
                gateway_id,
                site_id,
                f"gateway {gateway_id} is enrolled for site {enrolled_site}, not {site_id}",
            )
        for device_id, device_site in self._device_sites(set(device_ids)).items():
            if device_site is not None and device_site != site_id:
                raise OriginRefused(
                    gateway_id,
                    site_id,
                    f"device {device_id} belongs to site {device_site}, not {site_id}",
                )

    def forget(self) -> None:
        with self._lock:
            self._gateways.clear()
            self._devices.clear()

    def _gateway_site(self, gateway_id: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._gateways.get(gateway_id)
        if cached is not None and now - cached[0] <= self.cache_s:
            return cached[1]
        with self.registry.session() as session:
            gateway = session.get(Gateway, gateway_id)
            site = None if gateway is None else gateway.site_id
        if site is not None:
            with self._lock:
                if len(self._gateways) > MAX_CACHED:
                    self._gateways.clear()
                self._gateways[gateway_id] = (now, site)
        return site

    def _device_sites(self, device_ids: set[str]) -> dict[str, str | None]:
        now = time.monotonic()
        found: dict[str, str | None] = {}
        with self._lock:
            for device_id in device_ids:
                cached = self._devices.get(device_id)
                if cached is not None and now - cached[0] <= self.cache_s:
                    found[device_id] = cached[1]
        missing = device_ids - found.keys()
        if missing:
            query = (
                select(Device.id, Gateway.site_id)
                .join(Gateway, Gateway.id == Device.gateway_id)
                .where(Device.id.in_(sorted(missing)))
            )
            with self.registry.session() as session:
                looked_up: dict[str, str | None] = dict.fromkeys(missing)
                looked_up.update({row[0]: row[1] for row in session.execute(query)})
            with self._lock:
                if len(self._devices) > MAX_CACHED:
                    self._devices.clear()
                for device_id, site in looked_up.items():
                    self._devices[device_id] = (now, site)
            found.update(looked_up)
        return found
