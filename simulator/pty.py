"""The simulated device on a pseudo-terminal, for controllers that open a serial port.

The simulator keeps both ends of an ``os.openpty()`` pair: it reads and writes the master,
and holds the slave open so the master never sees EIO when a client closes the port. The
slave's path (``/dev/pts/N``) is what a controller opens with pyserial. Reads are driven by
``loop.add_reader``; writes never block — when the kernel buffer is full, the frame is
dropped and counted. A dropped pseudo-terminal keeps its path but goes silent in both
directions until the faults are restored, and then comes back as a fresh link (no HELLO).
"""

from __future__ import annotations

import asyncio
import os
import tty
from typing import Final

from simulator.faults import FaultInjector
from simulator.firmware import Firmware
from simulator.port import StreamPort

#: Read at most this much per wake-up; frames are at most 22 bytes on the wire.
READ_CHUNK: Final = 4096


class PtyEndpoint:
    """A pseudo-terminal serving the firmware; ``path`` is the port a controller opens."""

    def __init__(self, firmware: Firmware, faults: FaultInjector) -> None:
        self._firmware = firmware
        self._faults = faults
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.dropped_writes = 0
        self._closed = False
        self._port: StreamPort | None = None if faults.links_dropped else self._new_port()
        self._loop.add_reader(self._master, self._on_readable)
        self._unregister = faults.register(self)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def silent(self) -> bool:
        """True while the link is dropped: input is discarded and nothing is written."""
        return self._port is None

    def drop(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def restore(self) -> None:
        if not self._closed and self._port is None:
            self._port = self._new_port()

    def inject(self, data: bytes) -> None:
        if self._port is not None:
            self._port.inject(data)

    def close(self) -> None:
        """Detach from the firmware and close both ends of the pair. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._unregister()
        self._loop.remove_reader(self._master)
        self.drop()
        os.close(self._master)
        os.close(self._slave)

    async def wait_closed(self) -> None:
        """Nothing to wait for: :meth:`close` releases everything at once."""

    def _new_port(self) -> StreamPort:
        return StreamPort(f"pty:{self.path}", self._firmware, self._faults, self._write)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._loop.remove_reader(self._master)  # the pair is broken; stop polling it
            return
        if self._port is not None:
            self._port.feed(data)

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            written = os.write(self._master, data)
        except OSError:  # BlockingIOError when the client does not read: drop, never block
            self.dropped_writes += 1
            return
        if written < len(data):
            self.dropped_writes += 1
