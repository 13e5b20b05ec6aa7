"""The session engine against the in-process simulator, on the virtual loop clock."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from firmware_protocol import Fault
from medctl.client import DeviceClient
from medctl.errors import TransportError
from medctl.history import HistoryStore
from medctl.session import EndReason, FrequencyOverrideRequired, Phase, RuleViolation, SafetyCheck, SessionPlan, core
from medctl.session.engine import Session
from medctl.testing import ALL_CLEAR, simulated_massager
from medctl.transport.sim import SimTransport
from simulator import SimulatedDevice

pytestmark = pytest.mark.looptime

SAFE = ALL_CLEAR  # the shared all-clear safety check (medctl.testing)


async def until(session: Session, seconds: float) -> None:
    """Advance the (virtual) loop until *seconds* of massage have passed."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, seconds - session.massage_s))
    while session.massage_s < seconds and not session.done:
        await asyncio.sleep(0.01)
    assert loop is asyncio.get_running_loop()


async def test_starts_at_the_lightest_setting_and_refuses_early_increase() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            assert session.phase is Phase.WARM_UP
            assert device.state.running and device.state.intensity == 1 and device.state.heat == 0
            await until(session, 59)
            with pytest.raises(RuleViolation, match=r"warm-up: \d s left") as refusal:
                await session.increase()
            assert refusal.value.rule == "R3"
            await until(session, 60.3)
            assert session.phase is Phase.MASSAGE
            assert await session.increase() == 2
            assert device.state.intensity == 2
            with pytest.raises(RuleViolation, match="gradual: wait") as refusal:
                await session.increase()
            assert refusal.value.rule == "R4"
            await until(session, 81)
            assert await session.increase() == 3


async def test_full_ten_minutes_with_heat_climb_and_step_down() -> None:
    async with simulated_massager() as (device, client):
        seen: set[Phase] = set()
        levels: list[int] = []
        plan = SessionPlan(minutes=10, heat=True, target_intensity=4)
        async with client.session(plan, safety=SAFE) as session:
            assert device.state.heat == 1
            async for update in session.updates():
                seen.add(update.phase)
                if not levels or levels[-1] != update.intensity:
                    levels.append(update.intensity)
            record = await session.wait()
        assert record.end_reason is EndReason.COMPLETED
        assert record.massage_s == pytest.approx(600, abs=0.5)
        assert record.max_intensity == 4
        assert levels == [1, 2, 3, 4, 3, 2, 1]
        assert {Phase.WARM_UP, Phase.MASSAGE, Phase.STEP_DOWN, Phase.DONE} <= seen
        assert not device.state.running and device.state.heat == 0


async def test_climb_waits_for_warm_up_and_spacing() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5, target_intensity=3), safety=SAFE) as session:
            await until(session, 59.5)
            assert device.state.intensity == 1
            await until(session, 61)
            assert device.state.intensity == 2
            await until(session, 79)
            assert device.state.intensity == 2
            await until(session, 81)
            assert device.state.intensity == 3
            await session.stop()


@pytest.mark.parametrize("minutes", [5, 10])
async def test_ends_by_itself_at_the_planned_time(minutes: int) -> None:
    async with simulated_massager() as (_, client):
        async with client.session(SessionPlan(minutes=minutes), safety=SAFE) as session:
            record = await session.wait()
        assert record.end_reason is EndReason.COMPLETED
        assert record.massage_s == pytest.approx(minutes * 60, abs=0.3)


async def test_stop_during_warm_up() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5, heat=True), safety=SAFE) as session:
            await until(session, 10)
            record = await session.stop()
        assert record.end_reason is EndReason.STOPPED
        assert not device.state.running and device.state.heat == 0


async def test_stop_while_paused_and_never_refused() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            await session.pause()
            assert not device.state.running
            await session.stop()
            await session.stop()  # again: still fine
        assert session.record.end_reason is EndReason.STOPPED


async def test_third_too_much_ends_the_session() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5, increase_spacing_s=1), safety=SAFE) as session:
            await until(session, 61)
            for _ in range(4):
                await session.increase()
                await until(session, session.massage_s + 1.1)
            assert await session.too_much() == 4
            assert await session.too_much() == 3
            assert await session.too_much() == 0
            record = await session.wait()
        assert record.end_reason is EndReason.TOO_MUCH
        assert record.too_much_count == 3
        assert record.advice and "lighten up" in record.advice
        assert not device.state.running


async def test_too_much_at_the_lightest_setting_ends_at_once() -> None:
    async with simulated_massager() as (_, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            await session.too_much()
        assert session.record.end_reason is EndReason.TOO_MUCH


async def test_pause_too_long_ends_the_session() -> None:
    async with simulated_massager() as (_, client):
        async with client.session(SessionPlan(minutes=5, pause_limit_s=60), safety=SAFE) as session:
            await until(session, 30)
            await session.pause()
            record = await asyncio.wait_for(session.wait(), 65)
        assert record.end_reason is EndReason.PAUSE_TIMEOUT
        assert record.massage_s == pytest.approx(30, abs=0.3)


async def test_resume_after_a_short_pause_restarts_at_level_one() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            await until(session, 70)
            await session.increase()
            await session.pause()
            await asyncio.sleep(10)
            await session.resume()
            assert session.phase is Phase.MASSAGE
            assert device.state.running and device.state.intensity == 1
            await session.stop()


async def test_resume_after_a_long_pause_warms_up_again() -> None:
    async with simulated_massager() as (_, client), client.session(SessionPlan(minutes=5), safety=SAFE) as session:
        await until(session, 70)
        await session.pause()
        await asyncio.sleep(61)
        await session.resume()
        assert session.phase is Phase.WARM_UP
        with pytest.raises(RuleViolation, match="warm-up"):
            await session.increase()
        await session.stop()


async def test_continue_is_only_for_a_session_whose_link_was_lost() -> None:
    async with simulated_massager() as (_, client), client.session(SessionPlan(minutes=5), safety=SAFE) as session:
        await until(session, 70)
        assert not session.can_continue
        with pytest.raises(RuleViolation, match="link was lost") as refusal:
            await session.continue_after_link_loss()
        assert refusal.value.rule == "R10"
        await session.pause()
        assert not session.can_continue  # a pause is resumed, not continued
        with pytest.raises(RuleViolation, match="link was lost"):
            await session.continue_after_link_loss()
        await session.stop()


async def test_red_flag_blocks_the_session() -> None:
    async with simulated_massager() as (device, client):
        unsafe = SafetyCheck(**{**SAFE.__dict__, "fever": True})
        with pytest.raises(RuleViolation, match="doctor") as refusal:
            async with client.session(SessionPlan(minutes=5), safety=unsafe):
                pass
        assert refusal.value.rule == "R8"
        assert not device.state.running


async def test_a_session_needs_an_explicit_safety_check() -> None:
    async with simulated_massager() as (_, client):
        with pytest.raises(TypeError, match="SafetyCheck"):
            client.session(SessionPlan(minutes=5), safety=None)  # type: ignore[arg-type]


async def test_leaving_the_block_on_an_exception_stops_the_device() -> None:
    async with simulated_massager() as (device, client):
        with pytest.raises(ZeroDivisionError):
            async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
                await until(session, 5)
                _ = 1 / 0
        assert session.record.end_reason is EndReason.ERROR
        assert not device.state.running


async def test_cancellation_stops_the_device() -> None:
    async with simulated_massager() as (device, client):

        async def script() -> None:
            async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
                await session.wait()

        task = asyncio.create_task(script())
        await asyncio.sleep(20)
        assert device.state.running
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not device.state.running


async def test_over_temperature_turns_heat_off_for_the_session() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5, heat=True), safety=SAFE) as session:
            await until(session, 70)
            device.faults.force_over_temperature()
            await until(session, 72)
            assert session.heat == 0 and device.state.heat == 0
            assert any("overheated" in n for n in session.record.notices)
            with pytest.raises(RuleViolation) as refusal:
                await session.set_heat(1)
            assert refusal.value.rule == "R11"
            assert session.phase is Phase.MASSAGE
            await session.stop()


async def test_motor_stall_ends_the_session() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            await until(session, 20)
            device.faults.stall_motor()
            record = await asyncio.wait_for(session.wait(), 5)
        assert record.end_reason is EndReason.FAULT
        assert any("stalled" in n for n in record.notices)


async def test_link_loss_interrupts_reconnects_and_waits_for_the_user() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            await until(session, 90)
            await session.increase()
            device.faults.drop_links()
            await asyncio.sleep(0.1)
            assert session.phase is Phase.INTERRUPTED
            with pytest.raises(RuleViolation, match="reconnecting"):
                await session.resume()
            await asyncio.sleep(5)
            assert any("reconnected" in n for n in session.record.notices)
            assert not device.state.running  # stopped, and never resumed by itself
            await session.resume()
            assert device.state.running and device.state.intensity == 1
            await session.stop()


class NoReturnTransport(SimTransport):
    """A link to the simulator that cannot be re-opened once it has been lost."""

    opened = 0

    async def open(self) -> None:
        self.opened += 1
        if self.opened > 1:
            raise TransportError("the massager is out of range")
        await super().open()


async def test_link_that_never_comes_back_ends_the_session() -> None:
    async with SimulatedDevice() as device:
        massager = DeviceClient(NoReturnTransport(device=device))
        await massager.open()
        plan = SessionPlan(minutes=5)
        async with massager.session(plan, safety=SAFE) as session:
            await until(session, 30)
            device.faults.drop_links()
            record = await asyncio.wait_for(session.wait(), plan.pause_limit_s + 60)  # tries until the pause limit
        assert record.end_reason is EndReason.LINK_LOST
        assert not device.state.running
        await massager.close()


async def test_a_hung_session_loop_stops_being_heard_and_the_device_stops() -> None:
    """SPEC §6.8.3: heartbeats come from the session's control loop, not from a side task."""
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=5), safety=SAFE) as session:
            await until(session, 10)
            await session._lock.acquire()  # the control loop hangs here from its next tick
            state = await device.wait_for(lambda s: not s.running, timeout=6)
            assert state.faults & Fault.LINK_LOST
            session._lock.release()
            await session.stop()


async def test_r9_frequency_needs_a_recorded_override(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        async with simulated_massager(demo=False) as (device, client):
            async with client.session(SessionPlan(minutes=5), safety=SAFE, history=history) as first:
                await first.stop()
            with pytest.raises(FrequencyOverrideRequired) as refusal:
                async with client.session(SessionPlan(minutes=5), safety=SAFE, history=history):
                    pass
            assert refusal.value.rule == "R9" and "today" in str(refusal.value)
            assert not device.state.running
            override = "my physiotherapist suggested two short sessions today"
            async with client.session(
                SessionPlan(minutes=5), safety=SAFE, history=history, override_frequency=override
            ) as second:
                assert device.state.running
                await second.stop()
        assert second.record.overrides == (f"R9: {override}",)
        (newest, oldest) = history.sessions()
        assert newest.overrides == (f"R9: {override}",) and oldest.overrides == ()


async def test_r9_an_unreadable_history_needs_the_override_too(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not a history at all " * 100)
    async with simulated_massager() as (device, client):
        with pytest.raises(FrequencyOverrideRequired, match="could not be read") as refusal:
            async with client.session(SessionPlan(minutes=5), safety=SAFE, history=HistoryStore(path)):
                pass
        assert refusal.value.rule == "R9" and not device.state.running
        override = "I rested all week"
        async with client.session(
            SessionPlan(minutes=5), safety=SAFE, history=HistoryStore(path), override_frequency=override
        ) as session:
            assert device.state.running
            await session.stop()
    assert session.record.overrides == (f"R9: {override}",)
    assert any("history is not being saved" in notice for notice in session.record.notices)
    assert path.read_bytes() == b"not a history at all " * 100


async def test_sessions_on_the_built_in_simulator_are_recorded_as_simulated_and_left_out_of_r9(
    tmp_path: Path,
) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        async with simulated_massager() as (_device, client):
            for _ in range(2):  # a second session the same day: no R9 warning for demos
                async with client.session(SessionPlan(minutes=5), safety=SAFE, history=history) as session:
                    await session.stop()
        records = history.sessions()
    assert [record.simulated for record in records] == [True, True]
    assert all(record.state == "ended" and record.overrides == () for record in records)


async def test_a_history_locked_past_the_end_does_not_hold_up_the_stop_and_is_written_when_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core, "HISTORY_FLUSH_S", 0.05)  # real seconds the end waits for the record
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as history:
        async with simulated_massager() as (device, client):
            async with client.session(SessionPlan(minutes=5), safety=SAFE, history=history) as session:
                await until(session, 30)
                locker = sqlite3.connect(path, isolation_level=None)
                locker.execute("BEGIN IMMEDIATE")  # another program holds the lock until after the session
                summary = await session.stop()
                assert summary.end_reason is EndReason.STOPPED and not device.state.running
            locker.execute("ROLLBACK")
            locker.close()
        session_id = session.session_id
        assert session_id is not None
    with HistoryStore(path) as history:  # closing the store above waited for the queued writes
        assert history.session(session_id).state == "ended"
        assert history.events(session_id)[-1].kind == "stop"


async def test_the_heater_reaching_its_own_limit_turns_heat_off_and_the_massage_goes_on() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=10, heat=True), safety=SAFE) as session:
            await until(session, 90)
            device.faults.exhaust_heat_budget()
            await until(session, 100)
            assert not session.done and device.state.running and device.state.heat == 0
            assert session.heat == 0
            assert any("heater reached its time limit" in notice for notice in session.record.notices)
            with pytest.raises(RuleViolation, match="heater reached its time limit"):
                await session.set_heat(1)


async def test_the_run_budget_running_out_ends_the_session() -> None:
    async with simulated_massager() as (device, client):
        async with client.session(SessionPlan(minutes=10), safety=SAFE) as session:
            await until(session, 90)
            device.faults.exhaust_run_budget()
            record = await asyncio.wait_for(session.wait(), 10)
        assert record.end_reason is EndReason.COMPLETED
        assert any("switched itself off" in notice for notice in record.notices)
        assert not device.state.running


async def test_a_pad_that_overheated_just_before_the_start_means_a_session_without_heat() -> None:
    """The device latches over-temperature as the session starts: its SET_HEAT is refused, and
    the session goes on without heat (R11), saying why — it does not fail to start."""
    async with simulated_massager() as (device, client):
        device.faults.force_over_temperature()
        async with client.session(SessionPlan(minutes=5, heat=True), safety=SAFE) as session:
            await until(session, 5)
            assert not session.done and device.state.running and device.state.heat == 0
            assert session.heat == 0
            assert any("overheated" in notice for notice in session.record.notices)
            with pytest.raises(RuleViolation):
                await session.set_heat(1)
