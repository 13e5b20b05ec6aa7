"""Bad input of every kind, and the device still answering afterwards (SPEC §4.3, §7.3).

The frames are random but seeded, so a failure can be reproduced: raw bytes of any length,
frames with a valid CRC but an undefined or device-to-controller type, an unknown version,
or a request type with the wrong payload length. None of them may be executed: the device
drops them or answers NACK, and then answers the next good request.
"""

from __future__ import annotations

import random
from typing import Final

from firmware_protocol import Ack, Frame, MotorState
from firmware_protocol.messages import MESSAGE_TYPES
from medctl.conformance.checks.framing import expected_length
from medctl.conformance.checks.messages import expect
from medctl.conformance.context import Context
from medctl.conformance.model import Failed
from medctl.conformance.probe import describe
from medctl.conformance.registry import check
from medctl.conformance.wire import LinkGone

#: How many bad frames one run sends.
BAD_FRAMES: Final = 300
_REQUESTS: Final = [t for t in MESSAGE_TYPES if t < 0x80]


def bad_frames(seed: int, count: int = BAD_FRAMES) -> list[bytes]:
    """*count* frames no device may execute, the same ones for the same *seed*."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    for _ in range(count):
        kind = rng.randrange(4)
        if kind == 0:
            frames.append(rng.randbytes(rng.randrange(0, 21)))
            continue
        payload = rng.randbytes(rng.randrange(0, 15))
        if kind == 1:
            msg_type = rng.choice([t for t in range(256) if t not in _REQUESTS])
            frames.append(bytes(Frame(msg_type, rng.randrange(256), payload)))
        elif kind == 2:
            version = rng.choice([0, 3, 4, 0x7F, 0xFF])
            frames.append(bytes(Frame(rng.choice(_REQUESTS), rng.randrange(256), payload, version=version)))
        else:
            msg_type = rng.choice(_REQUESTS)
            expected = expected_length(msg_type)
            if len(payload) == expected:
                payload += b"\x00"
            frames.append(bytes(Frame(msg_type, rng.randrange(256), payload)))
    return frames


@check("robust.bad-frames", "§7.3", f"{BAD_FRAMES} seeded bad frames are dropped or NACKed, never executed")
async def random_bad_frames(ctx: Context) -> str | None:
    probe = await ctx.link()
    sent = 0
    for data in bad_frames(seed=16):
        try:
            await probe.send(data)
        except LinkGone as exc:
            if "does not fit" in str(exc):
                continue
            raise
        sent += 1
    await probe.drain()  # every NACK in, so none can pass for the answer below
    status = await probe.status()
    executed = [(frame, answer) for frame, answer in probe.strays if isinstance(answer, Ack)]
    if executed:
        frame, answer = executed[0]
        raise Failed(f"a bad frame was executed: seq {frame.seq} got {describe(answer)}")
    expect(status.state is MotorState.IDLE, "the motor runs after a burst of bad frames")
    nacks = len(probe.strays)
    probe.strays.clear()
    return f"{sent} sent, {nacks} NACKed, the rest dropped; the device still answers"


@check("robust.still-answering", "§7.3", "after the whole run the device answers GET_STATUS, motor stopped")
async def still_answering(ctx: Context) -> str | None:
    probe = await ctx.link()
    status = await probe.status()
    expect(status.state is MotorState.IDLE, "the motor runs")
    return None
