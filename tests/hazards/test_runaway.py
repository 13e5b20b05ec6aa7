"""Runaway after a crash or a lost link: the device stops by itself, and medctl never
carries on at the old setting (R10)."""

from __future__ import annotations

import asyncio

import pytest

from firmware_protocol import Fault
from medctl.session import NO_HISTORY, Phase, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager, until_massage

pytestmark = pytest.mark.looptime


async def test_a_controller_that_vanishes_leaves_a_stopped_device() -> None:
    """A crashed controller sends nothing more: the device's watchdog stops motor and heat."""
    async with simulated_massager() as (device, client):
        session = client.session(SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=NO_HISTORY)
        await session.begin()
        await until_massage(session, 70)
        await session.increase()
        for task in list(session._tasks):  # the control loop and the link watcher die with the process
            task.cancel()
        await asyncio.sleep(0)
        state = await device.wait_for(lambda s: not s.running, timeout=4)
        assert state.heat == 0 and state.faults & Fault.LINK_LOST
        await session.stop()


async def test_after_a_lost_link_the_device_is_stopped_and_resuming_is_the_persons_choice() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await until_massage(session, 90)
            await session.increase()
            device.faults.drop_links()
            await asyncio.sleep(10)
            assert session.phase is Phase.INTERRUPTED
            assert not device.state.running and device.state.heat == 0
            await session.resume()
            assert device.state.intensity == 1 and device.state.heat == 1
            await session.stop()
