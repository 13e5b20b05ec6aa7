"""Every request type and every NACK code of the simulated firmware, on explicit fake time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware_protocol import (
    SUPPORTED_VERSIONS,
    Ack,
    BadEncoding,
    ClearFaults,
    ErrorCode,
    Fault,
    Feature,
    Frame,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    MotorState,
    MsgType,
    Nack,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
    Stop,
    UnsupportedVersion,
    crc16,
    encode_message,
)
from firmware_protocol.constants import NO_BATTERY
from simulator.testing import Bench


def with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


def assert_nack(answer: Ack | Nack, code: ErrorCode, detail: int = 0) -> None:
    assert isinstance(answer, Nack), answer
    assert (answer.code, answer.detail) == (code, detail)


def test_power_on_state(bench: Bench) -> None:
    state = bench.firmware.state
    assert (state.state, state.intensity, state.heat, state.faults) == (MotorState.IDLE, 1, 0, Fault.NONE)
    assert state.owner is None and state.battery is None and state.pad_temp_c == 31.0


@pytest.mark.parametrize(
    ("info", "text"), [(InfoField.MODEL, "NeckEase 2"), (InfoField.FIRMWARE, "1.4.0"), (InfoField.SERIAL, "NE2-000001")]
)
def test_get_info_needs_no_hello(bench: Bench, info: InfoField, text: str) -> None:
    answer = bench.request(bench.link(), GetInfo(info))
    assert isinstance(answer, Ack) and answer.request is MsgType.GET_INFO
    assert InfoResult.from_bytes(answer.data) == InfoResult(info, text)


def test_get_status_carries_status_payload(bench: Bench) -> None:
    answer = bench.request(bench.link(), GetStatus())
    assert isinstance(answer, Ack)
    status = Status.from_payload(answer.data)
    assert status == Status(MotorState.IDLE, 1, 0, 3100, Fault.NONE, NO_BATTERY, StatusFlag.NONE, 0)


def test_heartbeat_is_acked_with_empty_data(bench: Bench) -> None:
    assert bench.request(bench.link(), Heartbeat()) == Ack(MsgType.HEARTBEAT)


def test_hello_returns_capabilities(bench: Bench) -> None:
    answer = bench.hello(bench.link())
    assert HelloResult.from_bytes(answer.data) == HelloResult(1, 5, 2, Feature.HEAT | Feature.MODES, 3000)
    assert bench.firmware.state.owner == 1


def test_hello_features_follow_config(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(heat_levels=0, heat_targets_c=(), battery=True, intensity_levels=3, watchdog_s=1.5, modes=())
    answer = bench.hello(bench.link())
    assert HelloResult.from_bytes(answer.data) == HelloResult(1, 3, 0, Feature.BATTERY, 1500)


def test_hello_picks_highest_common_version(bench: Bench) -> None:
    answer = bench.request(bench.link(), Hello(0, 9, 7))
    assert isinstance(answer, Ack) and HelloResult.from_bytes(answer.data).version == max(SUPPORTED_VERSIONS)


@pytest.mark.parametrize(("low", "high"), [(4, 5), (0, 0), (3, 2)])
def test_hello_without_common_version_is_refused(bench: Bench, low: int, high: int) -> None:
    answer = bench.request(bench.link(), Hello(low, high, 7))
    assert_nack(answer, ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS))
    assert bench.firmware.state.owner is None


@pytest.mark.parametrize(
    "request_", [Start(1), SetIntensity(2), SetHeat(1), ClearFaults(Fault.LINK_LOST)], ids=lambda r: type(r).__name__
)
def test_control_requests_need_hello(bench: Bench, request_: Start) -> None:
    assert_nack(bench.request(bench.link(), request_), ErrorCode.HELLO_REQUIRED)
    assert bench.firmware.state.running is False


def test_start_runs_the_motor_at_the_lightest_level(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, SetIntensity(4))  # a stored level does not carry into a start
    assert bench.request(link, Start(1)) == Ack(MsgType.START)
    state = bench.firmware.state
    assert (state.state, state.intensity) == (MotorState.RUNNING, 1)


@pytest.mark.parametrize("level", [2, 3, 5])
def test_start_above_the_lightest_level_from_standstill_is_refused(bench: Bench, level: int) -> None:
    """SPEC.md §7.4.5: from IDLE only START 1; the NACK is OUT_OF_RANGE with detail 1, the highest allowed."""
    link = bench.link()
    bench.hello(link)
    executed = bench.firmware.state.requests_executed
    assert_nack(bench.request(link, Start(level)), ErrorCode.OUT_OF_RANGE, 1)
    state = bench.firmware.state
    assert (state.state, state.intensity, state.requests_executed) == (MotorState.IDLE, 1, executed)


def test_start_above_the_lightest_level_is_refused_after_every_kind_of_stop(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    for stop in (Stop(), Goodbye()):
        bench.request(link, Start(1))
        bench.request(link, SetIntensity(5))
        bench.request(link, stop)
        bench.hello(link)
        assert_nack(bench.request(link, Start(5)), ErrorCode.OUT_OF_RANGE, 1)
        assert not bench.firmware.state.running


def test_start_is_idempotent_and_changes_level_while_running(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    bench.request(link, SetIntensity(2))
    bench.advance(10, link=False)  # device time only: the watchdog stays quiet
    assert bench.request(link, Start(2)) == Ack(MsgType.START)
    assert bench.firmware.state.run_seconds == pytest.approx(10)
    assert bench.request(link, Start(4)) == Ack(MsgType.START)
    assert (bench.firmware.state.intensity, bench.firmware.state.run_seconds) == (4, pytest.approx(10))


@pytest.mark.parametrize("level", [0, 6, 255])
def test_start_out_of_range_is_refused_not_clamped(bench: Bench, level: int) -> None:
    link = bench.link()
    bench.hello(link)
    assert_nack(bench.request(link, Start(level)), ErrorCode.OUT_OF_RANGE, 5)
    assert (bench.firmware.state.state, bench.firmware.state.intensity) == (MotorState.IDLE, 1)


def test_set_intensity_while_idle_stores_the_level(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    assert bench.request(link, SetIntensity(4)) == Ack(MsgType.SET_INTENSITY)
    assert (bench.firmware.state.state, bench.firmware.state.intensity) == (MotorState.IDLE, 4)


def test_set_intensity_while_running_changes_it(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    assert bench.request(link, SetIntensity(5)) == Ack(MsgType.SET_INTENSITY)
    assert (bench.firmware.state.state, bench.firmware.state.intensity) == (MotorState.RUNNING, 5)


@pytest.mark.parametrize("level", [0, 6])
def test_set_intensity_out_of_range(bench: Bench, level: int) -> None:
    link = bench.link()
    bench.hello(link)
    assert_nack(bench.request(link, SetIntensity(level)), ErrorCode.OUT_OF_RANGE, 5)
    assert bench.firmware.state.intensity == 1


@pytest.mark.parametrize("running", [False, True])
def test_set_heat_works_whether_the_motor_runs_or_not(bench: Bench, running: bool) -> None:
    link = bench.link()
    bench.hello(link)
    if running:
        bench.request(link, Start(1))
    for level in (2, 1, 0):
        assert bench.request(link, SetHeat(level)) == Ack(MsgType.SET_HEAT)
        assert bench.firmware.state.heat == level
    assert bench.firmware.state.running is running


def test_set_heat_out_of_range(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    assert_nack(bench.request(link, SetHeat(3)), ErrorCode.OUT_OF_RANGE, 2)
    assert bench.firmware.state.heat == 0


def test_set_heat_on_a_device_without_heater(make_bench: Callable[..., Bench]) -> None:
    bench = make_bench(heat_levels=0, heat_targets_c=())
    link = bench.link()
    bench.hello(link)
    assert bench.request(link, SetHeat(0)) == Ack(MsgType.SET_HEAT)
    assert_nack(bench.request(link, SetHeat(1)), ErrorCode.OUT_OF_RANGE, 0)


def test_stop_is_accepted_from_any_link(bench: Bench) -> None:
    owner, stranger = bench.link("owner"), bench.link("stranger")
    bench.hello(owner)
    bench.request(owner, Start(1))
    bench.request(owner, SetIntensity(3))
    bench.request(owner, SetHeat(2))
    assert bench.request(stranger, Stop()) == Ack(MsgType.STOP)
    state = bench.firmware.state
    assert (state.state, state.heat, state.intensity, state.owner) == (MotorState.IDLE, 0, 3, 1)


def test_refusal_nacks_everything_but_stop(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    bench.firmware.inject_refusal(ErrorCode.BUSY)
    for request in (GetStatus(), Heartbeat(), SetIntensity(3), Hello(1, 1, 1), GetInfo(InfoField.MODEL)):
        assert_nack(bench.request(link, request), ErrorCode.BUSY)
    assert bench.request(link, Stop()) == Ack(MsgType.STOP)
    assert bench.firmware.state.running is False
    bench.firmware.inject_refusal(None)
    assert isinstance(bench.request(link, GetStatus()), Ack)


def test_goodbye_without_hello_is_acked(bench: Bench) -> None:
    assert bench.request(bench.link(), Goodbye()) == Ack(MsgType.GOODBYE)


def test_clear_faults_is_always_acked(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    assert bench.request(link, ClearFaults(Fault(0x1F))) == Ack(MsgType.CLEAR_FAULTS)
    assert bench.request(link, ClearFaults(Fault.NONE)) == Ack(MsgType.CLEAR_FAULTS)


# --- invalid input -------------------------------------------------------------------------------


def answer_to(bench: Bench, data: bytes) -> list[Ack | Nack]:
    link = bench.link()
    bench.firmware.receive(link, data)
    return [m for _, m in link.take() if isinstance(m, Ack | Nack)]


@pytest.mark.parametrize("msg_type", [0x00, 0x0D, 0x42, 0x7F])
def test_unknown_type_is_nacked(bench: Bench, msg_type: int) -> None:
    assert answer_to(bench, bytes(Frame(msg_type, 9))) == [Nack(msg_type, ErrorCode.UNKNOWN_TYPE, 0)]


@pytest.mark.parametrize("message", [Ack(MsgType.START), Nack(5, ErrorCode.BUSY), Status(MotorState.IDLE, 1, 0, 0)])
def test_device_messages_sent_to_the_device_are_unknown_types(bench: Bench, message: Ack) -> None:
    frame = encode_message(message, 4)
    assert answer_to(bench, frame) == [Nack(message.TYPE, ErrorCode.UNKNOWN_TYPE, 0)]


@pytest.mark.parametrize(
    ("msg_type", "payload", "expected_len"),
    [
        (MsgType.START, b"", 1),
        (MsgType.START, b"\x01\x02", 1),
        (MsgType.HELLO, b"\x01\x01", 6),
        (MsgType.STOP, b"x", 0),
    ],
)
def test_bad_payload_is_nacked_bad_length(bench: Bench, msg_type: MsgType, payload: bytes, expected_len: int) -> None:
    frame = bytes(Frame(msg_type, 3, payload))
    assert answer_to(bench, frame) == [Nack(msg_type, ErrorCode.BAD_LENGTH, expected_len)]


@pytest.mark.parametrize(
    ("msg_type", "value"), [(MsgType.GET_INFO, 7), (MsgType.GET_INFO, 0), (MsgType.CLEAR_FAULTS, 0x20)]
)
def test_bad_value_is_nacked_with_the_value(bench: Bench, msg_type: MsgType, value: int) -> None:
    frame = bytes(Frame(msg_type, 3, bytes([value])))
    assert answer_to(bench, frame) == [Nack(msg_type, ErrorCode.BAD_VALUE, value)]


def test_unsupported_frame_version_is_nacked_with_its_seq_and_type(bench: Bench) -> None:
    frame = with_crc(bytes([3, MsgType.START, 77, 1, 3]))
    [answer] = answer_to(bench, frame)
    assert answer == Nack(MsgType.START, ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS))
    assert bench.firmware.state.running is False


def test_nack_echoes_the_request_seq(bench: Bench) -> None:
    link = bench.link()
    bench.firmware.receive(link, encode_message(Start(1), 200))
    [(seq, answer)] = link.take()
    assert seq == 200 and isinstance(answer, Nack)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01\x04",
        bytes(Frame(MsgType.GET_STATUS, 1))[:-1] + b"\x00",  # bad CRC
        with_crc(bytes([1, MsgType.START, 1, 2, 3])),  # length byte disagrees
        with_crc(bytes([1, MsgType.START, 1, 15]) + bytes(15)),  # oversize
    ],
    ids=["empty", "truncated", "bad_crc", "bad_length", "oversize"],
)
def test_undecodable_frames_are_dropped_silently(bench: Bench, data: bytes) -> None:
    assert answer_to(bench, data) == []
    assert bench.firmware.state.frames_dropped == 1


def test_stream_errors_are_counted_or_answered(bench: Bench) -> None:
    link = bench.link()
    bench.firmware.frame_error(link, BadEncoding("noise"))
    assert link.take() == [] and bench.firmware.state.frames_dropped == 1
    bench.firmware.frame_error(link, UnsupportedVersion("v9", version=9, msg_type=0x05, seq=12))
    assert link.take() == [(12, Nack(MsgType.START, ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS)))]
