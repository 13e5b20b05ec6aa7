"""What ``medctl.connect(url)`` yields, whatever the driver: a connected, identified device.

Scripts and the TUI use this, never a driver's concrete class. It runs the motor and heater
only through a guided :meth:`Device.session`; a driver may add more (ours adds ``raw()``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Protocol

from medctl.devices.base import Capabilities, DeviceIdentity, DeviceStatus
from medctl.errors import ConnectionLost

if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.session import SafetyCheck, Session, SessionPlan
    from medctl.session.choice import HistoryChoice


class RawControl(Protocol):
    """Levels with no session rules, for firmware and bench work only (shut while a session runs)."""

    async def start(self, level: int = 1) -> None: ...

    async def set_intensity(self, level: int) -> None: ...

    async def set_heat(self, level: int) -> None: ...

    async def stop(self) -> None: ...


class Device(Protocol):
    """A connected massager, as ``medctl.connect()`` yields it, whatever its driver: guided sessions,
    the raw door for bench work, its status stream, and a stop that always works."""

    @property
    def identity(self) -> DeviceIdentity | None: ...

    @property
    def description(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def status(self) -> DeviceStatus | None: ...

    @property
    def simulated(self) -> bool: ...

    @property
    def connected(self) -> bool: ...

    def session(
        self,
        plan: SessionPlan,
        *,
        safety: SafetyCheck,
        history: HistoryStore | HistoryChoice = ...,
        override_frequency: str | None = None,
        reconnect_backoff_s: tuple[float, ...] | None = None,
    ) -> Session:
        """A guided session (rules R1–R11, a latching STOP, a record in the history)."""
        ...

    def raw(self) -> RawControl:
        """The bench door (raises SessionRunning while a session runs)."""
        ...

    def on_status(self, listener: Callable[[DeviceStatus], None]) -> Callable[[], None]: ...

    def updates(self) -> AsyncIterator[DeviceStatus]: ...

    async def stop(self) -> None: ...

    async def wait_lost(self) -> ConnectionLost: ...

    async def reconnect(self) -> DeviceStatus: ...

    async def close(self, *, stop: bool = True) -> None:
        """Stop the device (unless told not to), let it go and close the link."""
        ...
