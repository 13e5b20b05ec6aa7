"""Serial and TCP byte streams (SPEC §9.1): COBS packets, delimiters, and resynchronisation.

Each stream vector (``stream.json``) is written raw to the link, followed by one ``0x00``
(which a sender MAY always send) and a GET_STATUS. The device must answer exactly the
frames a correct decoder finds in those bytes — each request with an ACK or NACK, a frame
of an unknown version with NACK UNSUPPORTED_VERSION — in order, and then GET_STATUS: so
noise, broken packets and overlong runs cost nothing but themselves. Over BLE and the
in-process simulator frames travel whole, so these checks are skipped there.
"""

from __future__ import annotations

import random

from firmware_protocol import (
    FrameError,
    GetStatus,
    Goodbye,
    MsgType,
    StreamDecoder,
    UnsupportedVersion,
    encode_message,
)
from firmware_protocol.vectors import StreamVector, load_stream_vectors
from medctl.conformance.context import Context
from medctl.conformance.model import Check, Failed, Skipped
from medctl.conformance.probe import Probe
from medctl.conformance.registry import add, check


def expected_answers(data: bytes) -> list[tuple[int, int]]:
    """(seq, type) of every answer a device owes for the stream *data*, in order (§9.1, §4.3)."""
    owed: list[tuple[int, int]] = []

    def on_error(error: FrameError) -> None:
        if isinstance(error, UnsupportedVersion):
            owed.append((error.seq, error.msg_type))

    decoder = StreamDecoder(on_error=on_error)
    for byte in data:
        for frame in decoder.feed(bytes([byte])):
            owed.append((frame.seq, frame.msg_type))
    return owed


async def _stream_probe(ctx: Context, data: bytes) -> str | None:
    probe = await ctx.link()
    if not probe.wire.raw_capable:
        raise Skipped("frames travel whole on this link; stream framing applies to serial and TCP")
    data += b"\x00"
    owed = expected_answers(data)
    await probe.wire.send_raw(data)
    await _answered_in_order(probe, owed, "the stream")
    await probe.request(Goodbye())  # a HELLO among the frames may have opened a session
    return f"{len(owed)} frame(s) answered, then GET_STATUS" if owed else None


async def _answered_in_order(probe: Probe, owed: list[tuple[int, int]], what: str) -> None:
    seq = probe.next_seq(avoid=frozenset(s for s, _ in owed))
    await probe.send(encode_message(GetStatus(), seq))
    answer = await probe.answer(seq, MsgType.GET_STATUS)
    got = [(frame.seq, answer_.request) for frame, answer_ in probe.strays]
    probe.strays.clear()
    if answer is None:
        raise Failed(f"after {what}, GET_STATUS got no answer: the device did not resynchronise at the next 0x00")
    if got != owed:
        raise Failed(f"after {what}: answers {_show(got)}; expected {_show(owed)} (in this order), then GET_STATUS")


def _show(pairs: list[tuple[int, int]]) -> str:
    return "[" + ", ".join(f"seq {s} type 0x{t:02X}" for s, t in pairs) + "]" if pairs else "none"


def _vector_check(vector: StreamVector) -> Check:
    async def run(ctx: Context) -> str | None:
        return await _stream_probe(ctx, vector.data)

    return Check(f"stream.{vector.name.replace('_', '-')}", "§9.1", vector.description, run)


for _vector in load_stream_vectors():
    add(_vector_check(_vector))


@check("stream.random-noise", "§9.1", "2 KiB of random bytes, then a delimiter: the device answers the next frame")
async def random_noise(ctx: Context) -> str | None:
    noise = random.Random(16).randbytes(2048)
    return await _stream_probe(ctx, noise)
