"""Helpers for testing code that uses medctl: a simulated massager with a connected client.

    async with simulated_massager() as (device, massager):
        async with massager.session(plan, safety=check, history=temporary_history(tmp_path)) as session:
            ...
        assert not device.state.running

Raw level control for tests of the client itself goes through ``massager.raw()``.
Enter it inside the test (not in a fixture) when the test runs on a virtual
loop clock such as ``looptime``, so the device lives on that clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medctl.client import DeviceClient
from medctl.errors import TransportError
from medctl.history import HistoryStore
from medctl.session import SafetyCheck, Session
from medctl.transport.sim import SimTransport

if TYPE_CHECKING:
    from simulator import DeviceConfig, SimulatedDevice


@asynccontextmanager
async def simulated_massager(
    config: DeviceConfig | None = None, *, demo: bool = True, **client_options: Any
) -> AsyncIterator[tuple[SimulatedDevice, DeviceClient]]:
    """A running simulated device (on the loop clock) and an open client; both closed on exit.

    Its sessions are recorded as demos (left out of R9) unless *demo* is False: the simulator
    then stands in for a real massager, e.g. to test R9 itself.
    """
    from simulator import DeviceConfig, LoopClock, SimulatedDevice

    async with SimulatedDevice(config or DeviceConfig(), clock=LoopClock()) as device:
        client = DeviceClient(SimTransport(device=device, demo=demo), **client_options)
        await client.open()
        try:
            yield device, client
        finally:
            await client.close()


def temporary_history(folder: Path) -> HistoryStore:
    """An open history in *folder* (a test's ``tmp_path``), so R9 runs without touching the user's."""
    return HistoryStore(folder / "history.sqlite3").open()


#: Safety answers with nothing that rules a session out (R8), for tests.
ALL_CLEAR = SafetyCheck(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)


async def until_massage(session: Session, seconds: float) -> None:
    """Let the loop run until *seconds* of massage have passed or the session is over."""
    await asyncio.sleep(max(0.0, seconds - session.massage_s))
    if session.massage_s >= seconds or session.done:
        return
    async for update in session.updates():  # one per control-loop tick
        if update.massage_s >= seconds or update.end_reason is not None:
            return


class OutOfRangeSimTransport(SimTransport):
    """The simulator's link, which cannot be opened before ``back_at`` (loop time): a massager out
    of range. Set ``back_at`` and drop the links (``device.faults.drop_links()``) to lose it for a while."""

    back_at = 0.0

    async def open(self) -> None:
        if asyncio.get_running_loop().time() < self.back_at:
            raise TransportError("the massager is out of range")
        await super().open()


@asynccontextmanager
async def out_of_range_massager(
    config: DeviceConfig | None = None,
) -> AsyncIterator[tuple[SimulatedDevice, OutOfRangeSimTransport, DeviceClient]]:
    """A simulated device, an :class:`OutOfRangeSimTransport` to it and an open client; all closed on exit."""
    from simulator import DeviceConfig, SimulatedDevice

    async with SimulatedDevice(config or DeviceConfig()) as device:
        transport = OutOfRangeSimTransport(device=device)
        client = DeviceClient(transport)
        await client.open()
        try:
            yield device, transport, client
        finally:
            await client.close()
