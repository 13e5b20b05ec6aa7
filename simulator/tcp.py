"""The simulated device on a TCP port: one link per accepted connection, COBS-framed.

Each connection gets its own :class:`~simulator.port.StreamPort`. Writes go to the
transport's buffer and never block; a connection whose peer stopped reading has frames
dropped once its buffer passes a limit. Dropping the links closes every connection; the
server keeps listening, so a controller can reconnect at once.

Anyone who can reach the port is a stranger until proven otherwise, so no connection may
slow the others down (SECURITY.md):

- **Fair reading.** A connection's bytes are handed to the firmware at most
  :data:`SLICE_BYTES` per turn of the event loop; while it has a backlog its reading is
  paused (TCP pushes back on the sender). A flood on one connection therefore delays the
  owner's STOP by one slice, not by the whole flood.
- **A budget for strangers.** Every connection but the owner's is read at most
  :data:`STRANGER_BYTES_PER_S` (a controller's handshake or a pairing is a few hundred
  bytes); beyond it, reading pauses until the budget refills, so a flood costs the device
  next to nothing: the sender's own kernel holds the backlog.
- **A connection cap.** At most ``max_connections``; a new one beyond it evicts the
  connection that has been quiet longest, never the owner's. Extra connections cost no
  file descriptors for long, so the process never runs out of them.
- **An idle timeout.** A connection that sends nothing for ``idle_timeout_s`` is closed.
- **One log line** per eviction burst and per idle close, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from simulator.faults import FaultInjector
from simulator.firmware import Firmware
from simulator.port import StreamPort

#: Above this many unsent bytes a connection drops outgoing frames instead of buffering more.
WRITE_BUFFER_LIMIT: Final = 64 * 1024
#: Bytes of one connection handed to the firmware per event-loop turn (about 14 frames).
SLICE_BYTES: Final = 256
#: Bytes a second read from a connection that is not the owner's, and the burst it may save up.
STRANGER_BYTES_PER_S: Final = 4096
STRANGER_BURST: Final = 1024
#: Connections served at once; a controller needs one, a few spare for tools and reconnects.
MAX_CONNECTIONS: Final = 16
#: A connection that sends nothing this long is closed (a controller heartbeats every second).
IDLE_TIMEOUT_S: Final = 30.0

_LOGGER = logging.getLogger(__name__)


class _Connection(asyncio.Protocol):
    """One accepted TCP connection feeding its own port, a slice per loop turn."""

    def __init__(self, endpoint: TcpEndpoint) -> None:
        self._endpoint = endpoint
        self._transport: asyncio.Transport | None = None
        self._port: StreamPort | None = None
        self._backlog = bytearray()
        self._draining: asyncio.Handle | None = None
        self._budget = float(STRANGER_BURST)
        self._budget_at = 0.0
        self._idle: asyncio.TimerHandle | None = None
        self.name = "tcp:?"
        self.last_heard = 0.0
        self.dropped_writes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.name = f"tcp:{host}:{port}"
        self.last_heard = self._budget_at = asyncio.get_running_loop().time()
        self._port = self._endpoint._accept(self, self.name, self._write)
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        if self._port is None:
            return
        self.last_heard = asyncio.get_running_loop().time()
        self._arm_idle()
        self._backlog += data
        if self._draining is None:
            self._drain()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    @property
    def port(self) -> StreamPort | None:
        return self._port

    def inject(self, data: bytes) -> None:
        if self._port is not None:
            self._port.inject(data)

    def close(self) -> None:
        self._endpoint._forget(self)
        for handle in (self._draining, self._idle):
            if handle is not None:
                handle.cancel()
        self._draining = self._idle = None
        self._backlog.clear()
        if self._port is not None:
            self._port.close()
            self._port = None
        if self._transport is not None:
            self._transport.close()

    def _drain(self) -> None:
        """Feed one slice of the backlog (within a stranger's budget); come back for the rest, reading paused."""
        self._draining = None
        port, transport = self._port, self._transport
        if port is None or transport is None:
            return
        loop = asyncio.get_running_loop()
        size = min(SLICE_BYTES, self._allowance(loop.time(), port))
        if size > 0:
            piece = bytes(self._backlog[:size])
            del self._backlog[:size]
            self._budget -= len(piece)
            port.feed(piece)
        if self._backlog and self._port is not None:
            if not transport.is_closing():
                transport.pause_reading()
            if size > 0:
                self._draining = loop.call_soon(self._drain)
            else:  # out of budget: wait until a slice is affordable
                self._draining = loop.call_later(SLICE_BYTES / STRANGER_BYTES_PER_S, self._drain)
        elif not transport.is_closing():
            transport.resume_reading()

    def _allowance(self, now: float, port: StreamPort) -> int:
        """Bytes this connection may have read now: unlimited for the owner, the refilled budget for others."""
        if port is self._endpoint.owner_link:
            self._budget = float(STRANGER_BURST)
            return SLICE_BYTES
        self._budget = min(float(STRANGER_BURST), self._budget + (now - self._budget_at) * STRANGER_BYTES_PER_S)
        self._budget_at = now
        return max(0, int(self._budget))

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        timeout = self._endpoint.idle_timeout_s
        self._idle = asyncio.get_running_loop().call_later(timeout, self._idle_out)

    def _idle_out(self) -> None:
        self._idle = None
        _LOGGER.info("closed %s: nothing received for %.0f s", self.name, self._endpoint.idle_timeout_s)
        self.close()

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

    def __init__(
        self,
        firmware: Firmware,
        faults: FaultInjector,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        if max_connections < 1 or idle_timeout_s <= 0:
            raise ValueError("a TCP endpoint needs at least one connection and a positive idle timeout")
        self._firmware = firmware
        self._faults = faults
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._unregister = faults.register(self)
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
        #: Connections closed to make room for newer ones since the endpoint started.
        self.evicted = 0
        self._evicting = False
        self.host = ""
        self.port = 0

    @classmethod
    async def start(
        cls,
        firmware: Firmware,
        faults: FaultInjector,
        host: str,
        port: int,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> TcpEndpoint:
        """Listen on *host*:*port* (0 picks a free port, see ``.port``)."""
        endpoint = cls(firmware, faults, max_connections=max_connections, idle_timeout_s=idle_timeout_s)
        loop = asyncio.get_running_loop()
        endpoint._server = await loop.create_server(lambda: _Connection(endpoint), host, port)
        endpoint.host, endpoint.port = endpoint._server.sockets[0].getsockname()[:2]
        return endpoint

    @property
    def connections(self) -> int:
        return len(self._connections)

    @property
    def owner_link(self) -> object:
        return self._firmware.owner_link

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
        if len(self._connections) >= self.max_connections:
            self._evict_for(name)
        else:
            self._evicting = False
        self._connections.add(connection)
        return StreamPort(name, self._firmware, self._faults, write)

    def _evict_for(self, name: str) -> None:
        """Close the connection quiet longest that is not the owner's, to let *name* in."""
        owner = self._firmware.owner_link
        candidates = [c for c in self._connections if c.port is None or c.port is not owner]
        if not candidates:
            return
        victim = min(candidates, key=lambda c: c.last_heard)
        if not self._evicting:  # one line per burst, not one per connection
            _LOGGER.warning(
                "%d TCP connections open (the limit): closing the quietest to let %s in", self.max_connections, name
            )
            self._evicting = True
        self.evicted += 1
        victim.close()

    def _forget(self, connection: _Connection) -> None:
        self._connections.discard(connection)
