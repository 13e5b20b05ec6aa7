"""``seconds_until``: every wait for a moment ends with the moment behind it; ``wait_set``: a wait
for an event or a moment that cancels nothing."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medctl.clock import DUE_MARGIN_S, seconds_until, wait_set

#: asyncio runs a timer due within this of its clock at once, without the clock moving.
ASYNCIO_RESOLUTION_S = 1e-9

moments = st.floats(min_value=0.0, max_value=1e7, allow_nan=False)
gaps = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)


@given(now=moments, gap=gaps)
def test_a_wait_ends_past_its_moment_and_never_too_short_to_move_a_clock(now: float, gap: float) -> None:
    due = now + gap
    wait = seconds_until(due, now)
    if due <= now:  # here already (a gap lost to rounding included)
        assert wait == 0.0
    else:
        assert now + wait > due
        assert wait >= DUE_MARGIN_S > ASYNCIO_RESOLUTION_S
        assert wait <= gap + DUE_MARGIN_S * 1.001


@pytest.mark.looptime
async def test_sleeping_that_long_on_the_virtual_clock_reaches_the_moment() -> None:
    loop = asyncio.get_running_loop()
    for hair in (1e-15, 1e-12, 1e-9, 1e-7):
        due = loop.time() + hair
        await asyncio.sleep(seconds_until(due, loop.time()))
        assert loop.time() >= due


@pytest.mark.looptime
async def test_wait_set_ends_at_its_limit_with_the_event_set() -> None:
    loop, event = asyncio.get_running_loop(), asyncio.Event()
    started = loop.time()
    await wait_set(event, 2.0)
    assert loop.time() - started == pytest.approx(2.0) and event.is_set()


@pytest.mark.looptime
async def test_wait_set_ends_when_the_event_is_set_and_its_timer_goes_with_it() -> None:
    """Set before the limit: the wait ends then, and the timer never sets the event later (a
    stale timer would wake the next wait early)."""
    loop, event = asyncio.get_running_loop(), asyncio.Event()
    loop.call_later(0.5, event.set)
    started = loop.time()
    await wait_set(event, 2.0)
    assert loop.time() - started == pytest.approx(0.5)
    event.clear()
    await asyncio.sleep(5.0)
    assert not event.is_set()


@pytest.mark.looptime
async def test_a_cancelled_wait_set_leaves_no_timer_behind() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_set(event, 2.0))
    await asyncio.sleep(1.0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(5.0)
    assert not event.is_set()


@pytest.mark.looptime
async def test_wait_set_without_a_limit_waits_for_the_event_alone() -> None:
    loop, event = asyncio.get_running_loop(), asyncio.Event()
    waiting = asyncio.create_task(wait_set(event, None))
    await asyncio.sleep(3600.0)
    assert not waiting.done()
    event.set()
    await waiting
    assert loop.time() >= 3600.0
