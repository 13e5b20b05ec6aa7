"""Pairing and authenticated frames (SPEC.md §11) against auth.json, and their properties."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocol import (
    AUTH_FRAME_VERSION,
    MAX_FRAME_LEN,
    MAX_PAYLOAD_LEN,
    BadPayload,
    BadTag,
    ClearFaults,
    Fault,
    Frame,
    FrameError,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    InfoField,
    MessageError,
    PairBegin,
    PairConfirm,
    ProtocolError,
    Request,
    SetHeat,
    SetIntensity,
    Start,
    Stop,
    decode_message,
)
from firmware_protocol.auth import (
    PAIRING_CODE_ALPHABET,
    PairingTranscript,
    controller_confirmation,
    derive_key,
    device_confirmation,
    format_code,
    new_pairing_code,
    normalize_code,
    seal,
    trailer_of,
    verify_frame,
)
from firmware_protocol.crc import crc16
from firmware_protocol.vectors import (
    AuthFrameVector,
    CodeVector,
    KeyVector,
    load_auth_frame_vectors,
    load_code_vectors,
    load_key_vectors,
)

CODES = load_code_vectors()
KEYS = load_key_vectors()
FRAMES = load_auth_frame_vectors()

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFF_FFFF)
counters = st.integers(1, 0xFFFF_FFFF)
keys = st.binary(min_size=32, max_size=32)
#: Every request that fits an authenticated frame (all but the two pairing requests).
signable: st.SearchStrategy[Request] = st.one_of(
    st.builds(Hello, u8, u8, u32),
    st.just(Goodbye()),
    st.builds(GetInfo, st.sampled_from(InfoField)),
    st.just(GetStatus()),
    st.builds(Start, u8),
    st.just(Stop()),
    st.builds(SetIntensity, u8),
    st.builds(SetHeat, u8),
    st.just(Heartbeat()),
    st.builds(ClearFaults, st.integers(0, 0x1F).map(Fault)),
)


def with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


# --- vectors ------------------------------------------------------------------------------------


def test_the_vector_file_covers_what_it_should() -> None:
    assert any(v.code is None for v in CODES) and any(v.code is not None for v in CODES)
    assert len(KEYS) >= 3 and len({v.key for v in KEYS}) == len(KEYS)
    assert {v.error for v in FRAMES} == {None, "bad_tag", "bad_payload"}
    assert {len(v.data) for v in FRAMES if v.error is None} >= {MAX_FRAME_LEN}


@pytest.mark.parametrize("vector", CODES, ids=lambda v: v.name)
def test_code_vector(vector: CodeVector) -> None:
    if vector.code is None:
        with pytest.raises(ValueError, match="not a pairing code"):
            normalize_code(vector.text)
    else:
        assert normalize_code(vector.text) == vector.code
        assert format_code(vector.text) == f"{vector.code[:4]}-{vector.code[4:]}"


@pytest.mark.parametrize("vector", KEYS, ids=lambda v: v.name)
def test_key_vector(vector: KeyVector) -> None:
    transcript = PairingTranscript(vector.serial, vector.controller_id, vector.controller_nonce, vector.device_nonce)
    assert transcript.salt() == vector.salt
    key = derive_key(vector.code, transcript, iterations=vector.iterations)
    assert key == vector.key
    assert controller_confirmation(key, transcript) == vector.controller_confirmation
    assert device_confirmation(key, transcript) == vector.device_confirmation


def test_the_default_iteration_count_is_the_one_of_the_vectors() -> None:
    vector = KEYS[0]
    transcript = PairingTranscript(vector.serial, vector.controller_id, vector.controller_nonce, vector.device_nonce)
    assert derive_key(vector.code, transcript) == vector.key


@pytest.mark.parametrize("vector", [v for v in FRAMES if v.error is None], ids=lambda v: v.name)
def test_valid_authenticated_frame(vector: AuthFrameVector) -> None:
    frame = Frame.loads(vector.data)
    assert (frame.version, frame.seq, frame.msg_type) == (AUTH_FRAME_VERSION, vector.seq, vector.msg_type)
    assert decode_message(frame) == vector.message
    assert verify_frame(frame, vector.key).counter == vector.counter
    assert isinstance(vector.message, Request) and vector.counter is not None
    assert seal(vector.message, vector.seq, vector.key, vector.counter) == vector.data


@pytest.mark.parametrize("vector", [v for v in FRAMES if v.error is not None], ids=lambda v: v.name)
def test_invalid_authenticated_frame(vector: AuthFrameVector) -> None:
    frame = Frame.loads(vector.data)  # every one is a valid frame: the CRC is right
    assert (frame.seq, frame.msg_type) == (vector.seq, vector.msg_type)
    if vector.error == "bad_payload":
        with pytest.raises(BadPayload):
            decode_message(frame)
    else:
        decode_message(frame)
        with pytest.raises(BadTag):
            verify_frame(frame, vector.key)


# --- properties ---------------------------------------------------------------------------------


@given(signable, u8, keys, counters)
def test_seal_round_trip(message: Request, seq: int, key: bytes, counter: int) -> None:
    data = seal(message, seq, key, counter)
    assert len(data) <= MAX_FRAME_LEN
    frame = Frame.loads(data)
    assert frame.version == AUTH_FRAME_VERSION and frame.seq == seq
    assert decode_message(frame) == message
    trailer = verify_frame(frame, key)
    assert trailer.counter == counter and trailer == trailer_of(frame)


@given(signable, u8, keys, counters, st.data())
def test_any_changed_byte_fails_the_tag(
    message: Request, seq: int, key: bytes, counter: int, data: st.DataObject
) -> None:
    raw = bytearray(seal(message, seq, key, counter))
    index = data.draw(st.integers(0, len(raw) - 3), label="index")  # a byte before the CRC
    raw[index] ^= data.draw(st.integers(1, 0xFF), label="flip")
    try:
        frame = Frame.loads(with_crc(bytes(raw[:-2])))
        decode_message(frame)
    except ProtocolError:
        return  # no longer a readable authenticated frame at all
    with pytest.raises(BadTag):
        verify_frame(frame, key)


@given(signable, u8, keys, keys, counters)
def test_another_key_fails_the_tag(message: Request, seq: int, key: bytes, other: bytes, counter: int) -> None:
    frame = Frame.loads(seal(message, seq, key, counter))
    if other != key:
        with pytest.raises(BadTag):
            verify_frame(frame, other)


@given(u8, u8, st.binary(max_size=MAX_PAYLOAD_LEN), keys)
def test_any_authenticated_frame_raises_only_protocol_errors(kind: int, seq: int, payload: bytes, key: bytes) -> None:
    frame = Frame.loads(bytes(Frame(kind, seq, payload, version=AUTH_FRAME_VERSION)))
    with contextlib.suppress(MessageError):
        decode_message(frame)
    with contextlib.suppress(ProtocolError):
        verify_frame(frame, key)


@given(st.binary(max_size=24), keys)
def test_random_bytes_raise_only_protocol_errors(data: bytes, key: bytes) -> None:
    try:
        frame = Frame.loads(data)
    except FrameError:
        return
    with contextlib.suppress(MessageError):
        decode_message(frame)
    with contextlib.suppress(ProtocolError):
        verify_frame(frame, key)


@settings(max_examples=30)
@given(st.text(PAIRING_CODE_ALPHABET, min_size=8, max_size=8), st.text(max_size=12), u32, st.data())
def test_every_input_of_the_derivation_changes_the_key(code: str, serial: str, cid: int, data: st.DataObject) -> None:
    nonces = st.binary(min_size=8, max_size=8)
    base = PairingTranscript(serial, cid, data.draw(nonces), data.draw(nonces))
    key = derive_key(code, base, iterations=10)
    other_code = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert derive_key(other_code, base, iterations=10) != key
    flipped = bytes([base.device_nonce[0] ^ 1]) + base.device_nonce[1:]
    for changed in (
        replace(base, serial=serial + "x"),
        replace(base, controller_id=cid ^ 1),
        replace(base, controller_nonce=base.device_nonce, device_nonce=base.controller_nonce),
        replace(base, device_nonce=flipped),
    ):
        if changed != base:
            assert derive_key(code, changed, iterations=10) != key
    assert controller_confirmation(key, base) != device_confirmation(key, base)


def test_new_codes_are_well_formed_and_differ() -> None:
    codes = {new_pairing_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(format_code(code) == code for code in codes)


@pytest.mark.parametrize(
    ("message", "counter"),
    [(PairBegin(1, bytes(8)), 1), (PairConfirm(bytes(8)), 1), (Stop(), 0), (Stop(), 2**32)],
    ids=["pair_begin_too_long", "pair_confirm_too_long", "counter_0", "counter_2_32"],
)
def test_seal_refuses_what_it_cannot_sign(message: Request, counter: int) -> None:
    with pytest.raises(ValueError):
        seal(message, 0, bytes(32), counter)
