"""The device client: one massager over one transport, speaking firmware_protocol.

It matches answers to requests by sequence number, retries a timed-out request
with the same sequence number (the device de-duplicates, so nothing happens
twice), keeps the link alive with heartbeats, coalesces intensity and heat
changes, and sends STOP ahead of everything else. Status and fault events
reach subscribers through bounded, latest-wins queues. Given a key store, it
looks the device up by serial number and signs every request with the key
agreed in pairing (SPEC.md §11).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from firmware_protocol import (
    PLAIN_FRAME_VERSION,
    SESSION_PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Ack,
    AuthFailure,
    ClearFaults,
    ErrorCode,
    Fault,
    FaultEvent,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    MessageError,
    MsgType,
    Nack,
    ProtocolError,
    Request,
    SessionBegin,
    SessionBeginResult,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    Stop,
    decode_message,
    encode_message,
)
from firmware_protocol.messages import NONCE_LEN
from medctl.clock import Clock, LoopClock
from medctl.coalesce import CoalescingSlot
from medctl.devices.base import (
    ALL_FAULTS,
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    FaultFlag,
    FaultListener,
    StatusListener,
)
from medctl.devices.medctl_protocol import translate
from medctl.errors import (
    AuthenticationRefused,
    CommandCancelled,
    CommandRefused,
    ConnectionLost,
    ControllerFailure,
    DeviceTimeout,
    GuidedOnly,
    KeyStoreError,
    MedctlError,
    OutOfRange,
    ProtocolMismatch,
    SessionRunning,
    Unsupported,
    WrongDevice,
    refusal,
)
from medctl.session.choice import DEFAULT_HISTORY, HistoryChoice
from medctl.text import printable
from medctl.transport.base import Transport

if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.keys import KeyStore, Signer
    from medctl.session import SafetyCheck, Session, SessionPlan

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
_OUTPUT_REQUESTS = frozenset({MsgType.START, MsgType.SET_INTENSITY, MsgType.SET_HEAT})
#: Requests that change nothing on the device, allowed while a session runs.
_READ_ONLY_REQUESTS = frozenset({MsgType.GET_STATUS, MsgType.GET_INFO, MsgType.HEARTBEAT, MsgType.STOP})


@dataclass
class _Pending:
    request: MsgType
    future: asyncio.Future[Ack | Nack]


class DeviceClient:
    """A connected massager. Prefer :func:`medctl.connect`, which always stops the device on exit."""

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

    async def open_link(self) -> None:
        """Open the link and start reading, without introducing this controller (no HELLO).

        Enough for read-only requests, STOP and pairing (see :meth:`request`).
        """
        await self._transport.open()
        self._start_reader()

    async def open(self) -> DeviceIdentity:
        """Open the link, introduce this controller and read identity and state."""
        await self.open_link()
        self._owner = False
        try:
            self.identity = await self._handshake()
        except BaseException:
            await self._stop_tasks()
            self._release_key()
            if not self._closed:
                with contextlib.suppress(MedctlError, OSError):
                    await self._transport.close()
            raise
        self._start_keepalive()
        return self.identity

    async def reconnect(self) -> DeviceStatus:
        """Re-open a lost link and re-read the state; never resumes anything by itself (R10).

        The address must still lead to the same massager: another serial number there (a
        different device took the port or the radio address) raises :class:`WrongDevice`
        before this controller introduces itself to it, and the link is closed again.
        """
        if isinstance(self._lost, ControllerFailure):
            raise self._lost  # a bug is not healed by a new link
        expected = self.identity.serial_number if self.identity is not None else None
        await self._stop_tasks()
        self._started = False  # the device stopped itself (watchdog); only a new START restarts it
        self._lost = None
        self._lost_event = asyncio.Event()
        self._expected_serial = expected
        await self.open()
        assert self.status is not None
        return self.status

    async def close(self, *, stop: bool = True) -> None:
        """Stop the device (unless told not to), say goodbye and close the link. Idempotent."""
        if self._closed:
            return
        try:
            if self.connected:
                if stop:
                    await self._quietly(self.stop())
                if self.identity is not None:
                    await self._quietly(self._request(Goodbye(), stoppable=False, retries=0))
        finally:
            self._closed = True
            await self._stop_tasks()
            self._release_key()
            with contextlib.suppress(MedctlError, OSError):
                await self._transport.close()
            await self._intensity.aclose()
            await self._heat.aclose()

    def _release_key(self) -> None:
        """Give the pairing key back to the key store (another program may then use it)."""
        signer, self._signer, self._sign = self._signer, None, False
        if signer is not None:
            with contextlib.suppress(MedctlError, OSError):
                signer.close()

    async def wait_lost(self) -> ConnectionLost:
        """Return once the link is lost, with the reason."""
        await self._lost_event.wait()
        assert self._lost is not None
        return self._lost

    # --- commands --------------------------------------------------------------------------

    async def stop(self) -> None:
        """Motor and heater off. Overtakes pending changes, never queues behind them, and latches:
        nothing issued before it may switch heat on afterwards, only a new START does (R6)."""
        self._stop_epoch += 1
        self._started = False
        cancelled = CommandCancelled("change cancelled: stop was requested")
        self._intensity.cancel(cancelled)
        self._heat.cancel(cancelled)
        await self._request(Stop(), stoppable=False, timeout=STOP_TIMEOUT_S, retries=STOP_RETRIES)

    def raw(self) -> RawMassager:
        """Level control with no session rules, for firmware and bench work (see :class:`RawMassager`).

        Shut while a guided session runs on this connection. A person's massage goes through
        :meth:`session`, never through this door.
        """
        return RawMassager(self)

    async def _start(self, level: int) -> None:
        self._check_level("intensity", level, 1, self.capabilities.intensity_levels)
        epoch = self._stop_epoch
        await self._command(Start(level))
        if epoch == self._stop_epoch:  # a START that a STOP overtook does not unlatch it
            self._started = True

    async def _set_intensity(self, level: int) -> None:
        self._check_level("intensity", level, 1, self.capabilities.intensity_levels)
        await self._intensity.submit(level)

    async def _set_heat(self, level: int) -> None:
        self._check_level("heat", level, 0, self.capabilities.heat_levels)
        if level > 0 and not self._started:
            raise CommandCancelled("heat stays off after a stop: start the motor first")
        await self._heat.submit(level)

    def _check_raw_allowed(self) -> None:
        if self._guided:
            raise SessionRunning("a guided session is running on this connection: raw control is shut until it ends")

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One guided session per connection at a time; while it runs, the raw door is shut."""
        if self._guided:
            raise SessionRunning("a session is already running on this connection: one at a time")
        self._guided = True
        try:
            yield
        finally:
            self._guided = False

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None:
        await self._command(ClearFaults(translate.wire_faults(faults)))

    async def heartbeat(self) -> None:
        await self._request(Heartbeat(), stoppable=False, retries=0)

    async def keepalive(self) -> None:
        """Send a heartbeat if nothing was sent for a heartbeat interval; call it from a control loop."""
        interval = self._heartbeat_interval or HEARTBEAT_INTERVAL_S
        if self.connected and asyncio.get_running_loop().time() - self._last_sent >= interval:
            with contextlib.suppress(MedctlError):
                await self.heartbeat()

    @contextlib.contextmanager
    def keepalive_driven_by_caller(self) -> Iterator[None]:
        """While inside, the caller's loop calls :meth:`keepalive` and this client sends no heartbeats
        of its own, so if that loop hangs the device stops being heard (SPEC §6.8.3)."""
        self._driven_keepalive += 1
        try:
            yield
        finally:
            self._driven_keepalive -= 1

    async def get_status(self) -> DeviceStatus:
        ack = await self._request(GetStatus(), stoppable=False)
        return self._store_status(_parse(Status.from_payload, ack.data))

    async def request(self, message: Request) -> Ack:
        """Send a request that changes no output (pairing, diagnostics) and return its ACK.

        A NACK raises :class:`~medctl.errors.CommandRefused`. START, SET_INTENSITY and SET_HEAT
        are refused here (they go through a session, or :meth:`raw` for bench work); while a
        session runs, only read-only requests, heartbeats and STOP are let through.
        """
        if message.TYPE in _OUTPUT_REQUESTS:
            raise GuidedOnly(f"{_name(message.TYPE)} runs the massager: use a session, or raw() for bench work")
        if self._guided and message.TYPE not in _READ_ONLY_REQUESTS:
            self._check_raw_allowed()
        if message.TYPE is MsgType.STOP:
            await self.stop()
            return Ack(MsgType.STOP)
        return await self._request(message, stoppable=False)

    def session(
        self,
        plan: SessionPlan,
        *,
        safety: SafetyCheck,
        history: HistoryStore | HistoryChoice = DEFAULT_HISTORY,
        override_frequency: str | None = None,
        reconnect_backoff_s: tuple[float, ...] | None = None,
    ) -> Session:
        """A guided session on this massager: ``async with massager.session(plan, safety=check) as s:``.

        The history (and with it R9) is the default one unless *history* names another store or
        :data:`medctl.NO_HISTORY`. One session per connection at a time.
        """
        from medctl.session import Session

        options = {} if reconnect_backoff_s is None else {"reconnect_backoff_s": reconnect_backoff_s}
        return Session(
            _GuidedDrive(self),
            plan,
            safety=safety,
            clock=self.clock,
            history=history,
            override_frequency=override_frequency,
            device_name=self._address or self.description,
            **options,
        )

    # --- status stream ---------------------------------------------------------------------

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        """Call *listener* with every status; returns the function that unregisters it."""
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    def on_fault(self, listener: FaultListener) -> Callable[[], None]:
        self._fault_listeners.append(listener)
        return lambda: self._fault_listeners.remove(listener)

    async def updates(self) -> AsyncIterator[DeviceStatus]:
        """Every status the device sends, latest-wins if the reader falls behind.

        Ends by raising :class:`ConnectionLost` when the link goes.
        """
        queue: asyncio.Queue[DeviceStatus] = asyncio.Queue(SUBSCRIBER_QUEUE)

        def push(status: DeviceStatus) -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(status)

        self._check_connected()
        unsubscribe = self.on_status(push)
        try:
            while True:
                while not queue.empty():
                    yield queue.get_nowait()
                await self._until_lost(queue.get(), requeue=queue)
        finally:
            unsubscribe()

    async def wait_for_status(self, predicate: Callable[[DeviceStatus], bool], timeout: float) -> DeviceStatus:
        """The first status (current or coming) that satisfies *predicate*."""
        if self.status is not None and predicate(self.status):
            return self.status
        async with asyncio.timeout(timeout):
            async for status in self.updates():
                if predicate(status):
                    return status
        raise AssertionError("unreachable")  # pragma: no cover

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
        future: asyncio.Future[Ack | Nack] = loop.create_future()
        self._pending[seq] = _Pending(message.TYPE, future)
        epoch = self._stop_epoch
        attempts = 1 + (self._retries if retries is None else retries)
        wait = self._request_timeout if timeout is None else timeout
        lost: asyncio.Future[bool] = asyncio.ensure_future(self._lost_event.wait())
        try:
            for _ in range(attempts):
                if stoppable and epoch != self._stop_epoch:
                    raise CommandCancelled(f"{_name(message.TYPE)} cancelled: stop was requested")
                await self._send(frame)
                done, _ = await asyncio.wait((future, lost), timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                if future in done:
                    break
                self._check_connected()
            else:
                raise DeviceTimeout(
                    f"{self.description} did not answer {_name(message.TYPE)} "
                    f"({attempts} tries, {attempts * wait:.1f} s)"
                )
        finally:
            lost.cancel()
            self._pending.pop(seq, None)
        return future.result()

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

    async def _info(self, info: InfoField) -> str:
        """GET_INFO *info*: the answer must name the field asked for, and its text is made printable."""
        answer = _parse(InfoResult.from_bytes, (await self._request(GetInfo(info), stoppable=False)).data)
        if answer.info is not info:
            raise ConnectionLost(
                f"{self.description} answered {answer.info.name} when {info.name} was asked: not a massager to trust"
            )
        return printable(answer.text)

    async def _check_same_device(self) -> None:
        """Before HELLO on a reconnect: the serial number must be the one this connection began with."""
        expected, self._expected_serial = self._expected_serial, None
        if expected is None:
            return
        found = await self._info(InfoField.SERIAL)
        if found != expected:
            raise WrongDevice(
                f"{self.description} now answers as another massager (serial {found!r}, expected {expected!r}):"
                " not using it"
            )

    async def _handshake(self) -> DeviceIdentity:
        await self._check_same_device()
        try:
            ack = await self._introduce()
        except DeviceTimeout as exc:
            raise DeviceTimeout(
                f"no answer from {self.description}: is it a medctl-compatible massager, switched on"
                " and, for serial ports, at the right speed (?baud=)?"
            ) from exc
        except MedctlError as exc:
            if getattr(exc, "code", None) is ErrorCode.UNSUPPORTED_VERSION:
                raise ProtocolMismatch(
                    f"{self.description} speaks protocol version {getattr(exc, 'detail', '?')}, this medctl "
                    f"speaks {self._versions.start}..{self._versions.stop - 1}: update medctl or the firmware"
                ) from exc
            raise
        result = _parse(HelloResult.from_bytes, ack.data)
        if result.version not in self._offered:
            raise ProtocolMismatch(
                f"{self.description} chose protocol version {result.version}, which was not offered"
                f" ({self._offered.start}..{self._offered.stop - 1}): not a massager to trust"
            )
        self._owner = True
        texts = {info: await self._info(info) for info in InfoField}
        await self.get_status()
        return DeviceIdentity(
            model=texts[InfoField.MODEL],
            firmware=texts[InfoField.FIRMWARE],
            serial_number=texts[InfoField.SERIAL],
            protocol_version=result.version,
            capabilities=translate.capabilities(result),
            address=self._address,
            maker="medctl protocol",
            driver="medctl",
        )

    async def _introduce(self) -> Ack:
        """HELLO: signed when the key store holds a key for this device's serial number, plain otherwise.

        With a version-3 key the device must first prove, on this connection, that it holds the
        key (SESSION_BEGIN, SPEC.md §12.2); until it has, nothing signed is sent. A version-2 key
        signs with the pairing key itself (SPEC.md §11), with a warning: its frames can be
        recorded and played again on another connection.
        """
        self._sign = False
        if self._keys is not None and self._signer is None:
            self._signer = self._keys.signer(await self._info(InfoField.SERIAL))
        versions = self._versions
        if self._signer is not None:
            self.controller_id = self._signer.controller_id
            if self._signer.protocol >= SESSION_PROTOCOL_VERSION:
                await self._open_channel(self._signer)
                versions = range(SESSION_PROTOCOL_VERSION, SESSION_PROTOCOL_VERSION + 1)
            else:
                self.warnings.append(LEGACY_WARNING.format(device=self.description))
                _LOGGER.warning(self.warnings[-1])
                versions = range(AUTH_VERSION, AUTH_VERSION + 1)
            self._sign = True
        self._offered = versions
        return await self._request(Hello(versions.start, versions.stop - 1, self.controller_id), stoppable=False)

    async def _open_channel(self, signer: Signer) -> None:
        """SESSION_BEGIN: this connection's keys, and the device's proof that it holds the pairing key."""
        nonce = secrets.token_bytes(NONCE_LEN)
        try:
            ack = await self._request(SessionBegin(signer.controller_id, nonce), stoppable=False)
        except CommandRefused as exc:
            if exc.code is ErrorCode.AUTH_FAILED:
                raise AuthenticationRefused(
                    f"{self.description} does not know this computer's key: it was reset or paired again, or it is"
                    " not the massager you paired with. Nothing was sent signed; pair again (medctl pair).",
                    request=MsgType.SESSION_BEGIN,
                    code=exc.code,
                    detail=exc.detail,
                ) from exc
            raise AuthenticationRefused(
                f"{self.description} does not open a protected connection (protocol 3) although this computer is"
                f" paired with its serial number: it may be another device claiming that number ({exc}). Nothing"
                " was sent signed.",
                request=MsgType.SESSION_BEGIN,
                code=exc.code,
                detail=exc.detail,
            ) from exc
        result = _parse(SessionBeginResult.from_bytes, ack.data)
        if not signer.open_channel(nonce, result.nonce, result.proof):
            raise AuthenticationRefused(
                f"{self.description} could not prove it holds the pairing key: it is not the massager you paired"
                " with. Nothing was sent signed.",
                request=MsgType.SESSION_BEGIN,
                code=ErrorCode.AUTH_FAILED,
                detail=AuthFailure.BAD_TAG,
            )

    # --- background tasks ------------------------------------------------------------------

    def _start_reader(self) -> None:
        self._last_heard = asyncio.get_running_loop().time()
        self._reader = self._spawn(self._read_loop(), "medctl-reader")

    def _start_keepalive(self) -> None:
        if self._heartbeat_interval is not None:
            self._keepalive = self._spawn(self._keepalive_loop(self._heartbeat_interval), "medctl-keepalive")

    async def _read_loop(self) -> None:
        """Frames from the device, one at a time, yielding to the loop after each one.

        ``recv()`` returns at once while frames are buffered, so without the yield a device
        that floods STATUS would starve heartbeats and STOP (SECURITY.md, "hostile device").
        """
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self._transport.recv()
                await asyncio.sleep(0)
                self._last_heard = loop.time()
                if frame.version != PLAIN_FRAME_VERSION:  # a device only ever sends plain frames
                    self.invalid_messages += 1
                    continue
                try:
                    message = decode_message(frame)
                except MessageError as exc:
                    self.invalid_messages += 1
                    _LOGGER.debug("ignored invalid message from %s: %s", self.description, exc)
                    continue
                if isinstance(message, Ack | Nack):
                    self._resolve(frame.seq, message)
                elif isinstance(message, Status):
                    if not self._repeats_status(frame.payload, loop.time()):
                        self._store_status(message)
                elif isinstance(message, FaultEvent):
                    if self._repeats_fault(message):
                        continue
                    report = translate.fault_report(message)
                    for listener in list(self._fault_listeners):
                        listener(report)
                    if message.active and message.fault is Fault.LINK_LOST and self._owner:
                        self._mark_lost(ConnectionLost(f"{self.description}: its watchdog released this controller"))
        except ConnectionLost as exc:
            self._mark_lost(exc)
        except OSError as exc:  # a transport's own I/O error that it did not translate is still a lost link
            self._mark_lost(ConnectionLost(f"{self.description} failed: {exc}"))

    def _repeats_status(self, payload: bytes, now: float) -> bool:
        """True for a STATUS identical to the last one passed on less than :data:`STATUS_REPEAT_S` ago.

        A device sends STATUS on a change and once a second; the same bytes many times a second
        say nothing new, and passing each on would let a flooding device spend this process's CPU.
        """
        if payload == self._last_status_payload and now - self._last_status_at < STATUS_REPEAT_S:
            self.repeated_statuses += 1
            return True
        self._last_status_payload, self._last_status_at = payload, now
        return False

    def _repeats_fault(self, event: FaultEvent) -> bool:
        """True for a FAULT event identical to the last one about the same fault (counted, not passed on).

        A device reports a fault when it changes; the same event again says nothing new, and a
        device repeating it thousands of times must not become thousands of history rows or notices.
        """
        key = (event.active, event.detail)
        if self._last_faults.get(event.fault) == key:
            self.repeated_faults += 1
            return True
        self._last_faults[event.fault] = key
        return False

    async def _keepalive_loop(self, interval: float) -> None:
        """Heartbeat when idle (unless a caller's loop does it); declare the link lost after silence."""
        loop = asyncio.get_running_loop()
        # Give up one heartbeat before the device's own watchdog would: the blind STOP then
        # reaches a device that still hears us (a one-way failure) no later than its watchdog.
        # The device's watchdog is its claim: this controller never waits longer than its own limit.
        watchdog = min(self.capabilities.watchdog_s or SILENCE_LIMIT_S, SILENCE_LIMIT_S)
        silence_limit = max(interval, watchdog - interval)
        while self._lost is None:
            due = self._last_sent + interval
            await asyncio.sleep(max(0.0, due - loop.time(), 0.0 if not self._driven_keepalive else interval / 2))
            if loop.time() - self._last_heard > silence_limit:
                self._mark_lost(ConnectionLost(f"{self.description} stopped answering"))
                return
            if loop.time() >= self._last_sent + interval and not self._driven_keepalive:
                with contextlib.suppress(MedctlError):
                    await self.heartbeat()

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

    # --- helpers ---------------------------------------------------------------------------

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
                raise CommandCancelled(f"{_name(message.TYPE)} cancelled: stop was requested")
            await self._request(message)

    async def _until_lost(self, getter: Awaitable[T], requeue: asyncio.Queue[T]) -> None:
        """Wait for *getter* (an item for *requeue*) unless the link is lost first."""
        item = asyncio.ensure_future(getter)
        lost = asyncio.ensure_future(self._lost_event.wait())
        try:
            await asyncio.wait({item, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not item.done():
                item.cancel()
        if item.done() and not item.cancelled():
            requeue.put_nowait(item.result())
        else:
            self._check_connected()

    def _check_connected(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._closed:
            raise ConnectionLost(f"{self.description} is closed")

    def _check_level(self, what: str, level: int, low: int, high: int) -> None:
        if not isinstance(level, int) or isinstance(level, bool) or not low <= level <= high:
            request = MsgType.SET_HEAT if what == "heat" else MsgType.SET_INTENSITY
            raise OutOfRange(
                f"{what} {level!r} is out of range: this massager accepts {low} to {high}",
                request=request,
                code=ErrorCode.OUT_OF_RANGE,
                detail=high,
            )

    @staticmethod
    async def _quietly(awaitable: Awaitable[object]) -> None:
        try:
            await awaitable
        except MedctlError as exc:
            _LOGGER.warning("while closing: %s", exc)


def _name(kind: MsgType) -> str:
    return kind.name.lower().replace("_", " ")


def _parse(parse: Callable[[bytes], T], data: bytes) -> T:
    try:
        return parse(data)
    except ProtocolError as exc:
        raise ConnectionLost(f"the device sent an answer this medctl cannot read: {exc}") from exc


class RawMassager:
    """Raw level control with no session rules: for firmware and bench work only.

    ``massager.raw().start(1)`` then ``set_intensity(3)`` runs the motor at 3 at once, with no
    warm-up, no limits of medctl's and no record (the device keeps its own: START only at level 1
    from standstill, auto-off, the heater's time limit, SPEC.md §7.4.5, §7.6). A person's massage
    goes through :meth:`DeviceClient.session`. While a session runs on the connection, every call
    here raises :class:`~medctl.errors.SessionRunning`; the STOP latch still holds (heat only after
    a START since the last STOP).
    """

    def __init__(self, client: DeviceClient) -> None:
        self._client = client

    async def start(self, level: int = 1) -> None:
        self._client._check_raw_allowed()
        await self._client._start(level)

    async def set_intensity(self, level: int) -> None:
        self._client._check_raw_allowed()
        await self._client._set_intensity(level)

    async def set_heat(self, level: int) -> None:
        self._client._check_raw_allowed()
        await self._client._set_heat(level)

    async def request(self, message: Request) -> Ack:
        """Any request, START and SET_* included; a NACK raises :class:`~medctl.errors.CommandRefused`."""
        self._client._check_raw_allowed()
        if message.TYPE is MsgType.STOP:
            await self._client.stop()
            return Ack(MsgType.STOP)
        return await self._client._request(message, stoppable=message.TYPE in _OUTPUT_REQUESTS)

    async def stop(self) -> None:
        """Never shut: STOP always goes through."""
        await self._client.stop()


class _GuidedDrive:
    """The session engine's handle on a connection (the :class:`~medctl.massager.Massager` seam).

    Made by :meth:`DeviceClient.session` for its session alone; scripts never see it.
    """

    def __init__(self, client: DeviceClient) -> None:
        self._client = client
        #: Set the moment the session ends, before its STOP: nothing but STOP goes out after it.
        self._ended = False

    @property
    def description(self) -> str:
        return self._client.description

    @property
    def identity(self) -> DeviceIdentity | None:
        return self._client.identity

    @property
    def simulated(self) -> bool:
        return self._client.simulated

    @property
    def capabilities(self) -> Capabilities:
        return self._client.capabilities

    @property
    def status(self) -> DeviceStatus | None:
        return self._client.status

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        # while the session runs, only its loop feeds the device's watchdog (SPEC §6.8.3)
        with self._client._exclusive(), self._client.keepalive_driven_by_caller():
            yield

    def end(self) -> None:
        self._ended = True

    def _check(self) -> None:
        if self._ended:
            raise CommandCancelled("the session has ended: only STOP goes to the massager now")

    async def start(self, level: int = 1) -> None:
        self._check()
        await self._client._start(level)

    async def stop(self) -> None:
        await self._client.stop()

    async def set_intensity(self, level: int) -> None:
        self._check()
        await self._client._set_intensity(level)

    async def set_heat(self, level: int) -> None:
        self._check()
        await self._client._set_heat(level)

    async def set_mode(self, mode: str) -> None:
        self._check()
        raise Unsupported(f"{self.description} has no massage modes ({mode!r} asked for)")

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None:
        self._check()
        await self._client.clear_faults(faults)

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        return self._client.on_status(listener)

    def on_fault(self, listener: FaultListener) -> Callable[[], None]:
        return self._client.on_fault(listener)

    async def keepalive(self) -> None:
        await self._client.keepalive()

    async def wait_lost(self) -> ConnectionLost:
        return await self._client.wait_lost()

    async def reconnect(self) -> DeviceStatus:
        return await self._client.reconnect()
