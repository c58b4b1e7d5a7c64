"""The demo stack running on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anxin.config import DemoConfig
from anxin.demo.stack import DemoStack


@contextmanager
def running_demo(
    data_dir: Path, scenario_start_s: float = 5.0, homes: int = 3
) -> Iterator[DemoStack]:
    config = DemoConfig(
        data_dir=data_dir,
        homes=homes,
        broker_port=0,
        api_port=0,
        dashboard_port=0,
        scenario_start_s=scenario_start_s,
    )
    stack = DemoStack(config)
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
