"""The client's own heartbeat watch, on the virtual loop clock (looptime).

Under looptime the loop's time stands still while anything is ready to run, and asyncio runs a
timer due within its clock's resolution at once. A watch that slept "until the heartbeat is due"
and woke a hair short of it slept again for that hair, for ever: the TUI suite hung in CI that way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import pytest

from medctl.clock import seconds_until
from medctl.devices.medctl_protocol import reader
from medctl.testing import simulated_massager

pytestmark = pytest.mark.looptime


def spin_guard(monkeypatch: pytest.MonkeyPatch, limit: int = 50) -> list[float]:
    """Count the watch's looks at the time; fail when it looks again and again at one unmoving moment."""
    asked: list[float] = []
    real: Callable[[float, float], bool] = reader.reached

    def counted(due: float, now: float) -> bool:
        asked.append(now)
        if asked[-limit:] == [now] * limit:
            raise AssertionError(f"the heartbeat watch looked {limit} times at loop time {now!r}: it spins")
        return real(due, now)

    monkeypatch.setattr(reader, "reached", counted)
    return asked


async def test_a_heartbeat_due_a_hair_after_the_clock_goes_out(monkeypatch: pytest.MonkeyPatch) -> None:
    async with simulated_massager() as (_, client):
        asked = spin_guard(monkeypatch)
        loop = asyncio.get_running_loop()
        interval = client._heartbeat_interval or 1.0
        for hair in (1e-12, 1e-10, 1e-9, 5e-7, 2e-3):  # below asyncio's resolution, at it, below a tick, above
            await asyncio.sleep(0.25)
            marked = client._last_sent = loop.time() - interval + hair  # due a hair from now, as rounding leaves it
            client._keepalive_wake.set()
            async with asyncio.timeout(interval):
                while client._last_sent == marked:
                    await asyncio.sleep(0.001)
        assert asked, "the watch never asked reached()"


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


class CountingEvent(asyncio.Event):
    """The watch's wake event, counting the watch's waits on it (one per time it wakes)."""

    waits = 0

    async def wait(self) -> Literal[True]:
        self.waits += 1
        return await super().wait()


def count_watch_wakes(client: Any) -> CountingEvent:
    counting, old = CountingEvent(), client._keepalive_wake
    client._keepalive_wake = counting
    old.set()  # the watch's current wait ends; its next ones are counted
    return counting


async def drive(client: Any, seconds: float, interval: float) -> None:
    """What a session's loop does: keepalive() when the heartbeat is due."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end and client.connected:
        due = await client.keepalive()
        await asyncio.sleep(interval if due is None else seconds_until(due, loop.time()))


async def test_the_watch_wakes_only_when_something_is_due() -> None:
    """An idle link for a minute: one wake per heartbeat, not a poll."""
    async with simulated_massager() as (_, client):
        wakes = count_watch_wakes(client)
        interval = client._heartbeat_interval or 1.0
        await asyncio.sleep(60)
        assert client.connected
        assert wakes.waits <= 60 / interval + 2


async def test_while_a_caller_drives_the_heartbeats_the_watch_only_watches_for_silence_and_notices_it() -> None:
    async with simulated_massager() as (device, client):
        loop = asyncio.get_running_loop()
        interval = client._heartbeat_interval or 1.0
        with client.keepalive_driven_by_caller():
            wakes = count_watch_wakes(client)
            await drive(client, 60, interval)  # frames come back every second: no silence
            # it wakes only when the silence would be too long, counted from the last frame it knew of
            assert client.connected and wakes.waits <= 60 / interval + 2
            device.faults.delay(30)  # the device goes silent (its frames are held back)
            went_silent = loop.time()
            driver = asyncio.create_task(drive(client, 30, interval))
            lost = await asyncio.wait_for(client.wait_lost(), 10)
            await driver
        assert "stopped answering" in str(lost) or "did not answer" in str(lost)
        # noticed once the last frame heard is the silence limit old (3 s watchdog − 1 s heartbeat)
        assert loop.time() - went_silent <= client._silence_limit(interval) + 0.01
