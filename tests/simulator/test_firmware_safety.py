"""Firmware safety limits on fake time: watchdog, auto-off, thermal model, faults and their clearing."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from firmware_protocol import (
    Ack,
    ClearFaults,
    ErrorCode,
    Fault,
    FaultEvent,
    GetStatus,
    Heartbeat,
    MotorState,
    MsgType,
    Nack,
    SetHeat,
    SetIntensity,
    Start,
    Status,
)
from simulator.testing import Bench, RecordingLink


def owned_and_running(bench: Bench, controller_id: int = 1) -> RecordingLink:
    link = bench.link()
    bench.hello(link, controller_id)
    bench.request(link, Start(1))
    bench.request(link, SetIntensity(2))
    bench.request(link, SetHeat(1))
    link.take()
    return link


def fault_events(link: RecordingLink) -> list[FaultEvent]:
    return [m for _, m in link.take() if isinstance(m, FaultEvent)]


# --- watchdog ----------------------------------------------------------------------------------


def test_watchdog_quiet_at_2_99_seconds(bench: Bench) -> None:
    owned_and_running(bench)
    bench.set_time(2.99)
    state = bench.firmware.state
    assert state.running and state.owner == 1 and not state.faults


def test_watchdog_fires_at_3_01_seconds(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.set_time(3.01)
    state = bench.firmware.state
    assert (state.state, state.heat, state.owner, state.faults) == (MotorState.IDLE, 0, None, Fault.LINK_LOST)
    assert fault_events(link) == [FaultEvent(Fault.LINK_LOST, active=True)]


def test_any_valid_frame_from_the_owner_feeds_the_watchdog(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.set_time(2.0)
    bench.request(link, Heartbeat())
    bench.set_time(4.99)
    assert bench.firmware.state.owner == 1
    bench.firmware.receive(link, b"\x01\x04\x00\x00\x00\x00")  # bad CRC: does not count
    bench.set_time(5.01)
    assert bench.firmware.state.owner is None


def test_frames_from_other_links_do_not_feed_the_watchdog(bench: Bench) -> None:
    owned_and_running(bench)
    stranger = bench.link("stranger")
    for t in (1.0, 2.0, 2.9):
        bench.set_time(t)
        bench.request(stranger, Heartbeat())
    bench.set_time(3.01)
    assert bench.firmware.state.faults == Fault.LINK_LOST


def test_watchdog_runs_on_link_time_not_device_time(bench: Bench) -> None:
    owned_and_running(bench)
    bench.advance(600, step=1.0, link=False)
    assert bench.firmware.state.owner == 1
    bench.advance(3.01, device=False)
    assert bench.firmware.state.owner is None


def test_after_the_watchdog_the_controller_must_hello_again(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.set_time(3.5)
    assert bench.request(link, Start(1)) == Nack(MsgType.START, ErrorCode.NOT_OWNER)
    bench.hello(link)
    assert bench.request(link, Start(1)) == Ack(MsgType.START)


# --- auto-off ----------------------------------------------------------------------------------


def test_auto_off_after_900_seconds_of_running(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.advance(899.9, step=0.5, link=False)
    assert bench.firmware.state.running
    bench.advance(0.2, link=False)
    state = bench.firmware.state
    assert (state.state, state.heat, state.faults, state.owner) == (MotorState.IDLE, 0, Fault.AUTO_OFF, 1)
    assert FaultEvent(Fault.AUTO_OFF, active=True) in fault_events(link)
    assert bench.request(link, Start(1)) == Nack(MsgType.START, ErrorCode.FAULT_ACTIVE, Fault.AUTO_OFF)


# --- thermal model -----------------------------------------------------------------------------


def heat_up(bench: Bench, level: int, seconds: float) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, SetHeat(level))
    bench.advance(seconds, step=0.5, link=False)


def test_pad_reaches_63_percent_after_one_time_constant(bench: Bench) -> None:
    heat_up(bench, 2, 60.0)
    expected = 31.0 + (42.0 - 31.0) * (1 - math.exp(-1))
    assert bench.firmware.state.pad_temp_c == pytest.approx(expected, abs=1e-6)


def test_pad_settles_near_the_target(bench: Bench) -> None:
    heat_up(bench, 1, 600.0)
    assert bench.firmware.state.pad_temp_c == pytest.approx(38.0, abs=0.01)
    assert not bench.firmware.state.faults


def test_status_reports_pad_temperature_in_centidegrees(bench: Bench) -> None:
    heat_up(bench, 2, 60.0)
    assert bench.firmware.status().pad_temp_centi_c == round(bench.firmware.state.pad_temp_c * 100)


def test_over_temperature_trips_above_the_limit_and_turns_heat_off(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(heat_targets_c=(38.0, 50.0))
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    bench.request(link, SetHeat(2))
    link.take()
    while not bench.firmware.state.faults:
        assert bench.firmware.state.pad_temp_c <= 45.0
        bench.advance(0.05, link=False)
    state = bench.firmware.state
    assert state.faults == Fault.OVER_TEMPERATURE and state.heat == 0 and state.running
    assert 45.0 < state.pad_temp_c < 45.1
    assert fault_events(link) == [FaultEvent(Fault.OVER_TEMPERATURE, active=True, detail=45)]
    assert bench.request(link, SetHeat(1)) == Nack(MsgType.SET_HEAT, ErrorCode.FAULT_ACTIVE, Fault.OVER_TEMPERATURE)
    assert bench.request(link, SetHeat(0)) == Ack(MsgType.SET_HEAT)


def test_forced_over_temperature_and_its_clearing(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.firmware.inject_over_temperature()
    bench.advance(0.05, link=False)
    assert bench.firmware.state.faults == Fault.OVER_TEMPERATURE
    assert fault_events(link) == [FaultEvent(Fault.OVER_TEMPERATURE, active=True, detail=46)]
    assert bench.request(link, ClearFaults(Fault.OVER_TEMPERATURE)) == Ack(MsgType.CLEAR_FAULTS)
    assert bench.firmware.state.faults == Fault.OVER_TEMPERATURE, "still too hot to clear"
    bench.advance(30, step=0.5, link=False)
    assert bench.firmware.state.pad_temp_c < 42.0
    bench.request(link, ClearFaults(Fault.OVER_TEMPERATURE))
    assert bench.firmware.state.faults == Fault.NONE
    detail = math.floor(bench.firmware.state.pad_temp_c)
    assert fault_events(link) == [FaultEvent(Fault.OVER_TEMPERATURE, active=False, detail=detail)]
    assert bench.request(link, SetHeat(1)) == Ack(MsgType.SET_HEAT)


# --- motor stall and battery -------------------------------------------------------------------


def test_motor_stall_stops_and_blocks_start_until_cleared(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.firmware.inject_stall(True)
    bench.advance(0.05)
    state = bench.firmware.state
    assert (state.state, state.faults, state.heat) == (MotorState.IDLE, Fault.MOTOR_STALL, 1)
    assert fault_events(link) == [FaultEvent(Fault.MOTOR_STALL, active=True)]
    assert bench.request(link, Start(1)) == Nack(MsgType.START, ErrorCode.FAULT_ACTIVE, Fault.MOTOR_STALL)
    bench.request(link, ClearFaults(Fault.MOTOR_STALL))
    assert bench.firmware.state.faults == Fault.MOTOR_STALL, "the motor is still blocked"
    bench.firmware.inject_stall(False)
    bench.request(link, ClearFaults(Fault.MOTOR_STALL))
    assert bench.firmware.state.faults == Fault.NONE
    assert bench.request(link, Start(1)) == Ack(MsgType.START)


def test_battery_drains_while_running(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(battery=True, battery_drain_per_min=0.5)
    assert bench.firmware.status().battery == 100
    owned_and_running(bench)
    bench.advance(600, step=1.0, link=False)
    assert bench.firmware.state.battery == 95


def test_battery_empty_stops_and_blocks_start(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(battery=True)
    link = owned_and_running(bench)
    bench.firmware.set_battery(0)
    bench.advance(0.05)
    state = bench.firmware.state
    assert (state.state, state.heat, state.faults, state.battery) == (MotorState.IDLE, 0, Fault.BATTERY_EMPTY, 0)
    assert fault_events(link) == [FaultEvent(Fault.BATTERY_EMPTY, active=True)]
    assert bench.request(link, Start(1)) == Nack(MsgType.START, ErrorCode.FAULT_ACTIVE, Fault.BATTERY_EMPTY)
    for percent, cleared in ((5.0, False), (6.0, True)):
        bench.firmware.set_battery(percent)
        bench.request(link, ClearFaults(Fault.BATTERY_EMPTY))
        assert (bench.firmware.state.faults == Fault.NONE) is cleared


def test_no_battery_reports_0xff_and_cannot_be_drained(bench: Bench) -> None:
    assert bench.firmware.status().battery == 0xFF
    with pytest.raises(RuntimeError, match="no battery"):
        bench.firmware.set_battery(0)


# --- CLEAR_FAULTS ------------------------------------------------------------------------------


def test_clear_faults_clears_only_masked_bits(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.firmware.inject_stall(True)
    bench.advance(0.05)
    bench.firmware.inject_stall(False)
    bench.set_time(10)  # watchdog: LINK_LOST
    bench.hello(link)
    assert bench.firmware.state.faults == Fault.LINK_LOST | Fault.MOTOR_STALL
    link.take()
    assert bench.request(link, ClearFaults(Fault.LINK_LOST)) == Ack(MsgType.CLEAR_FAULTS)
    assert bench.firmware.state.faults == Fault.MOTOR_STALL
    assert fault_events(link) == [FaultEvent(Fault.LINK_LOST, active=False)]


def test_clear_faults_needs_ownership(bench: Bench) -> None:
    owned_and_running(bench)
    other = bench.link("other")
    assert bench.request(other, ClearFaults(Fault.LINK_LOST)) == Nack(MsgType.CLEAR_FAULTS, ErrorCode.HELLO_REQUIRED)


def test_link_lost_always_clears_and_auto_off_once_rested(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.advance(901, step=1.0, link=False)
    bench.advance(3.1, device=False)
    bench.hello(link)
    assert bench.firmware.state.faults == Fault.AUTO_OFF | Fault.LINK_LOST
    bench.request(link, ClearFaults(Fault(0x1F)))
    assert bench.firmware.state.faults == Fault.AUTO_OFF, "the run budget is still empty"
    bench.advance(1800, step=5.0, link=False)
    bench.request(link, ClearFaults(Fault(0x1F)))
    assert bench.firmware.state.faults == Fault.NONE
    answer = bench.request(link, GetStatus())
    assert isinstance(answer, Ack) and Status.from_payload(answer.data).faults == Fault.NONE


def test_a_latched_fault_is_not_raised_again(bench: Bench) -> None:
    link = owned_and_running(bench)
    bench.set_time(3.1)
    assert fault_events(link) == [FaultEvent(Fault.LINK_LOST, active=True)]
    bench.hello(link)
    bench.set_time(6.5)  # the watchdog fires again, LINK_LOST still latched
    assert bench.firmware.state.owner is None
    messages = [m for _, m in link.take()]
    assert not [m for m in messages if isinstance(m, FaultEvent)]
    assert isinstance(messages[-1], Status) and not messages[-1].flags
