"""Pairing and authenticated requests (SPEC §11), as the current version 2 defines them.

Without a pairing code the suite checks only what leaves no mark: PAIR_BEGIN stores nothing,
PAIR_CONFIRM without PAIR_BEGIN is refused, an authenticated frame from a controller the
device has no key for is refused — and an authenticated STOP is executed anyway. With
``--pairing-code`` it pairs a controller of its own (a device that was never paired stays
paired afterwards: that is what giving the code allows) and checks authenticated sessions,
counters and replays. The lockout after 5 failed pairings lasts until the device is
switched off and on, so it runs only with ``--destructive``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from firmware_protocol import (
    Ack,
    AuthFailure,
    ErrorCode,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    InfoField,
    InfoResult,
    MsgType,
    Nack,
    PairBegin,
    PairBeginResult,
    PairConfirm,
    Replay,
    Request,
    SetIntensity,
    Stop,
)
from firmware_protocol.auth import PairingTranscript, controller_confirmation, derive_key, device_confirmation, seal
from firmware_protocol.messages import CONFIRMATION_LEN, NONCE_LEN
from medctl.conformance.checks.messages import expect
from medctl.conformance.context import Context, new_controller_id
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Answer, Probe, describe
from medctl.conformance.registry import check

#: Failed pairings after which SPEC §11.4 locks pairing until the next power-on.
LOCKOUT_AFTER = 5


@dataclass
class Signer:
    """A paired controller: its id and key, and the last counter it used (SPEC §11.3)."""

    controller_id: int
    key: bytes
    counter: int = 0

    def seal(self, message: Request, seq: int, counter: int | None = None) -> bytes:
        """*message* as an authenticated frame with the next counter (or *counter*)."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        return seal(message, seq, self.key, counter)


async def signed(probe: Probe, signer: Signer, message: Request, counter: int | None = None) -> Answer:
    seq = probe.next_seq()
    return await probe.exchange(signer.seal(message, seq, counter), seq, message.TYPE)


async def pair(ctx: Context, probe: Probe) -> Signer:
    """Pair a new controller with the code given on the command line (SPEC §11.4)."""
    code = ctx.options.pairing_code
    if code is None:
        raise Skipped("needs the device's pairing code: --pairing-code CODE (the run then pairs a controller)")
    serial = InfoResult.from_bytes((await probe.ack(GetInfo(InfoField.SERIAL))).data).text
    controller_id, nonce = new_controller_id(), secrets.token_bytes(NONCE_LEN)
    begun = await _begin(probe, PairBegin(controller_id, nonce))
    transcript = PairingTranscript(serial, controller_id, nonce, PairBeginResult.from_bytes(begun.data).nonce)
    key = derive_key(code, transcript)
    answer = await probe.request(PairConfirm(controller_confirmation(key, transcript)))
    if isinstance(answer, Nack):
        raise Failed(f"PAIR_CONFIRM with the code given was refused: {describe(answer)} (is the code right?)")
    expect(
        answer.data == device_confirmation(key, transcript),
        "the device's confirmation does not match: it did not derive the same key (SPEC §11.4)",
    )
    return Signer(controller_id, key)


async def _begin(probe: Probe, request: PairBegin) -> Ack:
    """PAIR_BEGIN's ACK; Skipped while pairing is locked (after failed pairings, until power-off)."""
    answer = await probe.request(request)
    if (
        isinstance(answer, Nack)
        and answer.code is ErrorCode.AUTH_FAILED
        and answer.detail == AuthFailure.PAIRING_LOCKED
    ):
        raise Skipped("pairing is locked after failed pairings (SPEC §11.4) until the device is switched off and on")
    if not isinstance(answer, Ack):
        raise Failed(f"PAIR_BEGIN was refused: {describe(answer)}")
    return answer


@check("auth.confirm-without-begin", "§11.4", "PAIR_CONFIRM without a PAIR_BEGIN on the link → AUTH_FAILED (3)")
async def confirm_without_begin(ctx: Context) -> str | None:
    probe = await ctx.second_link() if ctx.source.multi_link else await ctx.link()
    await probe.refused(
        PairConfirm(bytes(CONFIRMATION_LEN)), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING, "without PAIR_BEGIN"
    )
    return None


@check("auth.pair-begin", "§11.4", "PAIR_BEGIN is answered with the device's 8-byte nonce and changes nothing")
async def pair_begin(ctx: Context) -> str | None:
    if not ctx.source.multi_link:
        raise Skipped("would leave a pending pairing on the only link; needs a link of its own")
    probe = await ctx.second_link()
    ack = await _begin(probe, PairBegin(new_controller_id(), secrets.token_bytes(NONCE_LEN)))
    expect(len(ack.data) == NONCE_LEN, f"PAIR_BEGIN's ACK carries {len(ack.data)} bytes, not an {NONCE_LEN}-byte nonce")
    status = await probe.status()
    expect(not status.running, "PAIR_BEGIN changed the motor state")
    return None


@check(
    "auth.unknown-controller",
    "§11.6",
    "authenticated frames without a key are refused (AUTH_FAILED 1, HELLO_REQUIRED); an authenticated STOP is executed",
)
async def unknown_controller(ctx: Context) -> str | None:
    probe = await ctx.link()
    stranger = Signer(new_controller_id(), secrets.token_bytes(32))
    hello = await signed(probe, stranger, Hello(2, 2, stranger.controller_id))
    expect(
        isinstance(hello, Nack)
        and hello.code is ErrorCode.AUTH_FAILED
        and hello.detail == AuthFailure.UNKNOWN_CONTROLLER,
        f"an authenticated HELLO from an unknown controller: {describe(hello)}; expected NACK AUTH_FAILED (detail 1)",
    )
    beat = await signed(probe, stranger, Heartbeat())
    expect(
        isinstance(beat, Nack) and beat.code in (ErrorCode.HELLO_REQUIRED, ErrorCode.AUTH_FAILED),
        f"an authenticated HEARTBEAT on a link without a session: {describe(beat)}; expected a NACK",
    )
    stop = await signed(probe, stranger, Stop())
    expect(isinstance(stop, Ack), f"an authenticated STOP that cannot be verified: {describe(stop)} (never refused)")
    return None


@check(
    "auth.frame-version-per-frame",
    "§6.7",
    "on a link that negotiated version 1, an authenticated frame is authenticated, not refused UNSUPPORTED_VERSION",
)
async def frame_version_per_frame(ctx: Context) -> str | None:
    probe = await ctx.link()
    await probe.hello()  # Skipped on a paired device, which refuses a plain HELLO (and any of version 1 only)
    negotiated = await probe.hello(low=1, high=1)
    expect(negotiated.version == 1, f"HELLO 1..1 negotiated version {negotiated.version}")
    stranger = Signer(probe.controller_id, secrets.token_bytes(32))
    beat = await signed(probe, stranger, Heartbeat())
    expect(
        isinstance(beat, Nack) and beat.code is ErrorCode.AUTH_FAILED,
        f"an authenticated HEARTBEAT the device cannot check: {describe(beat)}; expected NACK AUTH_FAILED "
        "(the version byte is read per frame, and the device speaks version 2)",
    )
    stop = await signed(probe, stranger, Stop())
    expect(isinstance(stop, Ack), f"an authenticated STOP on a version-1 link: {describe(stop)} (never refused)")
    return None


@check(
    "auth.session",
    "§11.5",
    "a paired device: signed HELLO and SET_INTENSITY accepted; plain control refused AUTH_REQUIRED",
)
async def authenticated_session(ctx: Context) -> str | None:
    probe = await ctx.link()
    signer = await pair(ctx, probe)
    await probe.refused(Hello(1, 2, signer.controller_id), ErrorCode.AUTH_REQUIRED, 0, "in a plain frame")
    await probe.refused(
        Hello(1, 1, signer.controller_id),
        ErrorCode.UNSUPPORTED_VERSION,
        2,
        "offering only version 1 to a paired device",
    )
    hello = await signed(probe, signer, Hello(2, 2, signer.controller_id))
    expect(isinstance(hello, Ack), f"the paired controller's signed HELLO: {describe(hello)}")
    probe.in_session = True
    level = (await probe.status()).intensity % 2 + 1  # a level other than the stored one
    await probe.refused(SetIntensity(level), ErrorCode.AUTH_REQUIRED, 0, "in a plain frame from the paired controller")
    changed = await signed(probe, signer, SetIntensity(level))
    expect(isinstance(changed, Ack), f"a signed SET_INTENSITY: {describe(changed)}")
    expect((await probe.status()).intensity == level, "a signed SET_INTENSITY was ACKed but the level did not change")
    await probe.stop()  # a plain STOP is always executed, on a paired device too
    await signed(probe, signer, Goodbye())
    probe.in_session = False
    ctx.signer = signer
    return f"paired controller 0x{signer.controller_id:08X}"


@check("auth.replay", "§11.3", "a used or older counter → REPLAYED (1, 2); an identical retry is answered from memory")
async def replay(ctx: Context) -> str | None:
    signer = ctx.signer
    if not isinstance(signer, Signer):
        raise Skipped("needs the controller paired by auth.session (give --pairing-code)")
    probe = await ctx.link()
    hello = await signed(probe, signer, Hello(2, 2, signer.controller_id))
    expect(isinstance(hello, Ack), f"the paired controller's signed HELLO: {describe(hello)}")
    probe.in_session = True
    seq = probe.next_seq()
    frame = signer.seal(GetStatus(), seq)
    first = await probe.exchange(frame, seq, MsgType.GET_STATUS)
    retry = await probe.exchange(frame, seq, MsgType.GET_STATUS)
    expect(isinstance(first, Ack) and retry == first, f"an identical retry of a signed request: {describe(retry)}")
    used = signer.counter
    again = await signed(probe, signer, Heartbeat(), counter=used)
    expect(
        isinstance(again, Nack) and again.code is ErrorCode.REPLAYED and again.detail == Replay.REPEATED,
        f"a new request with the last counter used: {describe(again)}; expected NACK REPLAYED (detail 1)",
    )
    older = await signed(probe, signer, Heartbeat(), counter=used - 1)
    expect(
        isinstance(older, Nack) and older.code is ErrorCode.REPLAYED and older.detail == Replay.OLDER,
        f"a request with an older counter: {describe(older)}; expected NACK REPLAYED (detail 2)",
    )
    forged = Signer(signer.controller_id, secrets.token_bytes(32), signer.counter)
    bad = await signed(probe, forged, Heartbeat())
    expect(
        isinstance(bad, Nack) and bad.code is ErrorCode.AUTH_FAILED and bad.detail == AuthFailure.BAD_TAG,
        f"a request signed with the wrong key: {describe(bad)}; expected NACK AUTH_FAILED (detail 2)",
    )
    fresh = await signed(probe, signer, Heartbeat(), counter=signer.counter + 10)
    signer.counter += 10
    expect(isinstance(fresh, Ack), f"a signed request with a higher counter after refusals: {describe(fresh)}")
    await signed(probe, signer, Goodbye())
    probe.in_session = False
    return None


@check("auth.lockout", "§11.4", "after 5 failed pairings PAIR_BEGIN is refused AUTH_FAILED (4)", destructive=True)
async def lockout(ctx: Context) -> str | None:
    probe = await ctx.link()
    for attempt in range(LOCKOUT_AFTER):
        begun = await probe.request(PairBegin(new_controller_id(), secrets.token_bytes(NONCE_LEN)))
        if isinstance(begun, Nack):
            expect(
                begun.code is ErrorCode.AUTH_FAILED and begun.detail == AuthFailure.PAIRING_LOCKED,
                f"PAIR_BEGIN {attempt + 1}: {describe(begun)}",
            )
            return f"already locked after {attempt} more failure(s) (earlier ones count since power-on)"
        await probe.refused(PairConfirm(bytes(CONFIRMATION_LEN)), ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    await probe.refused(
        PairBegin(new_controller_id(), secrets.token_bytes(NONCE_LEN)),
        ErrorCode.AUTH_FAILED,
        AuthFailure.PAIRING_LOCKED,
        f"after {LOCKOUT_AFTER} failed pairings",
    )
    return "pairing stays locked until the device is switched off and on"
