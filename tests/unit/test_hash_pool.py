"""The password-hashing pool: its own threads, at a lower priority, with a bounded wait."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from anxin.cloud.access.hash_pool import THREAD_NAME, HashPool, HashPoolBusy


def where_and_how_nice() -> tuple[str, int]:
    niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    return threading.current_thread().name, niceness


async def test_hashing_runs_on_its_own_threads_which_yield_the_cpu_to_the_api() -> None:
    pool = HashPool(threads=1, queue=0)
    with pool.reserve() as ticket:
        name, niceness = await ticket.run(where_and_how_nice)
    assert name.startswith(THREAD_NAME)
    if sys.platform == "linux":
        assert niceness > os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_past_the_threads_and_the_queue_a_login_is_turned_away_until_a_place_frees() -> None:
    pool = HashPool(threads=2, queue=1)
    held = [pool.reserve() for _ in range(3)]
    with pytest.raises(HashPoolBusy):
        pool.reserve()
    held[0].__exit__(None, None, None)
    with pool.reserve():
        assert pool.taken == 3
    assert pool.taken == 2
