"""Cached GATT tables: the attribute handles a device's streamed characteristics live at.

Service discovery costs a dozen ATT round trips on every connection, and wearables drop
their link many times a day. The first connection discovers; later ones check each
cached characteristic declaration with one ATT Read and subscribe through the cached
handles. A table that changed (a firmware update) fails that check and is rediscovered.

Entries are kept in memory and, when given a path, in a small JSON file next to the
gateway's queue, so a restarted gateway skips discovery too.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CachedCharacteristic:
    uuid: int
    value_handle: int
    end_handle: int
    properties: int
    cccd_handle: int

    @property
    def declaration_handle(self) -> int:
        # The value attribute always directly follows its declaration (Core Vol 3 Part G 3.3).
        return self.value_handle - 1

    def declaration(self, uuid_pdu_bytes: bytes) -> bytes:
        """The bytes the server returns when its declaration attribute is read."""
        return struct.pack("<BH", self.properties, self.value_handle) + uuid_pdu_bytes


@dataclass(frozen=True)
class CachedTable:
    kind: str
    characteristics: tuple[CachedCharacteristic, ...]


class GattCache:
    """Per-address tables, optionally persisted to ``path`` (JSON, rewritten atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._tables: dict[str, CachedTable] = {}
        if path is not None:
            self._tables = _load(path)

    def get(self, address: str, kind: str) -> CachedTable | None:
        table = self._tables.get(address)
        return table if table is not None and table.kind == kind else None

    def put(self, address: str, table: CachedTable) -> None:
        self._tables[address] = table
        self._save()

    def drop(self, address: str) -> None:
        if self._tables.pop(address, None) is not None:
            self._save()

    def __contains__(self, address: str) -> bool:
        return address in self._tables

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "format": FORMAT_VERSION,
            "devices": {
                address: {
                    "kind": table.kind,
                    "characteristics": [asdict(c) for c in table.characteristics],
                }
                for address, table in self._tables.items()
            },
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(temporary, self.path)
        except OSError as error:
            # Only a cost: the next connection discovers again.
            logger.warning("cannot save the GATT cache to %s: %s", self.path, error)


def _load(path: Path) -> dict[str, CachedTable]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        logger.warning("ignoring unreadable GATT cache %s: %s", path, error)
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        logger.warning("ignoring GATT cache %s of another format", path)
        return {}
    tables: dict[str, CachedTable] = {}
    for address, entry in (data.get("devices") or {}).items():
        try:
            tables[address] = CachedTable(
                kind=str(entry["kind"]),
                characteristics=tuple(
                    CachedCharacteristic(**{k: int(v) for k, v in c.items()})
                    for c in entry["characteristics"]
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            logger.warning("ignoring GATT cache entry for %s in %s: %s", address, path, error)
    return tables
