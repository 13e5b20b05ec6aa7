"""One connection's byte path between a transport and the firmware.

A :class:`Port` is the :class:`~simulator.firmware.Link` the firmware answers on. It
applies the injected link faults to every frame in both directions, holds outgoing frames
for an injected delay without reordering them, and never blocks. :class:`StreamPort` adds
the COBS stream framing of serial and TCP links (SPEC.md §9.1).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

from firmware_protocol import FrameError, StreamDecoder, encode_stream
from simulator.faults import FaultInjector
from simulator.firmware import Firmware


class Port(ABC):
    """The device side of one connection. Subclasses say how a frame and raw bytes leave it."""

    def __init__(self, name: str, firmware: Firmware, faults: FaultInjector) -> None:
        self.name = name
        self._firmware = firmware
        self._faults = faults
        self._loop = asyncio.get_running_loop()
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        firmware.attach(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def send_frame(self, frame: bytes) -> None:
        """Called by the firmware: send *frame* to the controller, through the link faults."""
        if self._closed:
            return
        for piece in self._faults.mangle(frame, "out"):
            self._enqueue(piece)

    def deliver(self, frame: bytes) -> None:
        """Called by the transport with one received frame's bytes."""
        if self._closed:
            return
        for piece in self._faults.mangle(frame, "in"):
            self._firmware.receive(self, piece)

    def report(self, error: FrameError) -> None:
        """Called by the transport's stream decoder for a packet it rejected."""
        if not self._closed:
            self._firmware.frame_error(self, error)

    def inject(self, data: bytes) -> None:
        """Write raw *data* to the controller, bypassing framing and delay."""
        if not self._closed:
            self._write_raw(data)

    def close(self) -> None:
        """Stop carrying frames and let the firmware forget this link. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._outbox.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._firmware.detach(self)

    @abstractmethod
    def _write_frame(self, frame: bytes) -> None: ...

    @abstractmethod
    def _write_raw(self, data: bytes) -> None: ...

    def _enqueue(self, frame: bytes) -> None:
        delay = self._faults.delay_s
        if delay <= 0 and not self._outbox:
            self._write_frame(frame)
            return
        self._outbox.append((self._loop.time() + delay, frame))
        self._arm()

    def _arm(self) -> None:
        if self._timer is None and self._outbox:
            self._timer = self._loop.call_at(self._outbox[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = self._loop.time()
        while self._outbox and self._outbox[0][0] <= now and not self._closed:
            self._write_frame(self._outbox.popleft()[1])
        self._arm()


class StreamPort(Port):
    """A port on a byte stream: COBS-framed frames separated by 0x00, written through *write*."""

    def __init__(self, name: str, firmware: Firmware, faults: FaultInjector, write: Callable[[bytes], None]) -> None:
        super().__init__(name, firmware, faults)
        self._write = write
        self._decoder = StreamDecoder(on_error=self.report)

    def feed(self, data: bytes) -> None:
        """Bytes arrived from the controller: decode whole frames and hand them on.

        One packet at a time: the decoder reports a bad packet (answered at once when it is an
        unsupported version) while it decodes, so a chunk holding several packets must not be
        decoded in one go, or such a NACK would overtake the answers to frames before it (§7.2).
        """
        start = 0
        while not self._closed and start < len(data):
            end = data.find(0, start)
            end = len(data) if end == -1 else end + 1
            for frame in self._decoder.feed(data[start:end]):
                self.deliver(bytes(frame))
            start = end

    def _write_frame(self, frame: bytes) -> None:
        self._write(encode_stream(frame))

    def _write_raw(self, data: bytes) -> None:
        self._write(data)
