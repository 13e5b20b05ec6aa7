"""The device client: one massager over one transport, speaking firmware_protocol.

It coalesces intensity and heat changes and sends STOP ahead of everything else. Status and
fault events reach subscribers through bounded, latest-wins queues. Given a key store, it
looks the device up by serial number and signs every request with the key agreed in pairing
(SPEC.md §11). The machinery is split by job: :mod:`.requests` (request/answer, supervision),
:mod:`.handshake` (the authenticated channel), :mod:`.reader` (background tasks),
:mod:`.guided` (the session's handle) and :mod:`.raw` (the bench door).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from firmware_protocol import (
    Ack,
    ClearFaults,
    ErrorCode,
    Goodbye,
    MsgType,
    Request,
    SetMode,
    Start,
    Stop,
)
from medctl.clock import reached
from medctl.coalesce import LatestWinsQueue
from medctl.devices.base import (
    ALL_FAULTS,
    DeviceIdentity,
    DeviceStatus,
    FaultFlag,
    FaultListener,
    StatusListener,
)
from medctl.devices.medctl_protocol import translate
from medctl.errors import (
    CommandCancelled,
    ControllerFailure,
    GuidedOnly,
    MedctlError,
    OutOfRange,
    SessionRunning,
    Unsupported,
)
from medctl.session.choice import DEFAULT_HISTORY, HistoryChoice

if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.session import SafetyCheck, Session, SessionPlan

from medctl.devices.medctl_protocol.guided import GuidedDrive
from medctl.devices.medctl_protocol.handshake import Handshake
from medctl.devices.medctl_protocol.raw import RawMassager
from medctl.devices.medctl_protocol.reader import Reader
from medctl.devices.medctl_protocol.requests import (
    HEARTBEAT_INTERVAL_S,
    OUTPUT_REQUESTS,
    READ_ONLY_REQUESTS,
    REQUEST_RETRIES,
    REQUEST_TIMEOUT_S,
    STOP_RETRIES,
    STOP_TIMEOUT_S,
    SUBSCRIBER_QUEUE,
    T,
    message_name,
)

_LOGGER = logging.getLogger(__name__)


class DeviceClient(Handshake, Reader):
    """A connected massager. Prefer :func:`medctl.connect`, which always stops the device on exit."""

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

    async def _set_mode(self, mode: str) -> None:
        """SET_MODE by the mode's name; a name the device did not list is refused before anything is sent."""
        modes = self.capabilities.modes
        if mode not in modes:
            offered = f"it offers {', '.join(modes)}" if modes else "it has none"
            raise Unsupported(f"{self.description} has no massage mode {mode!r} ({offered})")
        await self._command(SetMode(modes.index(mode)))

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

    async def keepalive(self) -> float | None:
        """Send a heartbeat if nothing was sent for a heartbeat interval; call it from a control loop.

        Returns the loop time at which the next one is due (a caller waking then is on time; one
        waking up to :data:`~medctl.clock.DUE_MARGIN_S` early still sends it, so it never waits in a spin).
        """
        interval = self._heartbeat_interval or HEARTBEAT_INTERVAL_S
        if self.connected and reached(self._last_sent + interval, asyncio.get_running_loop().time()):
            with contextlib.suppress(MedctlError):
                await self.heartbeat()
        # None while the link is down: nothing can be fed until it is back (the session is told)
        return self._last_sent + interval if self.connected else None

    @contextlib.contextmanager
    def keepalive_driven_by_caller(self) -> Iterator[None]:
        """While inside, the caller's loop calls :meth:`keepalive` and this client sends no heartbeats
        of its own, so if that loop hangs the device stops being heard (SPEC §6.8.3)."""
        self._driven_keepalive += 1
        try:
            yield
        finally:
            self._driven_keepalive -= 1
            self._keepalive_wake.set()  # the watch sleeps until silence would be too long: heartbeats are its job again

    async def request(self, message: Request) -> Ack:
        """Send a request that changes no output (pairing, diagnostics) and return its ACK.

        A NACK raises :class:`~medctl.errors.CommandRefused`. START, SET_INTENSITY and SET_HEAT
        are refused here (they go through a session, or :meth:`raw` for bench work); while a
        session runs, only read-only requests, heartbeats and STOP are let through.
        """
        if message.TYPE in OUTPUT_REQUESTS:
            raise GuidedOnly(f"{message_name(message.TYPE)} runs the massager: use a session, or raw() for bench work")
        if self._guided and message.TYPE not in READ_ONLY_REQUESTS:
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
            GuidedDrive(self),
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
        queue: LatestWinsQueue[DeviceStatus] = LatestWinsQueue(SUBSCRIBER_QUEUE)
        push = queue.push

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

    # --- helpers ---------------------------------------------------------------------------

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


__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "REQUEST_RETRIES",
    "REQUEST_TIMEOUT_S",
    "STOP_RETRIES",
    "STOP_TIMEOUT_S",
    "DeviceClient",
    "RawMassager",
]
