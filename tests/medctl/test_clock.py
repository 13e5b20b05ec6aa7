"""``seconds_until``: every wait for a moment ends with the moment behind it."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medctl.clock import DUE_MARGIN_S, seconds_until

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
