"""An in-memory, frame-oriented link to the simulated device (one frame per message, like BLE).

:class:`InProcessLink` is the controller's end. Frames in both directions travel through
the event loop — never by synchronous re-entry — so code driving it behaves as it would
over a real link, and the ``looptime`` plugin can fast-forward tests that use it.
"""

from __future__ import annotations

import asyncio

from simulator.errors import LinkClosed
from simulator.faults import FaultInjector
from simulator.firmware import Firmware
from simulator.port import Port


class InProcessLink:
    """The controller's end of an in-memory link: ``send``/``recv`` whole frames."""

    def __init__(self, name: str, firmware: Firmware, faults: FaultInjector) -> None:
        self.name = name
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._closed = False
        self._port = _InProcessPort(name, firmware, faults, self)

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, frame: bytes) -> None:
        """Hand one frame to the device; it is processed on a later turn of the event loop."""
        if self._closed:
            raise LinkClosed(f"link {self.name!r} is closed")
        self._loop.call_soon(self._port.deliver, bytes(frame))

    async def recv(self) -> bytes:
        """The next frame from the device; raises :class:`LinkClosed` once the link is closed."""
        if self._closed:
            raise LinkClosed(f"link {self.name!r} is closed")
        item = await self._inbox.get()
        if item is None:
            self._inbox.put_nowait(None)  # wake any other waiter too
            raise LinkClosed(f"link {self.name!r} is closed")
        return item

    def close(self) -> None:
        """Close the link from the controller's side. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._port.close()
        self._inbox.put_nowait(None)

    def _push(self, frame: bytes) -> None:
        if not self._closed:
            self._inbox.put_nowait(frame)


class _InProcessPort(Port):
    """The device's end of an :class:`InProcessLink`; a drop closes the whole link."""

    def __init__(self, name: str, firmware: Firmware, faults: FaultInjector, link: InProcessLink) -> None:
        super().__init__(name, firmware, faults)
        self._link = link
        self._unregister = faults.register(self)

    def close(self) -> None:
        self._unregister()
        super().close()

    def drop(self) -> None:
        self._link.close()

    def restore(self) -> None:
        """A dropped in-process link stays closed; the controller opens a new one."""

    def _write_frame(self, frame: bytes) -> None:
        self._link._push(frame)

    def _write_raw(self, data: bytes) -> None:
        self._link._push(data)
