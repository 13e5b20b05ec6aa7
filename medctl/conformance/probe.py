"""A minimal controller of our own, frame by frame: the suite's hands on one link.

:class:`Probe` numbers requests, matches answers by seq and request type (SPEC §6.2), keeps
every event with its arrival time, and turns "no answer" into a check failure. It never
retries: a conformance check wants to see exactly what the device does with one frame.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from firmware_protocol import (
    Ack,
    ErrorCode,
    FaultEvent,
    Frame,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    HelloResult,
    Message,
    MessageError,
    MsgType,
    Nack,
    Request,
    Status,
    Stop,
    decode_message,
    encode_message,
)
from firmware_protocol.constants import PROTOCOL_VERSION
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.wire import Arrival, Wire

#: How long the suite waits for an answer. SPEC §7.3 asks a device to answer within 100 ms and
#: §6.4 a controller to retry after about 500 ms; a full second leaves slow links room.
ANSWER_TIMEOUT_S: Final = 1.0

Answer = Ack | Nack
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Event:
    """A STATUS or FAULT event and the loop time it arrived."""

    at: float
    seq: int
    message: Status | FaultEvent


@dataclass
class Probe:
    """Requests and answers on one :class:`Wire`, as controller ``controller_id``."""

    wire: Wire
    controller_id: int
    answer_timeout: float = ANSWER_TIMEOUT_S
    seq: int = field(default_factory=lambda: random.randrange(256))
    events: list[Event] = field(default_factory=list)
    #: Answers that matched no request we were waiting for, with their frames.
    strays: list[tuple[Frame, Answer]] = field(default_factory=list)
    #: Frames from the device that are valid frames but no valid message (SPEC §5).
    malformed: list[str] = field(default_factory=list)
    #: Loop time of the last frame this probe sent.
    last_sent: float = 0.0
    in_session: bool = False
    #: Version bytes of the frames the device sent on this link.
    frame_versions: set[int] = field(default_factory=set)

    # --- sending ---------------------------------------------------------------------------

    def next_seq(self, avoid: frozenset[int] = frozenset()) -> int:
        """The next request seq, skipping *avoid* (seqs of frames whose answers may still be on the way)."""
        self.seq = (self.seq + 1) & 0xFF
        while self.seq in avoid and len(avoid) < 256:
            self.seq = (self.seq + 1) & 0xFF
        return self.seq

    async def send(self, data: bytes) -> None:
        """Send one frame's bytes, good or bad."""
        await self.wire.send(data)
        self.last_sent = asyncio.get_running_loop().time()

    async def request(self, message: Request, *, seq: int | None = None, timeout: float | None = None) -> Answer:
        """Send *message* as a new request (or with *seq*) and return its answer; Failed if none comes."""
        seq = self.next_seq() if seq is None else seq
        return await self.exchange(encode_message(message, seq), seq, message.TYPE, timeout=timeout)

    async def exchange(self, data: bytes, seq: int, msg_type: int, *, timeout: float | None = None) -> Answer:
        """Send *data* and wait for the answer carrying *seq* and *msg_type*."""
        await self.send(data)
        answer = await self.answer(seq, msg_type, timeout=timeout)
        if answer is None:
            name = _type_name(msg_type)
            raise Failed(f"no answer to {name} (seq {seq}) within {timeout or self.answer_timeout:g} s")
        return answer

    async def answer(self, seq: int, msg_type: int, *, timeout: float | None = None) -> Answer | None:
        """The answer with *seq* and request byte *msg_type*, or None within *timeout*; others are kept as strays."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.answer_timeout if timeout is None else timeout)
        while (left := deadline - loop.time()) > 0:
            arrival = await self.wire.next(left)
            if arrival is None:
                return None
            answer = self._take(arrival)
            if answer is None:
                continue
            if arrival.frame.seq == seq and answer.request == msg_type:
                return answer
            self.strays.append((arrival.frame, answer))
        return None

    async def ack(self, message: Request, *, seq: int | None = None) -> Ack:
        """*message*'s ACK; Failed if the device refuses it."""
        answer = await self.request(message, seq=seq)
        if not isinstance(answer, Ack):
            raise Failed(f"{message.TYPE.name} was refused: {describe(answer)}")
        return answer

    async def refused(self, message: Request, code: ErrorCode, detail: int | None = None, why: str = "") -> Nack:
        """Send *message*; Failed unless it is NACKed with *code* (and *detail*, when given)."""
        answer = await self.request(message)
        expected = code.name if detail is None else f"{code.name} (detail {detail})"
        context = f" {why}" if why else ""
        if not isinstance(answer, Nack):
            raise Failed(f"{describe_request(message)}{context} was accepted (ACK); expected NACK {expected}")
        if answer.code is not code or (detail is not None and answer.detail != detail):
            raise Failed(f"{describe_request(message)}{context}: got {describe(answer)}; expected NACK {expected}")
        return answer

    # --- common requests -------------------------------------------------------------------

    async def hello(self, controller_id: int | None = None, low: int = 1, high: int = PROTOCOL_VERSION) -> HelloResult:
        """Open a session; Failed if refused or the result is not a HelloResult."""
        cid = self.controller_id if controller_id is None else controller_id
        answer = await self.request(Hello(low, high, cid))
        if isinstance(answer, Nack) and answer.code is ErrorCode.AUTH_REQUIRED:
            raise Skipped(
                "the device is paired, so it refuses a plain HELLO (SPEC §11.5); checks that open a session "
                "need a device that was never paired"
            )
        if not isinstance(answer, Ack):
            raise Failed(f"HELLO was refused: {describe(answer)}")
        ack = answer
        try:
            result = HelloResult.from_bytes(ack.data)
        except MessageError as exc:
            raise Failed(f"HELLO's ACK data is not a HelloResult (SPEC §5.3): {exc}") from None
        self.in_session = True
        return result

    async def status(self) -> Status:
        """The device's state by GET_STATUS."""
        ack = await self.ack(GetStatus())
        try:
            return Status.from_payload(ack.data)
        except MessageError as exc:
            raise Failed(f"GET_STATUS's ACK data is not a Status (SPEC §5.5): {exc}") from None

    async def stop(self) -> None:
        answer = await self.request(Stop())
        if not isinstance(answer, Ack):
            raise Failed(f"STOP was refused: {describe(answer)} (SPEC §7.4.6: STOP is never refused)")

    async def heartbeat(self) -> Answer:
        return await self.request(Heartbeat())

    async def goodbye(self) -> None:
        await self.ack(Goodbye())
        self.in_session = False

    # --- listening -------------------------------------------------------------------------

    async def listen(self, seconds: float) -> None:
        """Take in whatever arrives for *seconds*: events are kept, answers become strays."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            arrival = await self.wire.next(left)
            if arrival is None:
                return
            answer = self._take(arrival)
            if answer is not None:
                self.strays.append((arrival.frame, answer))

    async def drain(self, quiet: float = 0.3) -> None:
        """Take in everything until nothing has arrived for *quiet* seconds (answers become strays)."""
        while True:
            arrival = await self.wire.next(quiet)
            if arrival is None:
                return
            answer = self._take(arrival)
            if answer is not None:
                self.strays.append((arrival.frame, answer))

    async def wait_event(self, predicate: Callable[[Event], bool], timeout: float) -> Event | None:
        """The first event (already received or arriving within *timeout*) that satisfies *predicate*."""
        for event in self.events:
            if predicate(event):
                return event
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = len(self.events)
        while (left := deadline - loop.time()) > 0:
            arrival = await self.wire.next(left)
            if arrival is None:
                return None
            answer = self._take(arrival)
            if answer is not None:
                self.strays.append((arrival.frame, answer))
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
        return None

    def take_events(self) -> list[Event]:
        """Every event received so far, forgetting them."""
        events, self.events = self.events, []
        return events

    def _take(self, arrival: Arrival) -> Answer | None:
        frame = arrival.frame
        self.frame_versions.add(frame.version)
        try:
            message = decode_message(frame)
        except MessageError as exc:
            self.malformed.append(f"{bytes(frame).hex(' ')}: {exc}")
            return None
        if isinstance(message, Ack | Nack):
            return message
        if isinstance(message, Status | FaultEvent):
            self.events.append(Event(arrival.at, frame.seq, message))
        else:
            self.malformed.append(f"{bytes(frame).hex(' ')}: a {type(message).__name__} sent by the device")
        return None


def describe(answer: Answer) -> str:
    """``ACK`` or ``NACK OUT_OF_RANGE (detail 5)``."""
    if isinstance(answer, Ack):
        return "ACK" + (f" with data {answer.data.hex(' ')}" if answer.data else "")
    return f"NACK {answer.code.name} (detail {answer.detail})"


def describe_request(message: Request) -> str:
    """``START 6``, ``GET_STATUS``."""
    level = getattr(message, "level", None)
    return message.TYPE.name if level is None else f"{message.TYPE.name} {level}"


def _type_name(msg_type: int) -> str:
    try:
        return MsgType(msg_type).name
    except ValueError:
        return f"type 0x{msg_type:02X}"
