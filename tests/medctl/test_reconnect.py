"""R10 reconnects: for as long as the session may stay interrupted, and only to the same massager.

On the virtual loop clock (looptime): a link that stays down for a minute, one that never comes
back, and another massager answering at the address in between.
"""

from __future__ import annotations

import asyncio

import pytest

from medctl import NO_HISTORY
from medctl.client import DeviceClient
from medctl.session import EndReason, Phase, SessionPlan
from medctl.session.engine import RECONNECT_BACKOFF_S
from medctl.testing import ALL_CLEAR, OutOfRangeSimTransport, out_of_range_massager
from medctl.transport.sim import SimTransport
from simulator import DeviceConfig, SimulatedDevice

pytestmark = pytest.mark.looptime

PLAN = SessionPlan(minutes=5)


async def _lose_link(device: SimulatedDevice, transport: OutOfRangeSimTransport, down_for: float) -> None:
    transport.back_at = asyncio.get_running_loop().time() + down_for
    device.faults.drop_links()


async def test_a_massager_back_after_a_minute_is_reconnected() -> None:
    """Past the first back-off steps (0.5 + 1 + 2 + 4 s) medctl goes on trying every few seconds."""
    assert sum(RECONNECT_BACKOFF_S) < 60
    async with out_of_range_massager() as (device, transport, client):
        async with client.session(PLAN, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await asyncio.sleep(5)
            await _lose_link(device, transport, down_for=60)
            await asyncio.sleep(59)
            assert session.phase is Phase.INTERRUPTED and not session.done
            await asyncio.sleep(10)
            assert session.phase is Phase.INTERRUPTED and not session.done
            assert session.snapshot().notice is not None and session.snapshot().notice.startswith("reconnected")
            assert not device.state.running  # never resumed by itself
            await session.resume()
            assert device.state.running and device.state.intensity == 1


async def test_a_massager_that_never_comes_back_ends_the_session_at_the_pause_limit() -> None:
    plan = SessionPlan(minutes=5, pause_limit_s=90)
    async with out_of_range_massager() as (device, transport, client):
        async with client.session(plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await asyncio.sleep(5)
            lost_at = asyncio.get_running_loop().time()
            await _lose_link(device, transport, down_for=10_000)
            record = await asyncio.wait_for(session.wait(), 200)
            ended_after = asyncio.get_running_loop().time() - lost_at
        assert record.end_reason is EndReason.LINK_LOST
        assert 90 <= ended_after <= 90 + 10  # the pause limit, plus at most one wait between attempts


async def test_another_massager_at_the_address_is_refused_said_and_ours_is_found_again() -> None:
    async with SimulatedDevice() as ours, SimulatedDevice(DeviceConfig(serial="NE2-STRANGER")) as stranger:
        transport = SimTransport(device=ours)
        client = DeviceClient(transport)
        await client.open()
        try:
            async with client.session(PLAN, safety=ALL_CLEAR, history=NO_HISTORY) as session:
                await asyncio.sleep(5)
                transport.device = stranger
                ours.faults.drop_links()
                await asyncio.sleep(3)
                assert session.phase is Phase.INTERRUPTED
                assert any(
                    "another massager" in notice and "NE2-STRANGER" in notice for notice in session.record.notices
                )
                assert not stranger.state.owned and not stranger.state.running  # never introduced, never started
                transport.device = ours
                await asyncio.sleep(10)
                assert session.snapshot().notice is not None and session.snapshot().notice.startswith("reconnected")
                assert ours.state.owned and not ours.state.running
        finally:
            await client.close()
