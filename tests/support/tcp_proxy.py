"""A TCP proxy a test puts between a client and a server to break the network between
them: ``reset()`` every connection at once, or ``blackhole()`` it, the realistic cut
(nothing gets through and nothing is closed: the ends notice only by their own
timeouts, an MQTT client by its keepalive), then ``restore()``.

During a cut the proxy holds what each end sends, as the ends' TCP stacks would while
retransmitting. On ``restore()`` a connection that survived the cut with both ends open
gets those bytes and carries on; one that an end gave up on meanwhile is reset, as the
first segment reaching the end that closed would reset it. A connection opened during
the cut reaches the server only on ``restore()``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

_CHUNK = 65536


@dataclass(eq=False)
class _Connection:
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    held: list[tuple[bool, bytes]] = field(default_factory=list)  # (to the server?, bytes)
    ended: bool = False  # an end closed during a cut
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def writers(self) -> list[asyncio.StreamWriter]:
        return [self.client[1]] + ([self.server[1]] if self.server else [])


class TcpProxy:
    """Listens on 127.0.0.1 (``port``, chosen by the system) and forwards to ``upstream``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.cut = False
        self.accepted = 0  # connections accepted so far
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.reset()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def reset(self) -> None:
        """Every connection reset at once (both ends see a connection reset)."""
        for connection in list(self._connections):
            self._abort(connection)

    def blackhole(self) -> None:
        """From now on nothing gets through, in either direction, and nothing closes."""
        self.cut = True

    def restore(self) -> None:
        """The network is back: held bytes flow on connections whose ends both stayed."""
        if not self.cut:
            return
        self.cut = False
        for connection in list(self._connections):
            if connection.ended:
                self._abort(connection)
            elif connection.server is None:
                connection.tasks.append(asyncio.create_task(self._reach_server(connection)))
            else:
                self._flush(connection)

    # -- forwarding ------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(client=(reader, writer))
        self._connections.add(connection)
        self.accepted += 1
        connection.tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        if not self.cut:
            await self._reach_server(connection)
        # Read from the client whether or not the server is reached yet: during a cut
        # its bytes are held and its closing noticed.
        await self._pump(connection, reader, to_server=True)

    async def _reach_server(self, connection: _Connection) -> None:
        try:
            connection.server = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._abort(connection)
            return
        self._flush(connection)
        connection.tasks.append(
            asyncio.create_task(self._pump(connection, connection.server[0], to_server=False))
        )

    async def _pump(
        self, connection: _Connection, reader: asyncio.StreamReader, to_server: bool
    ) -> None:
        while connection in self._connections:
            try:
                data = await reader.read(_CHUNK)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                if self.cut:
                    connection.ended = True  # its end learns only after the cut
                else:
                    self._abort(connection)
                return
            if self.cut or connection.server is None:
                connection.held.append((to_server, data))
                continue
            self._write(connection, to_server, data)

    def _flush(self, connection: _Connection) -> None:
        held, connection.held = connection.held, []
        for to_server, data in held:
            self._write(connection, to_server, data)

    def _write(self, connection: _Connection, to_server: bool, data: bytes) -> None:
        target = connection.server if to_server else connection.client
        assert target is not None
        target[1].write(data)

    def _abort(self, connection: _Connection) -> None:
        if connection not in self._connections:
            return
        self._connections.discard(connection)
        for writer in connection.writers():
            with contextlib.suppress(Exception):
                writer.transport.abort()
        current = asyncio.current_task()
        for task in connection.tasks:
            if task is not current:
                task.cancel()
