"""A gateway's BTHome v2 receiver: decryption with each device's bind key, packet-id
de-duplication and replay rejection.

Real sensors send each packet several times in a row with the same packet id
(and, when encrypted, the same counter); only the first copy is news. An
encrypted frame whose counter is not above the last accepted one is a replay
(or a reused counter) and is refused. Receiving the latest frame again is
indistinguishable from its legitimate repeats and is simply dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .bthome import BTHomeAdvertisement, decode_bthome
from .errors import FrameError

_UUID_TEXT = "0xFCD2"
_INFO_ENCRYPTED = 0x01


def _address(address: str) -> str:
    return address.strip().upper()


@dataclass(frozen=True)
class _Last:
    packet_id: int | None
    counter: int | None
    raw: bytes


class BTHomeReceiver:
    """Stateful per gateway; ``keys`` maps device address to its 16-byte bind key."""

    def __init__(self, keys: Mapping[str, bytes] | None = None) -> None:
        self._keys = {_address(a): bytes(k) for a, k in (keys or {}).items()}
        self._last: dict[str, _Last] = {}

    def set_key(self, address: str, key: bytes | None) -> None:
        """Bind (or with None unbind) a key; the device's replay state starts afresh."""
        address = _address(address)
        if key is None:
            self._keys.pop(address, None)
        else:
            self._keys[address] = bytes(key)
        self._last.pop(address, None)

    def accept(self, address: str, service_data: bytes) -> BTHomeAdvertisement | None:
        """The decoded advertisement if it is news, None for a repeat; FrameError (naming
        the device) for a frame that cannot be trusted or decoded."""
        address = _address(address)
        data = bytes(service_data)
        name = f"BTHome v2 from {address}"
        key = self._keys.get(address)
        if key is not None and data and not data[0] & _INFO_ENCRYPTED:
            raise FrameError(name, _UUID_TEXT, 0, "unencrypted frame from a device with a key")
        try:
            adv = decode_bthome(data, key=key, address=address if key else None)
        except FrameError as error:
            raise FrameError(name, error.uuid, error.offset, error.reason) from None
        last = self._last.get(address)
        if last is not None:
            if adv.encrypted and data == last.raw:
                return None
            if adv.counter is not None and last.counter is not None and adv.counter <= last.counter:
                raise FrameError(
                    name,
                    _UUID_TEXT,
                    len(data) - 8,
                    f"replayed frame: counter {adv.counter} not above last accepted {last.counter}",
                )
        self._last[address] = _Last(adv.packet_id, adv.counter, data)
        if last is not None and adv.packet_id is not None and adv.packet_id == last.packet_id:
            return None
        return adv
