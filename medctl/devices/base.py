"""The massager interface: what the session engine and the TUI may know about a device.

Every driver (one package per maker under :mod:`medctl.devices`) translates its own wire
format into these types, so nothing above the driver sees a byte, a message class or a
maker's fault codes. Optional capabilities are *declared* by the driver, never guessed by
the engine: a device with no link watchdog says ``watchdog_s=None`` and the engine then
stops it explicitly on every exit path instead of relying on a heartbeat-fed watchdog.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Any, Final, Protocol

from medctl.errors import ConnectionLost

#: The pad temperature the guided session treats as the ceiling unless a driver declares its own.
DEFAULT_PAD_TEMP_CAP_C: Final = 45.0


class FaultFlag(IntFlag):
    """A device's latched faults, in medctl's terms (each driver maps its maker's codes onto these)."""

    NONE = 0
    LINK_LOST = 0x01
    OVER_TEMPERATURE = 0x02
    MOTOR_STALL = 0x04
    BATTERY_EMPTY = 0x08
    AUTO_OFF = 0x10


ALL_FAULTS: Final = FaultFlag(0x1F)
#: ``FaultReport.detail`` of an AUTO_OFF that switched only the heater off (the motor runs on).
AUTO_OFF_HEATER_ONLY: Final = 1


@dataclass(frozen=True)
class FaultReport:
    """A fault raised (``active``) or cleared; *detail* is fault-specific (°C for OVER_TEMPERATURE)."""

    fault: FaultFlag
    active: bool
    detail: int = 0


def fault_names(faults: FaultFlag | int) -> tuple[str, ...]:
    """The names of the faults set in *faults*, lower case (``("over_temperature",)``), for messages and JSON."""
    return tuple(f.name.lower() for f in FaultFlag if f and f & faults and f.name)


@dataclass(frozen=True)
class Capabilities:
    """What the device can do, as its driver declares it."""

    intensity_levels: int
    heat_levels: int
    battery: bool
    #: Seconds after which the device stops itself when it hears nothing; None: it has no such watchdog.
    watchdog_s: float | None
    #: Pad temperature each heat level aims at (index 0 is heat level 1), when the maker says so.
    heat_targets_c: tuple[float, ...] | None = None
    #: Named massage patterns :meth:`Massager.set_mode` accepts; empty: the device has none.
    modes: tuple[str, ...] = ()
    #: Whether ``DeviceStatus.pad_temp_c`` is a measurement (False: it is 0.0 and means nothing).
    reports_pad_temp: bool = True
    #: The pad temperature above which the session ends the heat (and the device should too).
    pad_temp_cap_c: float = DEFAULT_PAD_TEMP_CAP_C


@dataclass(frozen=True)
class DeviceIdentity:
    """Who the massager says it is, read at every connection: a reconnect must find the same serial number."""

    model: str
    firmware: str
    serial_number: str
    protocol_version: int
    capabilities: Capabilities
    address: str = ""
    maker: str = ""
    #: The registry name of the driver that speaks to it.
    driver: str = ""


@dataclass(frozen=True)
class DeviceStatus:
    """The device's own report of its state, with the controller's receive time."""

    running: bool
    intensity: int
    heat: int
    pad_temp_c: float
    faults: FaultFlag = FaultFlag.NONE
    battery_percent: int | None = None
    charging: bool = False
    owned: bool = False
    run_seconds: int = 0
    mode: str | None = None
    received_at: float = field(default=0.0, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "intensity": self.intensity,
            "heat": self.heat,
            "pad_temp_c": round(self.pad_temp_c, 2),
            "faults": list(fault_names(self.faults)),
            "battery_percent": self.battery_percent,
            "charging": self.charging,
            "owned": self.owned,
            "run_seconds": self.run_seconds,
        }


StatusListener = Callable[[DeviceStatus], None]
FaultListener = Callable[[FaultReport], None]


class Massager(Protocol):
    """The handle a guided session drives: no bytes, only levels, statuses and faults.

    A driver hands one to its session (``device.session(...)``) and to nobody else.
    """

    @property
    def description(self) -> str: ...

    @property
    def identity(self) -> DeviceIdentity | None: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def simulated(self) -> bool:
        """A software massager (a simulator): its sessions are recorded as demos."""
        ...

    @property
    def status(self) -> DeviceStatus | None: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """While inside, this session alone drives the device (raw control and other sessions are
        refused) and a device with a watchdog is kept alive only by :meth:`keepalive` calls, so a
        hung session loop lets the device's watchdog stop it."""
        ...

    def end(self) -> None:
        """The session is over: from now on every command but STOP is refused (the STOP latch)."""
        ...

    async def start(self, level: int = 1) -> None: ...

    async def stop(self) -> None:
        """Never refused; always reaches the device if the link allows."""
        ...

    async def set_intensity(self, level: int) -> None: ...

    async def set_heat(self, level: int) -> None: ...

    async def set_mode(self, mode: str) -> None:
        """One of ``capabilities.modes``; a device without modes refuses every name."""
        ...

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None: ...

    def on_status(self, listener: StatusListener) -> Callable[[], None]: ...

    def on_fault(self, listener: FaultListener) -> Callable[[], None]: ...

    async def keepalive(self) -> float | None:
        """Feed the device's watchdog if it is due; return the loop time (``loop.time()``) at which
        it is next due, so the session's loop sleeps until then. A device without a watchdog
        returns None at once (a plain ``async def keepalive(self) -> None`` satisfies this)."""
        ...

    async def wait_lost(self) -> ConnectionLost: ...

    async def reconnect(self) -> DeviceStatus: ...
