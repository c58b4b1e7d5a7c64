"""The one error every decoder raises for a frame it cannot accept."""

from __future__ import annotations


class FrameError(ValueError):
    """A frame was truncated, oversized, inconsistent or not supported.

    Carries what was being decoded (``characteristic`` name and ``uuid``), the
    byte ``offset`` where decoding stopped, and the ``reason``; the message names
    all three so a log line alone is enough to find the fault.
    """

    def __init__(self, characteristic: str, uuid: str, offset: int, reason: str) -> None:
        self.characteristic = characteristic
        self.uuid = uuid
        self.offset = offset
        self.reason = reason
        super().__init__(f"{characteristic} ({uuid}): at byte {offset}: {reason}")

    def __reduce__(self):  # keep picklable despite the custom signature
        return (type(self), (self.characteristic, self.uuid, self.offset, self.reason))
