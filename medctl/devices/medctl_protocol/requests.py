"""Request/answer machinery and link supervision of the client for our protocol.

Answers are matched to requests by sequence number; a timed-out request is retried with
the same sequence number (the device de-duplicates, so nothing happens twice). A failed
background task or a lost link is recorded once, with a blind STOP to the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from firmware_protocol import (
    SUPPORTED_VERSIONS,
    Ack,
    ErrorCode,
    Fault,
    GetStatus,
    Heartbeat,
    MsgType,
    Nack,
    ProtocolError,
    Request,
    SetHeat,
    SetIntensity,
    Status,
    Stop,
    encode_message,
)
from medctl.clock import Clock, LoopClock
from medctl.coalesce import CoalescingSlot
from medctl.devices.base import (
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    FaultListener,
    StatusListener,
)
from medctl.devices.medctl_protocol import translate
from medctl.devices.medctl_protocol.nack import refusal
from medctl.errors import (
    CommandCancelled,
    ConnectionLost,
    ControllerFailure,
    DeviceTimeout,
    KeyStoreError,
    MedctlError,
)
from medctl.transport.base import Transport

if TYPE_CHECKING:
    from medctl.keys import KeyStore, Signer

_LOGGER = logging.getLogger(__name__)

#: Per-attempt answer wait. A pseudo-terminal answers in ~1 ms, BLE in tens of ms.
REQUEST_TIMEOUT_S = 0.5
#: Retries after the first attempt: 1 + 3 attempts = 2 s, inside the device's 3 s watchdog.
REQUEST_RETRIES = 3
#: STOP is retried faster and longer: it is the one command that must get through.
STOP_TIMEOUT_S = 0.2
STOP_RETRIES = 9
#: Send something at least this often so the device's watchdog never fires on a healthy link.
HEARTBEAT_INTERVAL_S = 1.0
#: Status subscribers keep at most this many unread updates; older ones are dropped.
SUBSCRIBER_QUEUE = 32
#: A signed request refused as REPLAYED (overtaken by a newer counter) is sent again this often, as new.
REPLAY_RESENDS = 2
#: The first protocol version with pairing and authenticated requests (SPEC.md §11).
AUTH_VERSION = 2
#: An identical STATUS is passed on at most this often (a device sends one a second).
STATUS_REPEAT_S = 0.1
#: This controller declares a silent device lost after at most this long, whatever watchdog the device claims.
SILENCE_LIMIT_S = 3.0
#: Said once per connection to a device paired under version 2 (SPEC.md §11).
LEGACY_WARNING = (
    "{device} is paired under protocol version 2: its signed frames could be recorded and played again on"
    " another connection. Update its firmware and pair again (medctl pair) to protect it."
)

T = TypeVar("T")
#: NACK codes meaning the device no longer treats this controller as its owner (SPEC §6.8.6).
_SESSION_LOST = frozenset({ErrorCode.HELLO_REQUIRED, ErrorCode.NOT_OWNER})
#: Requests that switch an output; only a session (or the raw door) sends them.
OUTPUT_REQUESTS = frozenset({MsgType.START, MsgType.SET_INTENSITY, MsgType.SET_HEAT})
#: Requests that change nothing on the device, allowed while a session runs.
READ_ONLY_REQUESTS = frozenset({MsgType.GET_STATUS, MsgType.GET_INFO, MsgType.HEARTBEAT, MsgType.STOP})


def _expire(future: asyncio.Future[Any]) -> None:
    """A request's time limit: its wait ends with TimeoutError unless it was answered."""
    if not future.done():
        future.set_exception(TimeoutError())


class _LinkGone(Exception):
    """Set on the answer future of a request in flight when the link is lost (it raises the reason)."""


@dataclass
class _Pending:
    request: MsgType
    future: asyncio.Future[Ack | Nack]


class ClientCore:
    """The state of one connection and the requests on it (see :class:`DeviceClient`)."""

    def __init__(
        self,
        transport: Transport,
        *,
        controller_id: int | None = None,
        request_timeout: float = REQUEST_TIMEOUT_S,
        retries: int = REQUEST_RETRIES,
        heartbeat_interval: float | None = HEARTBEAT_INTERVAL_S,
        versions: range = SUPPORTED_VERSIONS,
        address: str = "",
        clock: Clock | None = None,
        keys: KeyStore | None = None,
    ) -> None:
        self._transport = transport
        self.controller_id = controller_id if controller_id is not None else secrets.randbits(32)
        self._request_timeout = request_timeout
        self._retries = retries
        self._heartbeat_interval = heartbeat_interval
        self._versions = versions
        self._address = address
        #: Session time for sessions on this device (accelerated for ``sim://?speed=``).
        self.clock: Clock = clock or LoopClock()
        self._seq = secrets.randbelow(256)
        self._pending: dict[int, _Pending] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._status_listeners: list[StatusListener] = []
        self._fault_listeners: list[FaultListener] = []
        #: One state-changing request in flight at a time (SPEC §6.3): the device remembers only the
        #: last request per link, so a retry of an older one must never overtake a newer one.
        #: STOP does not take it.
        self._command_lock = asyncio.Lock()
        self._intensity = CoalescingSlot(self._send_intensity)
        self._heat = CoalescingSlot(self._send_heat)
        self._stop_epoch = 0
        #: True from an acknowledged START until the next STOP: heat needs it (the STOP latch).
        self._started = False
        #: True while a guided session drives this connection (see :meth:`_exclusive`).
        self._guided = False
        self._last_sent = 0.0
        self._last_heard = 0.0
        self._lost: ConnectionLost | None = None
        self._owner = False
        #: >0 while a caller's control loop (a session) sends the heartbeats itself.
        self._driven_keepalive = 0
        #: Wakes the heartbeat watch early: a caller stopped driving the heartbeats.
        self._keepalive_wake = asyncio.Event()
        self._lost_event = asyncio.Event()
        self._closed = False
        self.identity: DeviceIdentity | None = None
        self.status: DeviceStatus | None = None
        #: Frames that arrived but were not valid messages (counted, never raised).
        self.invalid_messages = 0
        #: Where pairing keys are looked up; None: never sign (SPEC.md §11).
        self._keys = keys
        self._signer: Signer | None = None
        #: True from the signed HELLO on: every request of this connection is signed.
        self._sign = False
        #: The versions the last HELLO offered; its answer must pick one of them.
        self._offered: range = versions
        #: Things the person should hear about this connection (a device paired under version 2).
        self.warnings: list[str] = []
        #: The last FAULT event per fault, and how many identical repeats were dropped.
        self._last_faults: dict[Fault, tuple[bool, int]] = {}
        self.repeated_faults = 0
        #: The last STATUS passed on, when, and how many identical ones arrived too soon after it.
        self._last_status_payload = b""
        self._last_status_at = -math.inf
        self.repeated_statuses = 0
        #: On reconnect: the serial number the device at this address must still report.
        self._expected_serial: str | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return self._transport.description

    @property
    def connected(self) -> bool:
        return self._reader is not None and self._lost is None and not self._closed

    @property
    def capabilities(self) -> Capabilities:
        if self.identity is None:
            raise ConnectionLost("not connected")
        return self.identity.capabilities

    @property
    def simulated(self) -> bool:
        """True on the built-in simulator (``sim://``): its sessions are demos, kept out of R9 and the charts."""
        from medctl.transport.sim import SimTransport

        return isinstance(self._transport, SimTransport) and self._transport.demo

    @property
    def authenticated(self) -> bool:
        """True when this connection signs its requests with a pairing key."""
        return self._sign

    async def wait_lost(self) -> ConnectionLost:
        """Return once the link is lost, with the reason."""
        await self._lost_event.wait()
        assert self._lost is not None
        return self._lost

    async def heartbeat(self) -> None:
        await self._request(Heartbeat(), stoppable=False, retries=0)

    async def get_status(self) -> DeviceStatus:
        ack = await self._request(GetStatus(), stoppable=False)
        return self._store_status(parse_answer(Status.from_payload, ack.data))

    # --- request/answer machinery ----------------------------------------------------------

    async def _request(
        self,
        message: Request,
        *,
        stoppable: bool = True,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Ack:
        """Send *message* and wait for its answer, retrying with the same sequence number.

        A stoppable request that is still being retried when STOP is called gives up,
        so a late retry can never switch something back on after a stop. A signed request
        refused as REPLAYED was overtaken by a newer counter (a retry after another request
        got through, SPEC.md §11.8): it is sent again as a new request, which is harmless
        because every command is absolute.
        """
        answer = await self._exchange(message, stoppable=stoppable, timeout=timeout, retries=retries)
        for _ in range(REPLAY_RESENDS):
            if not (self._sign and isinstance(answer, Nack) and answer.code is ErrorCode.REPLAYED):
                break
            answer = await self._exchange(message, stoppable=stoppable, timeout=timeout, retries=retries)
        if isinstance(answer, Nack):
            error = refusal(answer.request, answer.code, answer.detail, device=self._address)
            if answer.code in _SESSION_LOST and message.TYPE is not MsgType.HELLO and self._owner:
                self._mark_lost(ConnectionLost(f"{self.description} no longer takes commands from this controller"))
            raise error
        return answer

    async def _exchange(
        self, message: Request, *, stoppable: bool, timeout: float | None, retries: int | None
    ) -> Ack | Nack:
        """One request with a fresh seq (and counter), tried until answered: its ACK or NACK."""
        self._check_connected()
        loop = asyncio.get_running_loop()
        seq = self._next_seq()
        frame = self._encode(message, seq)
        epoch = self._stop_epoch
        attempts = 1 + (self._retries if retries is None else retries)
        wait = self._request_timeout if timeout is None else timeout
        try:
            for _ in range(attempts):
                if stoppable and epoch != self._stop_epoch:
                    raise CommandCancelled(f"{message_name(message.TYPE)} cancelled: stop was requested")
                # a fresh future per try: a try that times out cancels its own; a late answer to an
                # earlier try (same seq, same request) answers this one
                future: asyncio.Future[Ack | Nack] = loop.create_future()
                self._pending[seq] = _Pending(message.TYPE, future)
                await self._send(frame)
                # the answer, the time limit and link loss all end the wait by settling the future
                # (no task cancelled: a request goes out every second of a session)
                expiry = loop.call_later(wait, _expire, future)
                try:
                    return await future
                except TimeoutError:
                    self._check_connected()
                except _LinkGone:  # _mark_lost: the link went while we waited; raise its reason
                    assert self._lost is not None
                    raise self._lost from None
                finally:
                    expiry.cancel()
                    if future.done() and not future.cancelled():
                        future.exception()  # seen, even by a wait cancelled just as the future was settled
            raise DeviceTimeout(
                f"{self.description} did not answer {message_name(message.TYPE)} "
                f"({attempts} tries, {attempts * wait:.1f} s)"
            )
        finally:
            self._pending.pop(seq, None)

    def _encode(self, message: Request, seq: int) -> bytes:
        """The frame for *message*: signed once this connection is authenticated, plain before.

        A STOP that cannot be signed (counters used up, key released) goes plain: a device
        always executes a plain STOP (SPEC.md §11.5), so stopping never depends on the key.
        """
        if self._sign and self._signer is not None:
            try:
                return self._signer.seal(message, seq)
            except KeyStoreError:
                if not isinstance(message, Stop):
                    raise
                _LOGGER.warning("STOP sent unsigned: the key cannot sign any more on this connection")
        return encode_message(message, seq)

    async def _send(self, frame: bytes) -> None:
        await self._transport.send(frame)
        self._last_sent = asyncio.get_running_loop().time()

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    async def _blind_stop(self) -> None:
        with contextlib.suppress(MedctlError, OSError):
            await self._transport.send(encode_message(Stop(), self._next_seq()))

    def _resolve(self, seq: int, answer: Ack | Nack) -> None:
        pending = self._pending.get(seq)
        if pending is None or pending.future.done():
            return  # a late answer to a retried or abandoned request
        if answer.request != pending.request:
            _LOGGER.debug("answer for seq %d names %s, expected %s", seq, answer.request, pending.request)
            return
        pending.future.set_result(answer)

    def _store_status(self, message: Status) -> DeviceStatus:
        status = translate.status(message, asyncio.get_running_loop().time())
        self.status = status
        for listener in list(self._status_listeners):
            listener(status)
        if self._owner and not status.owned:  # SPEC §6.8: the device let go of us
            self._mark_lost(ConnectionLost(f"{self.description} released this controller"))
        return status

    def _mark_lost(self, error: ConnectionLost) -> None:
        if self._lost is not None:
            return
        if self._owner:
            # the link may be broken one way only: a blind STOP costs nothing and may get through
            self._spawn(self._blind_stop(), "medctl-blind-stop")
        self._owner = False
        self._lost = error
        self._lost_event.set()
        for pending in self._pending.values():  # the requests in flight hear of it at once
            if not pending.future.done():
                pending.future.set_exception(_LinkGone())
        _LOGGER.info("link lost: %s", error)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A supervised background task: if it fails, the device is told to stop and the link is
        declared failed (:class:`ControllerFailure`), so whoever waits on it hears of it."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._supervise)
        return task

    def _supervise(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        _LOGGER.error("%s failed in %s", self.description, task.get_name(), exc_info=error)
        failure = ControllerFailure(f"medctl failed ({task.get_name()}: {error!r}); the massager was told to stop")
        if self._lost is None:
            self._owner = True  # even if not yet introduced: a blind STOP is always worth sending
            self._mark_lost(failure)
        else:
            self._lost = failure

    async def _stop_tasks(self) -> None:
        """Cancel the background tasks and wait for them; their failures were handled by
        :meth:`_supervise` already, so gathering them here only collects the outcomes."""
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._reader = self._keepalive = None

    async def _send_intensity(self, level: int) -> None:
        await self._command(SetIntensity(level))

    async def _send_heat(self, level: int) -> None:
        if level > 0 and not self._started:  # checked again at sending: a STOP may have come since
            raise CommandCancelled("heat stays off after a stop: start the motor first")
        await self._command(SetHeat(level))

    async def _command(self, message: Request) -> None:
        """A state-changing request: serialised with the others, abandoned if STOP overtakes it."""
        epoch = self._stop_epoch
        async with self._command_lock:
            if epoch != self._stop_epoch:
                raise CommandCancelled(f"{message_name(message.TYPE)} cancelled: stop was requested")
            await self._request(message)

    def _check_connected(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._closed:
            raise ConnectionLost(f"{self.description} is closed")


def message_name(kind: MsgType) -> str:
    return kind.name.lower().replace("_", " ")


def parse_answer(parse: Callable[[bytes], T], data: bytes) -> T:
    try:
        return parse(data)
    except ProtocolError as exc:
        raise ConnectionLost(f"the device sent an answer this medctl cannot read: {exc}") from exc
