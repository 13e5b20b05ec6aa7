"""Property tests: no input makes the firmware raise, and valid frames always get one answer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocol import (
    Ack,
    BadCRC,
    BadEncoding,
    BadLength,
    DeviceMessage,
    ErrorCode,
    Frame,
    FrameError,
    Nack,
    OversizeFrame,
    StreamDecoder,
    TruncatedFrame,
    UnsupportedVersion,
)
from firmware_protocol.constants import MAX_PAYLOAD_LEN
from simulator.testing import Bench

frames = st.builds(
    Frame,
    msg_type=st.integers(0, 255),
    seq=st.integers(0, 255),
    payload=st.binary(max_size=MAX_PAYLOAD_LEN),
)
plain_errors = st.sampled_from([BadCRC, BadLength, OversizeFrame, TruncatedFrame, BadEncoding]).map(lambda k: k("x"))
version_errors = st.builds(
    lambda v, t, s: UnsupportedVersion("x", version=v, msg_type=t, seq=s),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
)


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=40), max_size=20))
def test_random_bytes_never_raise(chunks: list[bytes]) -> None:
    bench = Bench()
    link = bench.link()
    for chunk in chunks:
        bench.firmware.receive(link, chunk)
        bench.firmware.poll()
    assert all(isinstance(m, DeviceMessage) for _, m in link.take())  # whatever it sends is well-formed


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=60), max_size=20))
def test_random_stream_bytes_never_raise(chunks: list[bytes]) -> None:
    """The serial/TCP path: a stream decoder feeding frames and errors to the firmware."""
    bench = Bench()
    link = bench.link()
    decoder = StreamDecoder(on_error=lambda error: bench.firmware.frame_error(link, error))
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            bench.firmware.receive(link, bytes(frame))
    assert all(isinstance(m, DeviceMessage) for _, m in link.take())


@settings(max_examples=300)
@given(st.lists(frames, min_size=1, max_size=20), st.integers(0, 2**32 - 1))
def test_every_valid_frame_gets_exactly_one_answer_with_its_seq(sent: list[Frame], controller: int) -> None:
    bench = Bench()
    link = bench.link()
    bench.hello(link, controller)
    for frame in sent:
        link.take()
        bench.firmware.receive(link, bytes(frame))
        answers = [(seq, m) for seq, m in link.take() if isinstance(m, Ack | Nack)]
        assert len(answers) == 1
        seq, answer = answers[0]
        assert seq == frame.seq and answer.request == frame.msg_type


@given(st.lists(st.one_of(plain_errors, version_errors), max_size=10))
def test_stream_errors_never_raise(errors: list[FrameError]) -> None:
    bench = Bench()
    link = bench.link()
    for error in errors:
        bench.firmware.frame_error(link, error)
    answers = [m for _, m in link.take()]
    expected = sum(isinstance(e, UnsupportedVersion) for e in errors)
    assert len(answers) == expected
    assert all(isinstance(m, Nack) and m.code is ErrorCode.UNSUPPORTED_VERSION for m in answers)
