"""A webhook host resolver that answers from a table, so tests never ask real DNS."""

from __future__ import annotations

from collections.abc import Sequence

from anxin.cloud.notify.webhook_target import HostNotResolved


class TableResolver:
    """Answers from ``table`` (host -> addresses), which a test may change between calls;
    any other name does not resolve."""

    def __init__(self, table: dict[str, Sequence[str]] | None = None) -> None:
        self.table = dict(table or {})
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.table:
            raise HostNotResolved(f"host '{host}' does not resolve")
        return self.table[host]
