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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medctl.client import DeviceClient
from medctl.history import HistoryStore
from medctl.transport.sim import SimTransport

if TYPE_CHECKING:
    from simulator import DeviceConfig, SimulatedDevice


@asynccontextmanager
async def simulated_massager(
    config: DeviceConfig | None = None, **client_options: Any
) -> AsyncIterator[tuple[SimulatedDevice, DeviceClient]]:
    """A running simulated device (on the loop clock) and an open client; both closed on exit."""
    from simulator import DeviceConfig, LoopClock, SimulatedDevice

    async with SimulatedDevice(config or DeviceConfig(), clock=LoopClock()) as device:
        client = DeviceClient(SimTransport(device=device), **client_options)
        await client.open()
        try:
            yield device, client
        finally:
            await client.close()


def temporary_history(folder: Path) -> HistoryStore:
    """An open history in *folder* (a test's ``tmp_path``), so R9 runs without touching the user's."""
    return HistoryStore(folder / "history.sqlite3").open()
