"""Store and forward on disk: everything is queued before it is sent, deleted only when acknowledged.

SQLite in WAL mode with synchronous=FULL, so a row that ``put`` returned for
survives ``kill -9`` and power loss. Sequence numbers are allocated in the same
transaction as the row, so they never repeat across restarts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Channel = Literal["observations", "alerts"]
_PRIORITY = {"alerts": 0, "observations": 1}


@dataclass(frozen=True)
class QueuedMessage:
    seq: int
    channel: Channel
    body: str  # JSON of one Observation or one AlertMessage


class DiskQueue:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY,
                channel TEXT NOT NULL,
                priority INTEGER NOT NULL,
                body TEXT NOT NULL,
                queued_ms INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS outbox_send_order ON outbox (priority, seq);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO meta VALUES ('next_seq', 0);
            """
        )

    def put(
        self, channel: Channel, count: int, make_bodies: Callable[[list[int]], Sequence[str]]
    ) -> list[int]:
        """Allocate ``count`` sequence numbers and store the bodies made from them, atomically."""
        now = int(time.time() * 1000)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            first = self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
            seqs = list(range(first, first + count))
            bodies = make_bodies(seqs)
            self._db.executemany(
                "INSERT INTO outbox (seq, channel, priority, body, queued_ms) VALUES (?, ?, ?, ?, ?)",
                [
                    (seq, channel, _PRIORITY[channel], body, now)
                    for seq, body in zip(seqs, bodies, strict=True)
                ],
            )
            self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (first + count,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return seqs

    def peek(
        self, limit: int, exclude: set[int] | frozenset[int] = frozenset()
    ) -> list[QueuedMessage]:
        """Oldest first, alerts before observations, skipping what is already in flight."""
        rows = self._db.execute(
            "SELECT seq, channel, body FROM outbox ORDER BY priority, seq LIMIT ?",
            (limit + len(exclude),),
        ).fetchall()
        return [
            QueuedMessage(seq, channel, body) for seq, channel, body in rows if seq not in exclude
        ][:limit]

    def ack(self, seqs: Iterable[int]) -> None:
        self._db.executemany("DELETE FROM outbox WHERE seq=?", [(seq,) for seq in seqs])

    def depth(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def oldest_queued_ms(self) -> int | None:
        row = self._db.execute("SELECT MIN(queued_ms) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    def close(self) -> None:
        self._db.close()
