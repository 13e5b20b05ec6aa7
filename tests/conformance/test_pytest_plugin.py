"""The pytest plugin's fixtures, as an app's tests would use them, and its opt-in switch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firmware_protocol import ErrorCode, Fault
from medctl import CommandRefused, SessionPlan, connect
from medctl.harness import SimulatedMassager
from medctl.history import HistoryStore
from medctl.session import EndReason, SafetyCheck
from simulator import DeviceConfig

pytest_plugins = ["pytester"]


@pytest.mark.looptime
async def test_in_process_session_on_the_virtual_clock(
    medctl_sim: SimulatedMassager, medctl_safety: SafetyCheck, medctl_history: HistoryStore
) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        async with massager.session(SessionPlan(minutes=5), safety=medctl_safety, history=medctl_history) as session:
            async for _ in session.updates():
                pass
        assert session.record.end_reason is EndReason.COMPLETED
        assert not sim.device.state.running
    assert len(medctl_history.sessions()) == 1


@pytest.mark.looptime
async def test_over_temperature_is_one_call(medctl_sim: SimulatedMassager) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        raw = massager.raw()
        await raw.start(1)
        await raw.set_heat(2)
        sim.faults.over_temperature()
        state = await sim.device.wait_for(lambda s: bool(s.faults & Fault.OVER_TEMPERATURE), timeout=1)
        assert state.heat == 0


@pytest.mark.looptime
async def test_refusal_and_silence(medctl_sim: SimulatedMassager) -> None:
    async with medctl_sim as sim, sim.connect(request_timeout=0.2, retries=2) as massager:
        sim.faults.refuse(ErrorCode.BUSY)
        with pytest.raises(CommandRefused):
            await massager.raw().start(1)
        sim.faults.clear()
        sim.faults.silence()
        with pytest.raises(Exception, match="answer|respond|timed out|lost"):
            await massager.raw().start(1)
        assert sim.device.state.running  # the device acted; only its answers were lost
        sim.faults.speak()


@pytest.fixture
def medctl_sim_config() -> DeviceConfig:
    return DeviceConfig(battery=True)


@pytest.mark.looptime
async def test_config_override_and_battery(medctl_sim: SimulatedMassager) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        await massager.raw().start(1)
        sim.faults.drain_battery()
        state = await sim.device.wait_for(lambda s: bool(s.faults & Fault.BATTERY_EMPTY), timeout=1)
        assert not state.running


@pytest.mark.realtime
async def test_pty_and_tcp_are_reached_by_url(
    medctl_sim_pty: SimulatedMassager, medctl_sim_tcp: SimulatedMassager
) -> None:
    async with medctl_sim_pty as pty, medctl_sim_tcp as tcp:
        assert pty.url.startswith("serial:///dev/") and tcp.url.startswith("tcp://127.0.0.1:")
        for sim in (pty, tcp):
            async with connect(sim.url) as massager:
                await massager.raw().start(1)
                assert sim.device.state.running
            assert not sim.device.state.running


@pytest.mark.looptime
async def test_ble_link_loss(medctl_sim_ble: SimulatedMassager) -> None:
    async with medctl_sim_ble as sim, sim.connect() as massager:
        await massager.raw().start(1)
        sim.faults.lose_link()
        lost = await asyncio.wait_for(massager.wait_lost(), timeout=30)
        assert lost is not None
        state = await sim.device.wait_for(lambda s: not s.running, timeout=10)  # the watchdog stops it
        assert state.faults & Fault.LINK_LOST


def test_not_running_says_so(medctl_sim: SimulatedMassager) -> None:
    with pytest.raises(RuntimeError, match="async with"):
        _ = medctl_sim.device


def test_fixtures_are_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(medctl_safety):\n    assert medctl_safety.fever is False\n")
    off = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "addopts=")
    off.assert_outcomes(errors=1)
    assert "fixture 'medctl_safety' not found" in off.stdout.str()
    on = pytester.runpytest_subprocess("-p", "medctl.pytest_plugin", "-o", "addopts=")
    on.assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nmedctl_fixtures = true\n")
    ini = pytester.runpytest_subprocess("-o", "addopts=")
    ini.assert_outcomes(passed=1)


def test_history_is_in_the_temporary_folder(medctl_history: HistoryStore, tmp_path: Path) -> None:
    assert (tmp_path / "history.sqlite3").exists()


@pytest.mark.looptime
async def test_dropped_and_duplicated_frames_are_absorbed_by_retries(medctl_sim: SimulatedMassager) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        sim.faults.drop(1, "in")
        await massager.raw().start(1)
        assert sim.device.state.running and sim.device.state.frames_dropped == 1
        sim.faults.duplicate(1, "in")
        await massager.raw().set_intensity(2)
        assert sim.device.state.intensity == 2 and sim.device.state.duplicates == 1


@pytest.mark.looptime
async def test_time_limits_are_one_call(medctl_sim: SimulatedMassager) -> None:
    async with medctl_sim as sim, sim.connect() as massager:
        await massager.raw().start(1)
        await massager.raw().set_heat(1)
        sim.faults.heat_limit()
        state = await sim.device.wait_for(lambda s: s.heat == 0, timeout=1)
        assert state.running and state.faults & Fault.AUTO_OFF
        sim.faults.auto_off()
        state = await sim.device.wait_for(lambda s: not s.running, timeout=1)
        assert state.run_locked and state.heat_locked
