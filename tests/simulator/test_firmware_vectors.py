"""The firmware's parser against every frame vector of firmware_protocol/vectors (SPEC.md §10).

Valid requests are answered (ACK or NACK) with their sequence number; valid device →
controller messages get NACK UNKNOWN_TYPE; undecodable frames are dropped silently; the
rest get the NACK their error names.
"""

from __future__ import annotations

import pytest

from firmware_protocol import (
    Ack,
    AuthFailure,
    ErrorCode,
    FaultEvent,
    Frame,
    HelloResult,
    MsgType,
    Nack,
    Request,
    SetHeat,
    Start,
    Stop,
    StreamDecoder,
    decode_message,
)
from firmware_protocol.constants import SUPPORTED_VERSIONS
from firmware_protocol.vectors import FrameVector, StreamVector, load_frame_vectors, load_stream_vectors
from simulator.testing import Bench, RecordingLink

VECTORS = load_frame_vectors()

#: Errors after which the header cannot be trusted: the device stays silent.
SILENT = {"truncated", "oversize", "bad_length", "bad_crc"}
#: The NACK code for each error whose header can be trusted.
NACKED = {
    "unsupported_version": ErrorCode.UNSUPPORTED_VERSION,
    "unknown_type": ErrorCode.UNKNOWN_TYPE,
    "bad_payload": ErrorCode.BAD_LENGTH,
    "bad_value": ErrorCode.BAD_VALUE,
}


def answers(vector: FrameVector) -> list[tuple[int, Ack | Nack]]:
    bench = Bench()
    link = bench.link()
    bench.firmware.receive(link, vector.data)
    return [(seq, m) for seq, m in link.take() if isinstance(m, Ack | Nack)]


def expected_code(vector: FrameVector) -> ErrorCode:
    assert vector.error is not None and vector.msg_type is not None
    if vector.msg_type & 0x80:
        return ErrorCode.UNKNOWN_TYPE  # a device never executes its own message types
    return NACKED[vector.error]


def test_there_are_vectors() -> None:
    assert len(VECTORS) > 50


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.valid], ids=lambda v: v.name)
def test_valid_frames_are_answered_with_their_seq(vector: FrameVector) -> None:
    [(seq, answer)] = answers(vector)
    assert seq == vector.seq and answer.request == vector.msg_type
    if not isinstance(decode_message(Frame.loads(vector.data)), Request):
        assert answer == Nack(vector.msg_type, ErrorCode.UNKNOWN_TYPE)


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.error in SILENT], ids=lambda v: v.name)
def test_undecodable_frames_get_no_answer(vector: FrameVector) -> None:
    assert answers(vector) == []


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.error in NACKED], ids=lambda v: v.name)
def test_attributable_errors_get_their_nack(vector: FrameVector) -> None:
    [(seq, answer)] = answers(vector)
    assert seq == vector.seq
    assert isinstance(answer, Nack) and answer.request == vector.msg_type
    assert answer.code is expected_code(vector)


def test_every_vector_is_classified() -> None:
    unknown = {v.error for v in VECTORS if not v.valid} - SILENT - set(NACKED)
    assert not unknown


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get_info_model", Ack(MsgType.GET_INFO, b"\x01NeckEase 2")),
        ("stop_seq_255", Ack(MsgType.STOP)),
        ("set_intensity_out_of_range", Nack(MsgType.SET_INTENSITY, ErrorCode.HELLO_REQUIRED)),
        ("unsupported_version_3", Nack(MsgType.HELLO, ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS))),
        ("bad_payload_start_empty", Nack(MsgType.START, ErrorCode.BAD_LENGTH, 1)),
        ("bad_value_get_info_field_5", Nack(MsgType.GET_INFO, ErrorCode.BAD_VALUE, 5)),
    ],
)
def test_selected_answers_in_full(name: str, expected: Ack | Nack) -> None:
    [vector] = [v for v in VECTORS if v.name == name]
    assert answers(vector) == [(vector.seq, expected)]


# --- stream vectors: what a device answers (SPEC.md §10.3 "nacks") -------------------------------


@pytest.mark.parametrize("vector", load_stream_vectors(), ids=lambda v: v.name)
def test_a_device_answers_the_stream_errors_the_vector_lists(vector: StreamVector) -> None:
    """Fed through a stream decoder, only unsupported-version packets are answered, as ``nacks`` says."""
    bench = Bench()
    link = bench.link()
    decoder = StreamDecoder(on_error=lambda error: bench.firmware.frame_error(link, error))
    delivered = [bytes(frame) for chunk in vector.chunks for frame in decoder.feed(chunk)]
    assert delivered == list(vector.frames)
    assert link.frames == list(vector.nacks)


# --- SPEC.md §6.7: the version byte is read per frame, whatever was negotiated -----------------------


def test_a_version_2_frame_on_a_link_that_negotiated_version_1() -> None:
    bench = Bench()
    link = bench.link()
    assert HelloResult.from_bytes(bench.hello(link).data).version == 1
    bench.request(link, Start(1))
    refused = bench.request(link, SetHeat(2), key=bytes(32), counter=1)
    # a link without connection keys (SPEC.md §12.3)
    assert refused == Nack(MsgType.SET_HEAT, ErrorCode.AUTH_FAILED, AuthFailure.NO_SESSION)
    assert bench.firmware.state.heat == 0
    assert bench.request(link, Stop(), key=bytes(32), counter=2) == Ack(MsgType.STOP)
    assert not bench.firmware.state.running


# --- the device's own limits, byte for byte (SPEC.md §7.4.5, §7.6) ---------------------------------


def _vector(name: str) -> FrameVector:
    [vector] = [v for v in VECTORS if v.name == name]
    return vector


def _answer_bytes(bench: Bench, link: RecordingLink, request: Request, seq: int) -> bytes:
    link.frames.clear()
    bench.send(link, request, seq)
    return link.frames[0]


def test_refusals_of_the_device_limits_are_the_vector_bytes() -> None:
    bench = Bench()
    link = bench.link()
    bench.hello(link)
    assert _answer_bytes(bench, link, Start(3), 50) == _vector("nack_start_from_standstill").data
    bench.firmware.exhaust_run_budget()
    bench.firmware.exhaust_heat_budget()
    bench.advance(0.1, link=False)
    assert _answer_bytes(bench, link, Start(1), 51) == _vector("nack_start_run_budget_locked").data
    assert _answer_bytes(bench, link, SetHeat(1), 52) == _vector("nack_set_heat_heater_budget_locked").data


def test_the_heater_limit_fault_event_is_the_vector_message() -> None:
    bench = Bench()
    link = bench.link()
    bench.hello(link)
    bench.request(link, SetHeat(1))
    link.frames.clear()
    bench.firmware.exhaust_heat_budget()
    bench.advance(0.1, link=False)
    events = [m for _, m in link.take() if isinstance(m, FaultEvent)]
    assert events == [_vector("fault_auto_off_heater").message]
