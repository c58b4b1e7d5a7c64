"""Threads of their own for password hashing, with a bounded wait.

Argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB per check). Run on the
event loop's default executor, a burst of logins would fill the threads every database
query of the API waits for, so one stranger posting wrong passwords could slow every
worker's inbox. Here hashing gets a few threads of its own, and a login arriving when
``threads + queue`` hashes are already running or waiting is turned away at once (the
caller answers 503 with Retry-After) instead of joining an unbounded queue.

Bounding the threads does not bound the CPU: argon2 runs each hash on as many threads
of its own as it has lanes (4), so two hashes can keep eight threads busy. The pool's
threads therefore run at a lower priority (nice +10, which the lane threads they start
inherit on Linux): when the API has work, the scheduler gives it the CPU first, and logins
wait longer instead (and, past the queue, are told to come back).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")
THREAD_NAME = "anxin-password-hash"
NICENESS = 10


def _lower_priority() -> None:
    """Make the calling thread (and the threads it starts) yield the CPU to others."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the default priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


class HashPoolBusy(Exception):
    """Too many logins are already waiting for a password check."""


class HashPool:
    def __init__(self, threads: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=THREAD_NAME, initializer=_lower_priority
        )
        self.capacity = threads + queue
        self._taken = 0
        self._lock = threading.Lock()

    @property
    def taken(self) -> int:
        """Logins holding a place: hashing, or waiting for a thread."""
        return self._taken

    def reserve(self) -> HashTicket:
        """A place for one login's hashing, or HashPoolBusy when none is free."""
        with self._lock:
            if self._taken >= self.capacity:
                raise HashPoolBusy
            self._taken += 1
        return HashTicket(self)

    def _release(self) -> None:
        with self._lock:
            self._taken -= 1

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)


class HashTicket:
    """One login's place in the pool: hash with ``run`` as often as the login needs, and
    give the place back by leaving the ``with`` block."""

    def __init__(self, pool: HashPool) -> None:
        self._pool: HashPool | None = pool

    async def run(self, work: Callable[..., T], *args: object) -> T:
        if self._pool is None:
            raise RuntimeError("this place in the hash pool was given back")
        return await self._pool._run(work, *args)

    def __enter__(self) -> HashTicket:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool._release()
            self._pool = None
