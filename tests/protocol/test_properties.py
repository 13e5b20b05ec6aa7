"""Property-based tests on the codec (DESIGN.md §9): round trips, and no crash on any input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import (
    MAX_PAYLOAD_LEN,
    Ack,
    BadPayload,
    BadValue,
    ClearFaults,
    ErrorCode,
    Fault,
    FaultEvent,
    Feature,
    Frame,
    FrameError,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    Message,
    MessageError,
    MotorState,
    MsgType,
    Nack,
    PairBegin,
    PairConfirm,
    PakeBegin,
    PakePart,
    ProtocolError,
    SessionBegin,
    SetHeat,
    SetIntensity,
    SetMode,
    Start,
    Status,
    StatusFlag,
    Stop,
    StreamDecoder,
    decode_message,
    encode_message,
    encode_stream,
)
from firmware_protocol.constants import MAX_INFO_LEN, NO_BATTERY
from firmware_protocol.messages import REQUEST_TYPES

#: Requests whose ACK carries a result (SPEC.md §5.3); every other ACK carries none.
ACK_RESULTS = {
    MsgType.HELLO, MsgType.GET_INFO, MsgType.GET_STATUS, MsgType.PAIR_BEGIN, MsgType.PAIR_CONFIRM,
    MsgType.SESSION_BEGIN, MsgType.PAKE_PART,
}  # fmt: skip

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
faults = st.integers(0, 0x1F).map(Fault)
single_fault = st.sampled_from([f for f in Fault if f])
battery = st.one_of(st.integers(0, 100), st.just(NO_BATTERY))

statuses = st.builds(
    Status,
    state=st.sampled_from(MotorState),
    intensity=u8,
    heat=u8,
    pad_temp_centi_c=st.integers(-0x8000, 0x7FFF),
    faults=faults,
    battery=battery,
    flags=u8.map(StatusFlag),  # reserved bits included: decoding keeps them (SPEC.md §5.8)
    run_seconds=u16,
)
hello_results = st.builds(HelloResult, u8, u8, u8, u8.map(Feature), u16)
info_texts = st.text(max_size=MAX_INFO_LEN).filter(lambda t: len(t.encode()) <= MAX_INFO_LEN)
info_results = st.builds(InfoResult, st.sampled_from(InfoField), info_texts)
#: ACKs as §5.3 allows them: every request type with the result its request defines.
acks = st.one_of(
    st.builds(Ack, st.sampled_from([t for t in REQUEST_TYPES if t not in ACK_RESULTS]), st.just(b"")),
    st.builds(Ack, st.just(MsgType.HELLO), hello_results.map(HelloResult.to_bytes)),
    st.builds(Ack, st.just(MsgType.GET_INFO), info_results.map(InfoResult.to_bytes)),
    st.builds(Ack, st.just(MsgType.GET_STATUS), statuses.map(Status.payload)),
    st.builds(Ack, st.sampled_from([MsgType.PAIR_BEGIN, MsgType.PAIR_CONFIRM]), st.binary(min_size=8, max_size=8)),
    st.builds(Ack, st.just(MsgType.SESSION_BEGIN), st.binary(min_size=12, max_size=12)),
    st.builds(Ack, st.just(MsgType.PAKE_PART), st.binary(min_size=1, max_size=12)),
)

MESSAGES: dict[MsgType, st.SearchStrategy[Message]] = {
    MsgType.HELLO: st.builds(Hello, u8, u8, u32),
    MsgType.GOODBYE: st.just(Goodbye()),
    MsgType.GET_INFO: st.builds(GetInfo, st.sampled_from(InfoField)),
    MsgType.GET_STATUS: st.just(GetStatus()),
    MsgType.START: st.builds(Start, u8),
    MsgType.STOP: st.just(Stop()),
    MsgType.SET_INTENSITY: st.builds(SetIntensity, u8),
    MsgType.SET_HEAT: st.builds(SetHeat, u8),
    MsgType.SET_MODE: st.builds(SetMode, u8),
    MsgType.HEARTBEAT: st.just(Heartbeat()),
    MsgType.CLEAR_FAULTS: st.builds(ClearFaults, faults),
    MsgType.PAIR_BEGIN: st.builds(PairBegin, u32, st.binary(min_size=8, max_size=8)),
    MsgType.PAIR_CONFIRM: st.builds(PairConfirm, st.binary(min_size=8, max_size=8)),
    MsgType.SESSION_BEGIN: st.builds(SessionBegin, u32, st.binary(min_size=8, max_size=8)),
    MsgType.PAKE_BEGIN: st.builds(PakeBegin, u32),
    MsgType.PAKE_PART: st.builds(PakePart, st.integers(0, 255), st.binary(min_size=1, max_size=12)),
    MsgType.ACK: acks,
    MsgType.NACK: st.builds(Nack, u8, st.sampled_from(ErrorCode), u8),
    MsgType.STATUS: statuses,
    MsgType.FAULT: st.builds(FaultEvent, single_fault, st.booleans(), u8),
}
any_message = st.one_of(*MESSAGES.values())


def test_every_message_type_has_a_strategy() -> None:
    assert set(MESSAGES) == set(MsgType)


@given(any_message, u8)
def test_message_round_trip(message: Message, seq: int) -> None:
    data = encode_message(message, seq)
    assert len(data) <= 20
    frame = Frame.loads(data)
    assert frame.seq == seq and frame.msg_type == message.TYPE
    decoded = decode_message(frame)
    assert decoded == message and type(decoded) is type(message)
    assert encode_message(decoded, seq) == data


@given(any_message, u8)
def test_message_round_trip_through_the_stream(message: Message, seq: int) -> None:
    data = encode_message(message, seq)
    assert [bytes(f) for f in StreamDecoder().feed(encode_stream(data))] == [data]


@given(hello_results)
def test_hello_result_round_trip(result: HelloResult) -> None:
    assert HelloResult.from_bytes(result.to_bytes()) == result
    Frame.loads(encode_message(Ack(MsgType.HELLO, result.to_bytes()), 0))


@given(st.builds(InfoResult, st.sampled_from(InfoField), st.text(max_size=MAX_INFO_LEN)))
def test_info_result_round_trip(result: InfoResult) -> None:
    try:
        data = result.to_bytes()
    except ValueError:
        assert len(result.text.encode()) > MAX_INFO_LEN
        return
    assert InfoResult.from_bytes(data) == result
    assert decode_message(Frame.loads(encode_message(Ack(MsgType.GET_INFO, data), 9))) == Ack(MsgType.GET_INFO, data)


@given(statuses)
def test_status_result_round_trip(status: Status) -> None:
    ack = Ack(MsgType.GET_STATUS, status.payload())
    decoded = decode_message(Frame.loads(encode_message(ack, 1)))
    assert isinstance(decoded, Ack)
    assert Status.from_payload(decoded.data) == status


@given(st.binary(max_size=40))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    try:
        frame = Frame.loads(data)
    except FrameError:
        return
    with contextlib.suppress(MessageError):  # anything else escapes and fails the test
        decode_message(frame)


@given(u8, u8, st.binary(max_size=MAX_PAYLOAD_LEN))
def test_any_well_formed_frame_decodes_or_raises_a_message_error(msg_type: int, seq: int, payload: bytes) -> None:
    frame = Frame.loads(bytes(Frame(msg_type=msg_type, seq=seq, payload=payload)))
    try:
        message = decode_message(frame)
    except MessageError as error:
        assert error.code is not None
    else:
        assert msg_type == message.TYPE


@given(st.binary(max_size=20), st.data())
def test_corrupted_valid_frames_raise_only_protocol_errors(payload: bytes, data: st.DataObject) -> None:
    raw = bytearray(bytes(Frame(msg_type=MsgType.ACK, seq=5, payload=payload[:MAX_PAYLOAD_LEN])))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 0xFF))
    with contextlib.suppress(ProtocolError):
        decode_message(Frame.loads(bytes(raw)))


@given(st.lists(st.binary(max_size=60), max_size=10))
def test_stream_decoder_never_raises(chunks: list[bytes]) -> None:
    errors: list[FrameError] = []
    decoder = StreamDecoder(on_error=errors.append)
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            assert isinstance(frame, Frame)
    assert len(errors) == decoder.stats.errors
    assert all(isinstance(e, FrameError) for e in errors)


@given(st.binary(max_size=80), any_message, u8)
def test_frame_after_garbage_and_a_delimiter_is_recovered(garbage: bytes, message: Message, seq: int) -> None:
    data = encode_message(message, seq)
    frames = StreamDecoder().feed(garbage + b"\x00" + encode_stream(data))
    assert frames and bytes(frames[-1]) == data


@given(st.binary(max_size=80), any_message, u8, st.lists(st.integers(1, 9), min_size=1))
def test_recovery_does_not_depend_on_chunking(garbage: bytes, message: Message, seq: int, sizes: list[int]) -> None:
    data = encode_message(message, seq)
    stream = garbage + b"\x00" + encode_stream(data)
    whole = StreamDecoder()
    expected = whole.feed(stream)
    chunked = StreamDecoder()
    got: list[Frame] = []
    start = 0
    for size in sizes * (len(stream) // len(sizes) + 1):
        got += chunked.feed(stream[start : start + size])
        start += size
        if start >= len(stream):
            break
    assert got == expected and bytes(got[-1]) == data
    assert chunked.stats.errors == whole.stats.errors


@given(st.integers(0, 0xFF).filter(lambda mask: mask & 0xE0))
def test_undefined_fault_bits_are_bad_values(mask: int) -> None:
    for kind, payload in (
        (MsgType.CLEAR_FAULTS, bytes([mask])),
        (MsgType.STATUS, bytes([0, 1, 0, 0, 0, mask, NO_BATTERY, 0, 0, 0])),
    ):
        with pytest.raises(BadValue):
            decode_message(Frame(msg_type=kind, seq=0, payload=payload))


@given(st.sampled_from(sorted(REQUEST_TYPES - ACK_RESULTS)), st.binary(min_size=1, max_size=MAX_PAYLOAD_LEN - 1))
def test_an_ack_with_data_for_an_empty_result_is_bad_payload(request: MsgType, data: bytes) -> None:
    with pytest.raises(BadPayload):
        decode_message(Frame(msg_type=MsgType.ACK, seq=0, payload=bytes([request]) + data))


@given(u8.filter(lambda t: t not in REQUEST_TYPES), st.binary(max_size=MAX_PAYLOAD_LEN - 1))
def test_an_ack_naming_no_request_is_bad_value_whatever_its_data(request: int, data: bytes) -> None:
    with pytest.raises(BadValue):
        decode_message(Frame(msg_type=MsgType.ACK, seq=0, payload=bytes([request]) + data))
