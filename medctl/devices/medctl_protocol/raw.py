"""The bench door: level control with no session rules (firmware and bench work only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_protocol import (
    Ack,
    MsgType,
    Request,
)
from medctl.devices.medctl_protocol.requests import OUTPUT_REQUESTS

if TYPE_CHECKING:
    pass


if TYPE_CHECKING:
    from medctl.devices.medctl_protocol.client import DeviceClient


class RawMassager:
    """Raw level control with no session rules: for firmware and bench work only.

    ``massager.raw().start(1)`` then ``set_intensity(3)`` runs the motor at 3 at once, with no
    warm-up, no limits of medctl's and no record (the device keeps its own: START only at level 1
    from standstill, auto-off, the heater's time limit, SPEC.md §7.4.5, §7.6). A person's massage
    goes through :meth:`DeviceClient.session`. While a session runs on the connection, every call
    here raises :class:`~medctl.errors.SessionRunning`; the STOP latch still holds (heat only after
    a START since the last STOP).
    """

    def __init__(self, client: DeviceClient) -> None:
        self._client = client

    async def start(self, level: int = 1) -> None:
        self._client._check_raw_allowed()
        await self._client._start(level)

    async def set_intensity(self, level: int) -> None:
        self._client._check_raw_allowed()
        await self._client._set_intensity(level)

    async def set_heat(self, level: int) -> None:
        self._client._check_raw_allowed()
        await self._client._set_heat(level)

    async def set_mode(self, mode: str) -> None:
        """One of ``capabilities.modes``, by name (SPEC.md §7.4.11)."""
        self._client._check_raw_allowed()
        await self._client._set_mode(mode)

    async def request(self, message: Request) -> Ack:
        """Any request, START and SET_* included; a NACK raises :class:`~medctl.errors.CommandRefused`."""
        self._client._check_raw_allowed()
        if message.TYPE is MsgType.STOP:
            await self._client.stop()
            return Ack(MsgType.STOP)
        return await self._client._request(message, stoppable=message.TYPE in OUTPUT_REQUESTS)

    async def stop(self) -> None:
        """Never shut: STOP always goes through."""
        await self._client.stop()
