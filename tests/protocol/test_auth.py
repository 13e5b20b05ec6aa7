"""Pairing and authenticated frames (SPEC.md §11, §12) against auth.json and auth_v3.json, and their properties."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware_protocol.vectors
from firmware_protocol import (
    AUTH_FRAME_VERSION,
    MAX_FRAME_LEN,
    MAX_PAYLOAD_LEN,
    Ack,
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
    MsgType,
    PairBegin,
    PairConfirm,
    PakePart,
    ProtocolError,
    Request,
    SessionBegin,
    SessionBeginResult,
    SetHeat,
    SetIntensity,
    Start,
    Stop,
    decode_message,
    encode_message,
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
from firmware_protocol.pake import PAKE_PARTS, PakeSide, part_len, parts
from firmware_protocol.session import device_proof, hkdf_sha256, session_key
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


# --- version 3 (SPEC.md §12): vectors in auth_v3.json ------------------------------------------------

V3 = json.loads((Path(firmware_protocol.vectors.__file__).parent / "auth_v3.json").read_text())


@pytest.mark.parametrize("vector", V3["hkdf"], ids=lambda v: v["name"])
def test_hkdf_is_rfc_5869(vector: dict[str, Any]) -> None:
    okm = hkdf_sha256(
        bytes.fromhex(vector["ikm"]), bytes.fromhex(vector["salt"]), bytes.fromhex(vector["info"]), vector["length"]
    )
    assert okm.hex() == vector["okm"]


@pytest.mark.parametrize("vector", V3["sessions"], ids=lambda v: v["name"])
def test_connection_key_and_device_proof(vector: dict[str, Any]) -> None:
    nonce_c, nonce_d = bytes.fromhex(vector["controller_nonce"]), bytes.fromhex(vector["device_nonce"])
    key = session_key(bytes.fromhex(vector["pairing_key"]), vector["controller_id"], nonce_c, nonce_d)
    assert key.hex() == vector["session_key"]
    assert device_proof(key, vector["controller_id"], nonce_c, nonce_d).hex() == vector["proof"]
    assert encode_message(SessionBegin(vector["controller_id"], nonce_c), 4).hex() == vector["session_begin_hex"]
    ack = Ack(MsgType.SESSION_BEGIN, SessionBeginResult(nonce_d, bytes.fromhex(vector["proof"])).to_bytes())
    assert encode_message(ack, 4).hex() == vector["ack_hex"]


@pytest.mark.parametrize("vector", V3["frames"], ids=lambda v: v["name"])
def test_frames_under_a_connection_key(vector: dict[str, Any]) -> None:
    session = next(s for s in V3["sessions"] if s["name"] == vector["session"])
    key = bytes.fromhex(session["session_key"])
    frame = Frame.loads(bytes.fromhex(vector["hex"]))
    assert len(frame.payload) + 6 <= 20 and verify_frame(frame, key).counter == vector["counter"]
    assert seal(decode_message(frame), frame.seq, key, vector["counter"]).hex() == vector["hex"]  # type: ignore[arg-type]
    with pytest.raises(BadTag):  # the pairing key itself does not verify it: it signs nothing in version 3
        verify_frame(frame, bytes.fromhex(session["pairing_key"]))


@pytest.mark.parametrize("vector", V3["pake"], ids=lambda v: v["name"])
def test_spake2_pairing(vector: dict[str, Any]) -> None:
    def entropy(byte: str) -> Callable[[int], bytes]:
        return lambda n: bytes.fromhex(byte) * n

    controller = PakeSide(
        False, vector["code"], vector["serial"], vector["controller_id"], entropy(vector["entropy_a"])
    )
    device = PakeSide(True, vector["code"], vector["serial"], vector["controller_id"], entropy(vector["entropy_b"]))
    assert controller.message.hex() == vector["message_a"] and device.message.hex() == vector["message_b"]
    assert [p.hex() for p in parts(controller.message)] == vector["parts_a"]
    assert [p.hex() for p in parts(device.message)] == vector["parts_b"]
    for side, other in ((controller, device), (device, controller)):
        proof = side.finish(other.message)
        assert proof.key.hex() == vector["pairing_key"]
        assert (proof.controller.hex(), proof.device.hex()) == (vector["confirm_c"], vector["confirm_d"])


def test_a_wrong_code_gives_another_key_and_no_way_to_check_a_guess_offline() -> None:
    vector = V3["pake"][0]
    device = PakeSide(True, vector["code"], vector["serial"], vector["controller_id"])
    guess = PakeSide(False, "ZZZZ-2222", vector["serial"], vector["controller_id"])
    honest = PakeSide(False, vector["code"], vector["serial"], vector["controller_id"])
    assert guess.finish(device.message).key != device.finish(honest.message).key


def test_pake_parts_fit_a_frame() -> None:
    assert [part_len(i) for i in range(PAKE_PARTS)] == [12, 12, 9]
    assert len(encode_message(PakePart(0, bytes(12)), 0)) <= 20
    assert len(encode_message(Ack(MsgType.PAKE_PART, bytes(12)), 0)) <= 20


@pytest.mark.parametrize(
    ("text", "code"),
    [(" 7kqm-3xhp\n", "7KQM3XHP"), ("7KQM\t3XHP", "7KQM3XHP"), ("7KQM\u00a03XHP", None), ("\u017fKQM3XHP", None)],
    ids=["ascii-space-newline", "tab", "no-break-space", "long-s"],
)
def test_normalizing_drops_ascii_whitespace_and_dashes_only(text: str, code: str | None) -> None:
    if code is None:
        with pytest.raises(ValueError):
            normalize_code(text)
    else:
        assert normalize_code(text) == code
