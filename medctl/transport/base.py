"""The transport interface: a pipe that carries whole frames, blind to their meaning.

Serial and TCP put COBS framing on a byte stream; BLE and the in-process
simulator carry one frame per message. Above this line everything is frames.
"""

from __future__ import annotations

from typing import Protocol

from firmware_protocol import Frame


class Transport(Protocol):
    """What the device client needs from a link. ``recv`` raises ConnectionLost when the link goes."""

    @property
    def description(self) -> str:
        """Where this transport leads, for messages ("serial port /dev/ttyUSB0")."""
        ...

    async def open(self) -> None:
        """Open the link; called again after a loss to reconnect. ``close`` is final."""
        ...

    async def send(self, frame: bytes) -> None: ...

    async def recv(self) -> Frame:
        """The next valid frame; invalid ones are dropped and counted, never raised."""
        ...

    async def close(self) -> None: ...
