"""Helpers for tests that speak the protocol to the simulator frame by frame.

:class:`Bench` drives a :class:`~simulator.firmware.Firmware` without an event loop: time
moves only when the test says so (:class:`FakeTime`), and every frame the firmware sends
is kept (:class:`RecordingLink`). :func:`recv_message` and :func:`exchange` do the same
over an :class:`~simulator.inprocess.InProcessLink` of a running device. :meth:`Bench.pair`
pairs a controller with the firmware's own code (SPAKE2, SPEC.md §12.4) and returns the
pairing key; :meth:`Bench.begin_session` gives a link its connection key, which
:meth:`Bench.request` then signs requests with (SPEC.md §12.3).
"""

from __future__ import annotations

import asyncio
import math
from typing import TypeGuard

from firmware_protocol import (
    Ack,
    DeviceMessage,
    FaultEvent,
    Frame,
    Hello,
    Message,
    Nack,
    PairConfirm,
    PairConfirmResult,
    PakeBegin,
    PakePart,
    Request,
    SessionBegin,
    SessionBeginResult,
    Status,
    decode_message,
    encode_message,
)
from firmware_protocol.auth import seal
from firmware_protocol.pake import PakeSide, parts
from firmware_protocol.session import device_proof, session_key
from simulator.config import DeviceConfig
from simulator.firmware import Firmware
from simulator.inprocess import InProcessLink


class FakeTime:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class RecordingLink:
    """A link that keeps every frame the firmware sends it."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.frames: list[bytes] = []

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def take(self) -> list[tuple[int, Message]]:
        """Decode and forget everything received so far, as (seq, message) pairs."""
        frames, self.frames = self.frames, []
        return _decode_all(frames)

    def events(self) -> list[DeviceMessage]:
        return [m for _, m in self.take() if isinstance(m, Status | FaultEvent)]


class Bench:
    """A firmware on fake clocks, with helpers to talk to it frame by frame."""

    def __init__(self, config: DeviceConfig | None = None) -> None:
        self.device_time = FakeTime()
        self.link_time = FakeTime()
        self.firmware = Firmware(config or DeviceConfig(), self.device_time, self.link_time)
        self._seq = 0
        self.firmware.poll()

    def link(self, name: str = "test") -> RecordingLink:
        link = RecordingLink(name)
        self.firmware.attach(link)
        return link

    def send(
        self,
        link: RecordingLink,
        message: Request,
        seq: int | None = None,
        *,
        key: bytes | None = None,
        counter: int = 0,
    ) -> bytes:
        """Send *message* (signed with *key* and *counter* when a key is given); return the frame bytes sent."""
        if seq is None:
            seq, self._seq = self._seq, (self._seq + 1) & 0xFF
        data = encode_message(message, seq) if key is None else seal(message, seq, key, counter)
        self.firmware.receive(link, data)
        return data

    def request(
        self,
        link: RecordingLink,
        message: Request,
        seq: int | None = None,
        *,
        key: bytes | None = None,
        counter: int = 0,
    ) -> Ack | Nack:
        """Send *message* and return its answer (events that follow stay on the link)."""
        sent = Frame.loads(self.send(link, message, seq, key=key, counter=counter))
        answers = [(i, m) for i, (s, m) in enumerate(_decode_all(link.frames)) if s == sent.seq and _is_answer(m)]
        if len(answers) != 1:
            raise AssertionError(f"expected one answer to {message}, got {[m for _, m in answers]}")
        index, answer = answers[0]
        del link.frames[index]
        return answer

    def hello(self, link: RecordingLink, controller_id: int = 1) -> Ack:
        answer = self.request(link, Hello(1, 1, controller_id))
        if not isinstance(answer, Ack):
            raise AssertionError(f"HELLO refused: {answer}")
        return answer

    def pair(self, link: RecordingLink, controller_id: int = 1, code: str | None = None) -> bytes:
        """Press the pairing button and pair *controller_id* on *link*; return the pairing key.

        Uses the device's own code unless *code* is given. The link clock moves on by the
        pairing interval first (without a poll), so pairings one after another are not refused
        as too soon.
        """
        from simulator.auth import PAIRING_INTERVAL_S

        self.link_time.now += PAIRING_INTERVAL_S
        self.firmware.open_pairing_window()
        side = PakeSide(False, code or self.firmware.pairing_code, self.firmware.config.serial, controller_id)
        begun = self.request(link, PakeBegin(controller_id))
        if not isinstance(begun, Ack):
            raise AssertionError(f"PAKE_BEGIN refused: {begun}")
        answers = []
        for index, chunk in enumerate(parts(side.message)):
            answer = self.request(link, PakePart(index, chunk))
            if not isinstance(answer, Ack):
                raise AssertionError(f"PAKE_PART refused: {answer}")
            answers.append(answer.data)
        proof = side.finish(b"".join(answers))
        confirmed = self.request(link, PairConfirm(proof.controller))
        if not isinstance(confirmed, Ack):
            raise AssertionError(f"PAIR_CONFIRM refused: {confirmed}")
        if PairConfirmResult.from_bytes(confirmed.data).confirmation != proof.device:
            raise AssertionError("the device's pairing confirmation does not verify")
        return proof.key

    def begin_session(self, link: RecordingLink, controller_id: int, pairing_key: bytes) -> bytes:
        """SESSION_BEGIN on *link*; check the device's proof and return the connection key."""
        nonce = bytes(range(8))
        answer = self.request(link, SessionBegin(controller_id, nonce))
        if not isinstance(answer, Ack):
            raise AssertionError(f"SESSION_BEGIN refused: {answer}")
        result = SessionBeginResult.from_bytes(answer.data)
        key = session_key(pairing_key, controller_id, nonce, result.nonce)
        if device_proof(key, controller_id, nonce, result.nonce) != result.proof:
            raise AssertionError("the device's proof does not verify")
        return key

    def advance(self, seconds: float, *, step: float = 0.05, device: bool = True, link: bool = True) -> None:
        """Move the chosen clocks forward by *seconds*, polling every *step* and at the end."""
        start_device, start_link = self.device_time.now, self.link_time.now
        count = max(1, math.ceil(seconds / step - 1e-9))
        for i in range(1, count + 1):
            elapsed = seconds if i == count else i * step
            self.device_time.now = start_device + (elapsed if device else 0.0)
            self.link_time.now = start_link + (elapsed if link else 0.0)
            self.firmware.poll()

    def set_time(self, seconds: float) -> None:
        """Jump both clocks to *seconds* and poll once."""
        self.device_time.now = self.link_time.now = seconds
        self.firmware.poll()


async def recv_message(link: InProcessLink, timeout: float = 1.0) -> tuple[int, Message]:
    """The next frame from the device, decoded, as (seq, message)."""
    frame = Frame.loads(await asyncio.wait_for(link.recv(), timeout))
    return frame.seq, decode_message(frame)


async def exchange(link: InProcessLink, message: Request, seq: int, timeout: float = 1.0) -> Ack | Nack:
    """Send *message* with *seq* and return its answer; events received meanwhile are skipped."""
    await link.send(encode_message(message, seq))
    async with asyncio.timeout(timeout):
        while True:
            got_seq, got = await recv_message(link, timeout)
            if got_seq == seq and _is_answer(got):
                return got


def _decode_all(frames: list[bytes]) -> list[tuple[int, Message]]:
    return [(frame.seq, decode_message(frame)) for frame in map(Frame.loads, frames)]


def _is_answer(message: Message) -> TypeGuard[Ack | Nack]:
    return isinstance(message, Ack | Nack)
