"""The BLE disconnect row of the fault matrix, in every session phase, over the virtual radio link.

The peripheral goes out of range (disconnects and stops advertising): the device stops by its
own watchdog, the session is interrupted and tries to reconnect; back in range, it reconnects
and waits for the person; nothing resumes by itself; the history has it all.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firmware_protocol import Fault
from medctl.address import parse_address
from medctl.client import DeviceClient
from medctl.history import HistoryStore
from medctl.session import Phase, SessionPlan
from medctl.testing import ALL_CLEAR
from medctl.transport.ble import BleBackend, BleTransport
from simulator import DeviceConfig, LoopClock, SimulatedDevice
from simulator.ble import virtual_ble
from simulator.bleak_backend import BumbleClient, BumbleScanner

pytestmark = pytest.mark.looptime

SAFE = ALL_CLEAR  # the shared all-clear safety check (medctl.testing)
PHASE_AT = {"warm_up": 20.0, "massage": 90.0, "step_down": 285.0, "paused": 90.0}
EXPECTED = {"warm_up": Phase.WARM_UP, "massage": Phase.MASSAGE, "step_down": Phase.STEP_DOWN, "paused": Phase.PAUSED}


@pytest.mark.parametrize("phase", list(PHASE_AT))
async def test_ble_disconnect(phase: str, tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as history:
        async with SimulatedDevice(DeviceConfig(), clock=LoopClock()) as device, virtual_ble(device) as air:
            backend = BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
            client = DeviceClient(BleTransport(parse_address(f"ble://{air.address}"), backend=backend))
            await client.open()
            async with client.session(SessionPlan(minutes=5, heat=True), safety=SAFE, history=history) as session:
                await asyncio.sleep(PHASE_AT[phase] - session.massage_s)
                if phase == "paused":
                    await session.pause()
                assert session.phase is EXPECTED[phase]
                device.faults.drop_links()
                # off, and released by its own watchdog, within the watchdog time
                stopped = await device.wait_for(lambda s: not (s.running or s.heat or s.owned), timeout=3.5)
                assert stopped.faults & Fault.LINK_LOST
                assert session.phase is Phase.INTERRUPTED
                device.faults.restore_links()
                async with asyncio.timeout(30):
                    while not any("reconnected" in n for n in session.record.notices):
                        await asyncio.sleep(0.5)
                assert not device.state.running  # nothing resumes by itself
                await session.resume()
                assert device.state.running and device.state.intensity == 1
                await session.stop()
            await client.close()
        (record,) = history.sessions()
        kinds = {e.kind for e in history.events(record.id)}
    assert record.state == "ended" and {"link_lost", "reconnected", "resume", "stop"} <= kinds
