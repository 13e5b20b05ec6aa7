"""Sequence numbers and de-duplication (SPEC §6.1, §6.2, §6.5, §6.6).

The de-duplication checks need a request whose answer would differ if it were executed
again, without another frame on the link (any other frame replaces the device's memory).
GET_STATUS while the motor runs is one: ``run_seconds`` counts on, so a retry sent a
little over a second later must bring back the first answer byte for byte (§6.5) — a
device that executes the retry again answers with the newer count.
"""

from __future__ import annotations

import asyncio
import itertools

from firmware_protocol import (
    Ack,
    GetStatus,
    MsgType,
    SetIntensity,
    Start,
    Status,
    encode_message,
)
from firmware_protocol.vectors import load_frame_vectors
from medctl.conformance.checks.messages import expect, owned_and_idle
from medctl.conformance.context import Context
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Probe, describe
from medctl.conformance.registry import check

#: Long enough for ``run_seconds`` to move on, well inside the 3 s watchdog.
RETRY_GAP_S = 1.3


async def _status_answer(probe: Probe, frame: bytes, seq: int, what: str) -> Ack:
    await probe.send(frame)
    answer = await probe.answer(seq, MsgType.GET_STATUS)
    if not isinstance(answer, Ack):
        raise Failed(f"{what}: {describe(answer) if answer else 'no answer'}")
    return answer


async def _retry_after(ctx: Context, between: list[bytes]) -> str | None:
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    seq = probe.next_seq()
    frame = encode_message(GetStatus(), seq)
    first = await _status_answer(probe, frame, seq, "GET_STATUS")
    for data in between:
        await probe.send(data)
    await asyncio.sleep(RETRY_GAP_S)
    retry = await _status_answer(probe, frame, seq, "the retried GET_STATUS")
    probe.strays.clear()
    if retry.data != first.data:
        was, now = Status.from_payload(first.data), Status.from_payload(retry.data)
        raise Failed(
            f"the retry (identical bytes, same seq) was executed again: run_seconds {was.run_seconds} → "
            f"{now.run_seconds}; a retry must be answered from memory"
        )
    fresh = await probe.status()
    expect(fresh.run_seconds > Status.from_payload(first.data).run_seconds, "run_seconds does not count while running")
    return None


@check("dedup.retry-from-memory", "§6.5", "an identical retry is answered from memory, not executed again")
async def retry_from_memory(ctx: Context) -> str | None:
    return await _retry_after(ctx, [])


@check(
    "dedup.invalid-keeps-memory",
    "§6.5",
    "dropped frames and UNSUPPORTED_VERSION frames between a request and its retry do not replace the memory",
)
async def invalid_keeps_memory(ctx: Context) -> str | None:
    vectors = {v.name: v.data for v in load_frame_vectors()}
    return await _retry_after(
        ctx, [vectors["bad_crc_last_byte"], vectors["truncated_4"], vectors["unsupported_version_3"]]
    )


@check("dedup.same-seq-new-bytes", "§6.5", "a request reusing a seq with other bytes is a new request and is executed")
async def same_seq_new_bytes(ctx: Context) -> str | None:
    facts = await ctx.facts()
    if facts.intensity_levels < 2:
        raise Skipped("the device has one intensity level")
    probe = await owned_and_idle(ctx)
    seq = probe.next_seq()
    levels = [1, 2]
    for level in levels:
        await probe.ack(SetIntensity(level), seq=seq)
    status = await probe.status()
    expect(status.intensity == levels[-1], f"SET_INTENSITY {levels[-1]} with a reused seq was not executed")
    return None


@check("seq.echo-and-wrap", "§6.2", "answers echo the request's seq and type, across the wrap from 255 to 0")
async def echo_and_wrap(ctx: Context) -> str | None:
    probe = await ctx.link()
    for seq in (254, 255, 0, 1):
        await probe.ack(GetStatus(), seq=seq)
    probe.seq = 1
    return None


@check("seq.events", "§6.6", "events carry the device's own counter, one more for every event")
async def event_seqs(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    await probe.listen(0.2)
    probe.take_events()
    await probe.ack(Start(1))
    await probe.ack(SetIntensity(min(2, facts.intensity_levels)))
    await probe.stop()
    await probe.listen(0.3)
    seqs = [e.seq for e in probe.take_events()]
    expect(len(seqs) >= 3, f"only {len(seqs)} STATUS events for three changes of state (§7.8)")
    gaps = [(a, b) for a, b in itertools.pairwise(seqs) if b != (a + 1) & 0xFF]
    expect(not gaps, f"event seqs {seqs} do not count up by one")
    return None
