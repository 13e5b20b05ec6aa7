"""Pairing and authenticated requests (SPEC §11, §12), as version 3 defines them.

Without a pairing code the suite checks only what leaves no mark: version 2's PAIR_BEGIN is
refused without work, PAIR_CONFIRM without a pairing is refused, a controller the device has
no key for gets no connection keys and its authenticated frames are refused — and an
authenticated STOP is executed anyway. With ``--pairing-code`` (and the device's pairing
button pressed) it pairs a controller of its own by SPAKE2 (a device that was never paired
stays paired afterwards: that is what giving the code allows) and checks connection keys,
authenticated sessions, counters and replays. The lockout after 5 failed attempts lasts
until the device is switched off and on, so it runs only with ``--destructive``.
"""

from __future__ import annotations

import asyncio
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
    PairConfirm,
    PakeBegin,
    PakePart,
    Replay,
    Request,
    SessionBegin,
    SessionBeginResult,
    SetIntensity,
    Stop,
)
from firmware_protocol.auth import seal
from firmware_protocol.messages import CONFIRMATION_LEN, NONCE_LEN
from firmware_protocol.pake import PakeFailed, PakeSide, parts
from firmware_protocol.session import device_proof, session_key
from medctl.conformance.checks.messages import expect
from medctl.conformance.context import Context, new_controller_id
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Answer, Probe, describe
from medctl.conformance.registry import check

#: Failed pairing attempts after which SPEC §12.4 locks pairing until the next power-on.
LOCKOUT_AFTER = 5
#: SPEC §12.4: one attempt a second (a little more, for the device's clock).
ATTEMPT_INTERVAL_S = 1.05


@dataclass
class Signer:
    """A paired controller: its id, pairing key, this link's connection key and its last counter (SPEC §12.3)."""

    controller_id: int
    pairing_key: bytes
    key: bytes = b""
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
    """Pair a new controller by SPAKE2 with the code given on the command line (SPEC §12.4)."""
    code = ctx.options.pairing_code
    if code is None:
        raise Skipped("needs the device's pairing code: --pairing-code CODE (the run then pairs a controller)")
    serial = InfoResult.from_bytes((await probe.ack(GetInfo(InfoField.SERIAL))).data).text
    controller_id = new_controller_id()
    side = PakeSide(False, code, serial, controller_id)
    await _begin(probe, PakeBegin(controller_id))
    received = []
    for index, chunk in enumerate(parts(side.message)):
        answer = await probe.request(PakePart(index, chunk))
        if not isinstance(answer, Ack):
            raise Failed(f"PAKE_PART {index} was refused: {describe(answer)}")
        received.append(answer.data)
    try:
        proof = side.finish(b"".join(received))
    except PakeFailed as exc:
        raise Failed(f"the device's SPAKE2 message is not valid: {exc} (SPEC §12.4)") from None
    answer = await probe.request(PairConfirm(proof.controller))
    if isinstance(answer, Nack):
        raise Failed(f"PAIR_CONFIRM with the code given was refused: {describe(answer)} (is the code right?)")
    expect(
        answer.data == proof.device,
        "the device's confirmation does not match: it did not derive the same key (SPEC §12.4)",
    )
    return Signer(controller_id, proof.key)


async def open_session(probe: Probe, signer: Signer) -> None:
    """SESSION_BEGIN on *probe*'s link: check the device's proof, take the connection key, count from 1."""
    nonce = secrets.token_bytes(NONCE_LEN)
    answer = await probe.request(SessionBegin(signer.controller_id, nonce))
    if not isinstance(answer, Ack):
        raise Failed(f"SESSION_BEGIN of the paired controller was refused: {describe(answer)} (SPEC §12.2)")
    result = SessionBeginResult.from_bytes(answer.data)
    key = session_key(signer.pairing_key, signer.controller_id, nonce, result.nonce)
    expect(
        device_proof(key, signer.controller_id, nonce, result.nonce) == result.proof,
        "the device's proof at SESSION_BEGIN does not verify: it does not hold the pairing key (SPEC §12.2)",
    )
    signer.key, signer.counter = key, 0


async def _begin(probe: Probe, request: PakeBegin) -> Ack:
    """PAKE_BEGIN's ACK (waiting out the one-a-second pacing once); Skipped while pairing is locked or closed."""
    answer = await probe.request(request)
    if _refused(answer, AuthFailure.PAIRING_TOO_SOON):
        await asyncio.sleep(ATTEMPT_INTERVAL_S)
        answer = await probe.request(request)
    if _refused(answer, AuthFailure.PAIRING_LOCKED):
        raise Skipped("pairing is locked after failed attempts (SPEC §12.4) until the device is switched off and on")
    if _refused(answer, AuthFailure.PAIRING_CLOSED):
        raise Skipped("pairing is closed: press the device's pairing button, then run again (SPEC §12.4)")
    if not isinstance(answer, Ack):
        raise Failed(f"PAKE_BEGIN was refused: {describe(answer)}")
    return answer


def _refused(answer: Answer, detail: AuthFailure) -> bool:
    return isinstance(answer, Nack) and answer.code is ErrorCode.AUTH_FAILED and answer.detail == detail


@check("auth.confirm-without-begin", "§11.4", "PAIR_CONFIRM without a PAIR_BEGIN on the link → AUTH_FAILED (3)")
async def confirm_without_begin(ctx: Context) -> str | None:
    probe = await ctx.second_link() if ctx.source.multi_link else await ctx.link()
    await probe.refused(
        PairConfirm(bytes(CONFIRMATION_LEN)), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING, "without PAIR_BEGIN"
    )
    return None


@check("auth.pair-begin", "§11.4", "version 2's PAIR_BEGIN is refused UNSUPPORTED_VERSION (3) and changes nothing")
async def pair_begin(ctx: Context) -> str | None:
    probe = await ctx.second_link() if ctx.source.multi_link else await ctx.link()
    await probe.refused(
        PairBegin(new_controller_id(), secrets.token_bytes(NONCE_LEN)),
        ErrorCode.UNSUPPORTED_VERSION,
        3,
        "(version 2 pairing can be guessed offline from a recording, SPEC §12)",
    )
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
    await probe.refused(
        SessionBegin(stranger.controller_id, secrets.token_bytes(NONCE_LEN)),
        ErrorCode.AUTH_FAILED,
        AuthFailure.UNKNOWN_CONTROLLER,
        "from a controller the device has no key for",
    )
    stranger.key = secrets.token_bytes(32)
    hello = await signed(probe, stranger, Hello(3, 3, stranger.controller_id))
    expect(
        isinstance(hello, Nack)
        and hello.code is ErrorCode.AUTH_FAILED
        and hello.detail in (AuthFailure.UNKNOWN_CONTROLLER, AuthFailure.NO_SESSION),
        f"an authenticated HELLO from an unknown controller: {describe(hello)}; expected NACK AUTH_FAILED (1 or 7)",
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
    "a paired device: connection keys proven; signed HELLO and SET_INTENSITY accepted; plain control refused",
)
async def authenticated_session(ctx: Context) -> str | None:
    probe = await ctx.link()
    signer = await pair(ctx, probe)
    await probe.refused(Hello(1, 3, signer.controller_id), ErrorCode.AUTH_REQUIRED, 0, "in a plain frame")
    await probe.refused(
        Hello(1, 2, signer.controller_id),
        ErrorCode.UNSUPPORTED_VERSION,
        3,
        "offering only versions below 3 to a paired device",
    )
    await open_session(probe, signer)
    hello = await signed(probe, signer, Hello(3, 3, signer.controller_id))
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
    await open_session(probe, signer)
    hello = await signed(probe, signer, Hello(3, 3, signer.controller_id))
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
    forged = Signer(signer.controller_id, signer.pairing_key, secrets.token_bytes(32), signer.counter)
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


@check(
    "auth.lockout",
    "§11.4",
    "after 5 failed (or abandoned) pairing attempts PAKE_BEGIN is refused AUTH_FAILED (4)",
    destructive=True,
)
async def lockout(ctx: Context) -> str | None:
    probe = await ctx.link()
    for attempt in range(LOCKOUT_AFTER):
        await asyncio.sleep(ATTEMPT_INTERVAL_S)  # one attempt a second (SPEC §12.4)
        begun = await probe.request(PakeBegin(new_controller_id()))
        if _refused(begun, AuthFailure.PAIRING_CLOSED):
            raise Skipped("pairing is closed: press the device's pairing button, then run again (SPEC §12.4)")
        if isinstance(begun, Nack):
            expect(_refused(begun, AuthFailure.PAIRING_LOCKED), f"PAKE_BEGIN {attempt + 1}: {describe(begun)}")
            return f"already locked after {attempt} more attempt(s) (earlier ones count since power-on)"
        await probe.refused(PairConfirm(bytes(CONFIRMATION_LEN)), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)
    await asyncio.sleep(ATTEMPT_INTERVAL_S)
    await probe.refused(
        PakeBegin(new_controller_id()),
        ErrorCode.AUTH_FAILED,
        AuthFailure.PAIRING_LOCKED,
        f"after {LOCKOUT_AFTER} abandoned attempts",
    )
    return "pairing stays locked until the device is switched off and on"
