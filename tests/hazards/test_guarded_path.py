"""One guarded path (finding 4): what ``medctl.connect()`` returns runs motor and heat only
through a guided session; raw level control is a separate door, shut while a session runs;
one session per connection at a time."""

from __future__ import annotations

import asyncio

import pytest

import medctl
from firmware_protocol import SetHeat, SetIntensity, Start
from medctl.errors import GuidedOnly, SessionRunning
from medctl.session import NO_HISTORY, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager, until_massage

pytestmark = pytest.mark.looptime


async def test_the_connection_has_no_motor_or_heat_control_of_its_own() -> None:
    async with medctl.connect("sim://") as massager:
        for name in ("start", "set_intensity", "set_heat"):
            assert not hasattr(massager, name), name
        for message in (Start(5), SetIntensity(5), SetHeat(2)):
            with pytest.raises(GuidedOnly, match="use a session"):
                await massager.request(message)
        assert massager.status is not None and not massager.status.running


async def test_the_raw_door_is_shut_while_a_session_runs_and_opens_after() -> None:
    async with simulated_massager() as (device, client):
        raw = client.raw()
        async with client.session(SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await until_massage(session, 10)
            for attempt in (raw.start(5), raw.set_intensity(5), raw.set_heat(2), raw.request(Start(5))):
                with pytest.raises(SessionRunning, match="raw control is shut"):
                    await attempt
            assert device.state.intensity == 1 and device.state.heat == 1
            assert session.phase.value == "warm_up"
            await raw.stop()  # STOP is never shut
            await asyncio.sleep(0.5)
        assert not device.state.running
        await raw.start(1)  # bench work once the session is over (from standstill the device takes only 1)
        await raw.set_intensity(2)
        assert device.state.running and device.state.intensity == 2


async def test_one_session_per_connection_at_a_time() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as first:
            await until_massage(first, 70)
            await first.increase()
            second = client.session(SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY)
            with pytest.raises(SessionRunning, match="one at a time"):
                async with second:
                    pass
            assert device.state.intensity == 2 and not first.done
            await first.stop()
        async with client.session(SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as third:
            assert device.state.running and device.state.intensity == 1
            await third.stop()


async def test_the_stop_latch_holds_on_the_raw_door_too() -> None:
    """After a STOP, heat comes on only after a new START, whoever asks."""
    async with simulated_massager() as (device, client):
        raw = client.raw()
        await raw.start(1)
        await raw.stop()
        with pytest.raises(medctl.CommandCancelled, match="start the motor first"):
            await raw.set_heat(1)
        assert device.state.heat == 0
        await raw.start(1)
        await raw.set_heat(1)
        assert device.state.heat == 1
