"""COBS-framed frames over an asyncio byte stream: the part serial and TCP share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from firmware_protocol import Frame, FrameError, StreamDecoder, encode_stream
from firmware_protocol.constants import STREAM_DELIMITER
from medctl.errors import ConnectionLost

_LOGGER = logging.getLogger(__name__)
#: Bytes asked of the stream per read; frames are at most 22 bytes on the wire.
READ_CHUNK = 256


class StreamLink:
    """Frames in and out of a (reader, writer) pair; the owner opens and describes it."""

    def __init__(self, description: str) -> None:
        self._description = description
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._decoder = StreamDecoder(on_error=self._on_error)
        self._frames: deque[Frame] = deque()

    @property
    def description(self) -> str:
        return self._description

    @property
    def errors(self) -> int:
        return self._decoder.stats.errors

    def attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Use a freshly opened stream; a lone delimiter ends any partial packet the device holds (SPEC §9.1)."""
        self._reader, self._writer = reader, writer
        self._decoder.reset()
        self._frames.clear()
        writer.write(STREAM_DELIMITER)

    async def send(self, frame: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise ConnectionLost(f"{self._description} is not open")
        try:
            writer.write(encode_stream(frame))
            await writer.drain()
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"{self._description} was lost: {exc}") from exc

    async def send_raw(self, data: bytes) -> None:
        """Write *data* as it is, without COBS or delimiter: noise and broken packets for conformance tests."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise ConnectionLost(f"{self._description} is not open")
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"{self._description} was lost: {exc}") from exc

    async def recv(self) -> Frame:
        while not self._frames:
            if self._reader is None:
                raise ConnectionLost(f"{self._description} is not open")
            try:
                chunk = await self._reader.read(READ_CHUNK)
            except OSError as exc:
                raise ConnectionLost(f"{self._description} was lost: {exc}") from exc
            if not chunk:
                raise ConnectionLost(f"{self._description} was closed by the other side")
            self._frames.extend(self._decoder.feed(chunk))
        return self._frames.popleft()

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, RuntimeError):
            await writer.wait_closed()

    def _on_error(self, error: FrameError) -> None:
        _LOGGER.debug("%s: dropped invalid input: %s", self._description, error)


class StreamTransport:
    """A transport over a byte stream: subclasses say how to open it (``_connect``), this does the rest."""

    def __init__(self, description: str) -> None:
        self._link = StreamLink(description)

    @property
    def description(self) -> str:
        return self._link.description

    async def open(self) -> None:
        await self._link.close()  # a reconnect replaces the old stream
        reader, writer = await self._connect()
        self._link.attach(reader, writer)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        raise NotImplementedError

    async def send(self, frame: bytes) -> None:
        await self._link.send(frame)

    async def send_raw(self, data: bytes) -> None:
        """Bytes onto the stream as they are (no COBS, no delimiter); for conformance tests."""
        await self._link.send_raw(data)

    @property
    def invalid_frames(self) -> int:
        """Packets from the device that were not valid frames (SPEC §9.1, §4.2): dropped and counted."""
        return self._link.errors

    async def recv(self) -> Frame:
        return await self._link.recv()

    async def close(self) -> None:
        await self._link.close()
