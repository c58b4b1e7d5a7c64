"""A bumble host on a virtual controller, shared by the simulated devices and the
gateway's bumble radio."""

from __future__ import annotations

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink


def virtual_host_device(name: str, address: str, controller: Controller) -> Device:
    """A bumble ``Device`` whose host talks HCI to ``controller`` in-process.

    bumble waits for each HCI command's answer with ``asyncio.wait_for(answer,
    command_timeout)``. On Python 3.11 that call returns the answer and drops the
    cancellation when a task is cancelled just as the answer arrives (CPython
    gh-86296), so a task stopped mid-command would run on and its stop would wait for
    ever. A virtual controller answers every command, so the wait needs no timeout,
    and without one ``wait_for`` is a plain await that a cancellation always ends.
    """
    device = Device(
        name=name,
        address=Address(address),
        host=Host(controller, AsyncPipeSink(controller)),
    )
    device.command_timeout = None  # type: ignore[assignment]
    return device
