"""The demo stack running on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anxin.demo.stack import DemoStack, ephemeral_config


@contextmanager
def running_demo(
    data_dir: Path, scenario_start_s: float = 5.0, homes: int = 3
) -> Iterator[DemoStack]:
    stack = DemoStack(ephemeral_config(data_dir, homes, scenario_start_s))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="demo-loop", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(stack.start(), loop).result(timeout=60)
        yield stack
    finally:
        asyncio.run_coroutine_threadsafe(stack.stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
