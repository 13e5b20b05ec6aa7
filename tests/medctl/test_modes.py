"""Massage modes over our own protocol (SPEC.md §7.4.11): read at connect, chosen by name, kept
through a reconnect; a device without modes offers none. On the virtual loop clock."""

from __future__ import annotations

import asyncio

import pytest

from medctl import NO_HISTORY
from medctl.errors import Unsupported
from medctl.session import Phase, SessionPlan
from medctl.testing import ALL_CLEAR, out_of_range_massager, simulated_massager
from simulator import DeviceConfig
from simulator.config import DEFAULT_MODES

pytestmark = pytest.mark.looptime

PLAN = SessionPlan(minutes=5)


async def test_the_client_reads_the_mode_names_at_connect() -> None:
    async with simulated_massager(DeviceConfig(modes=("wave", "pulse"))) as (_, client):
        assert client.capabilities.modes == ("wave", "pulse")


async def test_a_device_without_modes_offers_none_and_is_never_sent_set_mode() -> None:
    async with simulated_massager(DeviceConfig(modes=())) as (device, client):
        assert client.capabilities.modes == ()
        sent = device.state.frames_received
        with pytest.raises(Unsupported, match="it has none"):
            await client.raw().set_mode("kneading")
        assert device.state.frames_received == sent  # refused before anything went out


async def test_a_session_switches_the_device_mode_by_name() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(PLAN, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            assert session.modes == DEFAULT_MODES
            assert await session.set_mode("rolling") == "rolling"
            assert device.state.mode == DEFAULT_MODES.index("rolling") and device.state.intensity == 1
            with pytest.raises(Unsupported, match="no massage mode 'swirl'"):
                await session.set_mode("swirl")
            assert device.state.mode == DEFAULT_MODES.index("rolling")
            await session.stop()
        assert device.state.mode == DEFAULT_MODES.index("rolling")  # STOP leaves the pattern


async def test_the_mode_is_set_again_when_a_session_continues_after_the_device_restarted() -> None:
    """SPEC.md §6.8.1: STATUS does not carry the mode, so after a reconnect it is sent again."""
    async with out_of_range_massager() as (device, transport, client):
        async with client.session(PLAN, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await asyncio.sleep(5)
            await session.set_mode("tapping")
            transport.back_at = asyncio.get_running_loop().time() + 10
            device.faults.power_cycle()  # back at its power-on settings: mode 0
            while not session.can_continue:
                await asyncio.sleep(0.5)
            assert device.state.mode == 0
            await session.continue_after_link_loss()
            assert session.phase is Phase.WARM_UP and device.state.running
            assert device.state.mode == DEFAULT_MODES.index("tapping") and session.mode == "tapping"
            await session.stop()


async def test_resuming_after_a_pause_keeps_the_chosen_mode() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(PLAN, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await session.set_mode("rolling")
            await session.pause()
            await session.resume()
            assert device.state.running and device.state.mode == DEFAULT_MODES.index("rolling")
            await session.stop()


async def test_medctl_status_lists_the_modes_or_says_there_are_none() -> None:
    from medctl.cli.status import format_status, status_document

    async with simulated_massager() as (_, client):
        assert client.identity is not None and client.status is not None
        assert "modes       kneading, tapping, rolling" in format_status(client.identity, client.status)
        assert status_document(client.identity, client.status)["capabilities"]["modes"] == list(DEFAULT_MODES)
    async with simulated_massager(DeviceConfig(modes=())) as (_, client):
        assert client.identity is not None and client.status is not None
        assert "modes       none" in format_status(client.identity, client.status)
        assert status_document(client.identity, client.status)["capabilities"]["modes"] == []
