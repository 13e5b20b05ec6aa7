"""The session engine's handle on a connection: our driver's side of the Massager interface."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from medctl.devices.base import (
    ALL_FAULTS,
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    FaultFlag,
    FaultListener,
    StatusListener,
)
from medctl.errors import (
    CommandCancelled,
    ConnectionLost,
)

if TYPE_CHECKING:
    from medctl.devices.medctl_protocol.client import DeviceClient


class GuidedDrive:
    """The session engine's handle on a connection (the :class:`~medctl.devices.base.Massager` seam).

    Made by :meth:`DeviceClient.session` for its session alone; scripts never see it.
    """

    def __init__(self, client: DeviceClient) -> None:
        self._client = client
        #: Set the moment the session ends, before its STOP: nothing but STOP goes out after it.
        self._ended = False

    @property
    def description(self) -> str:
        return self._client.description

    @property
    def identity(self) -> DeviceIdentity | None:
        return self._client.identity

    @property
    def simulated(self) -> bool:
        return self._client.simulated

    @property
    def capabilities(self) -> Capabilities:
        return self._client.capabilities

    @property
    def status(self) -> DeviceStatus | None:
        return self._client.status

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        # while the session runs, only its loop feeds the device's watchdog (SPEC §6.8.3)
        with self._client._exclusive(), self._client.keepalive_driven_by_caller():
            yield

    def end(self) -> None:
        self._ended = True

    def _check(self) -> None:
        if self._ended:
            raise CommandCancelled("the session has ended: only STOP goes to the massager now")

    async def start(self, level: int = 1) -> None:
        self._check()
        await self._client._start(level)

    async def stop(self) -> None:
        await self._client.stop()

    async def set_intensity(self, level: int) -> None:
        self._check()
        await self._client._set_intensity(level)

    async def set_heat(self, level: int) -> None:
        self._check()
        await self._client._set_heat(level)

    async def set_mode(self, mode: str) -> None:
        self._check()
        await self._client._set_mode(mode)

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None:
        self._check()
        await self._client.clear_faults(faults)

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        return self._client.on_status(listener)

    def on_fault(self, listener: FaultListener) -> Callable[[], None]:
        return self._client.on_fault(listener)

    async def keepalive(self) -> float | None:
        return await self._client.keepalive()

    async def wait_lost(self) -> ConnectionLost:
        return await self._client.wait_lost()

    async def reconnect(self) -> DeviceStatus:
        return await self._client.reconnect()
