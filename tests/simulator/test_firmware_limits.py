"""The device as a second line (SPEC.md §7.4.5, §7.6): limits no controller can talk it out of.

Each test plays a controller that ignores every rule — restarting to dodge auto-off, leaving
the heater on after STOP, starting at the top level — on fake time, and checks that the
device holds its limit by itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware_protocol import (
    Ack,
    ClearFaults,
    ErrorCode,
    Fault,
    FaultEvent,
    Goodbye,
    Hello,
    MotorState,
    MsgType,
    Nack,
    SetHeat,
    SetIntensity,
    Start,
    Stop,
)
from simulator.testing import Bench, RecordingLink

BUDGET_S = 900.0
#: 0.5 s of budget back per second of rest: an exhausted budget needs 1800 s.
FULL_REST_S = 1800.0


def owner(bench: Bench) -> RecordingLink:
    link = bench.link()
    bench.hello(link)
    return link


def run_for(bench: Bench, seconds: float) -> None:
    """Device time passes; the link's watchdog is not involved (it runs on link time)."""
    bench.advance(seconds, step=1.0, link=False)


def fault_events(link: RecordingLink) -> list[FaultEvent]:
    return [m for _, m in link.take() if isinstance(m, FaultEvent)]


# --- START only at the lightest level from standstill -------------------------------------------


@pytest.mark.parametrize("level", [2, 5])
def test_start_above_the_lightest_level_from_standstill_is_refused(bench: Bench, level: int) -> None:
    link = owner(bench)
    assert bench.request(link, Start(level)) == Nack(MsgType.START, ErrorCode.OUT_OF_RANGE, 1)
    assert bench.firmware.state.state is MotorState.IDLE
    assert bench.request(link, Start(1)) == Ack(MsgType.START)
    assert (bench.firmware.state.state, bench.firmware.state.intensity) == (MotorState.RUNNING, 1)


def test_a_level_stored_while_idle_does_not_start_the_motor_above_1(bench: Bench) -> None:
    link = owner(bench)
    assert bench.request(link, SetIntensity(5)) == Ack(MsgType.SET_INTENSITY)
    assert bench.firmware.state.state is MotorState.IDLE
    assert bench.request(link, Start(5)) == Nack(MsgType.START, ErrorCode.OUT_OF_RANGE, 1)
    bench.request(link, Start(1))
    assert bench.firmware.state.intensity == 1


# --- auto-off: the run budget survives STOP/START ---------------------------------------------------


def test_auto_off_counts_run_time_across_stop_and_start(bench: Bench) -> None:
    link = owner(bench)
    for _ in range(3):  # 3 x 299 s, restarting each time: the third run reaches 900 s
        bench.request(link, Start(1))
        run_for(bench, 299.0)
        bench.request(link, Stop())
    assert bench.firmware.state.run_used_s == pytest.approx(897.0)
    link.take()
    bench.request(link, Start(1))
    run_for(bench, 3.0)
    state = bench.firmware.state
    assert (state.state, state.faults, state.run_locked) == (MotorState.IDLE, Fault.AUTO_OFF, True)
    assert fault_events(link) == [FaultEvent(Fault.AUTO_OFF, active=True, detail=0)]


def test_restarting_after_auto_off_is_refused_until_rest_refills_the_budget(bench: Bench) -> None:
    link = owner(bench)
    bench.request(link, Start(1))
    run_for(bench, BUDGET_S)
    refused = Nack(MsgType.START, ErrorCode.FAULT_ACTIVE, Fault.AUTO_OFF)
    assert bench.request(link, Start(1)) == refused
    for request in (ClearFaults(Fault.AUTO_OFF), Stop(), Goodbye(), Hello(1, 1, 1)):
        bench.request(link, request)  # nothing a controller says unlocks the budget
    assert bench.request(link, Start(1)) == refused
    run_for(bench, FULL_REST_S - 10.0)
    assert bench.request(link, Start(1)) == refused, "not rested enough yet"
    run_for(bench, 10.0)
    assert not bench.firmware.state.run_locked
    assert bench.request(link, Start(1)) == Ack(MsgType.START)


def test_rest_gives_back_half_a_second_per_second(bench: Bench) -> None:
    link = owner(bench)
    bench.request(link, Start(1))
    run_for(bench, 600.0)
    bench.request(link, Stop())
    run_for(bench, 600.0)  # 10 minutes of rest give back 5 minutes of running
    assert bench.firmware.state.run_used_s == pytest.approx(300.0)
    bench.request(link, Start(1))
    run_for(bench, 599.0)
    assert bench.firmware.state.running
    run_for(bench, 2.0)
    assert not bench.firmware.state.running and bench.firmware.state.faults == Fault.AUTO_OFF


def test_auto_off_cannot_be_cleared_while_the_budget_is_locked(bench: Bench) -> None:
    link = owner(bench)
    bench.request(link, Start(1))
    run_for(bench, BUDGET_S)
    bench.request(link, ClearFaults(Fault.AUTO_OFF))
    assert bench.firmware.state.faults == Fault.AUTO_OFF
    run_for(bench, FULL_REST_S)
    link.take()
    bench.request(link, ClearFaults(Fault.AUTO_OFF))
    assert bench.firmware.state.faults == Fault.NONE
    assert fault_events(link) == [FaultEvent(Fault.AUTO_OFF, active=False)]


# --- the heater's own time limit ---------------------------------------------------------------


def test_heater_alone_after_stop_is_switched_off_at_its_limit(bench: Bench) -> None:
    """The race a controller can lose: SET_HEAT arriving after STOP leaves the heater on alone."""
    link = owner(bench)
    bench.request(link, Start(1))
    bench.request(link, Stop())
    assert bench.request(link, SetHeat(1)) == Ack(MsgType.SET_HEAT)
    link.take()
    run_for(bench, BUDGET_S - 1.0)
    assert bench.firmware.state.heat == 1 and not bench.firmware.state.running
    run_for(bench, 2.0)
    state = bench.firmware.state
    assert (state.heat, state.faults, state.heat_locked, state.running) == (0, Fault.AUTO_OFF, True, False)
    assert fault_events(link) == [FaultEvent(Fault.AUTO_OFF, active=True, detail=1)]


def test_heater_limit_applies_while_the_motor_runs_and_spares_the_motor(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(auto_off_s=1200.0)
    link = owner(bench)
    bench.request(link, Start(1))
    bench.request(link, SetHeat(2))
    run_for(bench, BUDGET_S + 1.0)
    state = bench.firmware.state
    assert (state.heat, state.running, state.faults) == (0, True, Fault.AUTO_OFF)
    assert bench.request(link, SetHeat(1)) == Nack(MsgType.SET_HEAT, ErrorCode.FAULT_ACTIVE, Fault.AUTO_OFF)
    assert bench.request(link, SetHeat(0)) == Ack(MsgType.SET_HEAT)


def test_toggling_the_heater_does_not_reset_its_budget(bench: Bench) -> None:
    link = owner(bench)
    for _ in range(10):  # 10 x (100 s on, 10 s off): 1000 s on, 50 s given back
        bench.request(link, SetHeat(2))
        run_for(bench, 100.0)
        bench.request(link, SetHeat(0))
        run_for(bench, 10.0)
    assert bench.firmware.state.heat_locked
    assert bench.request(link, SetHeat(1)) == Nack(MsgType.SET_HEAT, ErrorCode.FAULT_ACTIVE, Fault.AUTO_OFF)
    run_for(bench, FULL_REST_S)
    assert bench.request(link, SetHeat(1)) == Ack(MsgType.SET_HEAT)


# --- a controller that ignores every rule ------------------------------------------------------


def test_a_rule_ignoring_controller_cannot_run_past_the_limits(bench: Bench) -> None:
    """For an hour it restarts the motor at once after every stop and keeps the heater on."""
    link = owner(bench)
    motor_s = heat_s = 0.0
    for _ in range(3600):
        bench.request(link, Start(5))  # refused from standstill
        bench.request(link, Start(1))
        bench.request(link, SetIntensity(5))
        bench.request(link, SetHeat(2))
        link.frames.clear()  # the events are not under test here
        state = bench.firmware.state
        assert state.state is MotorState.IDLE or state.intensity in (1, 5)
        motor_s += 1.0 if state.running else 0.0
        heat_s += 1.0 if state.heat else 0.0
        run_for(bench, 1.0)
    # The first 900 s, then the refill of 30 minutes of rest lets it run 900 s again at most.
    assert motor_s <= 2 * BUDGET_S and heat_s <= 2 * BUDGET_S
    assert bench.firmware.state.pad_temp_c <= bench.firmware.config.max_temp_c
