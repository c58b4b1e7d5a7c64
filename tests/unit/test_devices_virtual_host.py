"""A bumble host on a virtual controller stops when cancelled, even mid-command."""

from __future__ import annotations

import asyncio

from bumble import hci
from bumble.controller import Controller
from bumble.link import LocalLink

from anxin.devices.virtual_host import virtual_host_device


async def test_a_task_cancelled_as_its_command_is_answered_ends() -> None:
    device = virtual_host_device("host", "F0:00:00:00:00:01", Controller("c", link=LocalLink()))
    await device.power_on()
    answers = 0

    async def keep_asking() -> None:
        nonlocal answers
        while True:
            await device.send_sync_command(hci.HCI_Read_BD_ADDR_Command())
            answers += 1

    task = asyncio.create_task(keep_asking())
    answer = device.host.on_command_processed

    def answer_then_cancel(event: hci.HCI_Event) -> None:
        answer(event)  # the answer is in, the asking task not yet resumed
        if answers == 3:
            task.cancel()

    device.host.on_command_processed = answer_then_cancel  # type: ignore[method-assign]
    # A cancellation lost in asyncio.wait_for (Python 3.11) leaves the task asking for
    # ever; the wait's bound only turns such a hang into a failure.
    await asyncio.wait({task}, timeout=10)
    ended = task.done()
    while not task.done():  # end a task that lost its cancellation, to report it
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    await device.power_off()
    assert ended, f"the cancelled task kept asking: {answers} answers"
    assert task.cancelled()
    assert answers == 3
