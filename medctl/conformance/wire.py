"""One link to the device under test, carrying frames of our own making, good or bad.

:class:`Wire` sits on a medctl :class:`~medctl.transport.base.Transport` (serial, TCP, BLE
or the simulator), so the suite speaks to the device exactly as a controller would, but
without medctl's device client in between: it sends whatever bytes a check builds, and
hands back every valid frame the device sends, stamped with the loop time it arrived.
On a byte stream (serial, TCP) it can also write raw bytes — noise, broken COBS packets —
that no frame could carry.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from firmware_protocol import Frame
from medctl.errors import MedctlError
from medctl.transport.base import Transport


@runtime_checkable
class RawStream(Protocol):
    """A transport over a byte stream that can write bytes as they are (no COBS, no delimiter)."""

    async def send_raw(self, data: bytes) -> None: ...


class LinkGone(MedctlError):
    """The link to the device closed while a check was using it."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """A frame from the device and the loop time it arrived."""

    at: float
    frame: Frame


class Wire:
    """Frames to and from the device over one transport; ``open`` starts a reader task."""

    def __init__(self, transport: Transport, name: str) -> None:
        self.transport = transport
        self.name = name
        self._inbox: asyncio.Queue[Arrival | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._gone = ""

    @property
    def raw_capable(self) -> bool:
        """True on a byte stream (serial, TCP): :meth:`send_raw` works."""
        return isinstance(self.transport, RawStream)

    @property
    def invalid_frames(self) -> int:
        """Frames from the device that failed the frame checks (SPEC §4.2), dropped by the transport."""
        count = getattr(self.transport, "invalid_frames", 0)
        return count if isinstance(count, int) else 0

    async def open(self) -> None:
        await self.transport.open()
        self._reader = asyncio.create_task(self._read(), name=f"conformance-{self.name}")

    async def send(self, frame: bytes) -> None:
        """Send one frame's bytes (COBS-framed on a byte stream, one write on BLE)."""
        if self._gone:
            raise LinkGone(self._gone)
        try:
            await self.transport.send(frame)
        except MedctlError as exc:
            raise LinkGone(f"{self.transport.description}: {exc}") from exc

    async def send_raw(self, data: bytes) -> None:
        """Write *data* to the byte stream as it is; only where :attr:`raw_capable`."""
        if not isinstance(self.transport, RawStream):
            raise TypeError(f"{self.transport.description} carries frames, not a byte stream")
        if self._gone:
            raise LinkGone(self._gone)
        try:
            await self.transport.send_raw(data)
        except MedctlError as exc:
            raise LinkGone(f"{self.transport.description}: {exc}") from exc

    async def next(self, timeout: float) -> Arrival | None:
        """The next frame from the device, or None if none arrives within *timeout* seconds."""
        if self._gone:
            raise LinkGone(self._gone)
        try:
            async with asyncio.timeout(timeout):
                arrival = await self._inbox.get()
        except TimeoutError:
            return None
        if arrival is None:
            raise LinkGone(self._gone)
        return arrival

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        with contextlib.suppress(MedctlError):
            await self.transport.close()

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self.transport.recv()
                self._inbox.put_nowait(Arrival(loop.time(), frame))
        except MedctlError as exc:
            self._gone = f"{self.transport.description}: {exc}"
            self._inbox.put_nowait(None)
