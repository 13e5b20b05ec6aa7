"""A simulated massager for testing apps built on medctl: start it, connect to it, break it.

:class:`SimulatedMassager` is what the pytest plugin's fixtures hand out
(:mod:`medctl.pytest_plugin`), and is usable without pytest too::

    async with SimulatedMassager("pty") as sim:          # the device starts here
        async with sim.connect() as massager:            # a medctl client over that link
            ...
        sim.faults.over_temperature()

It starts inside the test, not before: under the ``looptime`` plugin only the test body runs
on the virtual clock, and a device started earlier would keep the real clock's timers.
Links: ``"inprocess"`` (in memory: use it with ``looptime``), ``"pty"`` and ``"tcp"`` (real
kernel I/O on real time; :attr:`SimulatedMassager.url` is what ``medctl.connect`` takes),
``"ble"`` (a virtual Bluetooth LE radio link through bleak's API; needs bumble, ``looptime``
works). :class:`Faults` are plain method calls on the running device.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal, Self

from firmware_protocol import ErrorCode
from medctl.client import DeviceClient
from medctl.transport.base import Transport

if TYPE_CHECKING:
    from simulator import DeviceConfig, FaultInjector, SimulatedDevice
    from simulator.ble import VirtualBle

LinkKind = Literal["inprocess", "pty", "tcp", "ble"]
LINKS: Final[tuple[LinkKind, ...]] = ("inprocess", "pty", "tcp", "ble")
#: "A silent device": its answers are held this long (an hour: for any test, forever).
SILENCE_S: Final = 3600.0


class Faults:
    """Faults to inject into a running simulated massager, each one plain method call."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector

    def drop(self, frames: int = 1, direction: Literal["in", "out", "both"] = "out") -> None:
        """Lose the next *frames* frames: each arrives with one bit flipped, so the receiver's CRC check drops it."""
        self._injector.corrupt_next(frames, direction)

    def corrupt(self, frames: int = 1, direction: Literal["in", "out", "both"] = "out") -> None:
        """Flip one bit in each of the next *frames* frames (the receiver drops them, SPEC §4.3)."""
        self._injector.corrupt_next(frames, direction)

    def duplicate(self, frames: int = 1, direction: Literal["in", "out", "both"] = "out") -> None:
        """Deliver each of the next *frames* frames twice."""
        self._injector.duplicate_next(frames, direction)

    def delay(self, seconds: float) -> None:
        """Hold everything the device sends for *seconds* (0 ends it), keeping the order."""
        self._injector.delay(seconds)

    def silence(self) -> None:
        """A silent device: it still acts on requests, but nothing it sends arrives (until :meth:`speak`)."""
        self._injector.delay(SILENCE_S)

    def speak(self) -> None:
        """End :meth:`silence` (and any :meth:`delay`)."""
        self._injector.delay(0.0)

    def lose_link(self) -> None:
        """The link goes: TCP and BLE connections close, a pseudo-terminal goes silent both ways."""
        self._injector.drop_links()

    def restore_link(self) -> None:
        """End :meth:`lose_link`: reconnecting works again (a pseudo-terminal answers again)."""
        self._injector.restore_links()

    def over_temperature(self) -> None:
        """The pad overheats past the device's limit at its next poll: heat off, OVER_TEMPERATURE."""
        self._injector.force_over_temperature()

    def auto_off(self) -> None:
        """The motor's run budget is spent now, as after 15 minutes of running: motor off, AUTO_OFF (SPEC §7.6)."""
        self._injector.exhaust_run_budget()

    def heat_limit(self) -> None:
        """The heater's budget is spent now: heat off, AUTO_OFF; SET_HEAT above 0 refused for a while."""
        self._injector.exhaust_heat_budget()

    def stall(self) -> None:
        """The motor stalls: a running motor stops with MOTOR_STALL at the next poll."""
        self._injector.stall_motor()

    def release_motor(self) -> None:
        """The motor turns again (MOTOR_STALL stays latched until cleared)."""
        self._injector.release_motor()

    def drain_battery(self) -> None:
        """Empty the battery (a device configured with ``battery=True``): BATTERY_EMPTY."""
        self._injector.drain_battery()

    def charge_battery(self, percent: float = 100.0) -> None:
        self._injector.charge_battery(percent)

    def refuse(self, code: ErrorCode = ErrorCode.BUSY) -> None:
        """NACK every request but STOP with *code*, until :meth:`clear`."""
        self._injector.refuse(code)

    def clear(self) -> None:
        """Every injected fault off, links restored. Faults the device latched stay latched."""
        self._injector.clear()


class SimulatedMassager:
    """One simulated massager on one kind of link; ``async with`` runs it."""

    def __init__(self, link: LinkKind = "inprocess", config: DeviceConfig | None = None) -> None:
        if link not in LINKS:
            raise ValueError(f"link must be one of {', '.join(LINKS)}, got {link!r}")
        self.link: LinkKind = link
        self._config = config
        self._device: SimulatedDevice | None = None
        self._stack = contextlib.AsyncExitStack()
        self._url = ""
        self._air: VirtualBle | None = None

    @property
    def device(self) -> SimulatedDevice:
        """The running simulator: ``device.state`` is the truth a test asserts on."""
        if self._device is None:
            raise RuntimeError("the simulated massager is not running: use `async with` on it first")
        return self._device

    @property
    def faults(self) -> Faults:
        return Faults(self.device.faults)

    @property
    def url(self) -> str:
        """The address `medctl.connect` takes (pty and tcp links); reach the others with :meth:`connect`."""
        if self._device is None:
            raise RuntimeError("the simulated massager is not running: use `async with` on it first")
        if not self._url:
            raise RuntimeError(f"a {self.link} simulator has no address of its own: use sim.connect()")
        return self._url

    async def __aenter__(self) -> Self:
        from simulator import DeviceConfig, LoopClock, SimulatedDevice

        device = SimulatedDevice(self._config or DeviceConfig(), clock=LoopClock())
        self._device = await self._stack.enter_async_context(device)
        if self.link == "pty":
            self._url = f"serial://{(await device.serve_pty()).path}"
        elif self.link == "tcp":
            endpoint = await device.serve_tcp()
            self._url = f"tcp://{endpoint.host}:{endpoint.port}"
        elif self.link == "ble":
            from simulator.ble import virtual_ble

            self._air = await self._stack.enter_async_context(virtual_ble(device))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()
        self._device = None
        self._air = None
        self._url = ""

    def transport(self) -> Transport:
        """A new, unopened medctl transport to the device over this simulator's link."""
        from medctl.address import parse_address
        from medctl.transport import open_transport

        if self.link == "inprocess":
            from medctl.transport.sim import SimTransport

            return SimTransport(device=self.device)
        if self._air is not None:
            from medctl.transport.ble import BleBackend, BleTransport
            from simulator.bleak_backend import BumbleClient, BumbleScanner

            backend = BleBackend(BumbleScanner, BumbleClient, {"radio": self._air.central})
            return BleTransport(parse_address(f"ble://{self._air.address}"), backend=backend)
        return open_transport(self.url)

    @contextlib.asynccontextmanager
    async def connect(self, **client_options: object) -> AsyncIterator[DeviceClient]:
        """A connected medctl client (what ``medctl.connect`` yields), stopped and closed on exit."""
        client = DeviceClient(self.transport(), **client_options)  # type: ignore[arg-type]
        await client.open()
        try:
            yield client
        finally:
            await client.close()
