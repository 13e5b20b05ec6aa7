"""Frames and their integrity (SPEC §3, §4): what the device answers, and what it must drop.

Invalid frames come from the test vectors (``frames.json``). A frame the device must drop
is followed at once by a GET_STATUS: frames on a link are handled in arrival order (§7.2),
so if the first answer is GET_STATUS's, the bad frame was dropped without an answer — no
waiting for an absence.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

from firmware_protocol import (
    Ack,
    ErrorCode,
    Frame,
    GetStatus,
    MsgType,
    Nack,
    Status,
    encode_message,
)
from firmware_protocol.messages import MESSAGE_TYPES
from firmware_protocol.vectors import FrameVector, load_frame_vectors
from medctl.conformance.context import Context
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Probe, describe
from medctl.conformance.registry import check
from medctl.conformance.wire import LinkGone

#: Types 0x80..0xFF flow device → controller (SPEC §5.1).
_DEVICE_TYPE_BIT = 0x80


def expected_length(msg_type: int | None) -> int:
    """SPEC §8's expected payload length of a request type (its fixed layout's size; 0 when it has none)."""
    layout = getattr(MESSAGE_TYPES.get(msg_type or 0), "LAYOUT", None)
    return layout.size if isinstance(layout, struct.Struct) else 0


#: The first request is tried as often as SPEC §6.4 has a controller try (the first send and 3 retries).
TRIES = 4
#: SPEC §7.3: a device SHOULD answer within 100 ms (a SHOULD: reported, never failed).
SHOULD_ANSWER_S = 0.1

ExpectFn = Callable[[FrameVector], tuple[ErrorCode, int | None]]


def _vectors(error: str) -> list[FrameVector]:
    return [v for v in load_frame_vectors() if v.error == error]


@check("frame.answer-valid", "§4.1", "GET_STATUS is answered with a valid frame (CRC-16/CCITT-FALSE, big-endian)")
async def answer_valid(ctx: Context) -> str | None:
    probe = await ctx.link()
    invalid_before = probe.wire.invalid_frames
    seq = probe.next_seq()
    frame = encode_message(GetStatus(), seq)
    answer = None
    for _ in range(TRIES):  # a board may still be booting (opening a USB serial port can reset it)
        await probe.send(frame)
        answer = await probe.answer(seq, MsgType.GET_STATUS)
        if answer is not None:
            break
    invalid = probe.wire.invalid_frames - invalid_before
    if answer is None:
        hint = (
            f"; {invalid} frame(s) from the device failed the frame checks — is the CRC computed over header and "
            "payload and sent big-endian (high byte first)?"
            if invalid
            else ""
        )
        raise Failed(f"no valid answer to GET_STATUS in {TRIES} tries of {probe.answer_timeout:g} s{hint}")
    if invalid:
        raise Failed(f"{invalid} frame(s) from the device failed the frame checks (SPEC §4.2)")
    if not isinstance(answer, Ack):
        raise Failed(f"GET_STATUS was refused: {describe(answer)}")
    Status.from_payload(answer.data)
    return None


async def _dropped(ctx: Context, vectors: list[FrameVector]) -> str | None:
    """Each frame of *vectors* is dropped without an answer; the device still answers afterwards."""
    probe = await ctx.link()
    sent = 0
    for vector in vectors:
        if not await _send_vector(probe, vector):
            continue
        sent += 1
        seq = probe.next_seq()
        answer = await probe.exchange(encode_message(GetStatus(), seq), seq, MsgType.GET_STATUS)
        if not isinstance(answer, Ack):
            raise Failed(f"after {vector.name}, GET_STATUS was refused: {describe(answer)}")
        if probe.strays:
            _, stray = probe.strays[0]
            raise Failed(f"{vector.name} ({vector.description}) was answered ({describe(stray)}); it must be dropped")
    if not sent:
        raise Skipped("no such frame can be written to this link")
    return f"{sent} frame(s) dropped"


async def _send_vector(probe: Probe, vector: FrameVector) -> bool:
    """Send a vector's bytes; False where the link cannot carry them (a BLE write longer than the MTU)."""
    try:
        await probe.send(vector.data)
    except LinkGone as exc:
        if "does not fit" in str(exc):
            return False
        raise
    return True


@check("frame.drop-truncated", "§4.3", "frames shorter than 6 bytes are dropped silently")
async def drop_truncated(ctx: Context) -> str | None:
    return await _dropped(ctx, [v for v in _vectors("truncated") if v.data])


@check("frame.drop-oversize", "§4.3", "frames longer than 20 bytes are dropped silently")
async def drop_oversize(ctx: Context) -> str | None:
    return await _dropped(ctx, _vectors("oversize"))


@check("frame.drop-bad-length", "§4.3", "frames whose length byte disagrees with their size are dropped silently")
async def drop_bad_length(ctx: Context) -> str | None:
    return await _dropped(ctx, _vectors("bad_length"))


@check("frame.drop-bad-crc", "§4.3", "frames with a wrong CRC (also one sent little-endian) are dropped silently")
async def drop_bad_crc(ctx: Context) -> str | None:
    return await _dropped(ctx, _vectors("bad_crc"))


async def _nacked(ctx: Context, vectors: list[FrameVector], expect: ExpectFn) -> str:
    """Each frame of *vectors* is answered by exactly the NACK *expect* names, echoing its type and seq."""
    probe = await ctx.link()
    for vector in vectors:
        assert vector.seq is not None and vector.msg_type is not None
        answer = await probe.exchange(vector.data, vector.seq, vector.msg_type)
        code, detail = expect(vector)
        if not isinstance(answer, Nack) or answer.code is not code or (detail is not None and answer.detail != detail):
            want = code.name if detail is None else f"{code.name} (detail {detail})"
            raise Failed(f"{vector.name} ({vector.description}): got {describe(answer)}; expected NACK {want}")
    return f"{len(vectors)} frame(s) refused as expected"


@check(
    "frame.unsupported-version",
    "§4.2",
    "a frame of an unknown version byte is answered NACK UNSUPPORTED_VERSION, echoing its type and seq",
)
async def unsupported_version(ctx: Context) -> str | None:
    facts = await ctx.facts()
    highest = facts.version  # HELLO offering 1..255 gets the device's highest version
    return await _nacked(ctx, _vectors("unsupported_version"), lambda v: (ErrorCode.UNSUPPORTED_VERSION, highest))


def _is_request(msg_type: int | None) -> bool:
    return msg_type is not None and not msg_type & _DEVICE_TYPE_BIT and msg_type in MESSAGE_TYPES


@check("frame.unknown-type", "§4.3", "undefined types and device-to-controller types are answered NACK UNKNOWN_TYPE")
async def unknown_type(ctx: Context) -> str | None:
    vectors = _vectors("unknown_type") + [v for v in load_frame_vectors() if v.valid and not _is_request(v.msg_type)]
    vectors += [v for v in _vectors("bad_payload") + _vectors("bad_value") if not _is_request(v.msg_type)]
    return await _nacked(ctx, vectors, lambda v: (ErrorCode.UNKNOWN_TYPE, 0))


@check(
    "frame.bad-payload", "§8", "a request of the wrong payload length is answered NACK BAD_LENGTH, detail = the length"
)
async def bad_payload(ctx: Context) -> str | None:
    vectors = [v for v in _vectors("bad_payload") if _is_request(v.msg_type)]
    return await _nacked(ctx, vectors, lambda v: (ErrorCode.BAD_LENGTH, expected_length(v.msg_type)))


@check("frame.bad-value", "§5.8", "a request carrying an undefined value is answered NACK BAD_VALUE, detail = the byte")
async def bad_value(ctx: Context) -> str | None:
    vectors = [v for v in _vectors("bad_value") if _is_request(v.msg_type)]
    return await _nacked(ctx, vectors, lambda v: (ErrorCode.BAD_VALUE, v.data[4]))


@check("frame.device-frames-plain", "§6.7", "every frame the device sends is a plain frame (version byte 1)")
async def device_frames_plain(ctx: Context) -> str | None:
    probe = await ctx.link()
    await probe.hello()
    await probe.status()
    await probe.goodbye()
    versions = probe.frame_versions - {1}
    if versions:
        raise Failed(f"the device sent frames of version {sorted(versions)}; device frames are always plain (1)")
    return None


@check("frame.crc-before-version", "§4.2", "a frame of an unknown version with a bad CRC is dropped, not answered")
async def crc_before_version(ctx: Context) -> str | None:
    good = bytes(Frame(MsgType.GET_STATUS, 0x33, b"", version=3))
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    vector = FrameVector("version_3_bad_crc", "a version-3 GET_STATUS with a bad CRC", bad, "bad_crc")
    return await _dropped(ctx, [vector])


@check("frame.answer-time", "§7.3", "requests are answered promptly (SHOULD: within 100 ms of the last byte)")
async def answer_time(ctx: Context) -> str | None:
    probe = await ctx.link()
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(10):
        started = loop.time()
        await probe.status()
        times.append(loop.time() - started)
    times.sort()
    note = f"median {times[len(times) // 2] * 1000:.0f} ms, slowest {times[-1] * 1000:.0f} ms round trip"
    if times[-1] > SHOULD_ANSWER_S:
        note += " (above the 100 ms SPEC §7.3 asks for, which includes the link's own delay here)"
    return note
