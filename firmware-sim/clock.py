"""Simulated time: the models run on seconds of simulated time that may pass faster
than wall time, so a test can play out minutes of physiology in seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Simulated seconds since the clock's origin."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of simulated time."""
        ...


class ScaledClock:
    """Simulated time = (wall seconds since creation) * ``speed`` + ``start_s``."""

    def __init__(
        self,
        speed: float = 1.0,
        start_s: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.start_s = start_s
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> float:
        return self.start_s + (self._monotonic() - self._origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
