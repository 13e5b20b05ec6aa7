"""The controller trusts nothing it did not ask for (finding 7).

A device that reports a pad far above its cap, over-temperature with its heater still on,
intensity or heat above what was commanded, or running while the session has it stopped
is stopped at once; the session ends with ``device_misbehaved`` and the history says why.
The lying reports are injected as STATUS frames on the device's own link.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firmware_protocol import Fault, MotorState, Status, StatusFlag, encode_message
from medctl.session import EndReason, Phase, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager, temporary_history, until_massage
from simulator import SimulatedDevice

pytestmark = pytest.mark.looptime


def lie(device: SimulatedDevice, **fields: object) -> None:
    """Send the controller a STATUS the firmware never made (still owned by it)."""
    values: dict[str, object] = {
        "state": MotorState.RUNNING,
        "intensity": 1,
        "heat": 0,
        "pad_temp_centi_c": 3100,
        "flags": StatusFlag.OWNED,
    }
    values.update(fields)
    device.faults.inject_garbage(encode_message(Status(**values), 0))  # type: ignore[arg-type]


CASES = {
    "pad_far_above_the_cap": ({"heat": 1, "pad_temp_centi_c": 20000}, "200 °C"),
    "over_temperature_with_heat_on": (
        {"heat": 1, "pad_temp_centi_c": 4600, "faults": Fault.OVER_TEMPERATURE},
        "over-temperature",
    ),
    "intensity_above_commanded": ({"intensity": 5, "heat": 1}, "intensity 5"),
    "heat_above_commanded": ({"heat": 2}, "heat 2"),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_report_nobody_asked_for_stops_the_device_and_ends_the_session(case: str, tmp_path: Path) -> None:
    fields, words = CASES[case]
    with temporary_history(tmp_path) as history:
        async with simulated_massager() as (device, client):
            async with client.session(SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=history) as session:
                await until_massage(session, 30)
                lie(device, **fields)
                record = await asyncio.wait_for(session.wait(), 2)
            assert record.end_reason is EndReason.DEVICE_MISBEHAVED
            assert any(words in n and "stopped" in n for n in record.notices), record.notices
            assert not device.state.running and device.state.heat == 0
            assert not any("turned the heat off" in n for n in record.notices)
        (saved,) = history.sessions()
        assert saved.end_reason == "device_misbehaved"
        assert any(e.kind == "hazard" and words in (e.detail or "") for e in history.events(saved.id))


async def test_running_while_paused_is_a_state_change_nobody_asked_for(tmp_path: Path) -> None:
    with temporary_history(tmp_path) as history:
        async with simulated_massager() as (device, client):
            async with client.session(SessionPlan(minutes=5), safety=ALL_CLEAR, history=history) as session:
                await until_massage(session, 30)
                await session.pause()
                lie(device)
                record = await asyncio.wait_for(session.wait(), 2)
            assert record.end_reason is EndReason.DEVICE_MISBEHAVED
            assert session.phase is Phase.DONE and not device.state.running


async def test_the_device_cutting_its_own_heater_is_not_a_hazard(tmp_path: Path) -> None:
    """The real over-temperature path (R11): heat off by the device, the session goes on."""
    with temporary_history(tmp_path) as history:
        async with simulated_massager() as (device, client):
            async with client.session(SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=history) as session:
                await until_massage(session, 70)
                device.faults.force_over_temperature()
                await until_massage(session, 75)
                assert session.phase is Phase.MASSAGE and session.heat == 0 and device.state.heat == 0
                await session.stop()
