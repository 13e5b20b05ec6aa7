"""The built-in simulator as a transport (``sim://``): a software massager in this process.

Frames travel through an in-memory link, one frame per message as over BLE.
The simulator package is imported only when a ``sim://`` address is used.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING

from firmware_protocol import Frame, FrameError
from medctl.address import DeviceAddress
from medctl.errors import AddressError, ConnectionLost

if TYPE_CHECKING:
    from simulator import DeviceConfig, InProcessLink, SimulatedDevice

#: Options a ``sim://`` URL may carry, mapped to the simulator's DeviceConfig fields.
_INT_OPTIONS = ("intensity_levels", "heat_levels")
_FLOAT_OPTIONS = ("watchdog_s", "max_temp_c", "auto_off_s", "heat_limit_s", "time_constant_s")


#: The fastest a ``sim://?speed=`` clock may run (×10 000: a 10-minute session in 60 ms).
MAX_SPEED = 10_000.0


def sim_speed(address: DeviceAddress) -> float:
    """The ``speed`` option of a ``sim://`` address: finite, above 0, at most :data:`MAX_SPEED`."""
    speed = address.option_float("speed", 1.0)
    if not 0 < speed <= MAX_SPEED:  # also refuses NaN and infinities
        raise AddressError(f"{address.url}: speed must be above 0 and at most {MAX_SPEED:g}")
    return speed


def sim_config(address: DeviceAddress) -> DeviceConfig:
    """The simulator's configuration from a ``sim://`` address; every option checked, one line if wrong."""
    from simulator import DeviceConfig

    sim_speed(address)
    given = address.options
    unknown = set(given) - {"speed", "battery", "deviate", "modes", "pairing_code", *_INT_OPTIONS, *_FLOAT_OPTIONS}
    if unknown:
        raise AddressError(f"{address.url}: unknown simulator option(s) {', '.join(sorted(unknown))}")
    fields: dict[str, object] = {n: address.option_int(n, 0) for n in _INT_OPTIONS if n in given}
    fields |= {n: address.option_float(n, 0) for n in _FLOAT_OPTIONS if n in given}
    if "battery" in given:
        fields["battery"] = given["battery"] not in ("0", "false", "no", "")
    if "modes" in given:  # massage mode names, comma-separated; empty: a massager without modes
        fields["modes"] = tuple(filter(None, given["modes"].split(",")))
    if "pairing_code" in given:  # a known code, so a test or a conformance run can pair
        fields["pairing_code"] = given["pairing_code"]
    try:
        if "deviate" in given:  # deliberate protocol mistakes, for testing conformance checkers
            from simulator.deviations import Deviations

            fields["deviations"] = Deviations.named(*filter(None, given["deviate"].split(",")))
        return DeviceConfig(**fields)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise AddressError(f"{address.url}: {exc}") from exc


def without_pairing_button(address: DeviceAddress, device: SimulatedDevice) -> None:
    """A ``sim://`` address that gives the pairing code needs no button press: pairing is always open
    (SPEC.md §12.4's pacing and lockout still hold), so a test or a conformance run can pair."""
    if "pairing_code" in address.options:
        device.firmware.auth.window_always_open = True


@functools.cache
def _link_closed() -> type[Exception]:
    """The simulator's LinkClosed: looked up only when a link call raises, never per frame, and not
    at import (the simulator loads only for ``sim://``)."""
    from simulator import LinkClosed

    return LinkClosed


class SimTransport:
    """Owns a simulated device for as long as it is open, or links to one it is given."""

    def __init__(
        self, address: DeviceAddress | None = None, *, device: SimulatedDevice | None = None, demo: bool = True
    ) -> None:
        """*demo*: sessions on it are recorded as simulated, kept out of R9 and the charts (a test that
        lets the simulator stand in for a real massager says ``demo=False``)."""
        self.address = address or DeviceAddress(scheme="sim", location="", url="sim://")
        self.device: SimulatedDevice | None = device
        self.demo = demo
        self._link: InProcessLink | None = None
        self._stack = contextlib.AsyncExitStack()
        #: Frames from the device that failed the frame checks (SPEC §4.2), dropped.
        self.invalid_frames = 0

    @property
    def description(self) -> str:
        return "the built-in simulator"

    async def open(self) -> None:
        """Start the simulated device (first call) and open a new link to it (every call)."""
        if self.device is None:
            self.device = await self._start_device()
        if self._link is not None:
            self._link.close()
        self._link = self.device.open_link("medctl")

    async def _start_device(self) -> SimulatedDevice:
        from simulator import ScaledClock, SimulatedDevice

        config = sim_config(self.address)
        clock = ScaledClock(sim_speed(self.address))
        device = await self._stack.enter_async_context(SimulatedDevice(config, clock=clock))
        without_pairing_button(self.address, device)
        return device

    async def send(self, frame: bytes) -> None:
        if self._link is None:
            raise ConnectionLost("the simulator is not running")
        try:
            await self._link.send(frame)
        except _link_closed() as exc:
            raise ConnectionLost("the simulator dropped the link") from exc

    async def recv(self) -> Frame:
        while True:
            if self._link is None:
                raise ConnectionLost("the simulator is not running")
            try:
                data = await self._link.recv()
            except _link_closed() as exc:
                raise ConnectionLost("the simulator dropped the link") from exc
            try:
                return Frame.loads(data)
            except FrameError:
                self.invalid_frames += 1

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        await self._stack.aclose()
