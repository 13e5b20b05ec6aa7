"""The simulated device on a TCP port: one link per accepted connection, COBS-framed.

Each connection gets its own :class:`~simulator.port.StreamPort`. Writes go to the
transport's buffer and never block; a connection whose peer stopped reading has frames
dropped once its buffer passes a limit. Dropping the links closes every connection; the
server keeps listening, so a controller can reconnect at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from simulator.faults import FaultInjector
from simulator.firmware import Firmware
from simulator.port import StreamPort

#: Above this many unsent bytes a connection drops outgoing frames instead of buffering more.
WRITE_BUFFER_LIMIT: Final = 64 * 1024


class _Connection(asyncio.Protocol):
    """One accepted TCP connection feeding its own port."""

    def __init__(self, endpoint: TcpEndpoint) -> None:
        self._endpoint = endpoint
        self._transport: asyncio.Transport | None = None
        self._port: StreamPort | None = None
        self.dropped_writes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self._port = self._endpoint._accept(self, f"tcp:{host}:{port}", self._write)

    def data_received(self, data: bytes) -> None:
        if self._port is not None:
            self._port.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def inject(self, data: bytes) -> None:
        if self._port is not None:
            self._port.inject(data)

    def close(self) -> None:
        self._endpoint._forget(self)
        if self._port is not None:
            self._port.close()
            self._port = None
        if self._transport is not None:
            self._transport.close()

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            self.dropped_writes += 1
            return
        transport.write(data)


class TcpEndpoint:
    """A listening TCP server serving the firmware at ``host``:``port``."""

    def __init__(self, firmware: Firmware, faults: FaultInjector) -> None:
        self._firmware = firmware
        self._faults = faults
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._unregister = faults.register(self)
        self.host = ""
        self.port = 0

    @classmethod
    async def start(cls, firmware: Firmware, faults: FaultInjector, host: str, port: int) -> TcpEndpoint:
        """Listen on *host*:*port* (0 picks a free port, see ``.port``)."""
        endpoint = cls(firmware, faults)
        loop = asyncio.get_running_loop()
        endpoint._server = await loop.create_server(lambda: _Connection(endpoint), host, port)
        endpoint.host, endpoint.port = endpoint._server.sockets[0].getsockname()[:2]
        return endpoint

    @property
    def connections(self) -> int:
        return len(self._connections)

    def drop(self) -> None:
        for connection in list(self._connections):
            connection.close()

    def restore(self) -> None:
        """Nothing to restore: the server kept listening."""

    def inject(self, data: bytes) -> None:
        for connection in list(self._connections):
            connection.inject(data)

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._unregister()
        if self._server is not None:
            self._server.close()
        self.drop()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, connection: _Connection, name: str, write: Callable[[bytes], None]) -> StreamPort:
        self._connections.add(connection)
        return StreamPort(name, self._firmware, self._faults, write)

    def _forget(self, connection: _Connection) -> None:
        self._connections.discard(connection)
