"""The client's own heartbeat watch, on the virtual loop clock (looptime).

Under looptime the loop's time stands still while anything is ready to run, and asyncio runs a
timer due within its clock's resolution at once. A watch that slept "until the heartbeat is due"
and woke a hair short of it slept again for that hair, for ever: the TUI suite hung in CI that way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from medctl.devices.medctl_protocol import reader
from medctl.testing import simulated_massager

pytestmark = pytest.mark.looptime


def spin_guard(monkeypatch: pytest.MonkeyPatch, limit: int = 50) -> list[float]:
    """Count the watch's waits; fail when it asks to wait again and again at one unmoving moment."""
    asked: list[float] = []
    real: Callable[[float, float], float] = reader.seconds_until

    def counted(due: float, now: float) -> float:
        asked.append(now)
        if asked[-limit:] == [now] * limit:
            raise AssertionError(f"the heartbeat watch waited {limit} times at loop time {now!r}: it spins")
        return real(due, now)

    monkeypatch.setattr(reader, "seconds_until", counted)
    return asked


async def test_a_heartbeat_due_a_hair_after_the_clock_goes_out_and_the_clock_moves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with simulated_massager() as (_, client):
        asked = spin_guard(monkeypatch)
        loop = asyncio.get_running_loop()
        interval = client._heartbeat_interval or 1.0
        for hair in (1e-12, 1e-10, 1e-9, 5e-7):  # below asyncio's resolution, at it, below looptime's tick
            now = loop.time()
            client._last_sent = now - interval + hair  # due a hair from now, as float rounding leaves it
            client._keepalive_wake.set()
            async with asyncio.timeout(interval):
                while client._last_sent <= now:
                    await asyncio.sleep(0.01)
            assert loop.time() > now
        assert asked, "the watch never waited through seconds_until"


async def test_the_client_takes_the_heartbeats_back_at_once_when_a_caller_stops_driving_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with simulated_massager() as (device, client):
        spin_guard(monkeypatch)
        loop = asyncio.get_running_loop()
        interval = client._heartbeat_interval or 1.0
        with client.keepalive_driven_by_caller():
            before = client._last_sent
            await asyncio.sleep(1.5 * interval)  # nobody drives: the client must not send on its own
            assert client._last_sent == before
        left_at = loop.time()
        async with asyncio.timeout(0.1):  # not after its silence limit: at once, the heartbeat being overdue
            while client._last_sent < left_at:
                await asyncio.sleep(0.005)
        assert client.connected and not device.state.faults


async def test_the_watch_wakes_only_when_something_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle link for a minute: about one wait per heartbeat, not a poll."""
    async with simulated_massager() as (_, client):
        asked = spin_guard(monkeypatch)
        interval = client._heartbeat_interval or 1.0
        await asyncio.sleep(60)
        assert client.connected
        assert len(asked) <= 60 / interval * 2 + 2
