"""The person's word is final (finding 3): a decrease or "too much" lowers the climb's target
for the rest of the session; only the person raises the level again, under R3/R4."""

from __future__ import annotations

import pytest

from medctl.session import NO_HISTORY, RuleViolation, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager, until_massage

pytestmark = pytest.mark.looptime


async def test_a_decrease_is_not_undone_by_the_climb() -> None:
    async with simulated_massager() as (device, client):
        plan = SessionPlan(minutes=10, target_intensity=4)
        async with client.session(plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await until_massage(session, 91)
            assert device.state.intensity == 3
            assert await session.decrease() == 2
            await until_massage(session, 400)
            assert session.intensity == 2 and device.state.intensity == 2
            await session.stop()


async def test_too_much_is_final_and_only_the_person_raises_again() -> None:
    async with simulated_massager() as (device, client):
        plan = SessionPlan(minutes=10, target_intensity=5)
        async with client.session(plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await until_massage(session, 111)
            assert device.state.intensity == 4
            assert await session.too_much() == 3
            await until_massage(session, 300)
            assert device.state.intensity == 3, "the climb went back up after 'too much'"
            assert await session.increase() == 4  # the person may, after a full spacing (R4)
            with pytest.raises(RuleViolation) as refusal:
                await session.increase()
            assert refusal.value.rule == "R4"
            await until_massage(session, 400)
            assert device.state.intensity == 4
            await session.stop()


async def test_too_much_at_the_lightest_setting_ends_with_the_articles_advice() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await until_massage(session, 20)
            assert await session.too_much() == 0
        record = session.record
        assert record.end_reason.value == "too_much" and record.advice and "lighten up" in record.advice
        assert not device.state.running
