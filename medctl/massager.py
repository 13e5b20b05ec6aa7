"""The small massager interface the session engine drives (DESIGN §2).

Not bytes: capabilities, start, stop, set intensity, set heat and a status
stream. For our protocol, :meth:`medctl.client.DeviceClient.session` hands the engine
such a handle (scripts never drive the motor through it); an adapter for another
maker's protocol can implement it too.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from firmware_protocol import Fault, FaultEvent
from medctl.errors import ConnectionLost
from medctl.models import Capabilities, DeviceStatus


class Massager(Protocol):
    @property
    def description(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def simulated(self) -> bool:
        """A software massager (the built-in simulator): its sessions are recorded as demos."""
        ...

    @property
    def status(self) -> DeviceStatus | None: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """While inside, this session alone drives the device: raw control and other sessions are refused."""
        ...

    def end(self) -> None:
        """The session is over: from now on every command but STOP is refused (the STOP latch)."""
        ...

    async def start(self, level: int = 1) -> None: ...

    async def stop(self) -> None: ...

    async def set_intensity(self, level: int) -> None: ...

    async def set_heat(self, level: int) -> None: ...

    async def clear_faults(self, faults: Fault = ...) -> None: ...

    def on_status(self, listener: Callable[[DeviceStatus], None]) -> Callable[[], None]: ...

    def on_fault(self, listener: Callable[[FaultEvent], None]) -> Callable[[], None]: ...

    async def keepalive(self) -> None:
        """Heartbeat if one is due; called from the session's control loop."""
        ...

    def keepalive_driven_by_caller(self) -> AbstractContextManager[None]:
        """While inside, heartbeats come only from :meth:`keepalive` calls."""
        ...

    async def wait_lost(self) -> ConnectionLost: ...

    async def reconnect(self) -> DeviceStatus: ...
