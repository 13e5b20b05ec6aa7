"""Byte-stream framing for serial and TCP links (SPEC.md §9.1).

Each frame is COBS-encoded and followed by one 0x00 delimiter, so a receiver
that joins mid-stream or sees noise resynchronises at the next 0x00.
:class:`StreamDecoder` is fed arbitrary chunks and returns whole frames; it
never raises on bad input, it counts and reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cobs import cobs

from firmware_protocol.constants import MAX_STREAM_PACKET_LEN, STREAM_DELIMITER
from firmware_protocol.errors import BadEncoding, FrameError, OversizeFrame
from firmware_protocol.frame import Frame


def encode_stream(frame: bytes | Frame) -> bytes:
    """Frame bytes → COBS + delimiter, ready to write to a stream."""
    encoded: bytes = cobs.encode(bytes(frame))
    return encoded + STREAM_DELIMITER


@dataclass
class StreamStats:
    frames: int = 0
    errors: int = 0
    discarded_bytes: int = 0


@dataclass
class StreamDecoder:
    """Incremental decoder: ``feed(chunk) -> [Frame, ...]``.

    Invalid packets are dropped; ``on_error`` (if given) sees each one, so a
    device can answer attributable errors with a NACK.
    """

    on_error: Callable[[FrameError], None] | None = None
    stats: StreamStats = field(default_factory=StreamStats)
    _buffer: bytearray = field(default_factory=bytearray)
    _overflow: bool = False

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        start = 0
        while (end := data.find(0, start)) != -1:
            self._append(data[start:end])
            packet, overflowed = bytes(self._buffer), self._overflow
            self._buffer.clear()
            self._overflow = False
            start = end + 1
            if overflowed:
                too_long = f"stream packet of more than {MAX_STREAM_PACKET_LEN} bytes before its delimiter"
                self._report(OversizeFrame(too_long))
            elif packet:
                frame = self._decode(packet)
                if frame is not None:
                    frames.append(frame)
        self._append(data[start:])
        return frames

    def reset(self) -> None:
        """Forget a partial packet (after a reconnect)."""
        self.stats.discarded_bytes += len(self._buffer)
        self._buffer.clear()
        self._overflow = False

    def _append(self, chunk: bytes) -> None:
        if self._overflow:
            self.stats.discarded_bytes += len(chunk)
            return
        self._buffer += chunk
        if len(self._buffer) > MAX_STREAM_PACKET_LEN:
            self.stats.discarded_bytes += len(self._buffer)
            self._buffer.clear()
            self._overflow = True

    def _decode(self, packet: bytes) -> Frame | None:
        try:
            raw = cobs.decode(packet)
        except cobs.DecodeError as exc:
            self._report(BadEncoding(f"bad COBS packet: {exc}"))
            return None
        try:
            frame = Frame.loads(raw)
        except FrameError as exc:
            self._report(exc)
            return None
        self.stats.frames += 1
        return frame

    def _report(self, error: FrameError) -> None:
        self.stats.errors += 1
        if self.on_error is not None:
            self.on_error(error)
