"""Intensity/heat changes coalesce: while one is in flight, only the latest waiting value is sent."""

from __future__ import annotations

import asyncio
import math

import pytest

from medctl.clock import ScaledClock
from medctl.coalesce import CoalescingSlot, LatestWinsQueue
from medctl.errors import CommandCancelled


class GatedSender:
    """Records values; each send waits until the test opens the gate."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def __call__(self, value: int) -> None:
        self.sent.append(value)
        self.started.set()
        await self.gate.wait()


async def test_values_waiting_behind_a_slow_send_collapse_to_the_latest() -> None:
    sender = GatedSender()
    slot = CoalescingSlot(sender)
    first = asyncio.create_task(slot.submit(2))
    await sender.started.wait()
    waiting = [asyncio.create_task(slot.submit(v)) for v in (3, 4, 5)]
    await asyncio.sleep(0)
    sender.gate.set()
    await asyncio.gather(first, *waiting)
    assert sender.sent == [2, 5]


async def test_cancel_fails_the_unsent_value_but_not_the_one_in_flight() -> None:
    sender = GatedSender()
    slot = CoalescingSlot(sender)
    first = asyncio.create_task(slot.submit(2))
    await sender.started.wait()
    second = asyncio.create_task(slot.submit(3))
    await asyncio.sleep(0)
    slot.cancel(CommandCancelled("stop"))
    sender.gate.set()
    await first
    with pytest.raises(CommandCancelled):
        await second
    assert sender.sent == [2]


async def test_a_failed_send_reaches_every_caller_that_shared_it() -> None:
    async def failing(value: int) -> None:
        raise ValueError(f"refused {value}")

    slot = CoalescingSlot(failing)
    with pytest.raises(ValueError, match="refused 4"):
        await slot.submit(4)


def test_a_full_latest_wins_queue_drops_the_oldest_and_never_blocks() -> None:
    queue: LatestWinsQueue[int] = LatestWinsQueue(3)
    for value in range(10):
        queue.push(value)
    assert [queue.get_nowait() for _ in range(queue.qsize())] == [7, 8, 9]


@pytest.mark.parametrize("speed", [0.0, -1.0, math.inf, math.nan])
def test_a_scaled_clock_refuses_a_speed_that_is_not_a_finite_positive_number(speed: float) -> None:
    with pytest.raises(ValueError, match="finite number above 0"):
        ScaledClock(speed)
