"""Every frame vector of firmware_protocol/vectors/frames.json against the codec (SPEC.md §10)."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest

from firmware_protocol import (
    PLAIN_FRAME_VERSION,
    Ack,
    ErrorCode,
    Fault,
    FaultEvent,
    Feature,
    Frame,
    FrameError,
    HelloResult,
    InfoResult,
    MessageError,
    MsgType,
    Nack,
    PairBeginResult,
    PairConfirmResult,
    ProtocolError,
    Request,
    SessionBeginResult,
    Status,
    StatusFlag,
    UnsupportedVersion,
    decode_message,
    encode_message,
)
from firmware_protocol.constants import FRAME_VERSIONS
from firmware_protocol.messages import PAKE_PART_LEN
from firmware_protocol.vectors import FrameVector, load_frame_vectors, load_stream_vectors

VECTORS = load_frame_vectors()
VALID = [v for v in VECTORS if v.valid]
INVALID = [v for v in VECTORS if not v.valid]


def _named(root: type[FrameError] | type[MessageError]) -> dict[str, type[ProtocolError]]:
    found: dict[str, type[ProtocolError]] = {root.name: root}
    for cls in root.__subclasses__():
        found.update(_named(cls))
    return found


#: error id in the vectors -> the exception class a decoder raises
ERRORS: dict[str, type[ProtocolError]] = {**_named(FrameError), **_named(MessageError)}
FRAME_ERRORS = {name for name, cls in ERRORS.items() if issubclass(cls, FrameError)}
MESSAGE_ERRORS = {name for name, cls in ERRORS.items() if issubclass(cls, MessageError)}


def decode(data: bytes) -> tuple[Frame, object]:
    frame = Frame.loads(data)
    return frame, decode_message(frame)


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.name)
def test_valid_vector_decodes(vector: FrameVector) -> None:
    frame, message = decode(vector.data)
    assert frame.version == PLAIN_FRAME_VERSION
    assert frame.seq == vector.seq
    assert frame.msg_type == vector.msg_type
    assert message == vector.message
    assert type(message) is type(vector.message)


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.name)
def test_valid_vector_reencodes(vector: FrameVector) -> None:
    assert vector.message is not None and vector.seq is not None
    assert encode_message(vector.message, vector.seq) == vector.data
    assert bytes(Frame.loads(vector.data)) == vector.data


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v.name)
def test_invalid_vector_raises_the_named_error(vector: FrameVector) -> None:
    assert vector.error in ERRORS, f"unknown error id {vector.error!r}"
    with pytest.raises(ProtocolError) as caught:
        decode(vector.data)
    assert type(caught.value) is ERRORS[vector.error]


@pytest.mark.parametrize("vector", [v for v in INVALID if v.error in MESSAGE_ERRORS], ids=lambda v: v.name)
def test_message_error_vector_has_a_trustworthy_header(vector: FrameVector) -> None:
    frame = Frame.loads(vector.data)
    assert (frame.seq, frame.msg_type) == (vector.seq, vector.msg_type)
    with pytest.raises(MessageError) as caught:
        decode_message(frame)
    assert caught.value.code is not None  # attributable: the device answers with this NACK code


@pytest.mark.parametrize("vector", [v for v in INVALID if v.error == "unsupported_version"], ids=lambda v: v.name)
def test_unsupported_version_carries_the_header(vector: FrameVector) -> None:
    with pytest.raises(UnsupportedVersion) as caught:
        Frame.loads(vector.data)
    error = caught.value
    assert (error.seq, error.msg_type) == (vector.seq, vector.msg_type)
    assert error.version == vector.data[0] not in FRAME_VERSIONS
    assert error.code is ErrorCode.UNSUPPORTED_VERSION


@pytest.mark.parametrize(
    "vector", [v for v in INVALID if v.error in FRAME_ERRORS - {"unsupported_version"}], ids=lambda v: v.name
)
def test_frame_errors_are_not_attributable(vector: FrameVector) -> None:
    with pytest.raises(FrameError) as caught:
        Frame.loads(vector.data)
    assert caught.value.code is None  # dropped silently: the header cannot be trusted
    assert vector.seq is None and vector.msg_type is None


@pytest.mark.parametrize("vector", [v for v in VALID if isinstance(v.message, Ack)], ids=lambda v: v.name)
def test_ack_result_data_parses(vector: FrameVector) -> None:
    ack = vector.message
    assert isinstance(ack, Ack)
    if ack.request is MsgType.HELLO:
        assert HelloResult.from_bytes(ack.data).to_bytes() == ack.data
    elif ack.request is MsgType.GET_INFO:
        assert InfoResult.from_bytes(ack.data).to_bytes() == ack.data
    elif ack.request is MsgType.GET_STATUS:
        assert Status.from_payload(ack.data).payload() == ack.data
    elif ack.request is MsgType.PAIR_BEGIN:
        assert PairBeginResult.from_bytes(ack.data).to_bytes() == ack.data
    elif ack.request is MsgType.PAIR_CONFIRM:
        assert PairConfirmResult.from_bytes(ack.data).to_bytes() == ack.data
    elif ack.request is MsgType.SESSION_BEGIN:
        assert SessionBeginResult.from_bytes(ack.data).to_bytes() == ack.data
    elif ack.request is MsgType.PAKE_PART:
        assert 1 <= len(ack.data) <= PAKE_PART_LEN  # a part of the device's SPAKE2 message
    else:
        assert ack.data == b""


# --- the file itself covers what SPEC.md §10 promises ---------------------------------------------


def test_vector_names_are_unique() -> None:
    names = [v.name for v in VECTORS]
    assert len(names) == len(set(names))


def test_enough_vectors() -> None:
    assert len(VECTORS) >= 45
    assert len(VALID) >= 20 and len(INVALID) >= 20


def test_every_message_type_has_a_valid_vector() -> None:
    assert {MsgType(v.msg_type) for v in VALID if v.msg_type is not None} == set(MsgType)


def test_every_request_kind_has_an_ack() -> None:
    acked = {v.message.request for v in VALID if isinstance(v.message, Ack)}
    assert acked == {t for t in MsgType if t < 0x80}


def test_every_error_code_has_a_nack() -> None:
    assert {v.message.code for v in VALID if isinstance(v.message, Nack)} == set(ErrorCode)


def test_every_fault_has_an_event() -> None:
    raised = {v.message.fault for v in VALID if isinstance(v.message, FaultEvent) and v.message.active}
    assert raised == set(Fault) - {Fault.NONE}


def test_status_with_and_without_battery_and_faults() -> None:
    statuses = [v.message for v in VALID if isinstance(v.message, Status)]
    assert any(s.battery_percent is None for s in statuses)
    assert any(s.battery_percent is not None for s in statuses)
    assert any(s.faults for s in statuses)
    assert any(not s.faults for s in statuses)


def test_edges_are_covered() -> None:
    assert {0, 255} <= {v.seq for v in VALID}
    assert {6, 20} <= {len(v.data) for v in VALID}  # empty and 14-byte payloads
    assert {len(v.data) for v in INVALID if v.error == "truncated"} == set(range(6))
    assert all(len(v.data) > 20 for v in INVALID if v.error == "oversize")
    every = {name for name in ERRORS if name not in {"frame_error", "message_error", "bad_encoding"}}
    assert {v.error for v in INVALID} == every


def test_every_request_vector_is_a_request() -> None:
    for vector in VALID:
        assert isinstance(vector.message, Request) == (vector.data[1] < 0x80)


# --- SPEC.md §10.2: how bit sets are written ------------------------------------------------------

BIT_SETS = {"faults": Fault, "flags": StatusFlag, "features": Feature}


def _bit_set_lists(node: object) -> list[tuple[str, list[object]]]:
    if isinstance(node, dict):
        found = [(key, value) for key, value in node.items() if key in BIT_SETS and isinstance(value, list)]
        return found + [item for value in node.values() for item in _bit_set_lists(value)]
    if isinstance(node, list):
        return [item for value in node for item in _bit_set_lists(value)]
    return []


def test_bit_sets_list_names_in_ascending_bit_order_then_reserved_bits() -> None:
    document = json.loads(files("firmware_protocol.vectors").joinpath("frames.json").read_text(encoding="utf-8"))
    lists = _bit_set_lists(document)
    assert any(any(isinstance(item, int) for item in value) for _, value in lists), "a vector keeps reserved bits"
    for key, value in lists:
        kind = BIT_SETS[key]
        names = [item for item in value if isinstance(item, str)]
        numbers = [item for item in value if isinstance(item, int)]
        assert value == [*names, *numbers] and len(numbers) <= 1, (key, value)
        masks = [kind[name].value for name in names]
        assert masks == sorted(set(masks)), (key, value)
        defined = sum(member.value for member in kind)
        assert all(number and not number & defined for number in numbers), (key, value)


WITH_BIT_SETS = [v for v in VALID if v.data[1] in {MsgType.STATUS, MsgType.ACK}]


@pytest.mark.parametrize("vector", WITH_BIT_SETS, ids=lambda v: v.name)
def test_reserved_bits_survive_a_round_trip(vector: FrameVector) -> None:
    assert encode_message(decode_message(Frame.loads(vector.data)), Frame.loads(vector.data).seq) == vector.data


def test_spec_states_the_vector_counts() -> None:
    """SPEC.md §10.1 says how many vectors there are; it must not drift from the files."""
    spec = files("firmware_protocol").joinpath("SPEC.md").read_text(encoding="utf-8")
    counts = r"hold (\d+) frame vectors \((\d+) valid:.*?; (\d+) invalid:.*?\), (\d+) stream vectors"
    found = re.search(counts, spec, re.S)
    assert found is not None
    assert tuple(map(int, found.groups())) == (len(VECTORS), len(VALID), len(INVALID), len(load_stream_vectors()))
