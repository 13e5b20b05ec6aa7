"""Tests of the example app, written only with the fixtures of medctl's pytest plugin.

Run them with ``pytest -p medctl.pytest_plugin examples/test_evening_app.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from medctl.harness import SimulatedMassager
from medctl.history import HistoryStore
from medctl.session import SafetyCheck

spec = importlib.util.spec_from_file_location("evening_app", Path(__file__).with_name("evening_app.py"))
assert spec is not None and spec.loader is not None
evening_app = importlib.util.module_from_spec(spec)
sys.modules["evening_app"] = evening_app
spec.loader.exec_module(evening_app)


@pytest.mark.looptime
async def test_a_quiet_evening(
    medctl_sim: SimulatedMassager, medctl_safety: SafetyCheck, medctl_history: HistoryStore
) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        record, sentence = await evening_app.evening_session(massager, medctl_safety, medctl_history)
    assert sentence.startswith("A warm 5 minutes")
    assert record.end_reason.value == "completed"
    assert len(medctl_history.sessions()) == 1


@pytest.mark.looptime
async def test_an_overheating_pad_turns_the_heat_off(
    medctl_sim: SimulatedMassager, medctl_safety: SafetyCheck, medctl_history: HistoryStore
) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        sim.faults.over_temperature()
        record, sentence = await evening_app.evening_session(massager, medctl_safety, medctl_history)
        assert sim.device.state.heat == 0
    assert record.end_reason.value == "completed"
    assert sentence == "5 minutes; the pad got too hot, so the massager turned the heat off."


@pytest.mark.looptime
async def test_a_stalled_motor_ends_early_and_says_so(
    medctl_sim: SimulatedMassager, medctl_safety: SafetyCheck, medctl_history: HistoryStore
) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        sim.faults.stall()
        record, sentence = await evening_app.evening_session(massager, medctl_safety, medctl_history)
        assert not sim.device.state.running
    assert record.end_reason.value != "completed"
    assert sentence.startswith("Ended early")
