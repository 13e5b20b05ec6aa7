"""TCP transport: the same COBS stream as serial, for networked devices and the simulator."""

from __future__ import annotations

import asyncio
import socket

from medctl.errors import TransportError
from medctl.transport.stream import StreamTransport

#: A device on the local network answers a TCP connect well within this.
CONNECT_TIMEOUT_S = 5.0


class TcpTransport(StreamTransport):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"tcp://{host}:{port}")
        self.host = host
        self.port = port

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError as exc:
            raise TransportError(f"cannot connect to {self.description}: no answer in {CONNECT_TIMEOUT_S:g} s") from exc
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.description}: {exc.strerror or exc}") from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # frames are tiny; don't batch them
        return reader, writer
