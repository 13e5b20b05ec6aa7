"""Device clocks: the loop's own time, and a clock running faster than the loop."""

from __future__ import annotations

import asyncio

import pytest

from simulator import Clock, LoopClock, ScaledClock


@pytest.mark.looptime
async def test_loop_clock_is_the_loop_time() -> None:
    clock: Clock = LoopClock()
    loop = asyncio.get_running_loop()
    assert clock.now() == loop.time()
    await clock.sleep(2.5)
    assert clock.now() == loop.time() == pytest.approx(2.5)


@pytest.mark.looptime
async def test_scaled_clock_runs_speed_times_faster() -> None:
    clock = ScaledClock(60)
    loop = asyncio.get_running_loop()
    start = clock.now()
    await asyncio.sleep(1.0)
    assert clock.now() - start == pytest.approx(60.0)
    before = loop.time()
    await clock.sleep(120)
    assert loop.time() - before == pytest.approx(2.0)
    assert clock.now() - start == pytest.approx(180.0)


@pytest.mark.parametrize("speed", [0, -1, float("inf"), float("nan")])
def test_scaled_clock_needs_a_positive_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(speed)
