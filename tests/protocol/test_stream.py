"""COBS stream framing (SPEC.md §9.1) against firmware_protocol/vectors/stream.json."""

from __future__ import annotations

import random

import pytest

from firmware_protocol import (
    ErrorCode,
    Frame,
    FrameError,
    Hello,
    Nack,
    OversizeFrame,
    StreamDecoder,
    UnsupportedVersion,
    decode_message,
    encode_message,
    encode_stream,
)
from firmware_protocol.constants import MAX_STREAM_FRAME_LEN, SUPPORTED_VERSIONS
from firmware_protocol.vectors import FrameVector, StreamVector, load_frame_vectors, load_stream_vectors

VECTORS = load_stream_vectors()


def run(chunks: list[bytes] | tuple[bytes, ...]) -> tuple[list[bytes], list[FrameError], StreamDecoder]:
    errors: list[FrameError] = []
    decoder = StreamDecoder(on_error=errors.append)
    frames = [bytes(frame) for chunk in chunks for frame in decoder.feed(chunk)]
    return frames, errors, decoder


def rechunk(data: bytes, rng: random.Random) -> list[bytes]:
    """Cut *data* into random pieces of 1 to 9 bytes."""
    chunks, start = [], 0
    while start < len(data):
        size = rng.randint(1, 9)
        chunks.append(data[start : start + size])
        start += size
    return chunks


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_stream_vector(vector: StreamVector) -> None:
    frames, errors, decoder = run(vector.chunks)
    assert frames == list(vector.frames)
    assert len(errors) == vector.errors == decoder.stats.errors
    assert decoder.stats.frames == len(vector.frames)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_stream_vector_in_random_chunks(vector: StreamVector, seed: int) -> None:
    frames, errors, _ = run(rechunk(vector.data, random.Random(f"{vector.name}/{seed}")))
    assert frames == list(vector.frames)
    assert len(errors) == vector.errors


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_stream_vector_as_one_chunk_and_byte_by_byte(vector: StreamVector) -> None:
    whole = run([vector.data])
    single = run([vector.data[i : i + 1] for i in range(len(vector.data))])
    assert whole[0] == single[0] == list(vector.frames)
    assert len(whole[1]) == len(single[1]) == vector.errors


def test_stream_vectors_cover_the_cases_spec_names() -> None:
    names = {v.name for v in VECTORS}
    wanted = {"noise_between_frames", "corrupted_cobs_code", "split_across_chunks", "back_to_back", "overlong_run"}
    assert wanted <= names
    assert any(v.errors == 0 for v in VECTORS) and any(v.errors > 0 for v in VECTORS)


def test_worked_example_stream_form() -> None:
    # SPEC.md §3.3 / §9.1: HELLO(1, 1, 0x12345678) with seq 0.
    frame = encode_message(Hello(1, 1, 0x12345678), 0)
    assert frame.hex() == "010100060101123456789fa7"
    assert encode_stream(frame).hex() == "0301010a060101123456789fa700"


@pytest.mark.parametrize("vector", [v for v in load_frame_vectors() if v.valid], ids=lambda v: v.name)
def test_every_valid_frame_vector_survives_the_stream(vector: FrameVector) -> None:
    packet = encode_stream(vector.data)
    assert 0 not in packet[:-1] and packet[-1] == 0
    assert len(packet) <= MAX_STREAM_FRAME_LEN
    frames, errors, _ = run([packet])
    assert frames == [vector.data] and not errors


def test_reset_discards_a_partial_packet() -> None:
    frame = encode_message(Hello(1, 1, 7), 3)
    packet = encode_stream(frame)
    decoder = StreamDecoder()
    assert decoder.feed(packet[:5]) == []
    decoder.reset()
    assert decoder.feed(packet[5:]) == []  # the tail alone is not a frame
    assert decoder.stats.discarded_bytes == 5
    assert [bytes(f) for f in decoder.feed(packet)] == [frame]


def test_overflow_discards_until_the_delimiter() -> None:
    frame = encode_message(Hello(1, 1, 7), 3)
    decoder = StreamDecoder()
    assert decoder.feed(b"\x01" * 100) == []
    assert decoder.feed(b"\x01" * 100 + b"\x00" + encode_stream(frame)) == [Hello(1, 1, 7).to_frame(3)]
    assert decoder.stats.errors == 1
    assert decoder.stats.discarded_bytes == 200


def test_21_cobs_bytes_are_a_packet_and_a_22nd_is_oversize() -> None:
    """SPEC.md §9.1: at most 21 COBS bytes precede a delimiter; a 22nd without one is oversize."""
    longest = bytes([0x15]) + bytes(range(1, 21))
    _, errors, _ = run([longest + b"\x00"])
    assert [type(e) for e in errors] != [OversizeFrame]  # decoded and checked as a frame (its CRC is wrong)
    _, errors, decoder = run([longest + b"\x16", b"\x00"])
    assert [type(e) for e in errors] == [OversizeFrame] and decoder.stats.discarded_bytes == 22


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.nacks], ids=lambda v: v.name)
def test_device_answers_are_unsupported_version_nacks(vector: StreamVector) -> None:
    """A device answers only unsupported-version packets (SPEC.md §4.3); the vector lists those answers."""
    _, errors, _ = run(vector.chunks)
    rejected = [e for e in errors if isinstance(e, UnsupportedVersion)]
    assert len(vector.nacks) == len(rejected) <= vector.errors
    for nack, error in zip(vector.nacks, rejected, strict=True):
        frame = Frame.loads(nack)
        assert frame.seq == error.seq
        assert decode_message(frame) == Nack(error.msg_type, ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS))
