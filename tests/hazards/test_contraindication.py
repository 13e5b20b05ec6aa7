"""Contraindication: no session without an explicit safety check that allows one (R8)."""

from __future__ import annotations

import pytest

from medctl.session import NO_HISTORY, RuleViolation, SafetyCheck, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager

pytestmark = pytest.mark.looptime

REFUSALS = {
    "fever": "doctor",
    "arm_symptoms": "doctor",
    "recent_trauma": "doctor",
    "severe_headache": "doctor",
    "swelling_bruising_or_injury": "heal",
    "underlying_condition": "provider",
}


@pytest.mark.parametrize("answer", sorted(REFUSALS))
async def test_a_contraindication_refuses_the_session_before_the_motor_moves(answer: str) -> None:
    check = SafetyCheck(**{**ALL_CLEAR.__dict__, answer: True})
    async with simulated_massager() as (device, client):
        before = device.state.requests_executed
        with pytest.raises(RuleViolation, match=REFUSALS[answer]) as refusal:
            async with client.session(SessionPlan(minutes=5), safety=check, history=NO_HISTORY):
                pass
        assert refusal.value.rule == "R8"
        assert not device.state.running and device.state.requests_executed == before


async def test_there_is_no_session_without_an_answered_safety_check() -> None:
    async with simulated_massager() as (_, client):
        with pytest.raises(TypeError, match="SafetyCheck"):
            client.session(SessionPlan(minutes=5), safety=None, history=NO_HISTORY)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="missing"):
            SafetyCheck.from_answers({"fever": False})
