"""TCP transport: the same COBS stream as serial, for networked devices and the simulator."""

from __future__ import annotations

import asyncio
import socket

from firmware_protocol import Frame
from medctl.errors import TransportError
from medctl.transport.stream import StreamLink

#: A device on the local network answers a TCP connect well within this.
CONNECT_TIMEOUT_S = 5.0


class TcpTransport:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._link = StreamLink(f"tcp://{host}:{port}")

    @property
    def description(self) -> str:
        return self._link.description

    async def open(self) -> None:
        await self._link.close()  # a reconnect replaces the old stream
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
        self._link.attach(reader, writer)

    async def send(self, frame: bytes) -> None:
        await self._link.send(frame)

    async def recv(self) -> Frame:
        return await self._link.recv()

    async def close(self) -> None:
        await self._link.close()
