"""The simulated massager as an asyncio service: firmware, ticking, faults and endpoints.

:class:`SimulatedDevice` owns one :class:`~simulator.firmware.Firmware` and its
:class:`~simulator.faults.FaultInjector`. Inside ``async with device:`` a tick task polls
the firmware every 50 ms of loop time (the watchdog's resolution), while device time comes
from the injected :class:`~simulator.clock.Clock`. Controllers reach it in process
(:meth:`open_link`), over a pseudo-terminal (:meth:`serve_pty`), over TCP (:meth:`serve_tcp`) or
as a Bluetooth LE peripheral on a bumble radio (:meth:`serve_ble`, which needs bumble). A
conformance run triggers the device's faults through the control port (:meth:`serve_control`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, Self

from simulator.clock import Clock, LoopClock
from simulator.config import DeviceConfig
from simulator.control import ControlEndpoint
from simulator.faults import FaultInjector
from simulator.firmware import DeviceState, Firmware
from simulator.inprocess import InProcessLink
from simulator.pty import PtyEndpoint
from simulator.tcp import TcpEndpoint

if TYPE_CHECKING:
    from simulator.ble import BleEndpoint, Radio

#: Poll period in loop seconds: bounds how late the watchdog and auto-off can fire (by 0.1 s,
#: a tenth of the heartbeat interval; a finer tick only costs CPU, see bench/virtual_session.py).
#: The longest the tick sleeps with nothing due (link seconds): the thermal model's drift is shown
#: in STATUS once a second anyway.
MAX_IDLE_S: Final = 1.0
#: A moment falls due a little after its deadline, so the poll surely finds it passed.
DUE_MARGIN_S: Final = 0.001


class _Endpoint(Protocol):
    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


class SimulatedDevice:
    """A heated neck massager in software. Use as ``async with SimulatedDevice() as device:``."""

    def __init__(
        self,
        config: DeviceConfig | None = None,
        clock: Clock | None = None,
        *,
        max_idle_s: float = MAX_IDLE_S,
        seed: int = 0,
    ) -> None:
        self.config = config if config is not None else DeviceConfig()
        self.clock: Clock = clock if clock is not None else LoopClock()
        self._max_idle_s = max_idle_s
        self._firmware = Firmware(self.config, self.clock.now, _loop_time, on_change=self._notify)
        self.faults = FaultInjector(self._firmware, seed=seed)
        #: What :meth:`wait_for` waits on, made when one waits (a change with nobody waiting costs nothing).
        self._changed: asyncio.Event | None = None
        #: Set when a frame or an injected fault changed the firmware: the tick polls at once.
        self._wake = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._endpoints: list[_Endpoint] = []
        self._links: list[InProcessLink] = []

    @property
    def firmware(self) -> Firmware:
        return self._firmware

    @property
    def state(self) -> DeviceState:
        return self._firmware.state

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start ticking (idempotent)."""
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="simulated-device-tick")

    async def close(self) -> None:
        """Stop ticking and close every link and endpoint."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        for link in self._links:
            link.close()
        self._links.clear()
        endpoints, self._endpoints = self._endpoints, []
        for endpoint in endpoints:
            endpoint.close()
        for endpoint in endpoints:
            await endpoint.wait_closed()

    async def wait_for(self, predicate: Callable[[DeviceState], bool], timeout: float) -> DeviceState:
        """Wait until *predicate* holds for the device state; return that state. Raises TimeoutError."""
        async with asyncio.timeout(timeout):
            while not predicate(state := self.state):
                if self._changed is None:
                    self._changed = asyncio.Event()
                await self._changed.wait()
        return state

    def open_link(self, name: str = "inprocess") -> InProcessLink:
        """A new in-memory, frame-oriented link (no HELLO yet)."""
        self._links = [link for link in self._links if not link.closed]
        link = InProcessLink(name, self._firmware, self.faults)
        self._links.append(link)
        return link

    async def serve_pty(self) -> PtyEndpoint:
        """Serve the device on a new pseudo-terminal; open ``endpoint.path`` with pyserial."""
        endpoint = PtyEndpoint(self._firmware, self.faults)
        self._endpoints.append(endpoint)
        return endpoint

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> TcpEndpoint:
        """Serve the device on TCP; ``endpoint.port`` is the bound port."""
        endpoint = await TcpEndpoint.start(self._firmware, self.faults, host, port)
        self._endpoints.append(endpoint)
        return endpoint

    async def serve_control(self, host: str = "127.0.0.1", port: int = 0) -> ControlEndpoint:
        """Open the control port (SPEC.md Appendix A) that triggers device faults from outside; off unless asked."""
        endpoint = await ControlEndpoint.start(self._firmware, self.faults, host, port)
        self._endpoints.append(endpoint)
        return endpoint

    async def serve_ble(self, radio: Radio, name: str | None = None) -> BleEndpoint:
        """Serve the device as a GATT peripheral on *radio*, advertising *name* (default: the model)."""
        from simulator.ble import BleEndpoint

        endpoint = await BleEndpoint.start(self._firmware, self.faults, radio, name or self.config.model)
        self._endpoints.append(endpoint)
        return endpoint

    async def _tick(self) -> None:
        """Poll the firmware when something falls due (a STATUS, the watchdog, a budget, the pad
        crossing its limit), when a frame or an injected fault changes it, and at least every
        *max_idle_s* — not on a fixed short period, so a virtual-clock session does not spend its
        time polling a device with nothing to do."""
        speed = getattr(self.clock, "speed", 1.0)
        while True:
            self._firmware.poll()
            self._wake.clear()  # the poll's own change notice is not news
            device_s, link_s = self._firmware.due_in()
            wait = min(device_s / speed, link_s, self._max_idle_s) + DUE_MARGIN_S
            # the due time sets the wake event itself: nothing is cancelled when it comes
            alarm = asyncio.get_running_loop().call_later(wait, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                alarm.cancel()

    def _notify(self) -> None:
        """Wake the tick and every :meth:`wait_for` (the next one to wait starts a fresh event)."""
        self._wake.set()
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()


def _loop_time() -> float:
    """Link time: the running event loop's clock, whatever the device clock does."""
    return asyncio.get_running_loop().time()
