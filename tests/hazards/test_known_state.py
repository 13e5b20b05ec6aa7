"""A session starts by putting the device in a known state (finding 2): heat as the plan says,
0 included, before the warm-up counts; whatever a previous controller left on is not trusted."""

from __future__ import annotations

import pytest

from medctl.session import NO_HISTORY, Phase, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager

pytestmark = pytest.mark.looptime


@pytest.mark.parametrize(("heat", "expected"), [(False, 0), (True, 1)])
async def test_a_session_sets_the_planned_heat_over_what_was_left_on(heat: bool, expected: int) -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)  # the device starts only at 1 from standstill (SPEC §7.4.5)
        await client.raw().set_intensity(4)
        await client.raw().set_heat(2)  # left on by bench work (or another program)
        async with client.session(SessionPlan(minutes=5, heat=heat), safety=ALL_CLEAR, history=NO_HISTORY) as session:
            assert session.phase is Phase.WARM_UP
            assert device.state.running and device.state.intensity == 1
            assert device.state.heat == expected and session.heat == expected
            await session.stop()
