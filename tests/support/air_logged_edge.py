"""``anxin edge --simulate`` in a process of its own whose simulated devices append every
frame they put on the air to a file, one JSON line each, written straight to the file
descriptor: ``kill -9`` of the process loses none that was sent.

    python -m tests.support.air_logged_edge AIR_LOG anxin-edge-arguments...
"""

from __future__ import annotations

import json
import os
import sys

from anxin.cli import main
from anxin.firmware_sim.simulated import AirFrame, SimulatedDevice


class _AirFile(list[AirFrame]):
    """What ``SimulatedDevice.air_log`` appends to, written out at once."""

    def __init__(self, fd: int, device: SimulatedDevice) -> None:
        super().__init__()
        self.fd = fd
        self.device = device

    def append(self, frame: AirFrame) -> None:
        line = {
            "device_id": self.device.device_id,
            "address": self.device.address,
            "uuid": int.from_bytes(frame.uuid.uuid_bytes, "little"),
            "payload": frame.payload.hex(),
            "at_ms": frame.at_ms,
        }
        os.write(self.fd, (json.dumps(line) + "\n").encode())


def _logging_to(fd: int) -> None:
    start = SimulatedDevice.start

    async def start_logged(self: SimulatedDevice) -> None:
        self.air_log = _AirFile(fd, self)
        await start(self)

    SimulatedDevice.start = start_logged  # type: ignore[method-assign]


if __name__ == "__main__":
    log_fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _logging_to(log_fd)
    sys.exit(main(sys.argv[2:]))
