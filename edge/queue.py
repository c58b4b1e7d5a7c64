"""Store and forward on disk: everything is queued before it is sent, deleted only when acknowledged.

SQLite in WAL mode with synchronous=FULL, so a row that ``put`` returned for
survives ``kill -9`` and power loss. Sequence numbers are allocated in the same
transaction as the row, so they never repeat across restarts.

The queue is bounded by ``max_messages``. When a put would pass the bound, the oldest
rows marked sheddable (high-rate raw samples) are deleted in the same transaction. Alerts
and other rows are never shed: if only they are left, the queue grows past its bound
rather than lose one.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Channel = Literal["observations", "alerts", "command_results"]
_PRIORITY = {"alerts": 0, "command_results": 0, "observations": 1}


@dataclass(frozen=True)
class QueuedMessage:
    seq: int
    channel: Channel
    body: str  # JSON of one Observation, AlertMessage or CommandResult


class DiskQueue:
    def __init__(self, path: Path, max_messages: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_messages = max_messages
        self.shed = 0  # rows deleted unsent to keep within max_messages, since opening
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
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "sheddable" not in columns:  # a queue written before the bound existed
            self._db.execute("ALTER TABLE outbox ADD COLUMN sheddable INTEGER NOT NULL DEFAULT 0")
        self._db.execute("CREATE INDEX IF NOT EXISTS outbox_shed_order ON outbox (sheddable, seq)")
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._shedding = False

    def put(
        self,
        channel: Channel,
        count: int,
        make_bodies: Callable[[list[int]], Sequence[str]],
        sheddable: Sequence[bool] | bool = False,
    ) -> list[int]:
        """Allocate ``count`` sequence numbers and store the bodies made from them, atomically.

        ``sheddable`` marks high-rate raw samples (per row, or all rows) that may be
        deleted unsent, oldest first, to keep the queue within ``max_messages``.
        """
        flags = [sheddable] * count if isinstance(sheddable, bool) else list(sheddable)
        if len(flags) != count:
            raise ValueError(f"sheddable has {len(flags)} flags for {count} rows")
        now = int(time.time() * 1000)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            first = self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
            seqs = list(range(first, first + count))
            bodies = make_bodies(seqs)
            self._db.executemany(
                "INSERT INTO outbox (seq, channel, priority, body, queued_ms, sheddable)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (seq, channel, _PRIORITY[channel], body, now, int(flag))
                    for seq, body, flag in zip(seqs, bodies, flags, strict=True)
                ],
            )
            self._db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (first + count,))
            shed = self._shed(self._depth + count)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._depth += count - shed
        self._note_shedding(shed)
        return seqs

    def _shed(self, depth: int) -> int:
        excess = 0 if self.max_messages is None else depth - self.max_messages
        if excess <= 0:
            return 0
        return self._db.execute(
            "DELETE FROM outbox WHERE seq IN"
            " (SELECT seq FROM outbox WHERE sheddable=1 ORDER BY seq LIMIT ?)",
            (excess,),
        ).rowcount

    def _note_shedding(self, shed: int) -> None:
        self.shed += shed
        if shed and not self._shedding:
            log.warning(
                "queue full (%s messages): shedding the oldest raw samples", self.max_messages
            )
        self._shedding = shed > 0

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
        deleted = self._db.executemany(
            "DELETE FROM outbox WHERE seq=?", [(seq,) for seq in seqs]
        ).rowcount
        self._depth -= max(0, deleted)

    def depth(self) -> int:
        return self._depth

    def oldest_queued_ms(self) -> int | None:
        row = self._db.execute("SELECT MIN(queued_ms) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    def close(self) -> None:
        self._db.close()
